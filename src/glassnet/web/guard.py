"""The drawing page's guard: which requests reach the app at all, and the headers every answer carries.

The page is meant for the person at the keyboard, so the server defends itself against the rest of
the world, and against web pages in the same browser. :class:`RequestGuard` wraps the whole app
(ASGI middleware) and applies these rules before any route runs:

* a request whose ``Host`` header is not this server's own address (``localhost``, a loopback or the
  listening IP, with the right port) is refused with 403, which defeats DNS rebinding: a hostile
  site whose name was re-pointed at 127.0.0.1 still sends its own name as ``Host``;
* a ``POST`` carrying an ``Origin`` other than this server's, or that the browser marks as
  cross-site (``Sec-Fetch-Site``), is refused with 403;
* a body over :data:`MAX_BODY_BYTES` is refused with 413 from its ``Content-Length`` before a byte
  of it is read, and a body without an honest length is cut off once it passes the limit
  (:class:`BodyTooLarge`, which the app answers with 413);
* a ``Host`` or ``Content-Length`` header these rules cannot read (``127.0.0.1:²``) is refused
  with 403 or 400, never a fault;
* every answer carries the security headers: a content security policy (scripts, styles and
  requests from this server only, no framing), no type sniffing, no referrer, no caching.

Refusals are JSON objects ``{"error": "<one line>"}``, like every other error of the app. This
module needs neither Starlette nor uvicorn: it speaks plain ASGI.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "LOOPBACK_NAMES",
    "MAX_BODY_BYTES",
    "BodyTooLarge",
    "RequestGuard",
    "is_loopback_address",
]

#: Largest request body accepted, in bytes (6 MiB): the largest canvas the API takes, 1024×1024
#: whole numbers up to 255 written as ``json.dumps`` writes them (5.0 MiB), fits, with room to spare.
MAX_BODY_BYTES = 6 << 20
#: Names that always mean this machine.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
]


class BodyTooLarge(Exception):
    """Raised while a request body is read, once it passes the limit; the app answers 413."""


def is_loopback_address(name: str) -> bool:
    """Whether ``name`` is an IP address of this machine (``127.x.x.x``, ``::1``)."""
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``"name:port"`` or ``"[v6]:port"`` to ``(name, port)``; ``None`` if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    elif value.count(":") == 1:
        name, port_text = value.split(":")
    elif ":" in value:
        return None
    else:
        name, port_text = value, ""
    if not name:
        return None
    if port_text == "":
        return name, None
    if not _is_decimal(port_text) or len(port_text) > 5:
        return None
    return name, int(port_text)


def _is_decimal(text: str) -> bool:
    """Whether ``text`` is ASCII digits ``0-9`` only.

    Not ``str.isdigit``: it also accepts ``"²"`` and other digits of Unicode, which ``int`` then
    refuses, and header bytes decoded as Latin-1 can hold them.
    """
    return text.isascii() and text.isdigit()


class RequestGuard:
    """ASGI middleware: Host and Origin checks, the body size limit, and security headers.

    Parameters
    ----------
    app : ASGI application
        What to protect.
    allowed_hosts : iterable of str
        Host names accepted besides ``localhost``, the loopback addresses and the address the
        connection arrived on.
    max_body_bytes : int
        Largest request body accepted.
    """

    def __init__(
        self, app: ASGIApp, allowed_hosts: Iterable[str] = (), max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.allowed_hosts = frozenset(h.lower().strip("[]") for h in allowed_hosts)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            problem = self._refuse(scope, headers)
        except ValueError:  # a header these rules cannot read; the parsers above should say so
            problem = 400, "malformed request header"
        if problem is not None:
            status, message = problem
            await _send_error(send, status, message)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, limited_receive, secured_send)

    def _refuse(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        """Why to refuse the request before reading its body (status, message), or ``None``."""
        server = scope.get("server")
        host = _split_host(headers.get("host", ""))
        if host is None:
            return 403, "missing or malformed Host header"
        name, port = host
        known = name in LOOPBACK_NAMES or name in self.allowed_hosts or is_loopback_address(name)
        if server is not None:
            known = known or name == str(server[0]).lower()
        if not known:
            return 403, "the Host header names another site than this server"
        if server is not None and (port if port is not None else 80) != server[1]:
            return 403, "the Host header names another port than this server's"
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            origin = headers.get("origin")
            if origin is not None and origin.lower() != f"http://{headers['host'].lower()}":
                return 403, "cross-origin requests are refused"
            if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                return 403, "cross-site requests are refused"
        length = headers.get("content-length")
        if length is not None:
            if not _is_decimal(length):
                return 400, "malformed Content-Length header"
            if int(length) > self.max_body_bytes:
                return 413, f"the request body is over {self.max_body_bytes:,} bytes"
        return None


async def _send_error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *_SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

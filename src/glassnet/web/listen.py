"""Running a page's app: a socket on this machine, uvicorn on it, and a log that stays readable.

:func:`serve_app` binds the address (127.0.0.1 unless told otherwise), runs uvicorn on it until
Ctrl-C or a ``stop`` event, and calls back with the page's address once connections are accepted.
Before it starts it raises the limit on open files and installs
:data:`~glassnet.web.limits.SHORTAGES` as the event loop's exception handler (see
:mod:`glassnet.web.limits` for why). It knows nothing of what the app serves.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from glassnet.errors import GlassnetError
from glassnet.web.guard import LOOPBACK_NAMES, is_loopback_address
from glassnet.web.limits import SHORTAGES, raise_open_file_limit

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = [
    "BACKLOG",
    "REQUEST_SECONDS",
    "guarded_protocol",
    "is_loopback_host",
    "serve_app",
    "warn_if_exposed",
]

#: Seconds a connection has to send a request's whole head (its request line and headers), from
#: when it opens or its last answer ends; and the longest silence while it sends a body. A
#: connection that sends nothing, or half its headers, is closed then: left open, a thousand of
#: them use up the file descriptors and the page stops answering (uvicorn's own keep-alive timeout
#: starts only after an answer, and stops at the first byte of the next request).
REQUEST_SECONDS = 5.0
#: Seconds Ctrl-C waits for requests in flight before the server stops anyway.
SHUTDOWN_SECONDS = 3

#: Connections waiting to be accepted. uvicorn's default is 2,048; the event loop retries every
#: one of them when it runs out of file descriptors, so a page for one person keeps it short.
BACKLOG = 128


def is_loopback_host(host: str) -> bool:
    """Whether listening on ``host`` keeps the server reachable from this machine only."""
    return host.lower().strip("[]") in LOOPBACK_NAMES or is_loopback_address(host.strip("[]"))


def warn_if_exposed(host: str, command: str = "serve") -> None:
    """Warn on standard error when ``host`` lets other machines reach the server."""
    if not is_loopback_host(host):
        print(
            f"glassnet {command}: warning: listening on {host}, not 127.0.0.1: anyone who can "
            f"reach this machine on the network can use the page (there is no password)",
            file=sys.stderr,
            flush=True,
        )


def serve_app(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_callback: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve ``app`` on ``host``:``port`` until interrupted (or until ``stop`` is set).

    Parameters
    ----------
    app : ASGI application
    host : str, default "127.0.0.1"
        Address to listen on. Anything but a loopback address lets other machines in.
    port : int, default 0
        Port to listen on; 0 picks a free one.
    ready_callback : callable, optional
        Called with the page's address, ``"http://127.0.0.1:PORT/"``, once the server accepts
        connections.
    stop : threading.Event, optional
        Set it (from another thread) to shut the server down.

    Raises
    ------
    glassnet.errors.GlassnetError
        If the address cannot be listened on.
    """
    sock = _bind(host, port)
    try:
        raise_open_file_limit()
        _run(app, sock, ready_callback, stop)
    finally:
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host`` and ``port``, ready for uvicorn to listen on."""
    name = host.strip("[]")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise GlassnetError(f"cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    # The protocol must be given: asyncio turns Nagle's algorithm off (TCP_NODELAY) only for
    # sockets that say IPPROTO_TCP, and with it on, every answer on a kept-alive connection
    # waits some 40 ms for the browser's delayed acknowledgement.
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise GlassnetError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _page_url(sock: socket.socket) -> str:
    """The page's address on the bound socket: ``http://127.0.0.1:PORT/``, ``http://[::1]:PORT/``."""
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return f"http://{shown}:{bound[1]}/"


def _run(
    app: ASGIApp,
    sock: socket.socket,
    ready_callback: Callable[[str], None] | None,
    stop: threading.Event | None,
) -> None:
    """Run uvicorn on the bound socket until interrupted or ``stop`` is set; the socket stays open."""
    import uvicorn

    url = _page_url(sock)
    config = uvicorn.Config(
        app,
        http=guarded_protocol(),
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
        backlog=BACKLOG,
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            asyncio.get_running_loop().set_exception_handler(SHORTAGES)
            await super().startup(sockets=sockets)
            if self.started and ready_callback is not None:
                ready_callback(url)

        async def on_tick(self, counter: int) -> bool:
            if stop is not None and stop.is_set():
                return True
            return await super().on_tick(counter)

    Server(config).run(sockets=[sock])


def guarded_protocol(seconds: float | None = None) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, with a deadline for each request's head and for silences in its body.

    A connection must send a whole request head within ``seconds`` (default
    :data:`REQUEST_SECONDS`) of opening or of its last answer's end, however it dribbles the bytes;
    while it sends a body, it may be silent at most ``seconds`` at a time. Past either, the
    connection is closed (a request in flight sees the client leave). Once the head is in, the app
    takes as long as it takes.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    limit = REQUEST_SECONDS if seconds is None else seconds

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(limit, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

        def _waiting_for_head(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._waiting_for_head():
                if self._deadline is None:  # the first byte of a request after a keep-alive wait
                    self._arm()
            elif self.conn.their_state is h11.SEND_BODY:
                self._arm()  # a body: its bytes keep coming
            else:
                self._disarm()  # the whole request is in: the app answers in its own time

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11Protocol

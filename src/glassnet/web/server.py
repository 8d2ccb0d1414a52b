"""The HTTP side of the drawing page: a Starlette app, served by uvicorn on this machine only.

Routes
------
``GET /``
    The page (``static/index.html``).
``GET /static/<file>``
    Its script and style sheet; nothing comes from anywhere else, so the page works offline.
``GET /api/model``
    The network: layer sizes, activation, class names, parameter count, stored metrics.
``POST /api/predict``
    A drawing in, the network's reading out. The request is ``application/json``::

        {"pixels": [[0, 0, 255, ...], ...]}     rows of a grayscale canvas, 8..1024 on a side,
                                                 numbers in 0..255, ink bright on black

    The reply holds the class ``probabilities`` (one per class), the ``top`` three classes, the
    28x28 ``input`` the network saw (made by :func:`glassnet.images.to_mnist`, exactly as
    ``glassnet predict`` makes it from a file), every hidden layer's ``activations``, and the
    server's ``milliseconds``. A blank canvas gets ``{"empty": true, ...}`` with no prediction.

The page is meant for the person at the keyboard, so the server defends itself against the rest of
the world, and against web pages in the same browser:

* it listens on 127.0.0.1 unless told otherwise (and ``glassnet serve`` warns when told otherwise);
* a request whose ``Host`` header is not this server's own address (``localhost``, a loopback or the
  listening IP, with the right port) is refused with 403, which defeats DNS rebinding: a hostile
  site whose name was re-pointed at 127.0.0.1 still sends its own name as ``Host``;
* a ``POST`` carrying an ``Origin`` other than this server's, or that the browser marks as
  cross-site (``Sec-Fetch-Site``), is refused with 403;
* a body over :data:`MAX_BODY_BYTES` is refused with 413 from its ``Content-Length`` before a byte
  of it is read, and a body without an honest length is cut off once it passes the limit;
* every error is a JSON object ``{"error": "<one line>"}`` with the matching status (400, 403, 404,
  405, 413, 415; 500 says only "internal error"): no traceback, no paths, no versions.
"""

from __future__ import annotations

import ipaddress
import json
import math
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import GlassnetError
from glassnet.images import FIELD_SIZE, NoInkError, mnist_pixels, to_mnist

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from glassnet.network import Network

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CANVAS_SIDE",
    "MIN_CANVAS_SIDE",
    "STATIC_DIR",
    "check_network",
    "create_app",
    "is_loopback_host",
    "parse_pixels",
    "predict_canvas",
    "require_web",
    "serve",
    "warn_if_exposed",
]

#: Largest request body accepted, in bytes (1 MiB).
MAX_BODY_BYTES = 1 << 20
#: Sides of the canvas a prediction request may send, in pixels.
MIN_CANVAS_SIDE, MAX_CANVAS_SIDE = 8, 1024
#: The page, its script and its style sheet.
STATIC_DIR = Path(__file__).resolve().parent / "static"
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


def require_web() -> None:
    """Raise a :class:`GlassnetError` saying how to install Starlette and uvicorn if missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise GlassnetError(
            "the web page needs Starlette and uvicorn; install them with: "
            'pip install "glassnet[web]"'
        ) from None


# ---------------------------------------------------------------------------------- the model side
def check_network(network: Network) -> None:
    """Refuse a network that cannot read 28x28 drawings.

    Raises
    ------
    ValueError
        If the network does not take ``28 * 28 = 784`` inputs.
    """
    if network.n_inputs != FIELD_SIZE * FIELD_SIZE:
        raise ValueError(
            f"the network takes {network.n_inputs} inputs; drawings are "
            f"{FIELD_SIZE}x{FIELD_SIZE} = {FIELD_SIZE * FIELD_SIZE} pixels"
        )


def parse_pixels(payload: Any) -> NDArray[np.float32]:
    """Check a ``/api/predict`` request's decoded JSON and return its canvas.

    Parameters
    ----------
    payload : object
        The decoded request body: ``{"pixels": [[...], ...]}``.

    Returns
    -------
    canvas : (height, width) float32 array
        Values in ``0..255``, ink bright.

    Raises
    ------
    ValueError
        With a one-line reason: not an object, unknown keys, rows of unequal length, a side outside
        8..1024, an element that is not a number (booleans and strings are not), a value that is
        not finite or outside 0..255.
    """
    if not isinstance(payload, dict):
        raise ValueError('the body must be a JSON object {"pixels": [[...], ...]}')
    unknown = sorted(set(payload) - {"pixels"})
    if unknown:
        raise ValueError(f'unknown field {unknown[0]!r}; the body holds only "pixels"')
    rows = payload.get("pixels")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ValueError('"pixels" must be a list of rows, each a list of numbers')
    height = len(rows)
    width = len(rows[0]) if rows else 0
    for side, name in ((height, "rows"), (width, "columns")):
        if not MIN_CANVAS_SIDE <= side <= MAX_CANVAS_SIDE:
            raise ValueError(
                f'"pixels" has {side} {name}; expected {MIN_CANVAS_SIDE} to {MAX_CANVAS_SIDE}'
            )
    if any(len(row) != width for row in rows):
        raise ValueError(f'"pixels" rows differ in length; expected {width} numbers in every row')
    # Exact types, not isinstance: bool is a subclass of int, and NumPy would take True as 1.
    # set(map(type, row)) runs in C; a Python loop over 78,400 values would cost milliseconds.
    kinds: set[type] = set().union(*(set(map(type, row)) for row in rows))
    if not kinds <= {int, float}:
        bad = sorted(k.__name__ for k in kinds - {int, float})
        raise ValueError(f'"pixels" must hold numbers only, found {", ".join(bad)}')
    try:
        canvas = np.array(rows, dtype=np.float64)
    except (OverflowError, ValueError):
        raise ValueError('"pixels" holds a number too large to represent') from None
    if not np.all(np.isfinite(canvas)):
        raise ValueError('"pixels" holds a value that is not finite')
    if canvas.min() < 0.0 or canvas.max() > 255.0:
        raise ValueError('"pixels" values must lie in 0..255')
    return canvas.astype(np.float32)


def predict_canvas(
    network: Network, canvas: NDArray[np.floating], *, top: int = 3
) -> dict[str, Any]:
    """Read a drawing: the dictionary ``/api/predict`` answers with (without ``milliseconds``).

    Parameters
    ----------
    network : Network
        A network taking 784 inputs.
    canvas : (height, width) array
        Values in ``0..255``, ink bright on black, as :func:`parse_pixels` returns.
    top : int, default 3
        How many of the most probable classes to list.

    Returns
    -------
    dict
        ``empty`` (bool), ``probabilities`` (list of ``n_classes`` floats, or ``None`` when empty),
        ``top`` (list of ``{"class", "name", "probability"}``), ``input`` (28 rows of 28 floats in
        [0, 1]), ``activations`` (a list per hidden layer of its units' outputs).
    """
    try:
        image = to_mnist(np.asarray(canvas, np.float32) / np.float32(255.0), invert=False)
    except NoInkError:
        return {
            "empty": True,
            "probabilities": None,
            "top": [],
            "input": np.zeros((FIELD_SIZE, FIELD_SIZE)).tolist(),
            "activations": [[0.0] * n for n in network.layer_sizes[1:-1]],
        }
    outputs = network.layer_outputs(network.prepare(mnist_pixels(image)))
    probabilities = outputs[-1][0].astype(np.float64)
    order = np.argsort(-probabilities, kind="stable")[:top]
    return {
        "empty": False,
        "probabilities": probabilities.tolist(),
        "top": [
            {
                "class": int(k),
                "name": network.class_names[k],
                "probability": float(probabilities[k]),
            }
            for k in order
        ],
        "input": np.round(image.astype(np.float64), 4).tolist(),
        "activations": [np.round(a[0].astype(np.float64), 4).tolist() for a in outputs[:-1]],
    }


def _model_info(network: Network) -> dict[str, Any]:
    return {
        "layer_sizes": list(network.layer_sizes),
        "activation": network.activation,
        "class_names": list(network.class_names),
        "n_parameters": network.n_parameters,
        "input_shape": [FIELD_SIZE, FIELD_SIZE],
        "dataset": _json_safe(network.training_settings.get("dataset")),
        "metrics": _json_safe(network.metrics),
    }


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` and anything exotic as a string."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return str(value)


# ------------------------------------------------------------------------------------- the guard
class _BodyTooLarge(Exception):
    pass


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
    if not port_text.isdigit() or len(port_text) > 5:
        return None
    return name, int(port_text)


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
        problem = self._refuse(scope, headers)
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
                    raise _BodyTooLarge
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
        known = name in LOOPBACK_NAMES or name in self.allowed_hosts or _is_loopback(name)
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
            if not length.isdigit():
                return 400, "malformed Content-Length header"
            if int(length) > self.max_body_bytes:
                return 413, f"the request body is over {self.max_body_bytes:,} bytes"
        return None


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


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


# --------------------------------------------------------------------------------------- the app
def create_app(
    network: Network, *, allowed_hosts: Iterable[str] = (), max_body_bytes: int = MAX_BODY_BYTES
) -> Starlette:
    """The Starlette application serving the page and its API for ``network``.

    Parameters
    ----------
    network : Network
        A network taking 28x28 = 784 inputs, such as one ``glassnet train`` saves.
    allowed_hosts : iterable of str
        Extra names the ``Host`` header may carry (the machine's name on a network, say).
    max_body_bytes : int, default 1 MiB
        Largest request body accepted.

    Returns
    -------
    starlette.applications.Starlette

    Raises
    ------
    ValueError
        If the network does not take 784 inputs.
    glassnet.errors.GlassnetError
        If Starlette is not installed.
    """
    require_web()
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    check_network(network)
    page = (STATIC_DIR / "index.html").read_bytes()
    info = _model_info(network)

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    async def model(request: Request) -> Response:
        return JSONResponse(info)

    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise HTTPException(415, "send the drawing as application/json")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:  # the guard stops this too; be sure
                raise _BodyTooLarge
        try:
            payload = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise HTTPException(400, f"malformed JSON: {_one_line(exc)}") from None
        try:
            canvas = parse_pixels(payload)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        result = await run_in_threadpool(predict_canvas, network, canvas)
        result["milliseconds"] = round((time.perf_counter() - started) * 1000.0, 3)
        return JSONResponse(result)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        # Starlette's own 404/405 details are generic phrases; ours (400, 415) are the reason.
        messages = {404: "not found", 405: "method not allowed"}
        message = messages.get(status) or getattr(exc, "detail", None) or "request refused"
        return JSONResponse(
            {"error": message},
            status_code=status,
            headers=dict(getattr(exc, "headers", None) or {}),
        )

    async def too_large(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"error": f"the request body is over {max_body_bytes:,} bytes"},
            status_code=413,
            headers={"connection": "close"},
        )

    async def internal_error(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "internal error"}, status_code=500)

    routes = [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/api/model", model, methods=["GET", "HEAD"]),
        Route("/api/predict", predict, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                RequestGuard, allowed_hosts=tuple(allowed_hosts), max_body_bytes=max_body_bytes
            )
        ],
        exception_handlers={
            HTTPException: http_error,
            _BodyTooLarge: too_large,
            Exception: internal_error,
        },
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


# ------------------------------------------------------------------------------------ the server
def is_loopback_host(host: str) -> bool:
    """Whether listening on ``host`` keeps the server reachable from this machine only."""
    return host.lower().strip("[]") in LOOPBACK_NAMES or _is_loopback(host.strip("[]"))


def _bind(host: str, port: int) -> socket.socket:
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


def serve(
    network: Network,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_callback: Callable[[str], None] | None = None,
    *,
    allowed_hosts: Iterable[str] = (),
    stop: threading.Event | None = None,
) -> None:
    """Serve the page for ``network`` until interrupted (or until ``stop`` is set).

    Parameters
    ----------
    network : Network
        A network taking 784 inputs.
    host : str, default "127.0.0.1"
        Address to listen on. Anything but a loopback address lets other machines in.
    port : int, default 0
        Port to listen on; 0 picks a free one.
    ready_callback : callable, optional
        Called with the page's address, ``"http://127.0.0.1:PORT/"``, once the server accepts
        connections.
    allowed_hosts : iterable of str
        Extra names the ``Host`` header may carry.
    stop : threading.Event, optional
        Set it (from another thread) to shut the server down.

    Raises
    ------
    glassnet.errors.GlassnetError
        If the address cannot be listened on, or Starlette/uvicorn are not installed.
    """
    require_web()
    import uvicorn

    app = create_app(network, allowed_hosts=allowed_hosts)
    sock = _bind(host, port)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    url = f"http://{shown}:{bound[1]}/"
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_keep_alive=5,
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and ready_callback is not None:
                ready_callback(url)

        async def on_tick(self, counter: int) -> bool:
            if stop is not None and stop.is_set():
                return True
            return await super().on_tick(counter)

    try:
        Server(config).run(sockets=[sock])
    finally:
        sock.close()


def warn_if_exposed(host: str) -> None:
    """Warn on standard error when ``host`` lets other machines reach the server."""
    if not is_loopback_host(host):
        print(
            f"glassnet serve: warning: listening on {host}, not 127.0.0.1: anyone who can reach "
            f"this machine on the network can use the page (there is no password)",
            file=sys.stderr,
            flush=True,
        )

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
the world, and against web pages in the same browser: it listens on 127.0.0.1 unless told
otherwise (and ``glassnet serve`` warns when told otherwise), and every request passes
:class:`~glassnet.web.guard.RequestGuard` first, which refuses foreign ``Host`` and ``Origin``
headers with 403 and bodies over :data:`MAX_BODY_BYTES` with 413. Every error is a JSON object
``{"error": "<one line>"}`` with the matching status (400, 403, 404, 405, 413, 415; 500 says only
"internal error"): no traceback, no paths, no versions.

This module puts the pieces together, :func:`create_app`, and runs them, :func:`serve`. The pieces
live beside it: :mod:`~glassnet.web.guard` (the security rules), :mod:`~glassnet.web.prediction`
(a canvas in, the network's reading out) and :mod:`~glassnet.web.endpoints` (reading a request,
answering errors). The names they export for users are importable from here too.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from glassnet.errors import GlassnetError
from glassnet.web.guard import LOOPBACK_NAMES, MAX_BODY_BYTES, RequestGuard, is_loopback_address
from glassnet.web.prediction import (
    MAX_CANVAS_SIDE,
    MIN_CANVAS_SIDE,
    check_network,
    model_info,
    parse_pixels,
    predict_canvas,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

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

#: The page, its script and its style sheet.
STATIC_DIR = Path(__file__).resolve().parent / "static"


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
    from starlette.middleware import Middleware

    from glassnet.web.endpoints import error_handlers

    check_network(network)
    guard = Middleware(
        RequestGuard, allowed_hosts=tuple(allowed_hosts), max_body_bytes=max_body_bytes
    )
    return Starlette(
        routes=_routes(network, max_body_bytes),
        middleware=[guard],
        exception_handlers=error_handlers(max_body_bytes),
    )


def _routes(network: Network, max_body_bytes: int) -> list[BaseRoute]:
    """The page, its static files and the two API endpoints, each route with its methods."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from glassnet.web.endpoints import read_canvas

    page = (STATIC_DIR / "index.html").read_bytes()
    info = model_info(network)

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    async def model(request: Request) -> Response:
        return JSONResponse(info)

    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        canvas = await read_canvas(request, max_body_bytes)
        result = await run_in_threadpool(predict_canvas, network, canvas)
        result["milliseconds"] = round((time.perf_counter() - started) * 1000.0, 3)
        return JSONResponse(result)

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/api/model", model, methods=["GET", "HEAD"]),
        Route("/api/predict", predict, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


# ------------------------------------------------------------------------------------ the server
def is_loopback_host(host: str) -> bool:
    """Whether listening on ``host`` keeps the server reachable from this machine only."""
    return host.lower().strip("[]") in LOOPBACK_NAMES or is_loopback_address(host.strip("[]"))


def warn_if_exposed(host: str) -> None:
    """Warn on standard error when ``host`` lets other machines reach the server."""
    if not is_loopback_host(host):
        print(
            f"glassnet serve: warning: listening on {host}, not 127.0.0.1: anyone who can reach "
            f"this machine on the network can use the page (there is no password)",
            file=sys.stderr,
            flush=True,
        )


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
    app = create_app(network, allowed_hosts=allowed_hosts)
    sock = _bind(host, port)
    try:
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
    app: Starlette,
    sock: socket.socket,
    ready_callback: Callable[[str], None] | None,
    stop: threading.Event | None,
) -> None:
    """Run uvicorn on the bound socket until interrupted or ``stop`` is set; the socket stays open."""
    import uvicorn

    url = _page_url(sock)
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

    Server(config).run(sockets=[sock])

"""The HTTP side of glassnet's two pages: Starlette apps, served by uvicorn on this machine only.

**The drawing page** (:func:`create_app`, ``glassnet serve MODEL``): draw a digit and watch a
trained network read it, see its backward pass for the label you pick, and teach the page's own
copy of the network with a gradient step.

``GET /``
    The page (``static/index.html``).
``GET /static/<file>``
    Its scripts and style sheet, kept in memory; nothing comes from anywhere else, so the page
    works offline.
``GET /api/model``, ``POST /api/predict``, ``/api/backward``, ``/api/learn``, ``/api/reset``
    The network, and a drawing in: see :mod:`glassnet.web.drawing`. A drawing is sent as
    ``application/json``::

        {"pixels": [[0, 0, 255, ...], ...]}     rows of a grayscale canvas, 8..1024 on a side,
                                                 numbers in 0..255, ink bright on black

**The live page** (:func:`create_watch_app`, ``glassnet watch RUN``): a run folder's curves, each
layer's gradient size and the first layer's weights as images, updated as epochs end.

``GET /``
    The page (``static/watch.html``).
``GET /api/run``, ``GET /api/weights``
    The run's settings and history; the first layer's weights (see :mod:`glassnet.web.runview`).

Both pages are meant for the person at the keyboard, so the server defends itself against the
rest of the world, and against web pages in the same browser: it listens on 127.0.0.1 unless told
otherwise (and warns when told otherwise), and every request passes
:class:`~glassnet.web.guard.RequestGuard` first, which refuses foreign ``Host`` and ``Origin``
headers with 403 and bodies over :data:`MAX_BODY_BYTES` with 413. Every error is a JSON object
``{"error": "<one line>"}`` with the matching status (400, 403, 404, 405, 413, 415, 503; 500 says
only "internal error"): no traceback, no paths, no versions.

This module puts the pieces together and runs them (:func:`serve`, :func:`serve_run`, through
:func:`glassnet.web.listen.serve_app`). The pieces live beside it: :mod:`~glassnet.web.guard`
(the security rules), :mod:`~glassnet.web.prediction` and :mod:`~glassnet.web.backward` (a
canvas in, the network's forward and backward pass out), :mod:`~glassnet.web.sessions` (each
page's own copy of the network), :mod:`~glassnet.web.endpoints` (reading a request, answering
errors) and :mod:`~glassnet.web.limits` (running short of file descriptors). The names they
export for users are importable from here too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from glassnet.errors import GlassnetError
from glassnet.web.guard import MAX_BODY_BYTES, RequestGuard
from glassnet.web.listen import is_loopback_host, serve_app, warn_if_exposed
from glassnet.web.prediction import (
    MAX_CANVAS_SIDE,
    MIN_CANVAS_SIDE,
    check_network,
    parse_pixels,
    predict_canvas,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute

    from glassnet.network import Network

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CANVAS_SIDE",
    "MIN_CANVAS_SIDE",
    "STATIC_DIR",
    "check_network",
    "create_app",
    "create_watch_app",
    "is_loopback_host",
    "parse_pixels",
    "predict_canvas",
    "require_web",
    "serve",
    "serve_run",
    "warn_if_exposed",
]

#: The pages, their scripts and their style sheet.
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: What ``/static/`` serves, by file name ending.
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


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


# -------------------------------------------------------------------------------------- the apps
def create_app(
    network: Network, *, allowed_hosts: Iterable[str] = (), max_body_bytes: int = MAX_BODY_BYTES
) -> Starlette:
    """The Starlette application serving the drawing page and its API for ``network``.

    Parameters
    ----------
    network : Network
        A network taking 28x28 = 784 inputs, such as one ``glassnet train`` saves. The app never
        changes it: "learn this" changes a page's own copy (:mod:`glassnet.web.sessions`).
    allowed_hosts : iterable of str
        Extra names the ``Host`` header may carry (the machine's name on a network, say).
    max_body_bytes : int, default 6 MiB
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
    check_network(network)
    from glassnet.web.drawing import api_routes

    routes = _page_routes("index.html") + api_routes(network, max_body_bytes)
    return _app(routes, allowed_hosts, max_body_bytes)


def create_watch_app(
    folder: str | os.PathLike[str], *, allowed_hosts: Iterable[str] = ()
) -> Starlette:
    """The Starlette application serving the live page of the run in ``folder``.

    Raises
    ------
    ValueError
        If ``folder`` is not a run folder.
    glassnet.errors.GlassnetError
        If Starlette is not installed.
    """
    require_web()
    from glassnet.web.runview import RunView
    from glassnet.web.watch import watch_routes

    view = RunView(folder)
    return _app(_page_routes("watch.html") + watch_routes(view), allowed_hosts, MAX_BODY_BYTES)


def _app(routes: list[BaseRoute], allowed_hosts: Iterable[str], max_body_bytes: int) -> Starlette:
    """An app of ``routes`` behind the guard, every error answered in JSON."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from glassnet.web.endpoints import error_handlers

    guard = Middleware(
        RequestGuard, allowed_hosts=tuple(allowed_hosts), max_body_bytes=max_body_bytes
    )
    return Starlette(
        routes=routes, middleware=[guard], exception_handlers=error_handlers(max_body_bytes)
    )


def _page_routes(page: str) -> list[BaseRoute]:
    """``GET /`` for ``page``, and ``GET /static/<name>`` for the scripts and style sheets.

    Every file is read once, here: a request never opens a file, so no request can fail for want
    of a file descriptor, and nothing outside the package's static folder can ever be served.
    """
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    html = (STATIC_DIR / page).read_bytes()
    files = {
        path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
        for path in sorted(STATIC_DIR.iterdir())
        if path.suffix in MEDIA_TYPES
    }

    async def index(request: Request) -> Response:
        return Response(html, media_type="text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        found = files.get(request.path_params["name"])
        if found is None:
            raise HTTPException(404)
        return Response(found[0], media_type=found[1])

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/static/{name:path}", static, methods=["GET", "HEAD"]),
    ]


# ----------------------------------------------------------------------------------- the servers
def serve(
    network: Network,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_callback: Callable[[str], None] | None = None,
    *,
    allowed_hosts: Iterable[str] = (),
    stop: threading.Event | None = None,
) -> None:
    """Serve the drawing page for ``network`` until interrupted (or until ``stop`` is set).

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
    app = create_app(network, allowed_hosts=allowed_hosts)
    serve_app(app, host, port, ready_callback, stop)


def serve_run(
    folder: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 0,
    ready_callback: Callable[[str], None] | None = None,
    *,
    allowed_hosts: Iterable[str] = (),
    stop: threading.Event | None = None,
) -> None:
    """Serve the live page of the run in ``folder``; the parameters are :func:`serve`'s."""
    app = create_watch_app(folder, allowed_hosts=allowed_hosts)
    serve_app(app, host, port, ready_callback, stop)

"""The live page's API: a run folder's state, as the page polls for it.

``GET /api/run?version=V``
    :meth:`~glassnet.web.runview.RunView.status`: the settings, one row of figures per finished
    epoch (left out if the page's ``version`` is still current), whether a process still trains
    the run, and a ``version`` for the history and one for the weights, so the page fetches the
    rows and the weights only when they change.
``GET /api/weights``
    :meth:`~glassnet.web.runview.RunView.weights`: the first layer's weights, an image per unit.

Both only read the folder, and only the files a run writes there. This module needs Starlette.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from glassnet.web.runview import RunView

__all__ = ["POLL_SECONDS", "watch_routes"]

#: How often the page asks whether the run has moved on.
POLL_SECONDS = 1.0


def watch_routes(view: RunView) -> list[BaseRoute]:
    """The live page's API routes for the run ``view`` reads."""

    async def run(request: Request) -> Response:
        known = request.query_params.get("version")
        status = await run_in_threadpool(view.status, known)
        return JSONResponse({**status, "poll_seconds": POLL_SECONDS})

    async def weights(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(view.weights))

    return [
        Route("/api/run", run, methods=["GET", "HEAD"]),
        Route("/api/weights", weights, methods=["GET", "HEAD"]),
    ]

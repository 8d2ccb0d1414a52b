"""The drawing page's API: a drawing in, the network's reading, its backward pass, a step of learning.

Routes (every ``POST`` takes ``application/json``; ``session`` is the page's token, see
:mod:`glassnet.web.sessions`, and is optional except where it is the point):

``GET /api/model``
    The network: layer sizes, activation, class names, parameter count, stored metrics, and the
    step "learn this" takes by default (``learning_rate``).
``POST /api/predict``  ``{"pixels": [[...]], "session"?}``
    The class probabilities, the 28x28 input and the hidden layers' activations
    (:func:`~glassnet.web.prediction.predict_canvas`).
``POST /api/backward``  ``{"pixels": [[...]], "label"?, "session"?}``
    The backward pass for the label (by default the prediction):
    :func:`~glassnet.web.backward.backward_view`.
``POST /api/learn``  ``{"pixels": [[...]], "label", "session", "learning_rate"?}``
    One gradient step on the drawing in the page's own copy of the network, and the probabilities
    before and after (:func:`~glassnet.web.backward.learn_step`); ``steps`` counts the copy's steps.
``POST /api/reset``  ``{"session"}``
    The page's copy is dropped: the page reads the network the server started with again.

Nothing here writes to disk. This module needs Starlette; :func:`glassnet.web.server.create_app`
imports it after checking that Starlette is installed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from glassnet.web import backward, prediction
from glassnet.web.endpoints import read_fields
from glassnet.web.sessions import Sessions, check_token

if TYPE_CHECKING:
    from glassnet.network import Network

__all__ = ["api_routes"]


def api_routes(network: Network, max_body_bytes: int) -> list[BaseRoute]:
    """The API's routes for ``network``, each with its methods."""
    sessions = Sessions(network)
    info = {**prediction.model_info(network), "learning_rate": backward.DEFAULT_LEARNING_RATE}
    n_classes = network.n_classes

    async def model(request: Request) -> Response:
        return JSONResponse(info)

    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        fields = await read_fields(request, max_body_bytes, ("pixels", "session"))
        canvas, token = _canvas(fields), _token(fields)
        result = await run_in_threadpool(
            sessions.read, token, lambda net: prediction.predict_canvas(net, canvas)
        )
        result["steps"] = sessions.steps(token)
        result["milliseconds"] = _since(started)
        return JSONResponse(result)

    async def backward_pass(request: Request) -> Response:
        started = time.perf_counter()
        fields = await read_fields(request, max_body_bytes, ("pixels", "label", "session"))
        canvas, token = _canvas(fields), _token(fields)
        label = _label(fields, n_classes) if "label" in fields else None
        result = await run_in_threadpool(
            sessions.read, token, lambda net: backward.backward_view(net, canvas, label)
        )
        result["milliseconds"] = _since(started)
        return JSONResponse(result)

    async def learn(request: Request) -> Response:
        fields = await read_fields(
            request, max_body_bytes, ("pixels", "label", "session", "learning_rate")
        )
        canvas, token, label = _canvas(fields), _required_token(fields), _label(fields, n_classes)
        rate = fields.get("learning_rate", backward.DEFAULT_LEARNING_RATE)
        rate = _checked(backward.check_learning_rate, rate)
        if prediction.drawing_image(canvas) is None:  # nothing to learn; no copy made
            return JSONResponse({"empty": True, "steps": sessions.steps(token)})

        def step(net: Network) -> dict[str, Any]:
            return backward.learn_step(net, canvas, label, rate)

        result, steps = await run_in_threadpool(sessions.change, token, step)
        return JSONResponse({**result, "steps": steps})

    async def reset(request: Request) -> Response:
        fields = await read_fields(request, max_body_bytes, ("session",))
        had_copy = sessions.reset(_required_token(fields))
        return JSONResponse({"reset": had_copy, "steps": 0})

    return [
        Route("/api/model", model, methods=["GET", "HEAD"]),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/backward", backward_pass, methods=["POST"]),
        Route("/api/learn", learn, methods=["POST"]),
        Route("/api/reset", reset, methods=["POST"]),
    ]


def _canvas(fields: dict[str, Any]) -> Any:
    return _checked(prediction.parse_pixels, {"pixels": fields.get("pixels")})


def _label(fields: dict[str, Any], n_classes: int) -> int:
    if "label" not in fields:
        raise HTTPException(400, '"label" is missing: which class should the drawing be?')
    return int(_checked(backward.check_label, fields["label"], n_classes))


def _token(fields: dict[str, Any]) -> str | None:
    """The page's token if the request names one (checked), else ``None``."""
    return _required_token(fields) if "session" in fields else None


def _required_token(fields: dict[str, Any]) -> str:
    if "session" not in fields:
        raise HTTPException(400, '"session" is missing: the page\'s token')
    return str(_checked(check_token, fields["session"]))


def _checked(check: Callable[..., Any], *args: Any) -> Any:
    """``check(*args)``, its ``ValueError`` turned into a 400 with the same words."""
    try:
        return check(*args)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)

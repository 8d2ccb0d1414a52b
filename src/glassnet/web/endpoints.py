"""The HTTP edges of the page's API: reading a drawing from a request, and every error as JSON.

A ``POST /api/predict`` is read in named steps, each refusing with its own status and reason:

1. the body must be ``application/json`` (415);
2. it is read up to the size limit (413; :class:`~glassnet.web.guard.RequestGuard` has usually
   refused it already, from its ``Content-Length`` or as it arrived);
3. it must parse as JSON, and ``NaN`` or ``Infinity``, which JSON does not have, do not (400);
4. it must hold a canvas :func:`~glassnet.web.prediction.parse_pixels` accepts (400).

:func:`error_handlers` turn whatever ends a request (those refusals, Starlette's own 404 and 405,
a fault in glassnet) into a JSON object ``{"error": "<one line>"}`` with the matching status; a
fault says only "internal error" with 500.

This module needs Starlette; :func:`glassnet.web.server.create_app` imports it only after checking
that Starlette is installed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from glassnet.web.guard import BodyTooLarge
from glassnet.web.prediction import parse_pixels

__all__ = ["error_handlers", "read_canvas"]

#: What Starlette calls when a request ends in an exception: the request and the exception in,
#: the answer out.
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


# ------------------------------------------------------------------------------- reading a drawing
async def read_canvas(request: Request, max_body_bytes: int) -> NDArray[np.float32]:
    """The canvas a ``POST /api/predict`` request sends, checked.

    Parameters
    ----------
    request : starlette.requests.Request
        The request, its body not yet read.
    max_body_bytes : int
        Largest body accepted.

    Returns
    -------
    canvas : (height, width) float32 array
        Values in ``0..255``, ink bright, as :func:`~glassnet.web.prediction.parse_pixels` returns.

    Raises
    ------
    starlette.exceptions.HTTPException
        415 for a body that is not JSON, 400 for malformed JSON or a canvas that is not one, with
        the reason as its detail.
    glassnet.web.guard.BodyTooLarge
        Once the body passes ``max_body_bytes``.
    """
    _check_media_type(request)
    body = await _read_body(request, max_body_bytes)
    payload = _decode_json(body)
    try:
        return parse_pixels(payload)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _check_media_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(415, "send the drawing as application/json")


async def _read_body(request: Request, max_body_bytes: int) -> bytearray:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body_bytes:  # the guard stops this too; be sure
            raise BodyTooLarge
    return body


def _decode_json(body: bytearray) -> Any:
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, f"malformed JSON: {_one_line(exc)}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


# ---------------------------------------------------------------------------------- the errors
def error_handlers(max_body_bytes: int) -> dict[Any, ErrorHandler]:
    """The app's exception handlers: every error a one-line JSON object with its status.

    Parameters
    ----------
    max_body_bytes : int
        Largest body accepted, named in the 413 answer.

    Returns
    -------
    dict
        Exception class to handler, as ``Starlette(exception_handlers=...)`` takes it.
    """

    async def too_large(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"error": f"the request body is over {max_body_bytes:,} bytes"},
            status_code=413,
            headers={"connection": "close"},
        )

    return {
        HTTPException: _http_error,
        BodyTooLarge: too_large,
        Exception: _internal_error,
    }


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    # Starlette's own 404/405 details are generic phrases; ours (400, 415) are the reason.
    messages = {404: "not found", 405: "method not allowed"}
    message = messages.get(status) or getattr(exc, "detail", None) or "request refused"
    return JSONResponse(
        {"error": message},
        status_code=status,
        headers=dict(getattr(exc, "headers", None) or {}),
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "internal error"}, status_code=500)

"""The HTTP edges of the pages' API: reading a request's JSON, and every error as JSON.

A ``POST`` to the drawing page's API is read in named steps, each refusing with its own status and
reason:

1. the body must be ``application/json`` (415);
2. it is read up to the size limit (413; :class:`~glassnet.web.guard.RequestGuard` has usually
   refused it already, from its ``Content-Length`` or as it arrived);
3. it must parse as JSON, and ``NaN`` or ``Infinity``, which JSON does not have, do not (400);
4. its fields must be what the endpoint takes: a canvas :func:`~glassnet.web.prediction.parse_pixels`
   accepts, a label, a session, a learning rate (400).

:func:`error_handlers` turn whatever ends a request (those refusals, Starlette's own 404 and 405,
a fault in glassnet) into a JSON object ``{"error": "<one line>"}`` with the matching status; a
fault says only "internal error" with 500. Two endings are not faults and leave no traceback in
the log: a client that goes away before its body has arrived (nobody is left to answer), and a
server out of file descriptors (503, reported in one line a minute by
:data:`~glassnet.web.limits.SHORTAGES`).

This module needs Starlette; :func:`glassnet.web.server.create_app` imports it only after checking
that Starlette is installed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from glassnet.errors import InputError, one_line
from glassnet.web.guard import BodyTooLarge
from glassnet.web.limits import RESOURCE_ERRNOS, SHORTAGES

__all__ = ["error_handlers", "read_fields", "read_json"]

#: What Starlette calls when a request ends in an exception: the request and the exception in,
#: the answer out.
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


# ------------------------------------------------------------------------------- reading a request
async def read_fields(
    request: Request, max_body_bytes: int, fields: tuple[str, ...]
) -> dict[str, Any]:
    """A request's JSON object, refused (400) if it holds any field but ``fields``.

    Parameters
    ----------
    request : starlette.requests.Request
    max_body_bytes : int
    fields : tuple of str
        The names the endpoint takes; which of them are required is for the endpoint to say.

    Returns
    -------
    dict
        The decoded object.
    """
    payload = await read_json(request, max_body_bytes)
    if not isinstance(payload, dict):
        raise HTTPException(400, "the body must be a JSON object")
    unknown = sorted(set(payload) - set(fields))
    if unknown:
        raise HTTPException(400, f"unknown field {unknown[0]!r}; expected {', '.join(fields)}")
    return payload


async def read_json(request: Request, max_body_bytes: int) -> Any:
    """The decoded JSON body of a request: steps 1 to 3 above."""
    _check_media_type(request)
    body = await _read_body(request, max_body_bytes)
    return _decode_json(body)


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
        raise HTTPException(400, f"malformed JSON: {one_line(exc, 200)}") from None


def _refuse_constant(name: str) -> Any:
    raise InputError(f"{name} is not a JSON number")


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

    async def out_of_resources(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, OSError) or exc.errno not in RESOURCE_ERRNOS:
            raise exc  # a real fault: Starlette answers 500 and the log keeps its traceback
        SHORTAGES.report(exc)
        return JSONResponse(
            {"error": "the server is short of resources (open files); try again shortly"},
            status_code=503,
            headers={"connection": "close", "retry-after": "5"},
        )

    return {
        HTTPException: _http_error,
        BodyTooLarge: too_large,
        ClientDisconnect: _client_gone,
        OSError: out_of_resources,
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


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client closed its connection before sending the whole body: not a fault of the server,
    # and no one is left to read an answer (uvicorn drops it).
    return Response(status_code=400, headers={"connection": "close"})


async def _internal_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "internal error"}, status_code=500)

"""Errors of the web side as RFC 9457 problem documents (``application/problem+json``).

Handlers raise ``ApiError`` (a status, a detail, and the parameters or fields at fault);
``exception_handlers()`` turns it, and Starlette's own 404 and 405 (whose ``Allow`` header
it keeps), into problem documents, so that every error of the app has the same shape::

    {"type": "about:blank", "title": "Bad Request", "status": 400,
     "detail": "Invalid query parameter 'since'.",
     "errors": [{"field": "since", "message": "expected an RFC 3339 date-time ..."}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule: ``field`` names a parameter, a body field, or ``body``."""

    field: str
    message: str


class ApiError(Exception):
    """Answer the request with a problem document of ``status``."""

    def __init__(self, status: int, detail: str, *errors: FieldError,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def json_response(data: Any, status: int = 200, *, headers: dict[str, str] | None = None,
                  media_type: str = "application/json") -> Response:
    """``data`` as JSON (ASCII-escaped: any text a client sent can be echoed back safely)."""
    return Response(json.dumps(data), status, headers=headers, media_type=media_type)


def problem(status: int, detail: str | None = None, *, errors: tuple[FieldError, ...] = (),
            headers: dict[str, str] | None = None) -> Response:
    """A problem document for ``status``, titled with the status's standard phrase."""
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase,
                            "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return json_response(body, status, headers=headers, media_type=PROBLEM_JSON)


def bad_parameter(name: str, message: str) -> ApiError:
    """The 400 of an invalid query or path parameter ``name``."""
    return ApiError(400, f"Invalid parameter {name!r}: {message}.", FieldError(name, message))


def not_found(what: str) -> ApiError:
    """A 404 saying what does not exist."""
    return ApiError(404, f"There is no {what}.")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return problem(exc.status, exc.detail, errors=exc.errors, headers=exc.headers)


async def _http_exception(request: Request, exc: Exception) -> Response:
    # Starlette's own 404 (no such path) and 405 (with its Allow header).
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    # Starlette logs the exception after this answer: the client gets no traceback.
    return problem(500, "An internal error of assay; the server's log has the details.")


def exception_handlers() -> dict[Any, Any]:
    """Handlers for ``Starlette(exception_handlers=...)`` (``Exception``: any bug)."""
    return {ApiError: _api_error, HTTPException: _http_exception, Exception: _server_error}

"""How the Bookshelf answers when something is wrong: RFC 9457 problem documents.

Handlers raise ``MalformedBody`` (400), ``Unauthorized`` (401) or ``InvalidRequest`` (422);
the handlers of ``exception_handlers()`` turn them, and Starlette's own 404 and 405,
into ``application/problem+json`` responses so that every error looks the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule: ``field`` is a parameter name, a body field, or ``"body"``."""

    field: str
    message: str


class InvalidRequest(Exception):
    """Parameters or body break the document's rules: answered with 422."""

    def __init__(self, *errors: FieldError):
        super().__init__("; ".join(f"{e.field} {e.message}" for e in errors))
        self.errors = errors


class MalformedBody(Exception):
    """The body is not JSON at all: answered with 400."""


class Unauthorized(Exception):
    """The bearer token is missing or wrong: answered with 401."""


def json_response(data: Any, status: int = 200, *, headers: dict[str, str] | None = None,
                  media_type: str = "application/json") -> Response:
    """``data`` as JSON. ASCII-escaped, so any string a client sent can be echoed back."""
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


def crash(function: str, code: str, error: str) -> Response:
    """The 500 of an unhandled exception, as a careless framework shows it.

    The seeded defects use it instead of raising for real, so that a demo run does not
    fill the server's log with tracebacks.
    """
    body = (
        "Traceback (most recent call last):\n"
        f'  File "bookshelf/handlers.py", line 42, in {function}\n'
        f"    {code}\n"
        f"{error}\n"
    )
    return PlainTextResponse(body, 500)


async def _invalid_request(request: Request, exc: InvalidRequest) -> Response:
    return problem(422, "The request breaks the API's rules.", errors=exc.errors)


async def _malformed_body(request: Request, exc: MalformedBody) -> Response:
    return problem(400, str(exc))


async def _unauthorized(request: Request, exc: Unauthorized) -> Response:
    return problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="bookshelf"'})


async def _http_exception(request: Request, exc: HTTPException) -> Response:
    # Starlette's own 404 (no such path) and 405 (with its Allow header).
    return problem(exc.status_code, headers=exc.headers)


def exception_handlers() -> dict[type[Exception], Any]:
    """Handlers for ``Starlette(exception_handlers=...)``."""
    return {
        InvalidRequest: _invalid_request,
        MalformedBody: _malformed_body,
        Unauthorized: _unauthorized,
        HTTPException: _http_exception,
    }

"""The mock's admin routes under ``/__assay/``, for the tests that drive it.

- ``GET /__assay/requests`` lists the journal, ``DELETE`` clears it;
- ``GET``/``PUT``/``DELETE /__assay/faults`` read, replace and clear the fault rules (the
  faults file's shape, in JSON);
- ``POST /__assay/reset`` forgets the stateful mode's resources;
- ``GET /__assay/health`` answers 200 once the mock serves (for readiness probes).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError
from ..http.serving import ServerRequest, ServerResponse
from .faults import FaultSet, parse_faults

if TYPE_CHECKING:
    from .app import MockApp


def json_response(status: int, body: Any, headers: list[tuple[str, str]] | None = None,
                  media_type: str = "application/json") -> ServerResponse:
    """A JSON answer."""
    return ServerResponse(status, [("Content-Type", media_type), *(headers or [])],
                          json.dumps(body, indent=None).encode())


def admin_problem(status: int, detail: str, headers: list[tuple[str, str]] | None = None
                  ) -> ServerResponse:
    """An ``application/problem+json`` answer of an admin route."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": detail}
    return json_response(status, body, headers, "application/problem+json")


class Admin:
    """Answers ``/__assay/...`` for one ``MockApp``."""

    def __init__(self, app: MockApp):
        self.app = app
        self._routes = {
            "/__assay/requests": {"GET": self._requests, "DELETE": self._clear_requests},
            "/__assay/faults": {"GET": self._faults, "PUT": self._put_faults,
                                "DELETE": self._clear_faults},
            "/__assay/reset": {"POST": self._reset},
            "/__assay/health": {"GET": self._health},
        }

    def handle(self, request: ServerRequest) -> ServerResponse:
        """The answer to an admin request (404 or 405 for what does not exist)."""
        path = request.path.rstrip("/")
        methods = self._routes.get(path)
        if methods is None:
            return admin_problem(404, f"no admin route {path}; routes: "
                                 f"{', '.join(sorted(self._routes))}")
        handler = methods.get(request.method)
        if handler is None:
            allowed = ", ".join(methods)
            return admin_problem(405, f"{path} allows {allowed}", [("Allow", allowed)])
        return handler(request)

    def _requests(self, request: ServerRequest) -> ServerResponse:
        entries = [entry.to_json() for entry in self.app.journal.entries()]
        return json_response(200, {"requests": entries, "count": len(entries)})

    def _clear_requests(self, request: ServerRequest) -> ServerResponse:
        return json_response(200, {"cleared": self.app.journal.clear()})

    def _faults(self, request: ServerRequest) -> ServerResponse:
        return json_response(200, self.app.faults.faults.to_json())

    def _put_faults(self, request: ServerRequest) -> ServerResponse:
        try:
            data = json.loads(request.body or b"null")
        except ValueError as exc:
            return admin_problem(400, f"PUT /__assay/faults: the body is not JSON: {exc}")
        try:
            faults = parse_faults(data, "PUT /__assay/faults")
        except ConfigError as exc:
            return admin_problem(400, str(exc))
        self.app.faults.replace(faults)
        return json_response(200, faults.to_json())

    def _clear_faults(self, request: ServerRequest) -> ServerResponse:
        self.app.faults.replace(FaultSet(()))
        return json_response(200, FaultSet(()).to_json())

    def _reset(self, request: ServerRequest) -> ServerResponse:
        state = self.app.state
        return json_response(200, {"reset": state.reset() if state is not None else 0,
                                   "stateful": state is not None})

    def _health(self, request: ServerRequest) -> ServerResponse:
        return json_response(200, {"status": "ok"})

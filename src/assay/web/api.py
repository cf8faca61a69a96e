"""The REST API under ``/api/`` (documented by ``openapi.yaml``).

Every path is an ``HTTPEndpoint``, so that a method the document does not declare gets 405
with an ``Allow`` header. Synchronous methods run in Starlette's thread pool: they read the
store, which may block. Parameters are checked by ``params`` exactly as the document states
them; errors are problem documents (``problems``).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..monitor.model import Monitor
from .jsonview import incident_json, iso, monitor_json, newest, result_json, silence_json
from .notifications import STATUSES, find_notifications, notification_json
from .params import new_silence, parse_json, query_int, query_time, text_int
from .problems import bad_parameter, json_response, not_found
from .view import MonitorView

LIMIT = {"default": 100, "minimum": 1, "maximum": 1000}
# Ids beyond a signed 64-bit integer name no stored row (and would overflow a SQL query).
_MAX_ID = 2**63 - 1


def view_of(request: Request) -> MonitorView:
    """The ``MonitorView`` of the app serving ``request``."""
    return request.app.state.view


def monitor_entry(view: MonitorView, monitor: Monitor, states: dict[str, dict[str, Any]],
                  paused: set[str]) -> dict[str, Any]:
    """The API's ``Monitor`` object for ``monitor``."""
    last = newest(view.store.latest_by_location(monitor.name))
    return monitor_json(monitor, states.get(monitor.name, {}), monitor.name in paused, last)


def known_monitor(view: MonitorView, name: str) -> Monitor:
    """The configured monitor ``name``, or a 404."""
    monitor = view.config.monitor(name)
    if monitor is None:
        raise not_found(f"monitor {name!r}")
    return monitor


def _matches_nothing(*values: str | None) -> bool:
    # No stored name holds a NUL (PostgreSQL text cannot): such a filter matches nothing,
    # and asking the database would fail.
    return any(value is not None and "\x00" in value for value in values)


class MonitorList(HTTPEndpoint):
    """/api/monitors"""

    def get(self, request: Request) -> Response:
        """Every monitor, in config order, with its state and newest result."""
        view = view_of(request)
        states, paused = view.states(), view.store.paused()
        return json_response([monitor_entry(view, m, states, paused)
                              for m in view.config.monitors])


class MonitorPause(HTTPEndpoint):
    """/api/monitors/{name}/pause"""

    def post(self, request: Request) -> Response:
        """Pause the monitor; 200 with it."""
        return _set_paused(request, paused=True)


class MonitorResume(HTTPEndpoint):
    """/api/monitors/{name}/resume"""

    def post(self, request: Request) -> Response:
        """Resume the monitor; 200 with it."""
        return _set_paused(request, paused=False)


def _set_paused(request: Request, *, paused: bool) -> Response:
    view = view_of(request)
    monitor = known_monitor(view, request.path_params["name"])
    if paused:
        view.pause(monitor.name)
    else:
        view.resume(monitor.name)
    return json_response(monitor_entry(view, monitor, view.states(), view.store.paused()))


class ResultList(HTTPEndpoint):
    """/api/results"""

    def get(self, request: Request) -> Response:
        """Results newest first, filtered by monitor, location and time."""
        query = request.query_params
        since, until = query_time(query, "since"), query_time(query, "until")
        limit = query_int(query, "limit", **LIMIT)
        monitor, location = query.get("monitor"), query.get("location")
        if _matches_nothing(monitor, location):
            return json_response([])
        results = view_of(request).store.results(monitor=monitor, location=location,
                                                 since=since, until=until, limit=limit)
        return json_response([result_json(r) for r in results])


class IncidentList(HTTPEndpoint):
    """/api/incidents"""

    def get(self, request: Request) -> Response:
        """Incidents newest first, filtered by monitor and start time."""
        query = request.query_params
        since = query_time(query, "since")
        limit = query_int(query, "limit", **LIMIT)
        monitor = query.get("monitor")
        if _matches_nothing(monitor):
            return json_response([])
        incidents = view_of(request).store.incidents(monitor=monitor, since=since, limit=limit)
        return json_response([incident_json(i) for i in incidents])


class NotificationList(HTTPEndpoint):
    """/api/notifications"""

    def get(self, request: Request) -> Response:
        """Notifications (the outbox) newest first, filtered by status, monitor, channel."""
        query = request.query_params
        status = query.get("status")
        if status is not None and status not in STATUSES:
            raise bad_parameter("status", f"expected one of {', '.join(STATUSES)}, "
                                          f"found {status[:80]!r}")
        limit = query_int(query, "limit", **LIMIT)
        found = find_notifications(view_of(request).store, status=status,
                                   monitor=query.get("monitor"), channel=query.get("channel"),
                                   limit=limit)
        return json_response([notification_json(item) for item in found])


class SilenceList(HTTPEndpoint):
    """/api/silences"""

    def get(self, request: Request) -> Response:
        """Every silence, with whether it is active now."""
        view = view_of(request)
        now = view.now()
        return json_response([silence_json(s, now) for s in view.store.silences()])

    async def post(self, request: Request) -> Response:
        """Create a silence: 201 with it and its Location."""
        body = parse_json(await request.body())
        return await run_in_threadpool(_create_silence, view_of(request), body)


def _create_silence(view: MonitorView, body: Any) -> Response:
    now = view.now()
    wanted = new_silence(body, now)
    silence = view.store.add_silence(wanted.monitor, wanted.starts_at, wanted.ends_at,
                                     wanted.reason, created_by="api")
    return json_response(silence_json(silence, now), 201,
                         headers={"Location": f"/api/silences/{silence.id}"})


class SilenceItem(HTTPEndpoint):
    """/api/silences/{silenceId}"""

    def get(self, request: Request) -> Response:
        """The silence, or 404."""
        view = view_of(request)
        wanted = _silence_id(request)
        found = next((s for s in view.store.silences() if s.id == wanted), None)
        if found is None:
            raise not_found(f"silence {request.path_params['silenceId']}")
        return json_response(silence_json(found, view.now()))

    def delete(self, request: Request) -> Response:
        """Delete the silence: 204, or 404."""
        wanted = _silence_id(request)
        if wanted is None or not view_of(request).store.delete_silence(wanted):
            raise not_found(f"silence {request.path_params['silenceId']}")
        return Response(status_code=204)


def _silence_id(request: Request) -> int | None:
    """The ``silenceId`` path parameter (None: a valid integer no row can have)."""
    text = request.path_params["silenceId"]
    value = text_int(text)
    if value is None:
        raise bad_parameter("silenceId", f"expected an integer, found {text[:80]!r}")
    return value if -_MAX_ID <= value <= _MAX_ID else None


class Heartbeat(HTTPEndpoint):
    """/api/heartbeat/{name} (public: jobs ping it without credentials)."""

    def post(self, request: Request) -> Response:
        """Record a ping of a heartbeat monitor; 404 for any other name."""
        view = view_of(request)
        name = request.path_params["name"]
        monitor = view.config.monitor(name)
        if monitor is None or monitor.kind != "heartbeat":
            raise not_found(f"heartbeat monitor {name!r}")
        now = view.now()
        view.heartbeat(monitor.name, now)
        return json_response({"monitor": monitor.name, "received_at": iso(now)})


class OpenApiDocument(HTTPEndpoint):
    """/api/openapi.json"""

    async def get(self, request: Request) -> Response:
        """This API's OpenAPI document."""
        return json_response(request.app.state.openapi)


def api_routes() -> list[Route]:
    """The API's routes. Monitor names may hold any character, ``/`` included."""
    return [
        Route("/api/monitors", MonitorList),
        Route("/api/monitors/{name:path}/pause", MonitorPause),
        Route("/api/monitors/{name:path}/resume", MonitorResume),
        Route("/api/results", ResultList),
        Route("/api/incidents", IncidentList),
        Route("/api/notifications", NotificationList),
        Route("/api/silences", SilenceList),
        Route("/api/silences/{silenceId}", SilenceItem),
        Route("/api/heartbeat/{name:path}", Heartbeat),
        Route("/api/openapi.json", OpenApiDocument),
    ]

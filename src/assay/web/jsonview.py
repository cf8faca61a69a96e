"""Records as the API's JSON (the schemas of ``openapi.yaml``), and times as RFC 3339 text.

Times are epoch seconds inside assay; the API and the pages show them as RFC 3339 in UTC
(``2024-05-01T12:00:00Z``), the format its parameters also accept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..monitor.model import Monitor
from ..monitor.records import Incident, RunResult, Silence

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The range datetime (and RFC 3339 with four-digit years) can write: times are clamped to it.
MIN_TIME = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH).total_seconds()
MAX_TIME = (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - EPOCH).total_seconds()


def clamp_time(seconds: float) -> float:
    """``seconds`` within the years 1 to 9999 (a silence "until year 30000" ends in 9999)."""
    return min(max(seconds, MIN_TIME), MAX_TIME)


def iso(seconds: float) -> str:
    """Epoch seconds as RFC 3339 UTC text (microseconds only when there are some).

    >>> iso(0)
    '1970-01-01T00:00:00Z'
    """
    moment = EPOCH + timedelta(seconds=clamp_time(seconds))
    return moment.isoformat().replace("+00:00", "Z")


def iso_or_none(seconds: float | None) -> str | None:
    """``iso(seconds)``, or None."""
    return None if seconds is None else iso(seconds)


def result_json(result: RunResult) -> dict[str, Any]:
    """A ``Result`` of the API."""
    return {
        "id": result.id, "monitor": result.monitor, "location": result.location,
        "at": iso(result.at), "planned_at": iso(result.planned_at), "ok": result.ok,
        "outcome": result.outcome, "status": result.status, "latency_ms": result.latency_ms,
        "reason": result.reason, "attempts": result.attempts,
    }


def incident_json(incident: Incident) -> dict[str, Any]:
    """An ``Incident`` of the API (``open`` while unresolved)."""
    return {
        "id": incident.id, "monitor": incident.monitor, "started_at": iso(incident.started_at),
        "resolved_at": iso_or_none(incident.resolved_at),
        "open": incident.resolved_at is None, "reason": incident.reason,
        "location": incident.location,
    }


def silence_json(silence: Silence, now: float) -> dict[str, Any]:
    """A ``Silence`` of the API (``active`` at ``now``)."""
    return {
        "id": silence.id, "monitor": silence.monitor, "starts_at": iso(silence.starts_at),
        "ends_at": iso(silence.ends_at), "reason": silence.reason,
        "created_by": silence.created_by,
        "active": silence.starts_at <= now < silence.ends_at,
    }


def monitor_json(monitor: Monitor, state: dict[str, Any], paused: bool,
                 last: RunResult | None) -> dict[str, Any]:
    """A ``Monitor`` of the API: its configuration summary, state and newest result."""
    return {
        "name": monitor.name, "kind": monitor.kind, "group": monitor.group,
        "description": monitor.description, "every_s": monitor.every_s, "cron": monitor.cron,
        "state": state.get("state", "unknown"), "reason": state.get("reason"),
        "paused": paused, "last_result": None if last is None else result_json(last),
    }


def newest(results: dict[str, RunResult]) -> RunResult | None:
    """The newest of a monitor's latest results by location."""
    return max(results.values(), key=lambda r: r.at, default=None)

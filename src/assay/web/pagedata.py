"""What each page shows, gathered from a ``MonitorView`` (blocking: it reads the store, so
the pages call these functions in a worker thread). The templates only lay the data out.
The dashboard and a monitor's page list the newest notifications (the outbox); the public
status page does not (their errors can name internal hosts).

Uptime is ``(runs - failures) / runs`` over the last 24 hours, 7 and 30 days, raw results
and hourly rollups together (``Store.counts``); "no runs" when there were none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..monitor.model import Monitor
from ..monitor.records import OutboxItem
from ..reporting.svgcharts import format_ms
from .charts import percentile_chart, sparkline
from .jsonview import iso, newest
from .notifications import find_notifications, notification_status, payload_text, retrying
from .view import MonitorView

DAY = 86400.0
UPTIME_SPANS = (("24h", DAY), ("7d", 7 * DAY), ("30d", 30 * DAY))
# Chart ranges of the monitor page: (name, span, bucket).
RANGES = {"24h": (DAY, 900.0), "7d": (7 * DAY, 3 * 3600.0), "30d": (30 * DAY, 12 * 3600.0)}
RECENT_RUNS = 50
RECENT_INCIDENTS = 20
RECENT_NOTIFICATIONS = 20
STATUS_HISTORY_S = 30 * DAY
# What the public status page calls each state.
PUBLIC_STATES = {
    "up": "Operational", "down": "Degraded", "firing": "Outage",
    "maintenance": "Maintenance", "paused": "Not monitored", "unknown": "No data",
}


def uptime_text(runs: int, failures: int) -> str:
    """``99.95%`` (two decimals, never rounded up to 100% while a run failed), or
    ``no runs``.

    >>> uptime_text(2000, 1)
    '99.95%'
    >>> uptime_text(100000, 1)
    '99.99%'
    """
    if runs <= 0:
        return "no runs"
    if failures == 0:
        return "100%"
    share = math.floor((runs - failures) / runs * 10000) / 100
    return f"{share:.2f}%"


def uptimes(view: MonitorView, name: str, now: float) -> list[dict[str, Any]]:
    """Uptime over each of ``UPTIME_SPANS`` ending at ``now``."""
    found = []
    for label, span in UPTIME_SPANS:
        runs, failures = view.store.counts(name, now - span, now)
        found.append({"span": label, "runs": runs, "failures": failures,
                      "text": uptime_text(runs, failures)})
    return found


def grid(now: float, span: float, bucket_s: float) -> tuple[float, int]:
    """``(since, count)``: buckets aligned on multiples of ``bucket_s`` whose last one
    holds ``now``."""
    count = math.ceil(span / bucket_s)
    since = (math.floor(now / bucket_s) - count + 1) * bucket_s
    return since, count


def run_row(result: Any) -> dict[str, Any]:
    """A stored run as a table row."""
    return {"at": iso(result.at), "location": result.location, "outcome": result.outcome,
            "status": "" if result.status is None else result.status,
            "latency": format_ms(result.latency_ms), "attempts": result.attempts,
            "reason": result.reason or ""}


def incident_row(incident: Any, now: float) -> dict[str, Any]:
    """An incident as a table row, with how long it lasted (or has lasted)."""
    end = incident.resolved_at if incident.resolved_at is not None else now
    return {"id": incident.id, "monitor": incident.monitor, "started": iso(incident.started_at),
            "resolved": iso(incident.resolved_at) if incident.resolved_at is not None else "",
            "open": incident.resolved_at is None, "duration": duration_text(end -
                                                                            incident.started_at),
            "reason": incident.reason or "", "location": incident.location or ""}


def notification_row(item: OutboxItem) -> dict[str, Any]:
    """An outbox item as a table row; ``alert`` marks those that need a look: given up,
    or still pending after failed attempts (then ``retry_at`` says when it tries again)."""
    status = notification_status(item)
    again = retrying(item)
    return {"id": item.id, "at": iso(item.created_at),
            "monitor": payload_text(item, "monitor") or "", "channel": item.channel,
            "event": payload_text(item, "event") or "", "status": status,
            "attempts": item.attempts, "error": item.last_error or "",
            "alert": status == "failed" or again,
            "retry_at": iso(item.next_attempt_at) if again else None}


def recent_notifications(view: MonitorView, monitor: str | None = None
                         ) -> list[dict[str, Any]]:
    """The newest ``RECENT_NOTIFICATIONS`` notifications (about ``monitor`` when given)."""
    items = find_notifications(view.store, monitor=monitor, limit=RECENT_NOTIFICATIONS)
    return [notification_row(item) for item in items]


def duration_text(seconds: float) -> str:
    """``45s``, ``12m``, ``3h 20m``, ``2d 4h``, ``1d`` (no zero parts).

    >>> duration_text(86400), duration_text(3 * 3600 + 1200)
    ('1d', '3h 20m')
    """
    seconds = max(0, int(seconds))
    for unit, size, smaller, smaller_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if seconds >= size:
            rest = seconds % size // smaller_size
            return f"{seconds // size}{unit}" + (f" {rest}{smaller}" if rest else "")
    return f"{seconds // 60}m" if seconds >= 60 else f"{seconds}s"


def schedule_text(monitor: Monitor) -> str:
    """``every 30s`` or ``cron 0 * * * *``."""
    if monitor.cron:
        return f"cron {monitor.cron}"
    if monitor.every_s is not None:
        return f"every {duration_text(monitor.every_s)}"
    return ""


def dashboard(view: MonitorView) -> dict[str, Any]:
    """Every monitor with its state, newest run, uptimes and a 24-hour sparkline."""
    now = view.now()
    states = view.states()
    paused = view.store.paused()
    since, count = grid(now, DAY, 3600.0)
    rows = []
    for monitor in view.config.monitors:
        state = states.get(monitor.name, {})
        last = newest(view.store.latest_by_location(monitor.name))
        buckets = view.store.latency_buckets(monitor.name, since, since + count * 3600.0, 3600.0)
        values = _spark_values(buckets, since, 3600.0, count)
        rows.append({
            "name": monitor.name, "group": monitor.group, "kind": monitor.kind,
            "schedule": schedule_text(monitor), "state": state.get("state", "unknown"),
            "reason": state.get("reason") or "", "paused": monitor.name in paused,
            "last": run_row(last) if last else None, "uptimes": uptimes(view, monitor.name, now),
            "spark": sparkline(values, label=f"{monitor.name}: median latency per hour, "
                                             "last 24 hours"),
        })
    return {"monitors": rows, "counts": _state_counts(rows),
            "notifications": recent_notifications(view), **footer(view, now)}


def _spark_values(buckets: Iterable[dict], since: float, bucket_s: float, count: int
                  ) -> list[float | None]:
    values: list[float | None] = [None] * count
    for row in buckets:
        index = int((row["t"] - since) // bucket_s)
        if 0 <= index < count:
            values[index] = row.get("p50")
    return values


def _state_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts


def footer(view: MonitorView, now: float) -> dict[str, Any]:
    """What every page's footer says: location, database (redacted), time."""
    return {"location": view.location, "db_url": view.db_url_redacted, "now": iso(now)}


def monitor_page(view: MonitorView, monitor: Monitor, range_name: str) -> dict[str, Any]:
    """One monitor: state, uptimes, SLO budget, latency percentiles, runs, incidents."""
    now = view.now()
    state = view.states().get(monitor.name, {})
    span, bucket_s = RANGES[range_name]
    since, count = grid(now, span, bucket_s)
    buckets = view.store.latency_buckets(monitor.name, since, since + count * bucket_s,
                                         bucket_s)
    runs = view.store.results(monitor=monitor.name, limit=RECENT_RUNS)
    incidents = view.store.incidents(monitor=monitor.name, limit=RECENT_INCIDENTS)
    return {
        "monitor": monitor, "schedule": schedule_text(monitor),
        "state": state.get("state", "unknown"), "reason": state.get("reason") or "",
        "paused": monitor.name in view.store.paused(),
        # The runner's views say when the scheduler will run it next; a StaticView does not.
        "next_run": iso(state["next_run"]) if state.get("next_run") is not None else None,
        "uptimes": uptimes(view, monitor.name, now), "slo": slo_rows(view.slo_budget(
            monitor.name)),
        "range": range_name, "ranges": list(RANGES),
        "chart": percentile_chart(buckets, since, bucket_s, count,
                                  title=f"{monitor.name}: latency percentiles, last "
                                        f"{range_name}"),
        "runs": [run_row(r) for r in runs],
        "incidents": [incident_row(i, now) for i in incidents],
        "notifications": recent_notifications(view, monitor.name),
        **footer(view, now),
    }


def slo_rows(budget: dict[str, Any] | None) -> dict[str, Any] | None:
    """The SLO budget as rows: objective, target, budget left (a percentage)."""
    if budget is None:
        return None
    rows = []
    for name, entry in budget.get("objectives", {}).items():
        target = f"{entry['target'] * 100:g}%"
        if name == "latency" and entry.get("threshold_ms") is not None:
            target += f" of runs within {entry['threshold_ms']:g} ms"
        remaining = entry["remaining"]
        rows.append({"objective": name, "target": target,
                     "remaining": f"{remaining * 100:.1f}%", "spent": remaining <= 0})
    return {"window": duration_text(budget.get("window_s", 0)), "rows": rows}


def status_page(view: MonitorView) -> dict[str, Any]:
    """Components grouped by ``group`` (in config order), their public state and 30-day
    uptime, and the incident history of the last 30 days (no failure reasons: they can
    name internal hosts, and this page is public)."""
    now = view.now()
    states = view.states()
    groups: dict[str, list[dict[str, Any]]] = {}
    for monitor in view.config.monitors:
        state = states.get(monitor.name, {}).get("state", "unknown")
        runs, failures = view.store.counts(monitor.name, now - 30 * DAY, now)
        groups.setdefault(monitor.group, []).append({
            "name": monitor.name, "description": monitor.description, "state": state,
            "label": PUBLIC_STATES.get(state, state), "uptime": uptime_text(runs, failures)})
    known = {m.name for m in view.config.monitors}
    incidents = [public_incident(incident_row(i, now)) for i in view.store.incidents(
        since=now - STATUS_HISTORY_S, limit=100) if i.monitor in known]
    worst = _overall({c["state"] for members in groups.values() for c in members})
    return {"groups": groups, "incidents": incidents, "overall": worst, "now": iso(now)}


def public_incident(row: dict[str, Any]) -> dict[str, Any]:
    """An incident row without what the public must not see (reason, location)."""
    return {key: value for key, value in row.items() if key not in ("reason", "location")}


def _overall(states: set[str]) -> dict[str, str]:
    if "firing" in states:
        return {"state": "firing", "text": "Some systems are having an outage"}
    if "down" in states:
        return {"state": "down", "text": "Some systems are degraded"}
    if "maintenance" in states:
        return {"state": "maintenance", "text": "Maintenance in progress"}
    return {"state": "up", "text": "All systems operational"}

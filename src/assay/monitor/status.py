"""A monitor's state as the dashboard, the API and the status page show it.

The states, in the order they win when several hold (``STATES``): ``paused`` (through the
API or the dashboard), ``maintenance`` (a window covers the monitor now), ``firing`` (an
incident is open), ``down`` (the latest run failed at some location), ``up`` (the latest
run passed at every location), ``unknown`` (no run yet). The running agent and a
dashboard over a database alone (``web.view.StaticView``) both answer with this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .records import RunResult

STATES = ("up", "down", "firing", "paused", "maintenance", "unknown")


def monitor_state(latest: Mapping[str, RunResult], *, paused: bool, maintenance: bool,
                  firing: bool, incident_reason: str | None = None) -> dict[str, Any]:
    """``{"state": one of STATES, "reason": the latest failure's reason or None}`` from the
    newest result per location and what else holds.

    >>> monitor_state({}, paused=False, maintenance=False, firing=False)
    {'state': 'unknown', 'reason': None}
    """
    failed = [result for result in latest.values() if not result.ok]
    reason = failed[0].reason if failed else None
    if paused:
        state = "paused"
    elif maintenance:
        state = "maintenance"
    elif firing:
        state, reason = "firing", reason or incident_reason
    elif not latest:
        state = "unknown"
    else:
        state = "down" if failed else "up"
    return {"state": state, "reason": reason}

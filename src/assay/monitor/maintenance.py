"""Maintenance windows: checks run and are stored, notifications are held until the end.

Pure logic: every function takes ``now`` (epoch seconds). A window is either fixed
(``start``/``end``: active for ``start <= now < end``; a missing bound is open) or recurring
(``cron`` in UTC plus ``duration_s``: active for ``duration_s`` after each fire time, so
``cron: "0 2 * * 0"`` with ``duration: 2h`` is every Sunday from 02:00 to 04:00 UTC). A
window with no ``monitors`` covers every monitor.

Each call parses its windows' cron expressions (about 0.1 ms each); callers that ask many
times a second about many cron windows can keep the answer until ``window_end``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import MaintenanceWindow
from .schedule import CronTimes

# A cron window longer than its period never ends; stop chaining occurrences here and let
# the caller ask again at that time.
_MAX_CHAINED = 1000


def covers(window: MaintenanceWindow, monitor: str) -> bool:
    """Whether ``window`` applies to the monitor called ``monitor``."""
    return not window.monitors or monitor in window.monitors


def is_active(window: MaintenanceWindow, now: float) -> bool:
    """Whether ``window`` is in force at ``now``, whatever monitors it covers."""
    if window.cron is None:
        return _fixed_active(window, now)
    fire = CronTimes(window.cron).at_or_before(now)
    return fire is not None and now < fire + _duration(window)


def active_windows(
    windows: Iterable[MaintenanceWindow], monitor: str, now: float
) -> list[MaintenanceWindow]:
    """The windows that cover ``monitor`` and are in force at ``now``, in the given order."""
    return [w for w in windows if covers(w, monitor) and is_active(w, now)]


def in_maintenance(windows: Iterable[MaintenanceWindow], monitor: str, now: float) -> bool:
    """Whether notifications about ``monitor`` are held at ``now``."""
    return any(covers(w, monitor) and is_active(w, now) for w in windows)


def window_end(window: MaintenanceWindow, now: float) -> float | None:
    """When the occurrence of ``window`` in force at ``now`` ends (the time to release held
    notifications); None if it is not in force, or if it is fixed with no ``end``.

    Overlapping or touching occurrences of a cron window count as one stretch: the end is
    when the window stops being in force, not when the first occurrence of it ends.
    """
    if window.cron is None:
        return window.end if _fixed_active(window, now) else None
    times = CronTimes(window.cron)
    fire = times.at_or_before(now)
    duration = _duration(window)
    if fire is None or now >= fire + duration:
        return None
    end = fire + duration
    for _ in range(_MAX_CHAINED):
        following = times.after(fire)
        if following is None or following > end:
            break
        fire, end = following, following + duration
    return end


def maintenance_end(
    windows: Iterable[MaintenanceWindow], monitor: str, now: float
) -> float | None:
    """When ``monitor`` leaves maintenance (every covering window chained: one starting
    before another ends extends the stretch); None if it is not in maintenance at ``now``.
    An open-ended fixed window gives None too: nothing to wait for."""
    relevant = [w for w in windows if covers(w, monitor)]
    end: float | None = None
    at = now
    for _ in range(_MAX_CHAINED):
        ends = [window_end(w, at) for w in relevant if is_active(w, at)]
        if not ends:
            return end
        if any(e is None for e in ends):
            return None
        end = at = max(e for e in ends if e is not None)
    return end


def _fixed_active(window: MaintenanceWindow, now: float) -> bool:
    after_start = window.start is None or window.start <= now
    before_end = window.end is None or now < window.end
    return after_start and before_end


def _duration(window: MaintenanceWindow) -> float:
    if window.duration_s is None or not window.duration_s > 0:
        raise ValueError(
            f"a cron maintenance window needs a duration > 0, found {window.duration_s!r}"
        )
    return window.duration_s

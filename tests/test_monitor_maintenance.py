"""Maintenance windows: fixed and cron (UTC), monitor filters, when held notifications go out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assay.core.errors import ConfigError
from assay.monitor.maintenance import (
    active_windows,
    covers,
    in_maintenance,
    is_active,
    maintenance_end,
    window_end,
)
from assay.monitor.model import MaintenanceWindow

HOUR = 3600.0


def epoch(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


START, END = epoch(2024, 3, 1, 22), epoch(2024, 3, 1, 23, 30)
FIXED = MaintenanceWindow(start=START, end=END, reason="db upgrade")
# 2024-01-07 is a Sunday: every Sunday 02:00-04:00 UTC.
SUNDAY = MaintenanceWindow(cron="0 2 * * 0", duration_s=2 * HOUR, monitors=("api", "db"))


@pytest.mark.parametrize(("now", "active"), [
    (START - 0.001, False),
    (START, True),
    (END - 0.001, True),
    (END, False),
])
def test_fixed_window_is_half_open(now, active):
    assert is_active(FIXED, now) is active
    assert in_maintenance([FIXED], "anything", now) is active
    assert window_end(FIXED, now) == (END if active else None)


@pytest.mark.parametrize(("now", "active"), [
    (epoch(2024, 1, 7, 1, 59, 59), False),
    (epoch(2024, 1, 7, 2, 0, 0), True),
    (epoch(2024, 1, 7, 3, 59, 59), True),
    (epoch(2024, 1, 7, 4, 0, 0), False),
    (epoch(2024, 1, 8, 2, 30), False),  # Monday
    (epoch(2024, 1, 14, 2, 30), True),  # the next Sunday
])
def test_cron_window_is_active_for_its_duration_after_each_fire(now, active):
    assert is_active(SUNDAY, now) is active
    assert in_maintenance([SUNDAY], "api", now) is active


def test_cron_window_end_is_the_end_of_the_current_occurrence():
    assert window_end(SUNDAY, epoch(2024, 1, 7, 2, 0, 0)) == epoch(2024, 1, 7, 4)
    assert window_end(SUNDAY, epoch(2024, 1, 14, 3, 15, 27)) == epoch(2024, 1, 14, 4)
    assert window_end(SUNDAY, epoch(2024, 1, 7, 4)) is None


def test_overlapping_cron_occurrences_end_together():
    # 02:00-03:30 and 03:00-04:30 overlap: notifications are held until 04:30.
    window = MaintenanceWindow(cron="0 2,3 * * *", duration_s=1.5 * HOUR)
    assert window_end(window, epoch(2024, 3, 1, 2, 15)) == epoch(2024, 3, 1, 4, 30)
    assert window_end(window, epoch(2024, 3, 1, 3, 45)) == epoch(2024, 3, 1, 4, 30)
    touching = MaintenanceWindow(cron="0 2,3 * * *", duration_s=HOUR)
    assert window_end(touching, epoch(2024, 3, 1, 2, 15)) == epoch(2024, 3, 1, 4)


def test_monitor_filter():
    assert covers(SUNDAY, "api") and not covers(SUNDAY, "web")
    assert covers(FIXED, "web")  # no monitors listed: every monitor
    sunday = epoch(2024, 1, 7, 2, 30)
    assert in_maintenance([SUNDAY], "db", sunday)
    assert not in_maintenance([SUNDAY], "web", sunday)
    assert active_windows([FIXED, SUNDAY], "web", sunday) == []


def test_active_windows_lists_every_window_in_force_in_order():
    both = MaintenanceWindow(start=epoch(2024, 1, 7), end=epoch(2024, 1, 8), monitors=("api",))
    now = epoch(2024, 1, 7, 3)
    assert active_windows([FIXED, both, SUNDAY], "api", now) == [both, SUNDAY]
    assert active_windows([FIXED, both, SUNDAY], "db", now) == [SUNDAY]


def test_open_ended_fixed_windows():
    since = MaintenanceWindow(start=START)
    until = MaintenanceWindow(end=END)
    assert is_active(since, START + 1e6) and not is_active(since, START - 1)
    assert is_active(until, 0.0) and not is_active(until, END)
    assert window_end(since, START + 1) is None  # nothing to wait for


def test_maintenance_end_chains_every_covering_window():
    first = MaintenanceWindow(start=100.0, end=200.0)
    second = MaintenanceWindow(start=150.0, end=300.0, monitors=("api",))
    later = MaintenanceWindow(start=300.0, end=400.0, monitors=("api",))
    other = MaintenanceWindow(start=100.0, end=900.0, monitors=("db",))
    windows = [first, second, later, other]
    assert maintenance_end(windows, "api", 120.0) == 400.0  # 200 -> 300 -> 400
    assert maintenance_end(windows, "web", 120.0) == 200.0
    assert maintenance_end(windows, "api", 50.0) is None
    assert maintenance_end([MaintenanceWindow(start=0.0)], "api", 50.0) is None


def test_bad_cron_windows_are_refused():
    with pytest.raises(ValueError, match="needs a duration > 0"):
        is_active(MaintenanceWindow(cron="0 2 * * 0"), 0.0)
    with pytest.raises(ConfigError, match="invalid cron expression 'sometimes'"):
        in_maintenance([MaintenanceWindow(cron="sometimes", duration_s=60.0)], "api", 0.0)

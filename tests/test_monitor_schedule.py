"""The monitor scheduler: deterministic epoch-aligned slots, a fake clock (plain floats), no sleeping."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.core.errors import ConfigError
from assay.monitor import schedule
from assay.monitor.model import Monitor
from assay.monitor.schedule import (
    CRON_SPREAD_S,
    CronTimes,
    Due,
    Scheduler,
    cron_error,
    lateness,
    offset_for,
)

T0 = 1_700_000_000.0  # a realistic epoch: float precision at this magnitude matters


def every(name: str, seconds: float, **kw) -> Monitor:
    return Monitor(name, "http", every_s=seconds, **kw)


def cron(name: str, expr: str, **kw) -> Monitor:
    return Monitor(name, "http", cron=expr, **kw)


def epoch(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def thousand(period: float = 10.0) -> list[Monitor]:
    return [every(f"api-{i}", period) for i in range(1000)]


# --- offsets -----------------------------------------------------------------------------


@pytest.mark.parametrize("period", [0.001, 1.0, 10.0, 3600.0, 86400.0 * 7])
def test_offset_lies_in_period(period):
    offsets = [offset_for(f"m{i}", period) for i in range(500)]
    assert all(0.0 <= o < period for o in offsets)
    # Not all bunched in one part of the period either.
    assert min(offsets) < period / 10 and max(offsets) > period * 9 / 10


def test_offset_is_stable_across_processes():
    names = ["health", "book flow", "api-17", "ünïcode ✓"]
    code = (
        "import json, sys\n"
        "from assay.monitor.schedule import offset_for, Scheduler\n"
        "from assay.monitor.model import Monitor\n"
        "names = json.loads(sys.argv[1])\n"
        "s = Scheduler([Monitor(n, 'http', every_s=10.0) for n in names], now=1700000000.0)\n"
        "print(json.dumps([[offset_for(n, 10.0).hex(), s.next_slot(n).hex()] for n in names]))\n"
    )
    # A different hash seed: Python's own hash() would differ between the two processes.
    src = str(Path(schedule.__file__).resolve().parents[2])
    env = {"PYTHONHASHSEED": "12345", "PATH": "", "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(names)],
        capture_output=True, text=True, check=True, env=env,
    ).stdout
    here = Scheduler([every(n, 10.0) for n in names], now=T0)
    expected = [[offset_for(n, 10.0).hex(), here.next_slot(n).hex()] for n in names]
    assert json.loads(out) == expected


def test_thousand_monitors_are_spread_over_the_period():
    scheduler = Scheduler(thousand(), now=T0)
    slots = [scheduler.next_slot(f"api-{i}") for i in range(1000)]
    assert all(T0 <= s < T0 + 10.0 for s in slots)
    buckets = collections.Counter(int((s - T0) / 0.010) for s in slots)
    assert max(buckets.values()) <= 6  # about one per 10 ms on average, never a burst
    per_second = collections.Counter(int(s - T0) for s in slots)
    assert len(per_second) == 10 and all(70 <= n <= 130 for n in per_second.values())


def test_two_schedulers_plan_the_same_slots_whenever_they_start():
    early = Scheduler(thousand(), now=T0)
    late = Scheduler(thousand(), now=T0 + 3.7)
    # Advance the early one past T0 + 3.7: both must now agree exactly, slot for slot.
    early.due(T0 + 3.7 - 1e-6)
    for i in range(1000):
        name = f"api-{i}"
        assert early.next_slot(name) == late.next_slot(name)
        k = (late.next_slot(name) - offset_for(name, 10.0)) / 10.0
        assert k == round(k)  # slots are offset + k*E, epoch-aligned


# --- due ---------------------------------------------------------------------------------


def test_due_returns_a_slot_exactly_at_its_planned_time():
    scheduler = Scheduler([every("health", 10.0)], now=T0)
    slot = scheduler.next_slot("health")
    assert scheduler.due(slot - 1e-6) == []
    assert scheduler.due(slot) == [Due("health", slot)]
    assert scheduler.due(slot) == []  # handed out once
    assert scheduler.next_slot("health") == slot + 10.0


def test_first_slot_may_be_now_itself():
    name = "health"
    start = T0 - T0 % 10.0 + offset_for(name, 10.0)
    scheduler = Scheduler([every(name, 10.0)], now=start)
    assert scheduler.due(start) == [Due(name, start)]


def test_due_is_oldest_first_and_one_per_monitor():
    scheduler = Scheduler(thousand(), now=T0)
    found = scheduler.due(T0 + 5.0)
    planned = [d.planned_at for d in found]
    assert planned == sorted(planned)
    assert len({d.monitor for d in found}) == len(found)
    assert 350 <= len(found) <= 650  # about half of them are in the first 5 s
    rest = scheduler.due(T0 + 10.0)
    assert len(found) + len(rest) == 1000


def test_a_gap_of_an_hour_gives_one_run_per_monitor_not_360():
    scheduler = Scheduler(thousand(), now=T0)
    found = scheduler.due(T0 + 3600.0)
    assert len(found) == 1000
    assert all(T0 + 3590.0 < d.planned_at <= T0 + 3600.0 for d in found)
    # The latest missed slot, and the monitor moves on to the slot after it.
    for d in found[:50]:
        assert scheduler.next_slot(d.monitor) == d.planned_at + 10.0
        assert d.planned_at + 10.0 > T0 + 3600.0
    assert scheduler.due(T0 + 3600.0) == []


def test_waking_at_each_next_wakeup_runs_every_slot_on_time():
    scheduler = Scheduler([every("fast", 1.0), every("slow", 7.5), every("mid", 2.0)], now=T0)
    runs: dict[str, list[float]] = collections.defaultdict(list)
    now = scheduler.next_wakeup()
    while now < T0 + 60.0:
        for d in scheduler.due(now):
            assert lateness(d, now) == 0.0
            runs[d.monitor].append(d.planned_at)
        now = scheduler.next_wakeup()
    assert len(runs["fast"]) == 60 and len(runs["mid"]) == 30 and len(runs["slow"]) == 8
    for name, period in [("fast", 1.0), ("mid", 2.0), ("slow", 7.5)]:
        gaps = {round(b - a, 9) for a, b in zip(runs[name], runs[name][1:], strict=False)}
        assert gaps == {period}


@settings(max_examples=60, deadline=None)
@given(
    period=st.floats(min_value=0.01, max_value=1000.0),
    start=st.floats(min_value=0.0, max_value=4e9),
    steps=st.lists(st.floats(min_value=0.0, max_value=3.0), min_size=1, max_size=40),
)
def test_slots_are_aligned_and_never_skipped_while_ticking_faster(period, start, steps):
    scheduler = Scheduler([every("m", period)], now=start)
    offset = offset_for("m", period)
    first = scheduler.next_slot("m")
    assert first >= start and first - period < start
    now, seen = start, []
    for step in steps:
        now += step * period * 0.3  # ticks closer than the period: nothing may be skipped
        for d in scheduler.due(now):
            assert d.planned_at <= now
            seen.append(d.planned_at)
        assert scheduler.next_slot("m") > now
    for a, b in zip(seen, seen[1:], strict=False):
        assert (b - a) == pytest.approx(period, rel=1e-6, abs=1e-6)
    for slot in seen:
        k = (slot - offset) / period
        # A float slot far from 0 carries about 2.2e-16 of its size as rounding error,
        # which a small period magnifies in k.
        assert k == pytest.approx(round(k), abs=1e-6 + 4 * 2.3e-16 * abs(slot) / period)


def test_lateness_is_against_the_monitors_own_slot():
    assert lateness(Due("m", T0 + 3.25), T0 + 3.30) == pytest.approx(0.05)
    assert lateness(Due("m", T0 + 3.25), T0 + 3.25) == 0.0


# --- pause, resume, next_wakeup ----------------------------------------------------------


def test_paused_monitors_are_not_run_and_resume_without_catch_up():
    scheduler = Scheduler([every("a", 10.0), every("b", 10.0)], now=T0)
    scheduler.pause("a")
    assert scheduler.next_slot("a") is None
    assert scheduler.paused == frozenset({"a"})
    assert [d.monitor for d in scheduler.due(T0 + 100.0)] == ["b"]
    assert scheduler.next_wakeup() == scheduler.next_slot("b")
    scheduler.resume("a", T0 + 1000.0)
    assert T0 + 1000.0 <= scheduler.next_slot("a") < T0 + 1010.0
    assert "a" not in {d.monitor for d in scheduler.due(T0 + 1000.0 - 1e-6)}
    found = scheduler.due(T0 + 1010.0)
    assert [d.monitor for d in found].count("a") == 1


def test_pause_then_resume_before_the_slot_keeps_a_single_run():
    scheduler = Scheduler([every("a", 10.0)], now=T0)
    slot = scheduler.next_slot("a")
    scheduler.pause("a")
    scheduler.resume("a", T0)
    scheduler.resume("a", T0)  # not paused: nothing changes
    assert scheduler.next_slot("a") == slot
    assert scheduler.due(slot + 1.0) == [Due("a", slot)]


def test_paused_at_start_and_paused_names_survive_a_reload():
    scheduler = Scheduler([every("a", 10.0), every("b", 10.0)], now=T0, paused=["a", "gone"])
    assert scheduler.next_slot("a") is None
    assert [d.monitor for d in scheduler.due(T0 + 10.0)] == ["b"]
    scheduler.replace([every("a", 10.0), every("gone", 5.0)], now=T0 + 20.0)
    assert scheduler.next_slot("gone") is None and scheduler.next_slot("a") is None
    assert scheduler.next_wakeup() is None
    assert scheduler.due(T0 + 1000.0) == []


def test_next_wakeup_is_the_earliest_unpaused_slot():
    scheduler = Scheduler(thousand(), now=T0)
    slots = {f"api-{i}": scheduler.next_slot(f"api-{i}") for i in range(1000)}
    first = min(slots, key=slots.__getitem__)
    assert scheduler.next_wakeup() == slots[first]
    scheduler.pause(first)
    assert scheduler.next_wakeup() == sorted(slots.values())[1]
    assert Scheduler([], now=T0).next_wakeup() is None


# --- replace (config reload) ----------------------------------------------------------


def test_replace_keeps_unchanged_plans_and_replans_changed_ones():
    scheduler = Scheduler([every("same", 10.0), every("faster", 60.0), every("gone", 10.0)],
                          now=T0)
    scheduler.due(T0 + 25.0)
    same, faster = scheduler.next_slot("same"), scheduler.next_slot("faster")
    # Reloaded after "same"'s slot passed but before due() handed it out: still owed.
    now = same + 1.0
    scheduler.replace(
        [every("same", 10.0, timeout_s=2.0), every("faster", 5.0), every("new", 30.0)], now
    )
    assert scheduler.next_slot("same") == same < now
    assert scheduler.monitor("same").timeout_s == 2.0  # the new configuration is used
    assert scheduler.next_slot("faster") != faster
    assert now <= scheduler.next_slot("faster") < now + 5.0
    assert Due("same", same) in scheduler.due(now)
    assert (scheduler.next_slot("faster") - offset_for("faster", 5.0)) % 5.0 == pytest.approx(
        0.0, abs=1e-6)
    assert scheduler.next_slot("gone") is None and scheduler.monitor("gone") is None
    assert now <= scheduler.next_slot("new") < now + 30.0
    names = {d.monitor for d in scheduler.due(now + 60.0)}
    assert names == {"same", "faster", "new"}


def test_a_removed_monitor_added_back_is_planned_afresh():
    scheduler = Scheduler([every("a", 10.0)], now=T0)
    scheduler.replace([], now=T0)
    assert scheduler.next_wakeup() is None
    scheduler.replace([every("a", 10.0)], now=T0 + 100.0)
    slot = scheduler.next_slot("a")
    assert T0 + 100.0 <= slot < T0 + 110.0
    assert scheduler.due(T0 + 100.0 - 1e-6) == []  # the old heap item is stale
    assert scheduler.due(slot) == [Due("a", slot)]


def test_replace_rejects_bad_monitors_and_keeps_the_old_plan():
    scheduler = Scheduler([every("a", 10.0)], now=T0)
    slot = scheduler.next_slot("a")
    with pytest.raises(ConfigError, match="two monitors are called 'a'"):
        scheduler.replace([every("a", 10.0), every("a", 5.0)], now=T0)
    with pytest.raises(ConfigError, match="line 12.*'b'.*invalid cron expression 'nope'"):
        scheduler.replace([every("a", 10.0), cron("b", "nope", line=12)], now=T0)
    assert scheduler.next_slot("a") == slot


@pytest.mark.parametrize("monitor", [
    Monitor("x", "http"),
    Monitor("x", "http", every_s=10.0, cron="* * * * *"),
    Monitor("x", "http", every_s=0.0),
])
def test_a_monitor_needs_exactly_one_positive_plan(monitor):
    with pytest.raises(ConfigError, match="monitor 'x'"):
        Scheduler([monitor], now=T0)


# --- cron --------------------------------------------------------------------------------


def test_cron_slots_are_fire_times_plus_a_small_offset_in_utc():
    start = epoch(2024, 3, 1, 8, 30)
    scheduler = Scheduler([cron("daily", "0 9 * * *")], now=start)
    slot = scheduler.next_slot("daily")
    assert slot == epoch(2024, 3, 1, 9, 0) + offset_for("daily", CRON_SPREAD_S)
    assert scheduler.due(slot) == [Due("daily", slot)]
    assert scheduler.next_slot("daily") == epoch(2024, 3, 2, 9, 0) + offset_for(
        "daily", CRON_SPREAD_S)


def test_cron_monitors_on_the_minute_are_spread_over_its_first_seconds():
    monitors = [cron(f"c{i}", "*/5 * * * *") for i in range(200)]
    scheduler = Scheduler(monitors, now=epoch(2024, 3, 1, 0, 1))
    slots = [scheduler.next_slot(m.name) for m in monitors]
    fire = epoch(2024, 3, 1, 0, 5)
    assert all(fire <= s < fire + CRON_SPREAD_S for s in slots)
    assert len({round(s, 3) for s in slots}) > 190


def test_cron_with_seconds_spreads_within_its_own_gap():
    scheduler = Scheduler([cron("s", "* * * * * */2")], now=epoch(2024, 3, 1))
    runs = []
    now = scheduler.next_wakeup()
    while now < epoch(2024, 3, 1, 0, 0, 20):
        runs += [d.planned_at for d in scheduler.due(now)]
        now = scheduler.next_wakeup()
    offset = offset_for("s", 2.0)
    assert runs == [epoch(2024, 3, 1) + 2 * k + offset for k in range(10)]


def test_cron_after_a_gap_gets_only_the_latest_missed_slot():
    scheduler = Scheduler([cron("c", "*/5 * * * *")], now=epoch(2024, 3, 1))
    offset = offset_for("c", CRON_SPREAD_S)
    # One hour later, inside the spread after 01:00: the 00:55 slot is the latest missed.
    now = epoch(2024, 3, 1, 1, 0) + offset / 2
    assert scheduler.due(now) == [Due("c", epoch(2024, 3, 1, 0, 55) + offset)]
    assert scheduler.next_slot("c") == epoch(2024, 3, 1, 1, 0) + offset


def test_cron_started_between_a_fire_time_and_its_slot_runs_that_slot():
    offset = offset_for("c", CRON_SPREAD_S)
    now = epoch(2024, 3, 1, 0, 5) + offset / 2
    scheduler = Scheduler([cron("c", "*/5 * * * *")], now=now)
    assert scheduler.next_slot("c") == epoch(2024, 3, 1, 0, 5) + offset


def test_cron_times_and_errors():
    times = CronTimes("0 */6 * * *")
    assert times.after(epoch(2024, 3, 1, 6)) == epoch(2024, 3, 1, 12)
    assert times.at_or_before(epoch(2024, 3, 1, 6)) == epoch(2024, 3, 1, 6)
    assert times.at_or_before(epoch(2024, 3, 1, 6) - 0.5) == epoch(2024, 3, 1, 0)
    assert CronTimes("0 0 30 2 *").after(T0) is None  # February 30th never comes
    assert cron_error("*/5 * * * *") is None
    assert "expected 5 fields" in cron_error("every tuesday")

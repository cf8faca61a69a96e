"""Stages, virtual-user plans and open-model arrival times (pure logic: no clock, no sleep)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.core.errors import UsageError
from assay.load.schedule import (
    ArrivalSchedule,
    LoadShape,
    Stage,
    VuPlan,
    parse_stage,
    parse_stages,
    rate_at,
    split_iterations,
    split_vus,
    total_duration,
    vus_at,
)

# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("30s:50", Stage(30.0, 50.0)),
    ("1m:200/s", Stage(60.0, 200.0)),
    ("500ms:0", Stage(0.5, 0.0)),
    ("2m:6000/m", Stage(120.0, 100.0)),
    ("10s:0/s", Stage(10.0, 0.0)),
    ("10s:0.0/s", Stage(10.0, 0.0)),
    (" 30s : 50 ", Stage(30.0, 50.0)),
    ("0s:10", Stage(0.0, 10.0)),
    ("45:3", Stage(45.0, 3.0)),
])
def test_parse_stage_valid(text, expected):
    assert parse_stage(text) == expected


@pytest.mark.parametrize("text", [
    "", "30s", "30s:", ":50", "abc:5", "30s:5.5", "30s:-1", "30s:100/x", "30s:fast",
    "-5s:10", "30x:10", "30s:0/x", "30s:50:60", "30s:/s",
])
def test_parse_stage_errors_name_the_flag_and_the_form(text):
    with pytest.raises(UsageError) as info:
        parse_stage(text)
    assert info.value.location == "--stage"
    assert "expected DURATION:TARGET such as 30s:50 or 1m:200/s" in info.value.message
    assert repr(text) in info.value.message


def test_parse_stages_decides_the_model():
    closed = parse_stages(["30s:50", "1m:50", "30s:0"])
    assert closed == LoadShape("closed", (Stage(30, 50), Stage(60, 50), Stage(30, 0)))
    assert closed.duration_s == 120.0
    opened = parse_stages(iter(["30s:100/s", "1m:500/s"]))
    assert opened.model == "open"
    assert opened.stages == (Stage(30, 100), Stage(60, 500))


def test_parse_stages_rejects_a_mix_naming_the_stages():
    with pytest.raises(UsageError) as info:
        parse_stages(["30s:50", "1m:100/s"])
    assert info.value.location == "--stage"
    assert "mix" in info.value.message and "30s:50 1m:100/s" in info.value.message


@pytest.mark.parametrize("texts", [[], ["0s:10", "0s:20"]])
def test_parse_stages_rejects_no_stage_or_no_duration(texts):
    with pytest.raises(UsageError) as info:
        parse_stages(texts)
    assert info.value.location == "--stage"
    assert "expected DURATION:TARGET" in info.value.message


def test_stage_rejects_negative_values():
    with pytest.raises(ValueError):
        Stage(-1.0, 5.0)
    with pytest.raises(ValueError):
        Stage(1.0, -5.0)


# --- ramping levels --------------------------------------------------------------------

K6_STAGES = (Stage(30, 50), Stage(60, 50), Stage(30, 0))


@pytest.mark.parametrize(("t", "expected"), [
    (-1, 0), (0, 0), (15, 25), (29.9, 50), (30, 50), (60, 50), (90, 50), (105, 25),
    (119, 2), (120, 0), (500, 0),
])
def test_vus_at_ramps_linearly_like_k6(t, expected):
    assert vus_at(K6_STAGES, t) == expected


def test_vus_at_starts_from_start_and_rounds_halves_up():
    assert vus_at([Stage(10, 20)], 5, start=10) == 15
    assert vus_at([Stage(10, 1)], 5) == 1
    assert vus_at([Stage(10, 1)], 4.9) == 0
    assert total_duration(K6_STAGES) == 120.0


def test_rate_at_interpolates_and_jumps_on_zero_duration_stages():
    stages = [Stage(10, 100), Stage(0, 300), Stage(10, 300)]
    assert rate_at(stages, 2.5) == 25.0
    assert rate_at(stages, 9.99) == pytest.approx(99.9)
    assert rate_at(stages, 10) == 300.0
    assert rate_at(stages, 50) == 300.0
    assert rate_at([Stage(10, 100)], 5, start=50.0) == 75.0


# --- splitting the closed model ---------------------------------------------------------


@pytest.mark.parametrize(("total", "count", "expected"), [
    (10, 3, [4, 3, 3]), (0, 4, [0, 0, 0, 0]), (2, 5, [1, 1, 0, 0, 0]), (7, 1, [7]),
    (9, 3, [3, 3, 3]),
])
def test_split_vus(total, count, expected):
    assert split_vus(total, count) == expected
    assert split_iterations(total, count) == expected


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_split_preserves_the_sum_and_balances(total, count):
    shares = split_iterations(total, count)
    assert len(shares) == count
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


@pytest.mark.parametrize(("total", "count"), [(-1, 2), (3, 0)])
def test_split_rejects_bad_arguments(total, count):
    with pytest.raises(ValueError):
        split_vus(total, count)


def test_vu_plan_shares_sum_to_the_global_target_at_every_step():
    plan = VuPlan(list(K6_STAGES), 3)
    assert plan.stages == K6_STAGES and plan.duration_s == 120.0
    previous = [0, 0, 0]
    for tenth in range(0, 1300):
        t = tenth / 10
        shares = [plan.vus_at(index, t) for index in range(3)]
        assert sum(shares) == vus_at(K6_STAGES, t) == plan.total_at(t)
        assert max(shares) - min(shares) <= 1
        if t <= 90:  # the global target only grows here, so no worker's target shrinks
            assert all(now >= before for now, before in zip(shares, previous, strict=True))
        previous = shares
    assert [plan.vus_at(i, 45) for i in range(3)] == [17, 17, 16]


def test_vu_plan_rejects_bad_arguments():
    with pytest.raises(ValueError):
        VuPlan(K6_STAGES, 0)


# --- open model: arrival times -----------------------------------------------------------


def strictly_increasing(times):
    return all(b > a for a, b in zip(times, times[1:], strict=False))


def test_constant_rate_gives_exactly_rate_times_duration():
    schedule = ArrivalSchedule(rate=1000.0)
    times = schedule.next_batch(10.0)
    assert len(times) == 10_000
    assert times[0] == 0.0 and times[-1] < 10.0
    assert times[1] == pytest.approx(0.001)
    assert strictly_increasing(times)
    assert schedule.count_until(10.0) == 10_000
    assert schedule.total is None and not schedule.done and schedule.end_s is None


@pytest.mark.parametrize(("rate", "seconds", "expected"), [
    (3.0, 1.0, 3), (7.0, 3.0, 21), (0.5, 10.0, 5), (2000.0, 1.5, 3000), (1e5, 0.01, 1000),
])
def test_constant_rate_boundaries_are_half_open(rate, seconds, expected):
    schedule = ArrivalSchedule(rate=rate)
    assert schedule.count_until(seconds) == expected
    assert len(schedule.next_batch(seconds)) == expected


def test_worker_shares_interleave_to_the_global_sequence():
    everything = ArrivalSchedule(rate=1000.0).next_batch(10.0)
    shares = [ArrivalSchedule(rate=1000.0, share=(i, 3)).next_batch(10.0) for i in range(3)]
    for index, share in enumerate(shares):
        assert share == everything[index::3]
    assert sorted(shares[0] + shares[1] + shares[2]) == everything
    assert [len(share) for share in shares] == [3334, 3333, 3333]


def test_batches_continue_where_the_previous_one_stopped():
    whole = ArrivalSchedule(rate=250.0, share=(1, 2)).next_batch(4.0)
    schedule = ArrivalSchedule(rate=250.0, share=(1, 2))
    pieces = []
    for until in (0.0, 0.013, 0.5, 0.5, 0.2, 1.7777, 3.0, 4.0, 4.0):
        pieces += schedule.next_batch(until)
    assert pieces == whole
    assert schedule.next_batch(4.0) == []


def test_ramp_from_zero_gives_the_area_under_the_rate():
    schedule = ArrivalSchedule(stages=[Stage(10, 100)])
    times = schedule.next_batch(60.0)
    assert len(times) == 500 == schedule.total  # 0 -> 100/s over 10 s: 100 * 10 / 2
    assert schedule.done and schedule.end_s == 10.0
    assert strictly_increasing(times) and times[-1] < 10.0
    # rate t*10/s: the integral 5 t**2 reaches n at t = sqrt(n / 5)
    for n in (0, 1, 20, 125, 499):
        assert times[n] == pytest.approx(math.sqrt(n / 5), abs=1e-9)
    assert schedule.count_until(5.0) == 125


@pytest.mark.parametrize(("stages", "start_rate", "area"), [
    ([Stage(10, 100), Stage(20, 100), Stage(10, 0)], 0.0, 500 + 2000 + 500),
    ([Stage(10, 150)], 50.0, 1000),
    ([Stage(4, 30), Stage(0, 90), Stage(2, 90), Stage(3, 10)], 10.0, 80 + 180 + 150),
    ([Stage(7, 13)], 13.0, 91),
])
def test_ramps_follow_the_area_formula(stages, start_rate, area):
    schedule = ArrivalSchedule(stages=stages, start_rate=start_rate)
    times = schedule.next_batch(1e9)
    assert len(times) == schedule.total == area
    assert strictly_increasing(times)


def test_zero_rate_segments_send_nothing():
    stages = [Stage(5, 0), Stage(5, 100), Stage(5, 0), Stage(5, 0), Stage(5, 100)]
    schedule = ArrivalSchedule(stages=stages)
    times = schedule.next_batch(25.0)
    assert schedule.count_until(5.0) == 0
    assert not [t for t in times if t < 5.0 or 15.0 <= t < 20.0]
    assert len(times) == 250 + 250 + 250
    assert times[0] == 5.0 and times[500] == 20.0
    assert strictly_increasing(times)


@pytest.mark.parametrize("schedule", [
    ArrivalSchedule(stages=[Stage(10, 100), Stage(5, 37.3), Stage(3, 0)], start_rate=3.0),
    ArrivalSchedule(rate=0.3), ArrivalSchedule(rate=999.7, phase=0.25),
])
def test_count_until_counts_arrivals_strictly_before_t(schedule):
    # The integral and the solved times round differently; the count follows the times.
    for n in range(0, 700):
        t = schedule.time_of(n)
        assert schedule.count_until(t) == n
        assert schedule.count_until(math.nextafter(t, math.inf)) == n + 1


def test_a_phase_shifts_arrivals_into_their_slots():
    schedule = ArrivalSchedule(rate=10.0, phase=0.5)
    assert schedule.next_batch(0.3) == pytest.approx([0.05, 0.15, 0.25])


def test_time_of_and_its_bounds():
    schedule = ArrivalSchedule(stages=[Stage(10, 100)])
    assert schedule.time_of(125) == pytest.approx(5.0)
    with pytest.raises(IndexError):
        schedule.time_of(500)
    with pytest.raises(IndexError):
        schedule.time_of(-1)


@pytest.mark.parametrize("kwargs", [
    {}, {"rate": 10.0, "stages": [Stage(1, 1)]}, {"rate": 0.0}, {"rate": -1.0},
    {"rate": 1.0, "share": (3, 3)}, {"rate": 1.0, "share": (0, 0)}, {"rate": 1.0, "phase": 1.0},
    {"stages": [Stage(0, 5)]}, {"stages": [Stage(1, 5)], "start_rate": -1.0},
])
def test_arrival_schedule_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        ArrivalSchedule(**kwargs)


# --- properties ------------------------------------------------------------------------

stage_lists = st.lists(
    st.builds(Stage, st.sampled_from([0.0, 0.25, 1.0, 2.5, 3.0, 7.0]),
              st.one_of(st.integers(0, 300).map(float), st.floats(0, 300, allow_subnormal=False))),
    min_size=1, max_size=5,
).filter(lambda stages: total_duration(stages) > 0)


def integral(stages, start_rate, t):
    """The integral of the piecewise-linear rate up to ``t``, written independently."""
    total, begin, rate = 0.0, 0.0, start_rate
    for stage in stages:
        if stage.duration_s > 0:
            s = min(max(t - begin, 0.0), stage.duration_s)
            slope = (stage.target - rate) / stage.duration_s
            total += rate * s + slope * s * s / 2
            begin += stage.duration_s
        rate = stage.target
    return total


@settings(max_examples=60, deadline=None)
@given(stage_lists, st.floats(0, 300, allow_subnormal=False), st.integers(1, 4),
       st.lists(st.floats(0, 25), max_size=4))
def test_arrivals_match_the_integral_and_the_shares_add_up(stages, start_rate, count, cuts):
    everything = ArrivalSchedule(stages=stages, start_rate=start_rate).next_batch(1e9)
    area = integral(stages, start_rate, 1e9)
    assert area - 1e-6 <= len(everything) < area + 1 + 1e-6
    assert strictly_increasing(everything)
    for n, t in enumerate(everything):
        assert integral(stages, start_rate, t) == pytest.approx(n, abs=1e-6 * max(1.0, n))
    shares = []
    for index in range(count):
        schedule = ArrivalSchedule(stages=stages, start_rate=start_rate, share=(index, count))
        got = []
        for cut in sorted(cuts) + [1e9]:
            got += schedule.next_batch(cut)
            assert schedule.count_until(cut) == len(got)
        assert got == everything[index::count]
        shares.append(got)
    assert sorted(sum(shares, [])) == everything


@settings(max_examples=60, deadline=None)
@given(st.floats(0.1, 5000), st.floats(0, 3), st.integers(1, 5))
def test_count_until_agrees_with_the_times(rate, until, count):
    schedules = [ArrivalSchedule(rate=rate, share=(i, count)) for i in range(count)]
    batches = [schedule.next_batch(until) for schedule in schedules]
    assert all(t < until for batch in batches for t in batch)
    total = sum(len(batch) for batch in batches)
    assert rate * until - 1e-6 <= total < rate * until + 1 + 1e-6
    assert ArrivalSchedule(rate=rate).count_until(until) == total
    assert sum(schedule.count_until(until) for schedule in schedules) == total

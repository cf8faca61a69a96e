"""Latency anomalies: modified z-scores on hand-computed data, streaks, MAD = 0, state."""

from __future__ import annotations

import json

import pytest

from assay.monitor.anomaly import LatencyBaseline
from assay.monitor.model import AnomalySettings
from assay.monitor.records import RunResult

# median 100, |x - 100| = 0, 4, 4, 2, 2 -> MAD 2
WINDOW = [100.0, 104.0, 96.0, 102.0, 98.0]
HISTORY = WINDOW * 4  # the same median and MAD, enough runs that a streak barely moves them


def baseline(values=WINDOW, **settings) -> LatencyBaseline:
    """A baseline that has seen ``values``, planned at negative times (up to -1)."""
    options = {"window": len(values), "min_samples": len(values), "consecutive": 3}
    options.update(settings)
    base = LatencyBaseline(AnomalySettings(**options))
    for i, ms in enumerate(values):
        base.observe(ms, planned_at=float(i - len(values)))
    return base


def feed(base: LatencyBaseline, values, start: float):
    return [base.observe(ms, planned_at=start + i) for i, ms in enumerate(values)]


def test_no_score_until_min_samples():
    base = LatencyBaseline(AnomalySettings(window=10, min_samples=3))
    verdicts = feed(base, [100.0, 100.0, 100.0, 5000.0], start=0.0)
    assert [v.z for v in verdicts[:3]] == [None, None, None]
    assert not any(v.anomalous for v in verdicts[:3])
    assert verdicts[3].z is not None and verdicts[3].anomalous


def test_z_score_against_the_window_before_the_run():
    base = baseline()
    verdict = base.observe(111.0, planned_at=10.0)
    assert verdict.baseline_median == 100.0
    assert verdict.mad == 2.0
    assert verdict.z == pytest.approx(0.6745 * 11 / 2)  # 3.70975
    assert verdict.anomalous
    assert not verdict.alert  # 1 of 3 in a row
    # The scored run joined the window afterwards (the oldest value, 100, left it).
    assert base.window() == [104.0, 96.0, 102.0, 98.0, 111.0]


def test_just_below_the_threshold_is_normal():
    verdict = baseline().observe(110.0, planned_at=10.0)
    assert verdict.z == pytest.approx(0.6745 * 10 / 2)  # 3.3725 <= 3.5
    assert not verdict.anomalous


def test_faster_runs_are_never_anomalous_and_break_a_streak():
    base = baseline(HISTORY, window=50)
    fast = base.observe(10.0, planned_at=10.0)
    assert fast.z == pytest.approx(0.6745 * -90 / 2)
    assert not fast.anomalous and not fast.alert
    slow = feed(base, [200.0, 200.0], start=11.0)
    assert [v.streak for v in slow] == [1, 2]
    assert base.observe(1.0, planned_at=13.0).streak == 0
    assert not any(v.alert for v in feed(base, [200.0, 200.0], start=14.0))


def test_alert_once_on_the_nth_run_in_a_row_then_normal_again_once():
    base = baseline(HISTORY, window=50)
    verdicts = feed(base, [300.0] * 5, start=10.0)
    assert [v.anomalous for v in verdicts] == [True] * 5
    assert [v.alert for v in verdicts] == [False, False, True, False, False]
    assert all(v.since == 10.0 for v in verdicts)
    assert base.alerting
    back = feed(base, [100.0, 101.0], start=20.0)
    assert [v.normal_again for v in back] == [True, False]
    assert not base.alerting and back[0].since is None
    again = feed(base, [300.0] * 3, start=30.0)
    assert [v.alert for v in again] == [False, False, True]
    assert again[2].since == 30.0


def test_a_broken_streak_does_not_alert():
    base = baseline(HISTORY, window=50)
    verdicts = feed(base, [300.0, 300.0, 100.0, 300.0, 300.0], start=10.0)
    assert not any(v.alert for v in verdicts)
    assert not any(v.normal_again for v in verdicts)


def test_a_lasting_shift_becomes_the_new_normal():
    base = baseline(window=20, min_samples=5)
    verdicts = feed(base, [100.0 + (i % 3) for i in range(15)], start=10.0)
    shifted = feed(base, [150.0 + (i % 3) for i in range(20)], start=30.0)
    assert not any(v.anomalous for v in verdicts)
    assert sum(v.alert for v in shifted) == 1
    ended = [i for i, v in enumerate(shifted) if v.normal_again]
    # Once about half the window is the new level, the median follows it.
    assert len(ended) == 1 and 5 <= ended[0] <= 12
    assert shifted[-1].baseline_median == pytest.approx(151.0)


def test_constant_latencies_use_the_mad_floor():
    base = baseline([500.0] * 5)
    small = base.observe(520.0, planned_at=10.0)
    assert small.mad == 0.0
    assert small.z == pytest.approx(0.6745 * 20 / 5.0)  # floor: 1% of the median
    assert not small.anomalous
    big = base.observe(550.0, planned_at=11.0)
    assert big.z == pytest.approx(0.6745 * 50 / 5.0)
    assert big.anomalous


def test_tiny_constant_latencies_use_the_absolute_floor():
    base = baseline([1.0] * 5)
    verdict = base.observe(4.0, planned_at=10.0)
    assert verdict.z == pytest.approx(0.6745 * 3.0 / 1.0)  # floor: 1 ms (jitter is not news)
    assert not verdict.anomalous


def test_disabled_settings_never_flag():
    base = baseline(enabled=False)
    verdicts = feed(base, [500.0] * 4, start=10.0)
    assert verdicts[0].z is not None and verdicts[0].z > 3.5
    assert not any(v.anomalous or v.alert for v in verdicts)


def test_a_replayed_run_is_ignored():
    base = baseline(HISTORY, window=50)
    first = base.observe(300.0, planned_at=10.0)
    replay = base.observe(300.0, planned_at=10.0)
    assert first.streak == 1 and replay.streak == 1 and replay.z is None
    assert base.window().count(300.0) == 1


def test_only_successful_results_feed_the_baseline():
    base = baseline(HISTORY, window=50)
    failed = RunResult("api", "local", at=10.0, planned_at=10.0, ok=False, latency_ms=9000.0)
    assert base.observe_result(failed) is None
    ok = RunResult("api", "local", at=11.0, planned_at=11.0, ok=True, latency_ms=300.0)
    verdict = base.observe_result(ok)
    assert verdict is not None and verdict.anomalous
    assert 9000.0 not in base.window()


def test_state_round_trip_continues_identically():
    settings = AnomalySettings(window=8, min_samples=5, consecutive=2)
    original = LatencyBaseline(settings)
    first = [100.0, 103.0, 97.0, 101.0, 99.0, 250.0, 260.0, 98.0, 102.0, 270.0]
    feed(original, first, start=0.0)
    state = json.loads(json.dumps(original.to_state()))
    assert len(state["values"]) == 8
    restored = LatencyBaseline(settings, state)
    rest = [280.0, 290.0, 100.0, 99.5]
    expected = feed(original, rest, start=100.0)
    assert feed(restored, rest, start=100.0) == expected
    assert [v.alert for v in expected] == [True, False, False, False]
    assert restored.observe(300.0, planned_at=50.0).z is None  # already past that run


def test_state_is_bounded_when_the_window_shrinks():
    big = baseline([100.0 + i for i in range(10)])
    small = LatencyBaseline(AnomalySettings(window=4, min_samples=4), big.to_state())
    assert small.window() == [106.0, 107.0, 108.0, 109.0]


def test_a_state_of_another_version_starts_afresh():
    restored = LatencyBaseline(AnomalySettings(), {"version": 99, "values": [1, 2, 3]})
    assert restored.window() == []
    broken = LatencyBaseline(AnomalySettings(), {"version": 1, "values": ["x"]})
    assert broken.window() == []


def test_describe_names_the_numbers():
    base = baseline(HISTORY, window=50)
    verdicts = feed(base, [250.0] * 3, start=10.0)
    text = verdicts[2].describe()
    assert "250 ms" in text and "median 100 ms" in text and "3 runs in a row" in text

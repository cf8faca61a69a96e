"""Recording a load worker's requests (batches, seconds, snapshots) and building the
results from what the workers report."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from assay.load.histogram import Histogram
from assay.load.recorder import KeyStats, Recorder, SecondStats, WorkerReport, merge_reports
from assay.load.results import TimelinePoint
from assay.load.summary import distribution, load_result, percentiles, progress, timeline_point

S = 1_000_000_000  # ns per second
MS = 1_000_000  # ns per millisecond
START = 7_000 * S  # a perf_counter_ns-like origin
KEYS = ("GET /a", "POST /b", "GET /c")


def _recorder(batch: int = 8192, start: int = START) -> Recorder:
    return Recorder(KEYS, start_ns=start, batch=batch)


def _add(recorder: Recorder, key: int, at_s: float, latency_ms: float = 2.0,
         wait_ms: float = 0.0, error: int = 0) -> None:
    """A request intended at ``at_s`` seconds into the run, sent ``wait_ms`` later."""
    intended = recorder.start_ns + int(at_s * S)
    sent = intended + int(wait_ms * MS)
    recorder.add(key, intended, sent, intended + int(latency_ms * MS), error)


@pytest.mark.parametrize("count", [7, 8, 9])
def test_entries_are_folded_when_a_batch_fills(count: int) -> None:
    recorder = _recorder(batch=8)
    for index in range(count):
        _add(recorder, 0, 0.1, latency_ms=1 + index)
    assert recorder.pending == count % 8 if count >= 8 else count
    report = recorder.snapshot()  # folds the rest
    assert recorder.pending == 0
    stats = report.by_key[0]
    assert stats.requests == count
    assert stats.latency.count == count
    assert stats.latency.max == (count) * 1000  # µs


def test_latency_counts_from_the_intended_time_and_service_time_from_the_send() -> None:
    recorder = _recorder()
    intended = START + S // 2
    recorder.add(1, intended, intended + 2 * MS, intended + 5 * MS, 0)
    recorder.add(1, intended, intended + 9 * MS, intended + 5 * MS, 0)  # done before sent
    stats = recorder.snapshot().by_key[1]
    assert (stats.latency.min, stats.latency.max) == (5000, 5000)
    assert (stats.service_time.min, stats.service_time.max) == (0, 3000)
    assert stats.late == 2
    assert 0 not in recorder.snapshot().by_key


def test_late_starts_are_those_sent_more_than_a_millisecond_late() -> None:
    recorder = _recorder()
    intended = START + S // 5
    recorder.add(0, intended, intended + MS, intended + 2 * MS, 0)  # exactly 1 ms: on time
    recorder.add(0, intended, intended + MS + 1, intended + 2 * MS, 0)
    _add(recorder, 2, 1.2, wait_ms=30)
    _add(recorder, 2, 1.3)
    report = recorder.snapshot()
    assert (report.by_key[0].late, report.by_key[2].late) == (1, 1)
    seconds = recorder.pop_seconds()
    assert (seconds[0].late, seconds[1].late) == (1, 1)


def test_errors_are_counted_by_kind_per_key_and_per_second() -> None:
    recorder = _recorder()
    timeout = recorder.error_index("timeout")
    unavailable = recorder.error_index("http 503")
    assert (timeout, unavailable) == (1, 2)
    assert recorder.error_index("timeout") == timeout
    _add(recorder, 0, 0.1, error=timeout)
    _add(recorder, 0, 0.2, error=unavailable)
    _add(recorder, 0, 0.3, error=unavailable)
    _add(recorder, 1, 0.4, error=timeout)
    _add(recorder, 1, 1.5)
    report = recorder.snapshot()
    assert report.by_key[0].errors_by_kind == {"timeout": 1, "http 503": 2}
    assert (report.by_key[0].errors, report.by_key[1].errors) == (3, 1)
    assert report.by_key[1].errors_by_kind == {"timeout": 1}
    seconds = recorder.pop_seconds()
    assert [(s.requests, s.errors) for s in seconds.values()] == [(4, 4), (1, 0)]


def test_checks_are_counted_per_key() -> None:
    recorder = _recorder()
    recorder.check(2, 5, 1)
    recorder.check(2, 1, 0)
    stats = recorder.snapshot().by_key[2]
    assert (stats.checks_passed, stats.checks_failed, stats.requests) == (6, 1, 0)


def test_seconds_close_at_ticks_with_the_gauges_of_the_moment() -> None:
    recorder = _recorder()
    _add(recorder, 0, 0.5)
    _add(recorder, 0, 1.2, latency_ms=10)
    _add(recorder, 1, 1.7, latency_ms=20)
    _add(recorder, 0, 3.1)
    recorder.gauge(active=5, backlog=2)
    recorder.tick(START + 2 * S + S // 2)
    assert recorder.pending == 0
    closed = recorder.pop_seconds(2)
    assert sorted(closed) == [0, 1]
    assert [closed[0].requests, closed[1].requests] == [1, 2]
    assert (closed[1].active, closed[1].backlog) == (5, 2)
    assert closed[1].latency.max == 20_000
    assert recorder.pop_seconds(2) == {}  # popped seconds are gone
    recorder.gauge(active=3, backlog=0)
    recorder.tick(START + 4 * S + S // 2)
    closed = recorder.pop_seconds(4)
    # Nothing completed in second 2: it is there, empty, so the timeline shows the stall.
    assert [(s, closed[s].requests, closed[s].active) for s in sorted(closed)] == [
        (2, 0, 3), (3, 1, 3)]


def test_open_seconds_are_not_popped_until_the_end() -> None:
    recorder = _recorder()
    _add(recorder, 0, 0.5)
    _add(recorder, 0, 1.5)
    recorder.tick(START + S + S // 2)
    assert sorted(recorder.pop_seconds(5)) == [0]
    recorder.gauge(active=1, backlog=4)
    rest = recorder.pop_seconds()
    assert sorted(rest) == [1]
    assert (rest[1].requests, rest[1].backlog) == (1, 4)
    assert recorder.pop_seconds() == {}


def test_a_response_recorded_after_its_second_was_popped_comes_back_in_that_second() -> None:
    recorder = _recorder()
    _add(recorder, 0, 0.5)
    recorder.gauge(active=2, backlog=0)
    recorder.tick(START + S + 1)
    assert recorder.pop_seconds(1)[0].requests == 1
    _add(recorder, 0, 0.9)  # done in second 0, added after the tick
    recorder.tick(START + S + 2)
    again = recorder.pop_seconds(1)
    assert again[0].requests == 1
    assert again[0].active == 0  # merged by the parent, the gauges must not count twice


def test_invalid_keys_and_error_indices_are_refused() -> None:
    recorder = _recorder()
    _add(recorder, 3, 0.1)
    with pytest.raises(ValueError, match="key 3 is not an index into the 3 keys"):
        recorder.flush()
    _add(recorder, 0, 0.1, error=4)
    with pytest.raises(ValueError, match="error 4 was not given by error_index"):
        recorder.flush()
    with pytest.raises(ValueError, match="batch must be at least 1"):
        Recorder(KEYS, start_ns=0, batch=0)


def _feed(recorders: list[Recorder], seed: int = 3, count: int = 3000) -> None:
    """The same random requests, dealt round-robin to ``recorders``."""
    rng = np.random.default_rng(seed)
    kinds = ["timeout", "http 503", "connection_reset"]
    for index in range(count):
        recorder = recorders[index % len(recorders)]
        kind = int(rng.integers(0, 12))
        error = recorder.error_index(kinds[kind]) if kind < len(kinds) else 0
        _add(recorder, int(rng.integers(0, 3)), float(rng.uniform(0.001, 4)),
             latency_ms=float(rng.lognormal(1, 1)), wait_ms=float(rng.exponential(0.5)),
             error=error)
    for position, recorder in enumerate(recorders):
        recorder.check(position % 3, position + 1, position)
        recorder.gauge(active=1, backlog=position + 2)


def test_reports_of_two_workers_merge_into_the_report_of_one() -> None:
    # Two workers, each with its own perf_counter origin, and error indices assigned in
    # a different order: the merged report still equals that of one recorder.
    single = _recorder(batch=100)
    first, second = _recorder(batch=64), _recorder(batch=100, start=123 * S)
    second.error_index("connection_reset")
    _feed([single, single])
    _feed([first, second])
    merged = merge_reports([first.snapshot(), second.snapshot()])
    assert merged == single.snapshot()
    assert merged.total().requests == 3000
    assert (merged.by_key[1].checks_passed, merged.max_backlog) == (2, 3)
    assert sum(merged.total().errors_by_kind.values()) == merged.total().errors > 0


def test_merged_seconds_equal_the_seconds_of_one_recorder() -> None:
    single = _recorder()
    first, second = _recorder(batch=50), _recorder(start=99 * S)
    _feed([single, single])
    _feed([first, second])
    merged = first.pop_seconds()
    for number, stats in second.pop_seconds().items():
        merged[number].merge(stats)
    expected = single.pop_seconds()
    assert sorted(merged) == sorted(expected) == [0, 1, 2, 3, 4]
    for number in expected:
        got, want = merged[number], expected[number]
        assert (got.requests, got.errors, got.late) == (want.requests, want.errors, want.late)
        assert got.latency == want.latency


def test_merge_reports_leaves_its_inputs_alone_and_snapshots_are_copies() -> None:
    recorder = _recorder()
    _add(recorder, 0, 0.1)
    snapshot = recorder.snapshot()
    merge_reports([snapshot, snapshot])
    merge_reports([snapshot, snapshot])
    assert snapshot.by_key[0].requests == 1 and snapshot.by_key[0].latency.count == 1
    _add(recorder, 0, 0.2)
    assert snapshot.by_key[0].requests == 1
    assert merge_reports([snapshot, recorder.snapshot()]).total().requests == 3


def test_a_snapshot_pickles_compactly_and_round_trips() -> None:
    recorder = _recorder()
    _feed([recorder], count=5000)
    snapshot = recorder.snapshot()
    data = pickle.dumps(snapshot)
    assert pickle.loads(data) == snapshot
    dense = sum(stats.latency.count for stats in snapshot.by_key.values())
    assert len(data) < 40_000 < dense * 16
    assert snapshot.first_intended_ns is not None and snapshot.first_intended_ns >= MS
    assert snapshot.last_done_ns is not None and snapshot.last_done_ns < 5 * S


# --- summary: from merged data to the records of results.py ---------------------------


def test_percentiles_are_milliseconds_rounded_to_the_microsecond() -> None:
    hist = Histogram()
    hist.record_array(np.array([1000, 2000, 3500]))
    result = percentiles(hist)
    # p50 is the highest value of 2000's bucket (2000-2001 µs at 10 bits); the rest exact.
    assert (result.p50, result.max, result.min, result.mean) == (2.001, 3.5, 1.0, 2.167)
    assert percentiles(Histogram()).p99 is None


def test_timeline_point_ends_at_the_end_of_its_second() -> None:
    stats = SecondStats(requests=3, errors=1, late=2, active=4, backlog=5)
    stats.latency.record_array(np.array([1000, 1000, 40_000]))
    point = timeline_point(6, stats)
    # Per-second histograms are coarse: 1000 µs is reported as its bucket's top, 1007 µs.
    assert point == TimelinePoint(t=7.0, requests=3, errors=1, p50=1.007, p90=40.0, p99=40.0,
                                  max=40.0, active=4, backlog=5, late=2)


def _report() -> WorkerReport:
    recorder = Recorder(("GET /a", "GET /a", "GET /b", "GET /never"), start_ns=START)
    recorder.add(0, START + MS, START + MS, START + 3 * MS, 0)
    recorder.add(1, START + 2 * MS, START + 4 * MS, START + 7 * MS,
                 recorder.error_index("http 503"))
    recorder.add(2, START + 5 * MS, START + 5 * MS, START + 2 * S, 0)
    recorder.check(2, 1, 1)
    recorder.gauge(active=2, backlog=6)
    return recorder.snapshot()


def test_load_result_fields() -> None:
    keys = ("GET /a", "GET /a", "GET /b", "GET /never")
    timeline = (TimelinePoint(1.0, 2, 1, 1.0, 1.0, 1.0, backlog=9),)
    result = load_result(_report(), keys, model="open", timeline=timeline, workers=2,
                         settings={"rate": 10}, aborted="interrupted (Ctrl-C)")
    assert (result.model, result.requests, result.errors) == ("open", 3, 1)
    assert result.duration_s == pytest.approx(2 - 0.001)
    assert result.errors_by_kind == {"http 503": 1}
    assert result.late_starts == 1 and result.max_backlog == 9
    assert (result.checks_passed, result.checks_failed) == (1, 1)
    assert list(result.by_step) == ["GET /a", "GET /b"]  # same names merged; unused left out
    step = result.by_step["GET /a"]
    assert (step.requests, step.errors, step.latency.max, step.service_time.max) == (
        2, 1, 5.0, 3.0)
    assert result.latency.max == 1995.0 and result.latency.min == 2.0
    assert result.timeline == timeline
    assert (result.workers, result.settings, result.aborted) == (
        2, {"rate": 10}, "interrupted (Ctrl-C)")
    assert sum(count for _, count in result.distribution) == 3
    assert result.to_dict()["by_step"]["GET /b"]["checks_failed"] == 1


def test_load_result_refuses_a_report_with_unknown_keys() -> None:
    with pytest.raises(ValueError, match="key 2, beyond the 2 keys given"):
        load_result(_report(), ("a", "b"), model="closed", timeline=())


def test_distribution_fits_in_two_hundred_buckets_with_exact_counts() -> None:
    hist = Histogram()
    values = np.concatenate([np.random.default_rng(5).lognormal(7, 2, 50_000),
                             [1, 10**8]]).astype(np.int64)
    hist.record_array(values)
    buckets = distribution(hist)
    assert 20 < len(buckets) <= 200
    assert sum(count for _, count in buckets) == values.size
    uppers = [upper for upper, _ in buckets]
    assert uppers == sorted(uppers) and uppers[-1] >= 10**8 / 1000
    assert distribution(Histogram()) == ()


def test_progress_combines_the_snapshot_and_the_last_second() -> None:
    second = SecondStats(requests=40, active=8, backlog=1)
    second.latency.record_array(np.full(40, 2500))
    shown = progress(_report(), second, elapsed_s=3.2, duration_s=10.0, model="closed")
    assert (shown.requests, shown.errors, shown.rps, shown.p95) == (3, 1, 40.0, 2.5)
    assert (shown.active, shown.backlog, shown.late_starts) == (8, 1, 1)
    assert shown.errors_by_kind == {"http 503": 1}
    assert (shown.elapsed_s, shown.duration_s, shown.model) == (3.2, 10.0, "closed")
    early = progress(None, None, elapsed_s=0.5, duration_s=None, model="open")
    assert (early.requests, early.rps, early.p50) == (0, 0.0, None)


def test_key_stats_merge_is_exact() -> None:
    a, b = KeyStats(requests=2, errors=1, errors_by_kind={"timeout": 1}), KeyStats(
        requests=1, errors=1, errors_by_kind={"timeout": 1})
    a.latency.record_array(np.array([5, 6]))
    b.latency.record_array(np.array([7]))
    a.merge(b)
    assert (a.requests, a.errors, a.errors_by_kind, a.latency.count) == (
        3, 2, {"timeout": 2}, 3)
    assert b.requests == 1

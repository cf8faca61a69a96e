"""Recording every request of a load worker, cheaply: append now, count in batches.

The hot path (``Recorder.add``) appends five integers to five lists, bound once in a
closure. Measured on the 2-core test machine (``bench/load_recording.py``): ~210-240 ns per
request, flushes included, for 1 to 40 keys; the same recorder on ``array.array('q')``
appends and ``np.frombuffer`` took ~150 ns more (its append parses its argument, which
costs more than ``np.fromiter`` on a list). Every ``batch`` entries, or at each ``tick``,
``flush`` turns the lists into numpy arrays and folds them, in a fixed number of
vectorized passes whatever the number of keys, into:

- per key (an endpoint or a scenario step, by index into ``keys``): request, error and
  late-start counts, errors by kind, and fine histograms of latency (from the intended
  send time) and service time (from the moment the request was written);
- per second of the run (by the second in which the response completed): counts and a
  coarse latency histogram, plus the gauges (``active``, ``backlog``) noted when the second
  closes. Closed seconds leave the recorder with ``pop_seconds``, so memory stays flat.

``snapshot`` gives a cumulative, picklable ``WorkerReport``; reports of several workers merge
exactly (``merge_reports``). Times inside a report are relative to the run's start, because
each process has its own ``perf_counter_ns`` origin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from .histogram import Histogram, HistogramSet

# Precision of the per-key histograms (0.2 %) and of the per-second ones (3 %): a second's
# histogram only feeds the timeline's p50/p90/p99, and a long run keeps one per second.
LATENCY_BITS = 10
SECOND_BITS = 6
# A request sent more than this after its intended time started late.
LATE_NS = 1_000_000
# Up to this many distinct seconds in a batch, grouping uses masks rather than a sort.
_FEW_LABELS = 16
_NS_PER_US = 1_000
_NS_PER_S = 1_000_000_000


def _latency_histogram() -> Histogram:
    return Histogram(LATENCY_BITS)


def _second_histogram() -> Histogram:
    return Histogram(SECOND_BITS)


def _add_counts(into: dict[str, int], counts: dict[str, int]) -> None:
    for kind, count in counts.items():
        into[kind] = into.get(kind, 0) + count


@dataclass(slots=True)
class KeyStats:
    """What one worker (or several, merged) measured for one key; histograms in µs."""

    requests: int = 0
    errors: int = 0
    late: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    latency: Histogram = field(default_factory=_latency_histogram)
    service_time: Histogram = field(default_factory=_latency_histogram)

    def merge(self, other: KeyStats) -> None:
        """Add ``other``'s measurements to these (exact)."""
        self.requests += other.requests
        self.errors += other.errors
        self.late += other.late
        self.checks_passed += other.checks_passed
        self.checks_failed += other.checks_failed
        _add_counts(self.errors_by_kind, other.errors_by_kind)
        self.latency.merge(other.latency)
        self.service_time.merge(other.service_time)

    def copy(self) -> KeyStats:
        """An independent copy."""
        return KeyStats(self.requests, self.errors, self.late, self.checks_passed,
                        self.checks_failed, dict(self.errors_by_kind), self.latency.copy(),
                        self.service_time.copy())


@dataclass(slots=True)
class SecondStats:
    """One second of the run: requests that completed in it, how many failed or started
    late, their latency (coarse histogram, µs), and the gauges when the second closed.

    Merging adds everything, gauges included: workers each run a share of the load.
    """

    requests: int = 0
    errors: int = 0
    late: int = 0
    latency: Histogram = field(default_factory=_second_histogram)
    active: int = 0
    backlog: int = 0

    def merge(self, other: SecondStats) -> None:
        """Add ``other`` (the same second, from another worker) to this one."""
        self.requests += other.requests
        self.errors += other.errors
        self.late += other.late
        self.latency.merge(other.latency)
        self.active += other.active
        self.backlog += other.backlog


@dataclass(slots=True)
class WorkerReport:
    """Cumulative measurements of one worker, or of several merged.

    ``by_key`` maps a key's index to its stats (keys that saw nothing are absent).
    ``first_intended_ns`` and ``last_done_ns`` are relative to the run's start (``None``
    before the first request); ``max_backlog`` is the largest backlog one worker noted.
    """

    by_key: dict[int, KeyStats] = field(default_factory=dict)
    first_intended_ns: int | None = None
    last_done_ns: int | None = None
    max_backlog: int = 0

    def merge(self, other: WorkerReport) -> None:
        """Add ``other`` to this report (exact; ``other`` is copied, never shared)."""
        for key, stats in other.by_key.items():
            mine = self.by_key.get(key)
            if mine is None:
                self.by_key[key] = stats.copy()
            else:
                mine.merge(stats)
        self.first_intended_ns = _extreme(min, self.first_intended_ns, other.first_intended_ns)
        self.last_done_ns = _extreme(max, self.last_done_ns, other.last_done_ns)
        self.max_backlog = max(self.max_backlog, other.max_backlog)

    def total(self) -> KeyStats:
        """All keys merged into one."""
        total = KeyStats()
        for stats in self.by_key.values():
            total.merge(stats)
        return total


def _extreme(pick: Callable[[int, int], int], a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else pick(a, b)


def merge_reports(reports: Iterable[WorkerReport]) -> WorkerReport:
    """One report of all ``reports`` (which are left unchanged)."""
    merged = WorkerReport()
    for report in reports:
        merged.merge(report)
    return merged


def _groups(labels: np.ndarray) -> Iterator[tuple[int, slice | np.ndarray]]:
    """``(label, positions)`` for each distinct label of a non-empty integer array."""
    low, high = int(labels.min()), int(labels.max())
    if low == high:
        yield low, slice(None)  # the common case: one key, one second
    elif high - low < _FEW_LABELS:
        # A comparison per label is cheaper than a sort when labels are few.
        for offset in np.flatnonzero(np.bincount(labels - low)).tolist():
            yield low + offset, np.flatnonzero(labels == low + offset)
    else:
        order = np.argsort(labels, kind="stable")
        ordered = labels[order]
        bounds = [0, *(np.flatnonzero(np.diff(ordered)) + 1).tolist(), ordered.size]
        for start, end in zip(bounds, bounds[1:], strict=False):
            yield int(ordered[start]), order[start:end]


class Recorder:
    """Records a worker's requests (see the module docstring).

    ``add(key, intended_ns, sent_ns, done_ns, error)`` is the hot path, an attribute bound
    in ``__init__`` (a closure is faster than a method); times are ``perf_counter_ns``,
    ``error`` is 0 for a success or an index from ``error_index``. The worker calls
    ``gauge`` and ``tick`` every 100 ms or so, and ``pop_seconds`` and ``snapshot`` about
    once a second.
    """

    __slots__ = ("keys", "start_ns", "add", "_batch", "_columns", "_requests", "_errors",
                 "_late", "_latency", "_service", "_errors_by_kind", "_passed", "_failed",
                 "_kinds", "_kind_index", "_open", "_closed", "_closed_before", "_active",
                 "_backlog", "_max_backlog", "_first", "_last")

    add: Callable[[int, int, int, int, int], None]

    def __init__(self, keys: Sequence[str], *, start_ns: int, batch: int = 8192):
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch!r}")
        self.keys = tuple(keys)
        self.start_ns = start_ns
        self._batch = batch
        size = len(self.keys)
        # Per key, as arrays: a batch updates every key in a few vectorized passes.
        self._requests, self._errors, self._late = (np.zeros(size, dtype=np.int64)
                                                    for _ in range(3))
        self._latency = HistogramSet(size, LATENCY_BITS)
        self._service = HistogramSet(size, LATENCY_BITS)
        self._errors_by_kind: list[dict[str, int]] = [{} for _ in range(size)]
        self._passed = [0] * size
        self._failed = [0] * size
        self._kinds = ["ok"]  # index 0 is success
        self._kind_index: dict[str, int] = {}
        self._open: dict[int, SecondStats] = {}
        self._closed: dict[int, SecondStats] = {}
        self._closed_before = 0
        self._active = self._backlog = self._max_backlog = 0
        self._first: int | None = None
        self._last: int | None = None
        self._columns: tuple[list[int], ...] = ([], [], [], [], [])
        self.add = self._adder()

    def _adder(self) -> Callable[[int, int, int, int, int], None]:
        keys, intended, sent, done, errors = self._columns
        append_key, append_intended = keys.append, intended.append
        append_sent, append_done, append_error = sent.append, done.append, errors.append
        batch, flush = self._batch, self.flush

        def add(key: int, intended_ns: int, sent_ns: int, done_ns: int, error: int) -> None:
            """Record one request: its key, intended/sent/done times (ns) and error index."""
            append_key(key)
            append_intended(intended_ns)
            append_sent(sent_ns)
            append_done(done_ns)
            append_error(error)
            if len(keys) >= batch:
                flush()
        return add

    @property
    def batch(self) -> int:
        """How many entries ``add`` collects before it flushes (fixed at creation)."""
        return self._batch

    @property
    def pending(self) -> int:
        """Entries added since the last flush."""
        return len(self._columns[0])

    def error_index(self, kind: str) -> int:
        """The error index of ``kind`` (``"timeout"``, ``"http 503"``...), assigned on
        first use; callers may keep it."""
        index = self._kind_index.get(kind)
        if index is None:
            index = self._kind_index[kind] = len(self._kinds)
            self._kinds.append(kind)
        return index

    def check(self, key: int, passed: int, failed: int) -> None:
        """Count checks run on responses of ``key``."""
        self._passed[key] += passed
        self._failed[key] += failed

    def gauge(self, active: int, backlog: int) -> None:
        """Set the current gauges (noted into each second as it closes)."""
        self._active = active
        self._backlog = backlog
        if backlog > self._max_backlog:
            self._max_backlog = backlog

    def tick(self, now_ns: int) -> None:
        """Flush, and close the seconds of the run that ended before ``now_ns``."""
        self.flush()
        self._close((now_ns - self.start_ns) // _NS_PER_S)

    def pop_seconds(self, before_second: int | None = None) -> dict[int, SecondStats]:
        """Remove and return the closed seconds before ``before_second``, ascending; with
        ``None`` (at the end of the run) every second, closing those still open."""
        self.flush()
        if before_second is None:
            self._close(max(self._open, default=-1) + 1)
            before_second = self._closed_before
        popped = {second: self._closed.pop(second)
                  for second in sorted(self._closed) if second < before_second}
        return popped

    def snapshot(self) -> WorkerReport:
        """A cumulative copy of everything measured so far (flushes first)."""
        self.flush()
        by_key = {index: self._key_stats(index) for index in range(len(self.keys))
                  if self._requests[index] or self._passed[index] or self._failed[index]}
        first = None if self._first is None else self._first - self.start_ns
        last = None if self._last is None else self._last - self.start_ns
        return WorkerReport(by_key, first, last, self._max_backlog)

    def flush(self) -> None:
        """Fold the entries added since the last flush into the statistics."""
        columns = self._columns
        size = len(columns[0])
        if not size:
            return
        keys, intended, sent, done, errors = (np.fromiter(column, np.int64, size)
                                              for column in columns)
        for column in columns:
            column.clear()
        self._validate(keys, errors)
        latency = np.maximum(done - intended, 0) // _NS_PER_US
        service = np.maximum(done - sent, 0) // _NS_PER_US
        late = (sent - intended) > LATE_NS
        self._first = _extreme(min, self._first, int(intended.min()))
        self._last = _extreme(max, self._last, int(done.max()))
        self._fold_keys(keys, latency, service, late, errors)
        seconds = np.maximum((done - self.start_ns) // _NS_PER_S, 0)
        self._fold_seconds(seconds, latency, late, errors > 0)

    def _validate(self, keys: np.ndarray, errors: np.ndarray) -> None:
        if int(keys.min()) < 0 or int(keys.max()) >= len(self.keys):
            bad = int(keys.min()) if int(keys.min()) < 0 else int(keys.max())
            raise ValueError(f"recorder: key {bad} is not an index into the "
                             f"{len(self.keys)} keys")
        if int(errors.min()) < 0 or int(errors.max()) >= len(self._kinds):
            bad = int(errors.min()) if int(errors.min()) < 0 else int(errors.max())
            raise ValueError(f"recorder: error {bad} was not given by error_index()")

    def _key_stats(self, index: int) -> KeyStats:
        return KeyStats(int(self._requests[index]), int(self._errors[index]),
                        int(self._late[index]), self._passed[index], self._failed[index],
                        dict(self._errors_by_kind[index]), self._latency.histogram(index),
                        self._service.histogram(index))

    def _fold_keys(self, keys: np.ndarray, latency: np.ndarray, service: np.ndarray,
                   late: np.ndarray, errors: np.ndarray) -> None:
        size = len(self.keys)
        self._requests += np.bincount(keys, minlength=size)
        self._late += np.bincount(keys[late], minlength=size)
        self._latency.record_array(keys, latency)
        self._service.record_array(keys, service)
        failed = np.flatnonzero(errors)
        if not failed.size:
            return
        keys, errors = keys[failed], errors[failed]
        self._errors += np.bincount(keys, minlength=size)
        kinds = len(self._kinds)
        pairs, counts = np.unique(keys * kinds + errors, return_counts=True)
        for pair, count in zip(pairs.tolist(), counts.tolist(), strict=True):
            key, kind = divmod(pair, kinds)
            by_kind = self._errors_by_kind[key]
            by_kind[self._kinds[kind]] = by_kind.get(self._kinds[kind], 0) + count

    def _fold_seconds(self, seconds: np.ndarray, latency: np.ndarray, late: np.ndarray,
                      failed: np.ndarray) -> None:
        for second, where in _groups(seconds):
            stats = self._second(second)
            lat = latency[where]
            stats.requests += lat.size
            stats.errors += int(np.count_nonzero(failed[where]))
            stats.late += int(np.count_nonzero(late[where]))
            stats.latency.record_array(lat)

    def _second(self, second: int) -> SecondStats:
        # A response can be recorded after its second closed (the tick ran between the
        # response and the driver's add); it goes to that second again, possibly after
        # the second was popped: the parent merges the two.
        seconds = self._open if second >= self._closed_before else self._closed
        stats = seconds.get(second)
        if stats is None:
            stats = seconds[second] = SecondStats()
        return stats

    def _close(self, before: int) -> None:
        for second in range(self._closed_before, before):
            stats = self._open.pop(second, None)
            if stats is None:
                stats = SecondStats()  # nothing completed in that second: say so
            stats.active, stats.backlog = self._active, self._backlog
            self._closed[second] = stats
        self._closed_before = max(self._closed_before, before)

"""The arithmetic both stores share: hourly rollups, percentiles, chart buckets, slow runs.

``MemoryStore`` and ``SqlStore`` feed the same functions, so they cannot disagree about a
number: the contract tests then only have to prove that each store hands them the right rows.

Latency percentiles are taken over the runs that succeeded and have a latency (a failed run's
latency is mostly its timeout: it would drown the chart; failures are counted apart).
Percentiles interpolate linearly between closest ranks (numpy's default).

Across hours, percentiles are an approximation: a rollup keeps only p50/p95/p99/max, so
combining several (a chart bucket longer than an hour, a late result merged into a rolled
hour) takes their mean weighted by successful runs, and the max of the maxima. Exact values
would need the raw data or a histogram per hour; the dashboard's charts and a 30-day SLO
budget do not need more. Alerts (burn rates over 1h..3d) read raw results, which are exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..monitor.records import Rollup, RunResult

HOUR = 3600.0
MAX_REASON = 1000  # characters kept of a failure reason: rows stay small
MAX_BUCKETS = 100_000  # a chart asking for more has a bucket size wrong by orders of magnitude
QUANTILES = (0.5, 0.95, 0.99)


def hour_start(t: float) -> float:
    """The start of the UTC hour containing epoch ``t``.

    >>> hour_start(7300.5)
    7200.0
    """
    return math.floor(t / HOUR) * HOUR


def stored_reason(result: RunResult) -> str | None:
    """The reason as stored: none for a successful run, at most ``MAX_REASON`` characters."""
    if result.ok or result.reason is None:
        return None
    return result.reason[:MAX_REASON]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) of non-empty ``ordered`` values, linearly interpolated.

    >>> percentile([10.0, 20.0, 30.0, 40.0], 0.5)
    25.0
    """
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(latencies: Iterable[float]) -> tuple[float | None, ...]:
    """``(p50, p95, p99, max)`` of ``latencies`` (all None when there are none)."""
    ordered = sorted(latencies)
    if not ordered:
        return (None, None, None, None)
    return (*(percentile(ordered, q) for q in QUANTILES), ordered[-1])


def roll_up(monitor: str, location: str, hour: float,
            runs: Iterable[tuple[bool, float | None]]) -> Rollup:
    """The rollup of one hour's ``(ok, latency_ms)`` runs of one monitor at one location."""
    count = failures = 0
    latencies: list[float] = []
    for ok, latency in runs:
        count += 1
        if not ok:
            failures += 1
        elif latency is not None:
            latencies.append(latency)
    p50, p95, p99, top = summarize(latencies)
    return Rollup(monitor, location, hour, count, failures, p50, p95, p99, top)


def _weighted(pairs: Sequence[tuple[float | None, int]]) -> float | None:
    """Mean of the values that are known, weighted; None when none is."""
    known = [(value, weight) for value, weight in pairs if value is not None and weight > 0]
    total = sum(weight for _, weight in known)
    if not total:
        return None
    if len(known) == 1:
        return known[0][0]  # exact, not value * w / w
    return sum(value * weight for value, weight in known) / total


def merge_rollups(old: Rollup, new: Rollup) -> Rollup:
    """One rollup for the runs of both (same monitor, location and hour); see the module
    docstring for the percentile approximation."""
    w_old, w_new = old.count - old.failures, new.count - new.failures
    maxima = [m for m in (old.latency_max, new.latency_max) if m is not None]
    return Rollup(
        old.monitor, old.location, old.hour, old.count + new.count,
        old.failures + new.failures,
        _weighted([(old.latency_p50, w_old), (new.latency_p50, w_new)]),
        _weighted([(old.latency_p95, w_old), (new.latency_p95, w_new)]),
        _weighted([(old.latency_p99, w_old), (new.latency_p99, w_new)]),
        max(maxima) if maxima else None)


def estimated_slow(rollup: Rollup, threshold_ms: float) -> int:
    """Runs of a rolled-up hour slower than ``threshold_ms`` or failed.

    Failures are exact; the slow successful runs are estimated from a latency distribution
    through the points (0 ms, 0), (p50, 0.5), (p95, 0.95), (p99, 0.99), (max, 1), linear
    between them.
    """
    ok_runs = rollup.count - rollup.failures
    points = [(0.0, 0.0), (rollup.latency_p50, 0.5), (rollup.latency_p95, 0.95),
              (rollup.latency_p99, 0.99), (rollup.latency_max, 1.0)]
    if ok_runs <= 0 or any(value is None for value, _ in points):
        return rollup.failures
    below = 1.0
    for (x0, f0), (x1, f1) in zip(points, points[1:], strict=False):
        if threshold_ms < x1:
            share = (threshold_ms - x0) / (x1 - x0) if x1 > x0 else 1.0
            below = f0 + (f1 - f0) * max(share, 0.0)
            break
    return rollup.failures + round(ok_runs * (1.0 - below))


@dataclass(slots=True)
class _Bucket:
    """What one chart bucket has gathered so far."""

    count: int = 0
    failures: int = 0
    latencies: list[float] = field(default_factory=list)
    rollups: list[Rollup] = field(default_factory=list)


class BucketChart:
    """Chart buckets ``[since + k*bucket_s, since + (k+1)*bucket_s)`` covering
    ``[since, until)``: feed raw runs and rollups (a rollup falls in the bucket holding its
    hour's start), then ``rows()``.

    >>> chart = BucketChart(0.0, 120.0, 60.0)
    >>> chart.add_run(5.0, True, 12.0); chart.add_run(70.0, False, None)
    >>> [(r["t"], r["count"], r["failures"], r["p50"]) for r in chart.rows()]
    [(0.0, 1, 0, 12.0), (60.0, 1, 1, None)]
    """

    def __init__(self, since: float, until: float, bucket_s: float):
        if bucket_s <= 0:
            raise ValueError(f"bucket_s must be positive, found {bucket_s!r}")
        size = max(math.ceil((until - since) / bucket_s), 0)
        if size > MAX_BUCKETS:
            raise ValueError(f"{size} buckets of {bucket_s}s between {since} and {until}: "
                             f"at most {MAX_BUCKETS} expected")
        self.since, self.bucket_s = since, bucket_s
        self._buckets = [_Bucket() for _ in range(size)]

    def _bucket(self, t: float) -> _Bucket | None:
        index = math.floor((t - self.since) / self.bucket_s)
        return self._buckets[index] if 0 <= index < len(self._buckets) else None

    def add_run(self, at: float, ok: bool, latency_ms: float | None) -> None:
        """Count one raw run (ignored outside the chart)."""
        bucket = self._bucket(at)
        if bucket is None:
            return
        bucket.count += 1
        if not ok:
            bucket.failures += 1
        elif latency_ms is not None:
            bucket.latencies.append(latency_ms)

    def add_rollup(self, rollup: Rollup) -> None:
        """Count one hourly rollup (ignored when its hour starts outside the chart)."""
        bucket = self._bucket(rollup.hour)
        if bucket is None:
            return
        bucket.count += rollup.count
        bucket.failures += rollup.failures
        bucket.rollups.append(rollup)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per bucket, oldest first: ``t``, ``count``, ``failures``, ``p50``,
        ``p95``, ``p99`` (ms; None without successful runs)."""
        return [self._row(k, bucket) for k, bucket in enumerate(self._buckets)]

    def _row(self, k: int, bucket: _Bucket) -> dict[str, Any]:
        p50, p95, p99, _ = summarize(bucket.latencies)
        parts = [(p50, p95, p99, len(bucket.latencies))]
        parts += [(r.latency_p50, r.latency_p95, r.latency_p99, r.count - r.failures)
                  for r in bucket.rollups]
        return {"t": self.since + k * self.bucket_s, "count": bucket.count,
                "failures": bucket.failures,
                "p50": _weighted([(p[0], p[3]) for p in parts]),
                "p95": _weighted([(p[1], p[3]) for p in parts]),
                "p99": _weighted([(p[2], p[3]) for p in parts])}

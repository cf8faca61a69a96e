"""From merged measurements (``assay.load.recorder``) to the records of ``results.py``.

Pure functions: the engine merges the workers' reports and seconds, then calls these for the
live display (``progress``), the timeline (``timeline_point``) and the result
(``load_result``). Histograms count microseconds; the records carry milliseconds, rounded
to the microsecond.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .histogram import Histogram
from .recorder import KeyStats, SecondStats, WorkerReport
from .results import (
    PERCENTILES,
    LoadResult,
    Percentiles,
    Progress,
    StepStats,
    ThresholdResult,
    TimelinePoint,
)

# A distribution for plots has at most this many buckets (empty ones between included).
MAX_DISTRIBUTION_BUCKETS = 200


def _ms(value_us: float | None) -> float | None:
    return None if value_us is None else round(value_us / 1000, 3)


def percentiles(hist: Histogram) -> Percentiles:
    """p50, p90, p95, p99, p99.9, max, min and mean of ``hist`` in ms (``None`` when empty)."""
    p50, p90, p95, p99, p999 = (_ms(v) for v in hist.percentiles(q for _, q in PERCENTILES))
    return Percentiles(p50=p50, p90=p90, p95=p95, p99=p99, p999=p999, max=_ms(hist.max),
                       min=_ms(hist.min), mean=_ms(hist.mean))


def timeline_point(second: int, stats: SecondStats) -> TimelinePoint:
    """The timeline entry of ``second`` (0-based from the start; ``t`` is its end)."""
    p50, p90, p99 = (_ms(v) for v in stats.latency.percentiles((50, 90, 99)))
    return TimelinePoint(t=float(second + 1), requests=stats.requests, errors=stats.errors,
                         p50=p50, p90=p90, p99=p99, max=_ms(stats.latency.max),
                         active=stats.active, backlog=stats.backlog, late=stats.late)


def progress(report: WorkerReport | None, last_second: SecondStats | None, *,
             elapsed_s: float, duration_s: float | None, model: str) -> Progress:
    """What the live display shows: cumulative counts from ``report`` (all workers
    merged), rate, percentiles and gauges from ``last_second`` (the last second every
    worker has closed, merged); either may be ``None`` early in the run."""
    steps = list(report.by_key.values()) if report is not None else []
    errors_by_kind: dict[str, int] = {}
    for stats in steps:
        for kind, count in stats.errors_by_kind.items():
            errors_by_kind[kind] = errors_by_kind.get(kind, 0) + count
    second = last_second if last_second is not None else SecondStats()
    p50, p95, p99 = (_ms(v) for v in second.latency.percentiles((50, 95, 99)))
    return Progress(elapsed_s=elapsed_s, duration_s=duration_s,
                    requests=sum(s.requests for s in steps),
                    errors=sum(s.errors for s in steps), rps=float(second.requests),
                    p50=p50, p95=p95, p99=p99, errors_by_kind=_by_count(errors_by_kind),
                    active=second.active, backlog=second.backlog,
                    late_starts=sum(s.late for s in steps), model=model)


def load_result(report: WorkerReport, keys: Sequence[str], *, model: str,
                timeline: Sequence[TimelinePoint], thresholds: Iterable[ThresholdResult] = (),
                workers: int = 1, settings: Mapping[str, Any] | None = None,
                aborted: str | None = None) -> LoadResult:
    """The ``LoadResult`` of a run from its merged ``report``.

    ``keys`` names the report's key indices (keys of the same name are merged; keys that
    never ran are left out of ``by_step``). ``duration_s`` runs from the first intended
    send to the last response; ``max_backlog`` is the largest of any one worker's and of
    the timeline's (all workers at a second's end).
    """
    total = report.total()
    first, last = report.first_intended_ns, report.last_done_ns
    duration_s = (last - first) / 1e9 if first is not None and last is not None else 0.0
    max_backlog = max([report.max_backlog, *(point.backlog for point in timeline)])
    return LoadResult(
        model=model, requests=total.requests, duration_s=max(duration_s, 0.0),
        errors=total.errors, latency=percentiles(total.latency),
        service_time=percentiles(total.service_time), late_starts=total.late,
        max_backlog=max_backlog, errors_by_kind=_by_count(total.errors_by_kind),
        checks_passed=total.checks_passed, checks_failed=total.checks_failed,
        thresholds=tuple(thresholds), by_step=_by_step(report, keys),
        timeline=tuple(timeline), distribution=distribution(total.latency),
        workers=workers, settings=dict(settings or {}), aborted=aborted)


def distribution(hist: Histogram,
                 max_buckets: int = MAX_DISTRIBUTION_BUCKETS) -> tuple[tuple[float, int], ...]:
    """``(upper bound ms, count)`` pairs for a plot: ``hist`` coarsened until the span from
    its first to its last non-empty bucket fits ``max_buckets`` (empty buckets inside the
    span included, so that bars keep their place); counts are summed exactly."""
    bits = hist.precision_bits
    coarse = hist
    while bits > 1 and len(coarse.buckets(include_empty=True)) > max_buckets:
        bits -= 1
        coarse = hist.coarsened(bits)
    return tuple((upper / 1000, count) for upper, count in coarse.buckets(include_empty=True))


def _by_step(report: WorkerReport, keys: Sequence[str]) -> dict[str, StepStats]:
    named: dict[str, KeyStats] = {}
    for index in sorted(report.by_key):
        if not 0 <= index < len(keys):
            raise ValueError(f"the report has key {index}, beyond the {len(keys)} keys given")
        stats = report.by_key[index]
        if not stats.requests:
            continue
        if keys[index] in named:
            named[keys[index]].merge(stats)
        else:
            named[keys[index]] = stats.copy()
    return {name: _step(name, stats) for name, stats in named.items()}


def _step(name: str, stats: KeyStats) -> StepStats:
    return StepStats(name=name, requests=stats.requests, errors=stats.errors,
                     latency=percentiles(stats.latency),
                     service_time=percentiles(stats.service_time),
                     errors_by_kind=_by_count(stats.errors_by_kind),
                     checks_passed=stats.checks_passed, checks_failed=stats.checks_failed)


def _by_count(counts: Mapping[str, int]) -> dict[str, int]:
    """Most frequent kind first, then by name (a stable order for reports)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

"""``/metrics``: the monitor's state in the Prometheus text format, read at scrape time.

A custom collector on the app's own ``CollectorRegistry`` (not the process-global one):

- ``assay_monitor_up{monitor,location}`` (gauge): 1 when the newest result of the monitor at
  that location passed, 0 when it failed (no series before a first run);
- ``assay_monitor_runs_total`` and ``assay_monitor_failures_total`` (counters) and
  ``assay_monitor_latency_seconds`` (histogram, ``LATENCY_BUCKETS_S``): the runs **stored
  since the app started**, counted once each. Counters must only grow, and raw results are
  rolled up and deleted after their retention, so the collector does not recount the
  database: each scrape reads the results stored since the previous one and adds them to
  running totals. A run is stored when it ends but filed under its start, so each read looks
  back by the longest run the config allows (timeout times attempts, plus a minute) and
  skips the ids it has counted.
  A restart starts the totals again at zero, which Prometheus's ``rate()`` expects.

Results written by other agents to a shared database appear under their ``location``.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from ..monitor.records import RunResult
from .view import MonitorView

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MIN_LOOKBACK_S = 60.0
PAGE_SIZE = 5000
LABELS = ("monitor", "location")


@dataclass(slots=True)
class SeriesTotals:
    """Running totals of one (monitor, location)."""

    runs: int = 0
    failures: int = 0
    latency_sum_s: float = 0.0
    # Runs per latency bucket (not cumulative); the last slot is +Inf.
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))

    def add(self, result: RunResult) -> None:
        """Count one run."""
        self.runs += 1
        self.failures += 0 if result.ok else 1
        if result.latency_ms is not None:
            seconds = result.latency_ms / 1000.0
            self.latency_sum_s += seconds
            self.buckets[bisect.bisect_left(LATENCY_BUCKETS_S, seconds)] += 1

    def cumulative(self) -> list[tuple[str, float]]:
        """``(le, count)`` pairs as a Prometheus histogram gives them, +Inf last."""
        bounds = [*(repr(b) for b in LATENCY_BUCKETS_S), "+Inf"]
        total, pairs = 0, []
        for bound, count in zip(bounds, self.buckets, strict=True):
            total += count
            pairs.append((bound, float(total)))
        return pairs


class RunTally:
    """Totals of the runs seen since ``started_at``, each run counted once (pure logic)."""

    def __init__(self, started_at: float):
        self.started_at = started_at
        self.watermark = started_at
        self.series: dict[tuple[str, str], SeriesTotals] = {}
        self._seen: dict[Any, float] = {}

    def next_since(self, lookback_s: float) -> float:
        """Where the next read starts: the newest run seen, minus the look-back."""
        return max(self.started_at, self.watermark - lookback_s)

    def add(self, results: Iterable[RunResult], lookback_s: float) -> None:
        """Count the runs not counted yet (at or after ``started_at``)."""
        for result in results:
            key = result.id if result.id is not None else (
                result.monitor, result.location, result.at)
            if result.at < self.started_at or key in self._seen:
                continue
            self._seen[key] = result.at
            self.series.setdefault((result.monitor, result.location), SeriesTotals()).add(result)
            self.watermark = max(self.watermark, result.at)
        # Ids older than the look-back cannot come back: forget them.
        horizon = self.watermark - lookback_s
        self._seen = {key: at for key, at in self._seen.items() if at >= horizon}


def lookback_for(view: MonitorView) -> float:
    """How late a run may be stored after it started: its timeouts and retries, plus a
    margin for the store itself."""
    longest = max((m.timeout_s * (m.retries + 1) for m in view.config.monitors), default=0.0)
    return max(MIN_LOOKBACK_S, longest + MIN_LOOKBACK_S)


class MonitorCollector:
    """The Prometheus collector of the module docstring, over a ``MonitorView``."""

    def __init__(self, view: MonitorView, started_at: float):
        self.view = view
        self.tally = RunTally(started_at)
        # Two scrapes at once (two Prometheus servers) must not count a run twice.
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        """Read new runs from the store and yield the four metric families."""
        with self._lock:
            self._read_new_results()
            series = {key: _copy(totals) for key, totals in self.tally.series.items()}
        yield self._up()
        runs = CounterMetricFamily("assay_monitor_runs", "Runs stored since the dashboard "
                                   "started.", labels=LABELS)
        failures = CounterMetricFamily("assay_monitor_failures", "Failed runs stored since "
                                       "the dashboard started.", labels=LABELS)
        latency = HistogramMetricFamily("assay_monitor_latency_seconds", "Duration of the "
                                        "runs stored since the dashboard started.",
                                        labels=LABELS)
        for (monitor, location), totals in sorted(series.items()):
            labels = [monitor, location]
            runs.add_metric(labels, totals.runs)
            failures.add_metric(labels, totals.failures)
            latency.add_metric(labels, totals.cumulative(), totals.latency_sum_s)
        yield from (runs, failures, latency)

    def _read_new_results(self) -> None:
        store = self.view.store
        lookback = lookback_for(self.view)
        since = self.tally.next_since(lookback)
        while True:
            page = store.results(since=since, limit=PAGE_SIZE, newest_first=False)
            self.tally.add(page, lookback)
            if len(page) < PAGE_SIZE or page[-1].at <= since:
                # Done, or a page of runs that all started on one instant: no way past it.
                return
            since = page[-1].at

    def _up(self) -> GaugeMetricFamily:
        up = GaugeMetricFamily("assay_monitor_up", "1 when the newest run of the monitor at "
                               "the location passed, else 0.", labels=LABELS)
        store = self.view.store
        for monitor in self.view.config.monitors:
            latest = store.latest_by_location(monitor.name)
            for location, result in sorted(latest.items()):
                up.add_metric([monitor.name, location], 1.0 if result.ok else 0.0)
        return up


def _copy(totals: SeriesTotals) -> SeriesTotals:
    return SeriesTotals(totals.runs, totals.failures, totals.latency_sum_s,
                        list(totals.buckets))


def metrics_registry(view: MonitorView, started_at: float) -> CollectorRegistry:
    """A registry of its own holding a ``MonitorCollector`` (nothing process-global)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(view, started_at))
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format (blocking: reads the store)."""
    return generate_latest(registry)

"""What a load run measured, as the reports and the thresholds read it.

These records are plain data (picklable, JSON-ready through ``to_dict``): workers build
histograms (``assay.load.histogram``), the engine merges them and turns them into a
``LoadResult`` once, at the end of the run. Latencies here are milliseconds.

``latency`` is measured from the **intended** send time (the arrival time of the open model's
schedule, or the moment a virtual user meant to send), ``service_time`` from the moment the
request's bytes were written; the gap between them is queueing on the client side (a late
start, a wait for a free connection), which a server stall causes and which coordinated
omission would hide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The percentiles every latency summary carries, as (report key, quantile 0..100).
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99.9", 99.9),
)


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Latency percentiles in milliseconds (``None`` when nothing was measured)."""

    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None
    min: float | None = None
    mean: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        """``{"p50":.., "p90":.., "p95":.., "p99":.., "p99.9":.., "max":..}`` (report keys)."""
        return {"p50": self.p50, "p90": self.p90, "p95": self.p95, "p99": self.p99,
                "p99.9": self.p999, "max": self.max}

    def get(self, key: str) -> float | None:
        """The value for a report key (``"p99.9"``, ``"max"``, ``"mean"``...)."""
        if key == "p99.9":
            return self.p999
        return getattr(self, key)


@dataclass(frozen=True, slots=True)
class StepStats:
    """The measurements of one step (suite scenarios) or endpoint (a URL or a spec operation).

    ``errors_by_kind`` counts failed requests by kind: transport failures by their
    ``TransportFailure.kind`` (``timeout``, ``connection_reset``...), responses by
    ``"http 503"``; ``checks_failed`` counts failed ``expect`` or conformance checks.
    """

    name: str
    requests: int
    errors: int
    latency: Percentiles
    service_time: Percentiles
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    checks_passed: int = 0
    checks_failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The ``by_step`` entry of the JSON report."""
        return {"requests": self.requests, "errors": self.errors,
                "error_rate": _rate(self.errors, self.requests),
                "latency_ms": self.latency.to_dict(),
                "service_time_ms": self.service_time.to_dict(),
                "errors_by_kind": dict(self.errors_by_kind),
                "checks_passed": self.checks_passed, "checks_failed": self.checks_failed}


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """One second of the run: ``t`` is seconds from the start (the end of that second).

    ``active`` is the number of virtual users (closed model) or of requests in flight
    (open model) at the end of the second; ``backlog`` the requests that were due but
    waited for a connection; ``late`` the requests of that second that started late.
    """

    t: float
    requests: int
    errors: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None = None
    active: int = 0
    backlog: int = 0
    late: int = 0

    @property
    def rps(self) -> float:
        """Requests completed in this second."""
        return float(self.requests)

    def to_dict(self) -> dict[str, Any]:
        """The ``timeline`` entry of the JSON report."""
        return {"t": self.t, "rps": self.rps, "requests": self.requests,
                "errors": self.errors, "p50": self.p50, "p90": self.p90, "p99": self.p99,
                "max": self.max, "active": self.active, "backlog": self.backlog,
                "late": self.late}


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """A threshold as written (``"p95<300ms"``), whether it held and the measured value
    (in the threshold's own unit: ms for latencies, a fraction for rates, requests/s for
    ``rps``); ``value`` is ``None`` when nothing was measured for it (which fails it)."""

    expr: str
    ok: bool
    value: float | None

    def to_dict(self) -> dict[str, Any]:
        """The ``thresholds`` entry of the JSON report."""
        return {"expr": self.expr, "ok": self.ok, "value": self.value}


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Everything a load run measured.

    ``model`` is ``"closed"`` (virtual users) or ``"open"`` (arrival rate); ``duration_s``
    the time from the first planned request to the last response. ``late_starts`` counts
    requests that were sent later than planned (more than 1 ms, or waiting for a
    connection); ``max_backlog`` the most requests waiting at once. ``distribution`` is
    the latency distribution as ``(upper bound ms, count)`` pairs, ascending, for plots.
    ``aborted`` says why the run stopped early (a threshold with ``--abort-on-fail``,
    Ctrl-C), ``None`` when it ran to the end.
    """

    model: str
    requests: int
    duration_s: float
    errors: int
    latency: Percentiles
    service_time: Percentiles
    late_starts: int = 0
    max_backlog: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    checks_passed: int = 0
    checks_failed: int = 0
    thresholds: tuple[ThresholdResult, ...] = ()
    by_step: dict[str, StepStats] = field(default_factory=dict)
    timeline: tuple[TimelinePoint, ...] = ()
    distribution: tuple[tuple[float, int], ...] = ()
    workers: int = 1
    settings: dict[str, Any] = field(default_factory=dict)
    aborted: str | None = None

    @property
    def rps(self) -> float:
        """Completed requests per second over the whole run."""
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def error_rate(self) -> float:
        """Failed requests as a fraction of all requests (0..1)."""
        return _rate(self.errors, self.requests)

    @property
    def checks_rate(self) -> float | None:
        """Passed checks as a fraction of all checks run, ``None`` when none ran."""
        total = self.checks_passed + self.checks_failed
        return self.checks_passed / total if total else None

    @property
    def thresholds_ok(self) -> bool:
        """True when every threshold held."""
        return all(t.ok for t in self.thresholds)

    def to_dict(self) -> dict[str, Any]:
        """The ``load`` section of the JSON report (its keys are in the report schema)."""
        return {
            "model": self.model, "requests": self.requests,
            "duration_s": round(self.duration_s, 3), "rps": round(self.rps, 3),
            "errors": self.errors, "error_rate": self.error_rate,
            "errors_by_kind": dict(self.errors_by_kind),
            "latency_ms": self.latency.to_dict(),
            "service_time_ms": self.service_time.to_dict(),
            "late_starts": self.late_starts, "max_backlog": self.max_backlog,
            "checks": {"passed": self.checks_passed, "failed": self.checks_failed,
                       "rate": self.checks_rate},
            "thresholds": [t.to_dict() for t in self.thresholds],
            "by_step": {name: stats.to_dict() for name, stats in self.by_step.items()},
            "timeline": [point.to_dict() for point in self.timeline],
            "distribution": [{"le_ms": upper, "count": count}
                             for upper, count in self.distribution],
            "workers": self.workers, "settings": dict(self.settings),
            "aborted": self.aborted,
        }


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True, slots=True)
class Progress:
    """What the live display shows once a second (all workers merged).

    ``rps`` and the percentiles (ms) are those of the last complete second; the counts are
    cumulative since the start. ``active`` is virtual users (closed model) or requests in
    flight (open model); ``backlog`` requests due but waiting for a connection.
    """

    elapsed_s: float
    duration_s: float | None
    requests: int
    errors: int
    rps: float
    p50: float | None
    p95: float | None
    p99: float | None
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    active: int = 0
    backlog: int = 0
    late_starts: int = 0
    model: str = "closed"

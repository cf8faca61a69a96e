"""The frozen configuration of a load run, built by the CLI and shipped to every worker.

Everything here is plain data (it is pickled to worker processes and Dask workers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.auth import Auth
from .schedule import Stage

# A 250 ms stall at 1000 requests/s needs 250 connections in flight; four times that keeps
# the default clear of queueing for stalls up to a second at that rate.
DEFAULT_MAX_CONNECTIONS = 1000
# A request sent more than this after its planned time is a late start.
LATE_AFTER_MS = 1.0


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """How much load, for how long, and how to talk to the target.

    The model is ``"open"`` when ``rate`` or rate ``stages`` are given (arrivals per second,
    latency from the planned send time), else ``"closed"`` (``vus`` virtual users, each
    sending its next request when the previous one finished, or VU ``stages``).
    ``duration_s`` or ``iterations`` bounds the run (stages bound it by their total).
    ``max_connections`` is per worker process; ``pipeline`` requests may be outstanding on
    one connection. ``thresholds`` are kept as written (``"p95<300ms"``); ``abort_grace_s``
    is set by ``--abort-on-fail`` (``None``: never stop early).
    """

    model: str = "closed"
    vus: int = 1
    rate: float | None = None
    stages: tuple[Stage, ...] = ()
    duration_s: float | None = None
    iterations: int | None = None
    workers: int = 1
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    pipeline: int = 1
    timeout_s: float = 10.0
    connect_timeout_s: float = 10.0
    verify_tls: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    auth: tuple[Auth, ...] = ()
    thresholds: tuple[str, ...] = ()
    abort_grace_s: float | None = None
    seed: int | None = None
    cluster: str | None = None
    checks: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def planned_duration_s(self) -> float | None:
        """How long the run is planned to last, ``None`` for an iteration count alone."""
        if self.stages:
            return sum(stage.duration_s for stage in self.stages)
        return self.duration_s

    def describe(self) -> dict[str, object]:
        """The settings as shown in reports (no credentials: headers and auth are left out)."""
        shown: dict[str, object] = {"model": self.model, "workers": self.workers,
                                    "max_connections": self.max_connections,
                                    "timeout_s": self.timeout_s}
        if self.model == "closed" and not self.stages:
            shown["vus"] = self.vus
        if self.rate is not None:
            shown["rate"] = self.rate
        if self.stages:
            shown["stages"] = [f"{s.duration_s:g}s:{s.target:g}" for s in self.stages]
        if self.duration_s is not None:
            shown["duration_s"] = self.duration_s
        if self.iterations is not None:
            shown["iterations"] = self.iterations
        if self.pipeline > 1:
            shown["pipeline"] = self.pipeline
        if self.cluster:
            shown["cluster"] = self.cluster
        return shown

"""The records the monitor's parts share: a run's result, an alert event, an outbox item.

Times are UNIX epoch seconds (floats, UTC) everywhere: the scheduler, the store and the
alert logic compare them directly; only the edges (webhook bodies, pages) format them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("up", "down")
EVENTS = ("firing", "resolved", "reminder", "flapping", "anomaly", "slo_burn")


@dataclass(slots=True)
class RunResult:
    """One run of one monitor at one location.

    ``at`` is when the run started, ``planned_at`` when the schedule wanted it (their
    difference is the lateness). ``ok`` after retries; ``attempts`` counts them.
    ``status`` is the last HTTP status (None for TCP/TLS/heartbeat or when no answer came),
    ``latency_ms`` the whole run's duration (a scenario: all its steps), ``reason`` why it
    failed (None when ok). ``id`` is set by the store.
    """

    monitor: str
    location: str
    at: float
    planned_at: float
    ok: bool
    status: int | None = None
    latency_ms: float | None = None
    reason: str | None = None
    attempts: int = 1
    id: int | None = None

    @property
    def outcome(self) -> str:
        """``up`` or ``down``."""
        return "up" if self.ok else "down"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """Something to tell a channel about a monitor (``event`` in ``EVENTS``).

    ``dedup_key`` is stable for one occurrence: every agent that evaluates the same shared
    results derives the same key, so the outbox sends it once. ``details`` carries extras
    (an SLO's burn rates, an anomaly's z-score, a flapping count).
    """

    event: str
    monitor: str
    channel: str
    location: str
    at: float
    message: str
    dedup_key: str
    last_result: RunResult | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class OutboxItem:
    """A notification waiting to be delivered (or delivered, or given up on)."""

    id: int
    dedup_key: str
    channel: str
    payload: dict[str, Any]
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    delivered_at: float | None = None
    last_error: str | None = None
    held: bool = False  # a maintenance window or silence holds it; released later
    gave_up_at: float | None = None  # delivery was abandoned then (``last_error`` says why)


@dataclass(slots=True)
class Incident:
    """A period during which a monitor was firing (``resolved_at`` None: still open)."""

    id: int
    monitor: str
    started_at: float
    resolved_at: float | None = None
    reason: str | None = None
    location: str | None = None


@dataclass(slots=True)
class Silence:
    """Notifications for matching monitors are held from ``starts_at`` to ``ends_at``.

    ``monitor`` is a name or a glob (``payments-*``); ``*`` silences everything.
    """

    id: int
    monitor: str
    starts_at: float
    ends_at: float
    reason: str = ""
    created_by: str = ""


@dataclass(slots=True)
class Rollup:
    """Hourly aggregate of one monitor at one location (raw results past retention)."""

    monitor: str
    location: str
    hour: float  # epoch of the hour's start
    count: int
    failures: int
    latency_p50: float | None = None
    latency_p95: float | None = None
    latency_p99: float | None = None
    latency_max: float | None = None

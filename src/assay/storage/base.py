"""The storage interface of ``assay monitor`` (HOUSE_STYLE: storage behind a small interface).

Every method is synchronous and short; the monitor's runner calls them from a worker
thread so that a slow disk never stalls the event loop. Times are epoch seconds.
Implementations: ``memory.MemoryStore`` and ``sql.SqlStore``; both pass
``tests/storage_contract.py``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from ..monitor.records import AlertEvent, Incident, OutboxItem, Rollup, RunResult, Silence


class Store(Protocol):
    """Where the monitor keeps what it must not lose."""

    # -- results -------------------------------------------------------------------
    def add_result(self, result: RunResult) -> int:
        """Store one run; returns its id (also set on ``result.id``)."""
        ...

    def add_results(self, results: list[RunResult]) -> None:
        """Store several runs in one transaction (ids set on each): the agent's writer
        batches what arrived together, one commit instead of one per run."""
        ...

    def results(self, *, monitor: str | None = None, location: str | None = None,
                since: float | None = None, until: float | None = None,
                limit: int = 1000, newest_first: bool = True) -> list[RunResult]:
        """Raw results matching the filters (``since`` inclusive, ``until`` exclusive)."""
        ...

    def latest_by_location(self, monitor: str) -> dict[str, RunResult]:
        """The newest result of ``monitor`` at each location (for quorum and the dashboard)."""
        ...

    def counts(self, monitor: str, since: float, until: float,
               location: str | None = None) -> tuple[int, int]:
        """``(runs, failures)`` of ``monitor`` in ``[since, until)``, raw results and
        rollups together (uptime over 30 days reaches past raw retention)."""
        ...

    def latency_buckets(self, monitor: str, since: float, until: float, bucket_s: float,
                        location: str | None = None) -> list[dict[str, Any]]:
        """Per bucket: ``{"t": start, "count", "failures", "p50", "p95", "p99"}`` (ms) for
        the dashboard's charts, from raw results and, past retention, rollups."""
        ...

    def slow_count(self, monitor: str, since: float, until: float, threshold_ms: float,
                   location: str | None = None) -> tuple[int, int]:
        """``(runs, runs slower than threshold_ms or failed)`` in ``[since, until)`` (the
        latency SLO's bad events)."""
        ...

    # -- retention -----------------------------------------------------------------
    def apply_retention(self, now: float, raw_keep_s: float, rollup_keep_s: float) -> dict[str, int]:
        """Roll raw results older than ``raw_keep_s`` into hourly rollups (complete hours
        only), delete them, delete rollups older than ``rollup_keep_s``; returns counts
        ``{"rolled_up": n, "deleted_results": n, "deleted_rollups": n}``."""
        ...

    def rollups(self, *, monitor: str | None = None, since: float | None = None,
                until: float | None = None) -> list[Rollup]:
        """Hourly rollups, oldest first."""
        ...

    # -- alert state ---------------------------------------------------------------
    def load_states(self) -> dict[str, dict[str, Any]]:
        """Every saved state blob by key (``"<monitor>|<channel>"``, ``"anomaly|<monitor>"``...)."""
        ...

    def save_state(self, key: str, state: dict[str, Any]) -> None:
        """Save (replace) one state blob (JSON-able)."""
        ...

    def save_states(self, states: dict[str, dict[str, Any]]) -> None:
        """Save several state blobs in one transaction."""
        ...

    # -- outbox --------------------------------------------------------------------
    def enqueue(self, event: AlertEvent, payload: dict[str, Any], now: float, *,
                held: bool = False) -> bool:
        """Put a notification in the outbox; False when its ``dedup_key`` is already there
        (another agent, or this one before a restart, queued it: it goes out once)."""
        ...

    def claim_due(self, now: float, owner: str, *, lease_s: float = 60.0,
                  limit: int = 20) -> list[OutboxItem]:
        """Undelivered, unheld items whose next attempt is due and not claimed by another
        owner within its lease; claims them for ``owner`` (atomic across agents)."""
        ...

    def mark_delivered(self, item_id: int, now: float) -> None:
        """The item went out."""
        ...

    def mark_failed(self, item_id: int, now: float, error: str, next_attempt_at: float | None
                    ) -> None:
        """A delivery failed; retry at ``next_attempt_at`` (None: give up, keep the error)."""
        ...

    def postpone(self, item_id: int, until: float) -> None:
        """Not sent yet, and not an attempt: due again at ``until``, claim released (an
        earlier notification to the same channel about the same monitor goes first)."""
        ...

    def release_held(self, now: float, channel: str | None = None, *,
                     keys: Collection[str] | None = None) -> int:
        """Unhold held items (a maintenance window or silence ended): all of them, or those
        of ``channel``, or those whose dedup key is in ``keys``; returns how many."""
        ...

    def outbox(self, *, delivered: bool | None = None, limit: int = 100) -> list[OutboxItem]:
        """Items, newest first (``delivered`` filters; None: all)."""
        ...

    # -- incidents -----------------------------------------------------------------
    def open_incident(self, monitor: str, at: float, reason: str | None,
                      location: str | None = None) -> int:
        """Open an incident unless one is open for ``monitor``; returns the open one's id."""
        ...

    def resolve_incident(self, monitor: str, at: float) -> int | None:
        """Close the open incident of ``monitor``, if any; returns its id."""
        ...

    def incidents(self, *, monitor: str | None = None, since: float | None = None,
                  limit: int = 100) -> list[Incident]:
        """Incidents, newest first (open ones included)."""
        ...

    # -- silences, pauses, heartbeats ----------------------------------------------
    def add_silence(self, monitor: str, starts_at: float, ends_at: float, reason: str = "",
                    created_by: str = "") -> Silence:
        """Create a silence."""
        ...

    def delete_silence(self, silence_id: int) -> bool:
        """Delete a silence; False when there is none with that id."""
        ...

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        """Silences (only those active at ``active_at`` when given)."""
        ...

    def set_paused(self, monitor: str, paused: bool) -> None:
        """Pause or resume a monitor (kept across restarts and config reloads)."""
        ...

    def paused(self) -> set[str]:
        """The paused monitors."""
        ...

    def record_heartbeat(self, monitor: str, at: float) -> None:
        """A heartbeat ping arrived."""
        ...

    def last_heartbeat(self, monitor: str) -> float | None:
        """When the last ping arrived, if ever."""
        ...

    # -- housekeeping --------------------------------------------------------------
    def size_bytes(self) -> int | None:
        """The database's size on disk (None when unknown, e.g. in memory)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

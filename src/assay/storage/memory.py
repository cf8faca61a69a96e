"""``MemoryStore``: the ``Store`` in plain Python (tests, ``--once``, a dashboard demo).

Same semantics as ``SqlStore`` (``tests/storage_contract.py`` runs against both): records go
in and come out as copies, payloads and state blobs go through JSON, a failure reason is
kept only for failed runs. A lock makes every method atomic, as a transaction would: the
monitor's runner calls the store from worker threads.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from ..monitor.records import AlertEvent, Incident, OutboxItem, Rollup, RunResult, Silence
from .aggregate import (
    BucketChart,
    estimated_slow,
    hour_start,
    merge_rollups,
    roll_up,
    stored_reason,
)


def _json_copy(value: Any) -> Any:
    """``value`` as it comes back from a JSON column (and a copy the caller cannot alter)."""
    return json.loads(json.dumps(value))


@dataclass(slots=True)
class _Queued:
    """An outbox item with what the record does not show: its claim."""

    item: OutboxItem
    claimed_by: str | None = None
    claimed_until: float | None = None

    @property
    def settled(self) -> bool:
        """Delivered or given up: nothing more will be tried."""
        return self.item.delivered_at is not None or self.item.gave_up_at is not None

    def due(self, now: float, owner: str) -> bool:
        """Whether ``owner`` may claim it at ``now``."""
        item = self.item
        if self.settled or item.held:
            return False
        if item.next_attempt_at > now:
            return False
        free = self.claimed_until is None or self.claimed_until <= now
        return free or self.claimed_by == owner


class MemoryStore:
    """Everything in process memory; gone when the process ends.

    >>> store = MemoryStore()
    >>> store.add_result(RunResult("health", "local", 10.0, 10.0, True, 200, 12.5))
    1
    >>> store.counts("health", 0.0, 100.0)
    (1, 0)
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._results: dict[int, RunResult] = {}
        self._rollups: dict[tuple[str, str, float], Rollup] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._outbox: dict[int, _Queued] = {}
        self._dedup: dict[str, int] = {}
        self._incidents: dict[int, Incident] = {}
        self._silences: dict[int, Silence] = {}
        self._paused: set[str] = set()
        self._heartbeats: dict[str, float] = {}

    # -- results -------------------------------------------------------------------
    def add_result(self, result: RunResult) -> int:
        """Store one run; returns its id (also set on ``result.id``)."""
        with self._lock:
            result.id = next(self._ids)
            self._results[result.id] = replace(result, reason=stored_reason(result))
            return result.id

    def add_results(self, results: list[RunResult]) -> None:
        """Store several runs (ids set on each)."""
        for result in results:
            self.add_result(result)

    def _select(self, monitor: str | None, location: str | None, since: float | None,
                until: float | None) -> list[RunResult]:
        return [r for r in self._results.values()
                if (monitor is None or r.monitor == monitor)
                and (location is None or r.location == location)
                and (since is None or r.at >= since) and (until is None or r.at < until)]

    def results(self, *, monitor: str | None = None, location: str | None = None,
                since: float | None = None, until: float | None = None,
                limit: int = 1000, newest_first: bool = True) -> list[RunResult]:
        """Raw results matching the filters (``since`` inclusive, ``until`` exclusive)."""
        with self._lock:
            rows = self._select(monitor, location, since, until)
            rows.sort(key=lambda r: (r.at, r.id or 0), reverse=newest_first)
            return [replace(r) for r in rows[:limit]]

    def latest_by_location(self, monitor: str) -> dict[str, RunResult]:
        """The newest result of ``monitor`` at each location."""
        with self._lock:
            latest: dict[str, RunResult] = {}
            for r in self._select(monitor, None, None, None):
                best = latest.get(r.location)
                if best is None or (r.at, r.id or 0) > (best.at, best.id or 0):
                    latest[r.location] = r
            return {location: replace(r) for location, r in latest.items()}

    def _rollups_in(self, monitor: str, since: float, until: float,
                    location: str | None) -> list[Rollup]:
        return [r for r in self._rollups.values()
                if r.monitor == monitor and since <= r.hour < until
                and (location is None or r.location == location)]

    def counts(self, monitor: str, since: float, until: float,
               location: str | None = None) -> tuple[int, int]:
        """``(runs, failures)`` in ``[since, until)``, raw results and rollups together
        (a rollup counts when its hour starts in the range)."""
        with self._lock:
            raw = self._select(monitor, location, since, until)
            rolled = self._rollups_in(monitor, since, until, location)
            runs = len(raw) + sum(r.count for r in rolled)
            failures = sum(not r.ok for r in raw) + sum(r.failures for r in rolled)
            return runs, failures

    def latency_buckets(self, monitor: str, since: float, until: float, bucket_s: float,
                        location: str | None = None) -> list[dict[str, Any]]:
        """Per bucket ``{"t", "count", "failures", "p50", "p95", "p99"}`` (see
        ``aggregate.BucketChart``)."""
        with self._lock:
            chart = BucketChart(since, until, bucket_s)
            for r in self._select(monitor, location, since, until):
                chart.add_run(r.at, r.ok, r.latency_ms)
            for rollup in self._rollups_in(monitor, since, until, location):
                chart.add_rollup(rollup)
            return chart.rows()

    def slow_count(self, monitor: str, since: float, until: float, threshold_ms: float,
                   location: str | None = None) -> tuple[int, int]:
        """``(runs, runs slower than threshold_ms or failed)`` in ``[since, until)``."""
        with self._lock:
            raw = self._select(monitor, location, since, until)
            rolled = self._rollups_in(monitor, since, until, location)
            slow = sum(1 for r in raw if not r.ok or (r.latency_ms or 0.0) > threshold_ms)
            slow += sum(estimated_slow(r, threshold_ms) for r in rolled)
            return len(raw) + sum(r.count for r in rolled), slow

    # -- retention -----------------------------------------------------------------
    def apply_retention(self, now: float, raw_keep_s: float, rollup_keep_s: float
                        ) -> dict[str, int]:
        """Roll complete hours older than ``raw_keep_s`` into rollups and delete their raw
        results; delete rollups older than ``rollup_keep_s`` and settled outbox items
        (delivered or given up) older than ``raw_keep_s``."""
        boundary = hour_start(now - raw_keep_s)
        with self._lock:
            groups: dict[tuple[str, str, float], list[RunResult]] = defaultdict(list)
            for r in self._select(None, None, None, boundary):
                groups[(r.monitor, r.location, hour_start(r.at))].append(r)
                del self._results[r.id or 0]
            for key, runs in groups.items():
                new = roll_up(*key, ((r.ok, r.latency_ms) for r in runs))
                old = self._rollups.get(key)
                self._rollups[key] = merge_rollups(old, new) if old else new
            expired = [key for key, r in self._rollups.items() if r.hour < now - rollup_keep_s]
            for key in expired:
                del self._rollups[key]
            return {"rolled_up": len(groups),
                    "deleted_results": sum(len(runs) for runs in groups.values()),
                    "deleted_rollups": len(expired),
                    "deleted_outbox": self._prune_outbox(now - raw_keep_s)}

    def _prune_outbox(self, before: float) -> int:
        settled = [i for i, q in self._outbox.items()
                   if q.settled and q.item.created_at < before]
        for item_id in settled:
            del self._dedup[self._outbox.pop(item_id).item.dedup_key]
        return len(settled)

    def rollups(self, *, monitor: str | None = None, since: float | None = None,
                until: float | None = None) -> list[Rollup]:
        """Hourly rollups, oldest first (by hour, then monitor and location)."""
        with self._lock:
            rows = [replace(r) for r in self._rollups.values()
                    if (monitor is None or r.monitor == monitor)
                    and (since is None or r.hour >= since)
                    and (until is None or r.hour < until)]
            return sorted(rows, key=lambda r: (r.hour, r.monitor, r.location))

    # -- alert state ---------------------------------------------------------------
    def load_states(self) -> dict[str, dict[str, Any]]:
        """Every saved state blob by key."""
        with self._lock:
            return _json_copy(self._states)

    def save_state(self, key: str, state: dict[str, Any]) -> None:
        """Save (replace) one state blob (JSON-able)."""
        with self._lock:
            self._states[key] = _json_copy(state)

    def save_states(self, states: dict[str, dict[str, Any]]) -> None:
        """Save several state blobs."""
        with self._lock:
            for key, state in states.items():
                self._states[key] = _json_copy(state)

    # -- outbox --------------------------------------------------------------------
    def enqueue(self, event: AlertEvent, payload: dict[str, Any], now: float, *,
                held: bool = False) -> bool:
        """Put a notification in the outbox; False when its ``dedup_key`` is there."""
        with self._lock:
            if event.dedup_key in self._dedup:
                return False
            item_id = next(self._ids)
            item = OutboxItem(item_id, event.dedup_key, event.channel, _json_copy(payload),
                              created_at=now, next_attempt_at=now, held=held)
            self._outbox[item_id] = _Queued(item)
            self._dedup[event.dedup_key] = item_id
            return True

    def claim_due(self, now: float, owner: str, *, lease_s: float = 60.0,
                  limit: int = 20) -> list[OutboxItem]:
        """Claim due, unheld, undelivered items not leased by another owner (oldest due
        first) for ``owner`` until ``now + lease_s``."""
        with self._lock:
            due = sorted((q for q in self._outbox.values() if q.due(now, owner)),
                         key=lambda q: (q.item.next_attempt_at, q.item.id))[:limit]
            for queued in due:
                queued.claimed_by, queued.claimed_until = owner, now + lease_s
            return [replace(q.item, payload=_json_copy(q.item.payload)) for q in due]

    def mark_delivered(self, item_id: int, now: float) -> None:
        """The item went out (counts as an attempt; its claim ends)."""
        with self._lock:
            queued = self._outbox.get(item_id)
            if queued is not None:
                queued.item.delivered_at = now
                queued.item.attempts += 1
                queued.claimed_by = queued.claimed_until = None

    def mark_failed(self, item_id: int, now: float, error: str, next_attempt_at: float | None
                    ) -> None:
        """A delivery failed; retry at ``next_attempt_at`` (None: give up, keep the error)."""
        with self._lock:
            queued = self._outbox.get(item_id)
            if queued is None:
                return
            queued.item.attempts += 1
            queued.item.last_error = error[:1000]
            queued.claimed_by = queued.claimed_until = None
            if next_attempt_at is None:
                queued.item.gave_up_at = now
            else:
                queued.item.next_attempt_at = next_attempt_at

    def postpone(self, item_id: int, until: float) -> None:
        """Due again at ``until``, claim released, no attempt counted."""
        with self._lock:
            queued = self._outbox.get(item_id)
            if queued is not None:
                queued.item.next_attempt_at = until
                queued.claimed_by = queued.claimed_until = None

    def release_held(self, now: float, channel: str | None = None, *,
                     keys: Collection[str] | None = None) -> int:
        """Unhold held, undelivered items (of ``channel``, with a dedup key in ``keys``);
        they are due at ``now``."""
        wanted = None if keys is None else set(keys)
        with self._lock:
            released = 0
            for queued in self._outbox.values():
                item = queued.item
                if (item.held and item.delivered_at is None and channel in (None, item.channel)
                        and (wanted is None or item.dedup_key in wanted)):
                    item.held, item.next_attempt_at = False, now
                    released += 1
            return released

    def outbox(self, *, delivered: bool | None = None, limit: int = 100) -> list[OutboxItem]:
        """Items, newest first (``delivered`` filters; None: all)."""
        with self._lock:
            items = [q.item for q in self._outbox.values()
                     if delivered is None or (q.item.delivered_at is not None) == delivered]
            items.sort(key=lambda i: i.id, reverse=True)
            return [replace(i, payload=_json_copy(i.payload)) for i in items[:limit]]

    # -- incidents -----------------------------------------------------------------
    def open_incident(self, monitor: str, at: float, reason: str | None,
                      location: str | None = None) -> int:
        """Open an incident unless one is open for ``monitor``; returns the open one's id."""
        with self._lock:
            for incident in self._incidents.values():
                if incident.monitor == monitor and incident.resolved_at is None:
                    return incident.id
            incident = Incident(next(self._ids), monitor, at, None, reason, location)
            self._incidents[incident.id] = incident
            return incident.id

    def resolve_incident(self, monitor: str, at: float) -> int | None:
        """Close the open incident of ``monitor``, if any; returns its id."""
        with self._lock:
            for incident in self._incidents.values():
                if incident.monitor == monitor and incident.resolved_at is None:
                    incident.resolved_at = at
                    return incident.id
            return None

    def incidents(self, *, monitor: str | None = None, since: float | None = None,
                  limit: int = 100) -> list[Incident]:
        """Incidents, newest first; ``since`` keeps those still open or resolved at or
        after it."""
        with self._lock:
            rows = [i for i in self._incidents.values()
                    if (monitor is None or i.monitor == monitor)
                    and (since is None or i.resolved_at is None or i.resolved_at >= since
                         or i.started_at >= since)]
            rows.sort(key=lambda i: (i.started_at, i.id), reverse=True)
            return [replace(i) for i in rows[:limit]]

    # -- silences, pauses, heartbeats ----------------------------------------------
    def add_silence(self, monitor: str, starts_at: float, ends_at: float, reason: str = "",
                    created_by: str = "") -> Silence:
        """Create a silence."""
        with self._lock:
            silence = Silence(next(self._ids), monitor, starts_at, ends_at, reason, created_by)
            self._silences[silence.id] = silence
            return replace(silence)

    def delete_silence(self, silence_id: int) -> bool:
        """Delete a silence; False when there is none with that id."""
        with self._lock:
            return self._silences.pop(silence_id, None) is not None

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        """Silences by id (only those with ``starts_at <= active_at < ends_at`` when given)."""
        with self._lock:
            return [replace(s) for _, s in sorted(self._silences.items())
                    if active_at is None or s.starts_at <= active_at < s.ends_at]

    def set_paused(self, monitor: str, paused: bool) -> None:
        """Pause or resume a monitor."""
        with self._lock:
            if paused:
                self._paused.add(monitor)
            else:
                self._paused.discard(monitor)

    def paused(self) -> set[str]:
        """The paused monitors."""
        with self._lock:
            return set(self._paused)

    def record_heartbeat(self, monitor: str, at: float) -> None:
        """A heartbeat ping arrived (an older ping arriving late does not go back in time)."""
        with self._lock:
            self._heartbeats[monitor] = max(at, self._heartbeats.get(monitor, at))

    def last_heartbeat(self, monitor: str) -> float | None:
        """When the last ping arrived, if ever."""
        with self._lock:
            return self._heartbeats.get(monitor)

    # -- housekeeping --------------------------------------------------------------
    def size_bytes(self) -> int | None:
        """None: nothing is on disk."""
        return None

    def close(self) -> None:
        """Nothing to release."""

"""``SqlStore``: the ``Store`` in SQLite (a file, the default) or PostgreSQL (shared by
several agents), through SQLAlchemy Core.

Opening creates the SQLite file, connects and migrates (``migrations.py``); any failure
to do so is a ``ConfigError`` naming the redacted URL (exit code 2). The tables are in
``schema.py``, engine settings in ``sqlconnect.py``, the outbox in ``sqloutbox.py`` and
retention in ``sqlretention.py``; the numbers are computed by ``aggregate.py``, as in
``MemoryStore``.

``counts``, ``latency_buckets`` and ``slow_count`` add raw results and rollups: retention
deletes the raw rows it rolls up in the same transaction, so each run is in exactly one of
them, and a rollup counts when its hour starts within the range asked for (a range that
begins mid-hour, more than ``raw_keep_s`` ago, gains or loses at most that hour's runs).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine, Row, Select, case, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..monitor.records import AlertEvent, Incident, OutboxItem, Rollup, RunResult, Silence
from . import schema, sqloutbox, sqlrecords, sqlretention
from .aggregate import BucketChart, estimated_slow, stored_reason
from .migrations import migrate
from .sqlconnect import (
    make_engine,
    parse_url,
    read_transaction,
    unreachable,
    upsert_insert,
    write_transaction,
)
from .sqlnames import Names
from .urls import redact_url

R, U = schema.results.c, schema.rollups.c


class _Statements:
    """The statements of the hot path (a result per run), built once: building a statement
    cost more than executing it (profiled: 0.3 ms of 0.6 ms per result)."""

    def __init__(self, engine: Engine):
        self.insert_result = schema.results.insert()
        # One INSERT ... RETURNING for a whole batch, ids in the order of the rows.
        self.insert_results = schema.results.insert().returning(
            schema.results.c.id, sort_by_parameter_order=True)
        # Point ``latest`` at the new result unless a newer one is there (a late write).
        upsert = upsert_insert(engine, schema.latest)
        self.note_latest = upsert.on_conflict_do_update(
            index_elements=["monitor_id", "location_id"],
            set_={"result_id": upsert.excluded.result_id, "at": upsert.excluded.at},
            where=upsert.excluded.at >= schema.latest.c.at)


class SqlStore:
    """The store in the database at ``url`` (``sqlite:///PATH`` or
    ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB``); ``url`` is kept redacted.

    >>> store = SqlStore("sqlite:///monitor.db")  # doctest: +SKIP
    """

    def __init__(self, url: str):
        self.url = redact_url(url)
        parsed = parse_url(url, source=self.url)
        self._engine = make_engine(parsed, source=self.url)
        try:
            migrate(self._engine, source=self.url)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise unreachable(exc, source=self.url, backend=parsed.get_backend_name(),
                              password=parsed.password) from exc
        except BaseException:
            self._engine.dispose()
            raise
        self.dialect = self._engine.dialect.name
        self._sqlite_path = parsed.database if self.dialect == "sqlite" else None
        self._statements = _Statements(self._engine)
        self._monitors = Names(self._engine, schema.monitors)
        self._locations = Names(self._engine, schema.locations)

    # -- results -------------------------------------------------------------------
    def add_result(self, result: RunResult) -> int:
        """Store one run; returns its id (also set on ``result.id``)."""
        self.add_results([result])
        assert result.id is not None
        return result.id

    def add_results(self, results: list[RunResult]) -> None:
        """Store several runs in one transaction (ids set on each)."""
        if not results:
            return
        rows = [{"monitor_id": self._monitors.ensure(r.monitor),
                 "location_id": self._locations.ensure(r.location),
                 "at": r.at, "planned_at": r.planned_at, "ok": r.ok, "status": r.status,
                 "latency_ms": r.latency_ms, "attempts": r.attempts,
                 "reason": stored_reason(r)} for r in results]
        with write_transaction(self._engine) as connection:
            ids = connection.execute(self._statements.insert_results, rows).scalars().all()
            latest = []
            for result, values, ident in zip(results, rows, ids, strict=True):
                result.id = int(ident)
                latest.append({"monitor_id": values["monitor_id"],
                               "location_id": values["location_id"], "result_id": result.id,
                               "at": result.at})
            connection.execute(self._statements.note_latest, latest)

    def _run(self, row: Row) -> RunResult:
        return RunResult(self._monitors.name_of(row.monitor_id),
                         self._locations.name_of(row.location_id), row.at, row.planned_at,
                         bool(row.ok), row.status, row.latency_ms, row.reason, row.attempts,
                         row.id)

    def _filtered(self, statement: Select, monitor: str | None, location: str | None,
                  since: float | None, until: float | None) -> Select | None:
        """``statement`` restricted to the filters; None when a name was never stored."""
        for column, names, name in ((R.monitor_id, self._monitors, monitor),
                                    (R.location_id, self._locations, location)):
            if name is not None:
                ident = names.id_of(name)
                if ident is None:
                    return None
                statement = statement.where(column == ident)
        if since is not None:
            statement = statement.where(R.at >= since)
        if until is not None:
            statement = statement.where(R.at < until)
        return statement

    def results(self, *, monitor: str | None = None, location: str | None = None,
                since: float | None = None, until: float | None = None,
                limit: int = 1000, newest_first: bool = True) -> list[RunResult]:
        """Raw results matching the filters (``since`` inclusive, ``until`` exclusive)."""
        order = (R.at.desc(), R.id.desc()) if newest_first else (R.at, R.id)
        statement = self._filtered(select(schema.results).order_by(*order).limit(limit),
                                   monitor, location, since, until)
        if statement is None:
            return []
        with read_transaction(self._engine) as connection:
            rows = connection.execute(statement).all()
        return [self._run(row) for row in rows]

    def latest_by_location(self, monitor: str) -> dict[str, RunResult]:
        """The newest result of ``monitor`` at each location (a location whose results
        are all past raw retention has none)."""
        monitor_id = self._monitors.id_of(monitor)
        if monitor_id is None:
            return {}
        statement = (select(schema.results)
                     .join(schema.latest, schema.latest.c.result_id == R.id)
                     .where(schema.latest.c.monitor_id == monitor_id))
        with read_transaction(self._engine) as connection:
            rows = connection.execute(statement).all()
        return {self._locations.name_of(row.location_id): self._run(row) for row in rows}

    def _rolled(self, monitor: str, since: float, until: float,
                location: str | None) -> list[Rollup]:
        monitor_id = self._monitors.id_of(monitor)
        if monitor_id is None:
            return []
        statement = select(schema.rollups).where(U.monitor_id == monitor_id, U.hour >= since,
                                                 U.hour < until)
        if location is not None:
            location_id = self._locations.id_of(location)
            if location_id is None:
                return []
            statement = statement.where(U.location_id == location_id)
        with read_transaction(self._engine) as connection:
            rows = connection.execute(statement.order_by(U.hour)).all()
        return sqlretention.rollup_records(rows, self._monitors, self._locations)

    def _raw_totals(self, monitor: str, since: float, until: float, location: str | None,
                    bad: Any) -> tuple[int, int]:
        """``(runs, runs matching bad)`` among raw results."""
        statement = self._filtered(
            select(func.count(), func.coalesce(func.sum(case((bad, 1), else_=0)), 0)),
            monitor, location, since, until)
        if statement is None:
            return 0, 0
        with read_transaction(self._engine) as connection:
            runs, matching = connection.execute(statement).one()
        return int(runs), int(matching)

    def counts(self, monitor: str, since: float, until: float,
               location: str | None = None) -> tuple[int, int]:
        """``(runs, failures)`` in ``[since, until)``, raw results and rollups together."""
        runs, failures = self._raw_totals(monitor, since, until, location, R.ok.is_(False))
        for rollup in self._rolled(monitor, since, until, location):
            runs, failures = runs + rollup.count, failures + rollup.failures
        return runs, failures

    def latency_buckets(self, monitor: str, since: float, until: float, bucket_s: float,
                        location: str | None = None) -> list[dict[str, Any]]:
        """Per bucket ``{"t", "count", "failures", "p50", "p95", "p99"}`` (see
        ``aggregate.BucketChart``)."""
        chart = BucketChart(since, until, bucket_s)
        statement = self._filtered(select(R.at, R.ok, R.latency_ms), monitor, location,
                                   since, until)
        if statement is not None:
            with read_transaction(self._engine) as connection:
                for at, ok, latency_ms in connection.execute(statement):
                    chart.add_run(at, bool(ok), latency_ms)
        for rollup in self._rolled(monitor, since, until, location):
            chart.add_rollup(rollup)
        return chart.rows()

    def slow_count(self, monitor: str, since: float, until: float, threshold_ms: float,
                   location: str | None = None) -> tuple[int, int]:
        """``(runs, runs slower than threshold_ms or failed)`` in ``[since, until)``."""
        runs, slow = self._raw_totals(monitor, since, until, location,
                                      R.ok.is_(False) | (R.latency_ms > threshold_ms))
        for rollup in self._rolled(monitor, since, until, location):
            runs, slow = runs + rollup.count, slow + estimated_slow(rollup, threshold_ms)
        return runs, slow

    # -- retention -----------------------------------------------------------------
    def apply_retention(self, now: float, raw_keep_s: float, rollup_keep_s: float
                        ) -> dict[str, int]:
        """Roll complete hours older than ``raw_keep_s`` into rollups and delete their raw
        results; delete rollups older than ``rollup_keep_s`` and settled outbox items
        older than ``raw_keep_s`` (see ``sqlretention``)."""
        return sqlretention.apply_retention(self._engine, self._monitors, self._locations,
                                            now, raw_keep_s, rollup_keep_s)

    def rollups(self, *, monitor: str | None = None, since: float | None = None,
                until: float | None = None) -> list[Rollup]:
        """Hourly rollups, oldest first (by hour, then monitor and location)."""
        statement = (select(schema.rollups)
                     .join(schema.monitors, schema.monitors.c.id == U.monitor_id)
                     .join(schema.locations, schema.locations.c.id == U.location_id)
                     .order_by(U.hour, schema.monitors.c.name, schema.locations.c.name))
        if monitor is not None:
            statement = statement.where(schema.monitors.c.name == monitor)
        if since is not None:
            statement = statement.where(U.hour >= since)
        if until is not None:
            statement = statement.where(U.hour < until)
        with read_transaction(self._engine) as connection:
            rows = connection.execute(statement).all()
        return sqlretention.rollup_records(rows, self._monitors, self._locations)

    # -- alert state ---------------------------------------------------------------
    def load_states(self) -> dict[str, dict[str, Any]]:
        """Every saved state blob by key."""
        return sqlrecords.load_states(self._engine)

    def save_state(self, key: str, state: dict[str, Any]) -> None:
        """Save (replace) one state blob (JSON-able)."""
        sqlrecords.save_states(self._engine, {key: state})

    def save_states(self, states: dict[str, dict[str, Any]]) -> None:
        """Save several state blobs in one transaction."""
        sqlrecords.save_states(self._engine, states)

    # -- outbox --------------------------------------------------------------------
    def enqueue(self, event: AlertEvent, payload: dict[str, Any], now: float, *,
                held: bool = False) -> bool:
        """Put a notification in the outbox; False when its ``dedup_key`` is there."""
        return sqloutbox.enqueue(self._engine, event, payload, now, held)

    def claim_due(self, now: float, owner: str, *, lease_s: float = 60.0,
                  limit: int = 20) -> list[OutboxItem]:
        """Claim due, unheld, undelivered items not leased by another owner (oldest due
        first) for ``owner`` until ``now + lease_s``; atomic across agents."""
        return sqloutbox.claim_due(self._engine, now, owner, lease_s, limit)

    def mark_delivered(self, item_id: int, now: float) -> None:
        """The item went out (counts as an attempt; its claim ends)."""
        sqloutbox.mark_delivered(self._engine, item_id, now)

    def mark_failed(self, item_id: int, now: float, error: str, next_attempt_at: float | None
                    ) -> None:
        """A delivery failed; retry at ``next_attempt_at`` (None: give up, keep the error)."""
        sqloutbox.mark_failed(self._engine, item_id, now, error, next_attempt_at)

    def postpone(self, item_id: int, until: float) -> None:
        """Due again at ``until``, claim released, no attempt counted."""
        sqloutbox.postpone(self._engine, item_id, until)

    def release_held(self, now: float, channel: str | None = None, *,
                     keys: Collection[str] | None = None) -> int:
        """Unhold held, undelivered items (of ``channel``, with a dedup key in ``keys``);
        they are due at ``now``."""
        return sqloutbox.release_held(self._engine, now, channel, keys)

    def outbox(self, *, delivered: bool | None = None, limit: int = 100) -> list[OutboxItem]:
        """Items, newest first (``delivered`` filters; None: all)."""
        return sqloutbox.items(self._engine, delivered, limit)

    # -- incidents -----------------------------------------------------------------
    def open_incident(self, monitor: str, at: float, reason: str | None,
                      location: str | None = None) -> int:
        """Open an incident unless one is open for ``monitor``; returns the open one's id
        (atomic across agents)."""
        return sqlrecords.open_incident(self._engine, monitor, at, reason, location)

    def resolve_incident(self, monitor: str, at: float) -> int | None:
        """Close the open incident of ``monitor``, if any; returns its id."""
        return sqlrecords.resolve_incident(self._engine, monitor, at)

    def incidents(self, *, monitor: str | None = None, since: float | None = None,
                  limit: int = 100) -> list[Incident]:
        """Incidents, newest first; ``since`` keeps those still open or resolved at or
        after it."""
        return sqlrecords.incidents(self._engine, monitor=monitor, since=since, limit=limit)

    # -- silences, pauses, heartbeats ----------------------------------------------
    def add_silence(self, monitor: str, starts_at: float, ends_at: float, reason: str = "",
                    created_by: str = "") -> Silence:
        """Create a silence."""
        return sqlrecords.add_silence(self._engine, monitor, starts_at, ends_at, reason,
                                      created_by)

    def delete_silence(self, silence_id: int) -> bool:
        """Delete a silence; False when there is none with that id."""
        return sqlrecords.delete_silence(self._engine, silence_id)

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        """Silences by id (only those with ``starts_at <= active_at < ends_at`` when given)."""
        return sqlrecords.silences(self._engine, active_at=active_at)

    def set_paused(self, monitor: str, paused: bool) -> None:
        """Pause or resume a monitor (kept across restarts and config reloads)."""
        sqlrecords.set_paused(self._engine, monitor, paused)

    def paused(self) -> set[str]:
        """The paused monitors."""
        return sqlrecords.paused(self._engine)

    def record_heartbeat(self, monitor: str, at: float) -> None:
        """A heartbeat ping arrived (an older ping arriving late does not go back in time)."""
        sqlrecords.record_heartbeat(self._engine, monitor, at)

    def last_heartbeat(self, monitor: str) -> float | None:
        """When the last ping arrived, if ever."""
        return sqlrecords.last_heartbeat(self._engine, monitor)

    # -- housekeeping --------------------------------------------------------------
    def size_bytes(self) -> int | None:
        """Bytes on disk: the SQLite file and its WAL, or PostgreSQL's tables with their
        indexes and TOAST."""
        if self._sqlite_path is not None:
            return sum(os.path.getsize(path) for path in
                       (self._sqlite_path, self._sqlite_path + "-wal") if os.path.exists(path))
        with read_transaction(self._engine) as connection:
            return int(connection.execute(text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
                "AND c.relname = ANY(:names)"), {"names": list(schema.OUR_TABLES)}).scalar())

    def close(self) -> None:
        """Release connections (the SQLite WAL is checkpointed when the last one closes)."""
        self._engine.dispose()

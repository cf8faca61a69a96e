"""Retention in SQL: raw results past their time become hourly rollups, in batches.

For each monitor, a batch is at most a day of its raw results (a monitor probed every
second: 86,400 rows; never a year at once). One transaction per batch deletes the rows
(``DELETE ... RETURNING`` hands back exactly the rows removed, so a result written
meanwhile is either in the batch or left for the next run, never lost), computes each
(location, hour)'s rollup with ``aggregate.roll_up``, merges it into a rollup already there
(a late result for a rolled hour) and writes it. A crash rolls the batch back whole. On
PostgreSQL an advisory lock keeps two agents from merging into the same rollup at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, text, update

from ..monitor.records import Rollup
from .aggregate import HOUR, hour_start, merge_rollups, roll_up
from .schema import outbox, results, rollups
from .sqlconnect import read_transaction, write_transaction
from .sqlnames import Names

BATCH_S = 24 * HOUR
_ADVISORY_LOCK = 0x726F6C6C  # "roll"

Key = tuple[int, float]  # (location id, hour)


def apply_retention(engine: Engine, monitors: Names, locations: Names, now: float,
                    raw_keep_s: float, rollup_keep_s: float) -> dict[str, int]:
    """Roll and delete raw results of complete hours older than ``raw_keep_s``, delete
    rollups older than ``rollup_keep_s`` and settled outbox items older than
    ``raw_keep_s``; returns the counts."""
    boundary = hour_start(now - raw_keep_s)
    counts = {"rolled_up": 0, "deleted_results": 0, "deleted_rollups": 0, "deleted_outbox": 0}
    for monitor_id, monitor in monitors.all().items():
        if _oldest(engine, monitor_id, boundary) is None:
            continue  # the usual case: no write transaction for a monitor with nothing due
        while (batch := _roll_batch(engine, monitor_id, monitor, locations, boundary)):
            counts["rolled_up"] += batch[0]
            counts["deleted_results"] += batch[1]
    with write_transaction(engine) as connection:
        counts["deleted_rollups"] = connection.execute(
            delete(rollups).where(rollups.c.hour < now - rollup_keep_s)).rowcount
        settled = or_(outbox.c.delivered_at.is_not(None), outbox.c.gave_up_at.is_not(None))
        counts["deleted_outbox"] = connection.execute(delete(outbox).where(
            settled, outbox.c.created_at < now - raw_keep_s)).rowcount
    return counts


def _oldest(bind: Engine | Connection, monitor_id: int, boundary: float) -> float | None:
    """The oldest raw result of the monitor before ``boundary`` (an index seek)."""
    statement = select(func.min(results.c.at)).where(results.c.monitor_id == monitor_id,
                                                     results.c.at < boundary)
    if isinstance(bind, Connection):
        return bind.execute(statement).scalar()
    with read_transaction(bind) as connection:
        return connection.execute(statement).scalar()


def _roll_batch(engine: Engine, monitor_id: int, monitor: str, locations: Names,
                boundary: float) -> tuple[int, int] | None:
    """Roll the oldest batch of one monitor; ``(rollups written, rows deleted)``, or None
    when nothing is left before ``boundary``."""
    r = results.c
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _ADVISORY_LOCK})
        oldest = _oldest(connection, monitor_id, boundary)  # again, inside the lock
        if oldest is None:
            return None
        start = hour_start(oldest)
        end = min(start + BATCH_S, boundary)
        rows = connection.execute(
            delete(results).where(r.monitor_id == monitor_id, r.at >= start, r.at < end)
            .returning(r.location_id, r.at, r.ok, r.latency_ms)).all()
        groups: dict[Key, list[tuple[bool, float | None]]] = defaultdict(list)
        for location_id, at, ok, latency_ms in rows:
            groups[(location_id, hour_start(at))].append((ok, latency_ms))
        fresh = {key: roll_up(monitor, locations.name_of(key[0]), key[1], runs)
                 for key, runs in groups.items()}
        _write(connection, monitor_id, fresh, start, end)
        return len(fresh), len(rows)


def _write(connection: Connection, monitor_id: int, fresh: dict[Key, Rollup], start: float,
           end: float) -> None:
    """Insert the new rollups, merging those whose hour already has one."""
    c = rollups.c
    existing = {(row.location_id, float(row.hour)): row for row in connection.execute(
        select(rollups).where(c.monitor_id == monitor_id, c.hour >= start, c.hour < end))}
    inserts = []
    for key, rollup in fresh.items():
        row = existing.get(key)
        if row is None:
            inserts.append(_values(monitor_id, key, rollup))
            continue
        old = Rollup(rollup.monitor, rollup.location, key[1], row.count, row.failures,
                     row.latency_p50, row.latency_p95, row.latency_p99, row.latency_max)
        merged = _values(monitor_id, key, merge_rollups(old, rollup))
        connection.execute(update(rollups).where(and_(
            c.monitor_id == monitor_id, c.location_id == key[0], c.hour == int(key[1])))
            .values(**merged))
    if inserts:
        connection.execute(rollups.insert(), inserts)


def _values(monitor_id: int, key: Key, rollup: Rollup) -> dict[str, object]:
    return {"monitor_id": monitor_id, "location_id": key[0], "hour": int(key[1]),
            "count": rollup.count, "failures": rollup.failures,
            "latency_p50": rollup.latency_p50, "latency_p95": rollup.latency_p95,
            "latency_p99": rollup.latency_p99, "latency_max": rollup.latency_max}


def rollup_records(rows: Iterable, monitors: Names, locations: Names) -> list[Rollup]:
    """``Rollup`` records from rows of the ``rollups`` table."""
    return [Rollup(monitors.name_of(row.monitor_id), locations.name_of(row.location_id),
                   float(row.hour), row.count, row.failures, row.latency_p50,
                   row.latency_p95, row.latency_p99, row.latency_max) for row in rows]

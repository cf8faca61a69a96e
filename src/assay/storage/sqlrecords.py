"""The small tables in SQL: alert state blobs, incidents, silences, pauses, heartbeats.

Functions of an engine, one transaction each; ``SqlStore`` delegates to them. At most one
incident is open per monitor, even with several agents: the insert targets the partial
unique index (``ON CONFLICT (monitor) WHERE resolved_at IS NULL DO NOTHING``), then reads
back whichever open incident won.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, case, delete, select, update

from ..monitor.records import Incident, Silence
from . import schema
from .sqlconnect import read_transaction, upsert_insert, write_transaction


# -- alert state -----------------------------------------------------------------------
def load_states(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every saved state blob by key."""
    with read_transaction(engine) as connection:
        rows = connection.execute(select(schema.states)).all()
    return {row.key: json.loads(row.value) for row in rows}


def save_states(engine: Engine, states: dict[str, dict[str, Any]]) -> None:
    """Save (replace) state blobs (JSON-able), in one transaction."""
    if not states:
        return
    rows = [{"key": key, "value": json.dumps(state, separators=(",", ":"))}
            for key, state in states.items()]
    with write_transaction(engine) as connection:
        statement = upsert_insert(connection, schema.states)
        connection.execute(statement.on_conflict_do_update(
            index_elements=["key"], set_={"value": statement.excluded.value}), rows)


# -- incidents -------------------------------------------------------------------------
def open_incident(engine: Engine, monitor: str, at: float, reason: str | None,
                  location: str | None = None) -> int:
    """Open an incident unless one is open for ``monitor``; returns the open one's id.
    The partial unique index settles two agents opening at once."""
    i = schema.incidents.c
    with write_transaction(engine) as connection:
        statement = upsert_insert(connection, schema.incidents).values(
            monitor=monitor, started_at=at, reason=reason, location=location)
        connection.execute(statement.on_conflict_do_nothing(
            index_elements=["monitor"], index_where=i.resolved_at.is_(None)))
        return int(connection.execute(select(i.id).where(
            i.monitor == monitor, i.resolved_at.is_(None))).scalar_one())


def resolve_incident(engine: Engine, monitor: str, at: float) -> int | None:
    """Close the open incident of ``monitor``, if any; returns its id."""
    i = schema.incidents.c
    with write_transaction(engine) as connection:
        open_id = connection.execute(select(i.id).where(
            i.monitor == monitor, i.resolved_at.is_(None))).scalar()
        if open_id is not None:
            connection.execute(update(schema.incidents).where(i.id == open_id)
                               .values(resolved_at=at))
    return open_id


def incidents(engine: Engine, *, monitor: str | None = None, since: float | None = None,
              limit: int = 100) -> list[Incident]:
    """Incidents, newest first; ``since`` keeps those still open or resolved at or
    after it."""
    i = schema.incidents.c
    statement = select(schema.incidents).order_by(i.started_at.desc(), i.id.desc())
    if monitor is not None:
        statement = statement.where(i.monitor == monitor)
    if since is not None:
        statement = statement.where(i.resolved_at.is_(None) | (i.resolved_at >= since)
                                    | (i.started_at >= since))
    with read_transaction(engine) as connection:
        rows = connection.execute(statement.limit(limit)).all()
    return [Incident(r.id, r.monitor, r.started_at, r.resolved_at, r.reason, r.location)
            for r in rows]


# -- silences, pauses, heartbeats ------------------------------------------------------
def add_silence(engine: Engine, monitor: str, starts_at: float, ends_at: float,
                reason: str = "", created_by: str = "") -> Silence:
    """Create a silence."""
    with write_transaction(engine) as connection:
        inserted = connection.execute(schema.silences.insert().values(
            monitor=monitor, starts_at=starts_at, ends_at=ends_at, reason=reason,
            created_by=created_by))
    return Silence(int(inserted.inserted_primary_key[0]), monitor, starts_at, ends_at,
                   reason, created_by)


def delete_silence(engine: Engine, silence_id: int) -> bool:
    """Delete a silence; False when there is none with that id."""
    with write_transaction(engine) as connection:
        return connection.execute(delete(schema.silences).where(
            schema.silences.c.id == silence_id)).rowcount > 0


def silences(engine: Engine, *, active_at: float | None = None) -> list[Silence]:
    """Silences by id (only those with ``starts_at <= active_at < ends_at`` when given)."""
    s = schema.silences.c
    statement = select(schema.silences).order_by(s.id)
    if active_at is not None:
        statement = statement.where(s.starts_at <= active_at, s.ends_at > active_at)
    with read_transaction(engine) as connection:
        rows = connection.execute(statement).all()
    return [Silence(r.id, r.monitor, r.starts_at, r.ends_at, r.reason, r.created_by)
            for r in rows]


def set_paused(engine: Engine, monitor: str, paused: bool) -> None:
    """Pause or resume a monitor (kept across restarts and config reloads)."""
    with write_transaction(engine) as connection:
        if paused:
            connection.execute(upsert_insert(connection, schema.paused)
                               .values(monitor=monitor).on_conflict_do_nothing())
        else:
            connection.execute(delete(schema.paused)
                               .where(schema.paused.c.monitor == monitor))


def paused(engine: Engine) -> set[str]:
    """The paused monitors."""
    with read_transaction(engine) as connection:
        return set(connection.execute(select(schema.paused.c.monitor)).scalars())


def record_heartbeat(engine: Engine, monitor: str, at: float) -> None:
    """A heartbeat ping arrived (an older ping arriving late does not go back in time)."""
    h = schema.heartbeats.c
    with write_transaction(engine) as connection:
        statement = upsert_insert(connection, schema.heartbeats).values(monitor=monitor,
                                                                        at=at)
        newer = case((statement.excluded.at > h.at, statement.excluded.at), else_=h.at)
        connection.execute(statement.on_conflict_do_update(index_elements=["monitor"],
                                                           set_={"at": newer}))


def last_heartbeat(engine: Engine, monitor: str) -> float | None:
    """When the last ping arrived, if ever."""
    h = schema.heartbeats.c
    with read_transaction(engine) as connection:
        return connection.execute(select(h.at).where(h.monitor == monitor)).scalar()

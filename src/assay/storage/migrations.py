"""The schema's versions: a ``schema_version`` table and an ordered list of steps.

``migrate(engine)`` runs when a store opens: it reads the highest version applied, refuses a
database newer than this assay knows (a ``ConfigError``: an older assay must not write into
tables it does not understand), and applies each missing step in its own transaction,
recording it in the same transaction (a crash leaves the database at a step boundary). On
PostgreSQL an advisory lock makes agents starting together take turns; on SQLite the
write transaction (``BEGIN IMMEDIATE``) does the same.

A new database gets ``schema.metadata`` as it is now and every step recorded at once (so
later steps need only alter *existing* databases, and ``schema.py`` always describes the
newest tables). A later change adds to ``schema.py`` and appends a step that alters an
older database to match.

Why not Alembic: it would add a dependency, a scripts directory and an ``env.py`` to ship
as package data, and its autogenerate and branching solve problems of large, team-edited
schemas. This one is ten tables that only assay writes, migrated automatically on open; the
part Alembic would not give us for free (refusing a newer database with a clear message,
agents racing to migrate one PostgreSQL) is the part written here anyway. SQLite's limited
``ALTER TABLE`` (Alembic's batch mode) is the one thing to weigh again if a step ever has to
rewrite a table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, inspect, select, text

from ..core.errors import ConfigError
from . import schema
from .sqlconnect import write_transaction

# Any constant the application owns; two agents migrating one database wait on it.
_ADVISORY_LOCK = 0x61737361  # "assa"


@dataclass(frozen=True, slots=True)
class Step:
    """One schema version: what it changes and how."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_tables(connection: Connection) -> None:
    schema.metadata.create_all(connection)


STEPS: tuple[Step, ...] = (
    Step(1, "results, rollups, states, outbox, incidents, silences, paused, heartbeats",
         _create_tables),
)
LATEST = STEPS[-1].version


def current_version(connection: Connection) -> int:
    """The highest version applied to the database (0: a new database)."""
    if not inspect(connection).has_table("schema_version"):
        return 0
    version = connection.execute(select(func.max(schema.schema_version.c.version))).scalar()
    return int(version or 0)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})


def _record(connection: Connection, steps: tuple[Step, ...]) -> None:
    connection.execute(schema.schema_version.insert(), [
        {"version": s.version, "applied_at": time.time(), "description": s.description}
        for s in steps])


def _refuse_newer(version: int, source: str) -> None:
    if version > LATEST:
        raise ConfigError(
            f"the database has schema version {version}, newer than this assay knows "
            f"(up to {LATEST}): upgrade assay, or use another database", source=source)


def migrate(engine: Engine, *, source: str = "the database") -> int:
    """Bring the database to ``LATEST``; returns the version it was at before.

    ``source`` names the database in errors (pass the redacted URL).
    """
    with write_transaction(engine) as connection:
        _lock(connection)
        before = current_version(connection)
        _refuse_newer(before, source)
        if before == 0:
            _create_tables(connection)
            _record(connection, STEPS)
            return 0
    for step in STEPS:
        with write_transaction(engine) as connection:
            _lock(connection)
            # Re-read inside the lock: another agent may have applied it meanwhile.
            if step.version <= current_version(connection):
                continue
            step.apply(connection)
            _record(connection, (step,))
    return before

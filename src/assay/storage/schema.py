"""The monitor's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

``results`` is the only big table (a row per run: 8,640 a day for a monitor probed every
10 s), so its rows are kept small: monitor and location are integer ids into ``monitors``
and ``locations`` rather than repeated names, a reason is stored only for a failed run,
booleans and small integers take the smallest types, and columns go widest first. It has
one index besides its key, ``(monitor_id, at)``: every read asks for one monitor's runs
over time (charts, uptime, burn rates, retention, recent runs) and gets them in order; a
location is filtered while scanning that range, and the newest run at each location is
kept apart (``latest``). A second index on ``(monitor_id, location_id, at)`` would make
location queries seeks, for a third more bytes per row.

Measured (table and indexes, per result): 65 bytes on SQLite, 145 on PostgreSQL; with that
second index 87 and 187; with names instead of ids about 98 on SQLite. A monitor probed
every 10 s thus costs 0.56 MB a day on SQLite (1.25 MB on PostgreSQL) for the ``raw_s`` it
is kept (7 days), then about 2.4 kB a day of hourly rollups (24 rows of ~100 bytes), kept
a year. Every other table is small and keeps names as text.

Times are epoch seconds as double precision; ids are 64-bit on PostgreSQL (a thousand
monitors every 10 s pass 2**31 results in eight months) and SQLite's rowid.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
)

# SQLite makes only an INTEGER PRIMARY KEY the rowid (no extra index, autoincrementing).
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", Double, nullable=False),
    Column("description", Text, nullable=False),
)

monitors = Table(
    "monitors", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
)

locations = Table(
    "locations", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
)

results = Table(
    "results", metadata,
    # Widest first: PostgreSQL aligns each column to its size, so this order pads least.
    Column("id", Id, primary_key=True),
    Column("at", Double, nullable=False),
    Column("planned_at", Double, nullable=False),
    Column("latency_ms", Double),
    Column("monitor_id", Integer, ForeignKey("monitors.id"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("status", SmallInteger),
    Column("attempts", SmallInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("reason", Text),  # only when the run failed
    # One index: the location is a filter, not a key (see the module docstring).
    Index("results_monitor_at", "monitor_id", "at"),
)

# The newest result of each monitor at each location (quorum, the dashboard): kept up to date
# by add_result, so finding it never scans results, even for a location gone silent.
latest = Table(
    "latest", metadata,
    Column("monitor_id", Integer, ForeignKey("monitors.id"), primary_key=True),
    Column("location_id", Integer, ForeignKey("locations.id"), primary_key=True),
    Column("result_id", BigInteger, nullable=False),
    Column("at", Double, nullable=False),
)

rollups = Table(
    "rollups", metadata,
    Column("monitor_id", Integer, ForeignKey("monitors.id"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("hour", BigInteger, nullable=False),  # epoch of the hour's start
    Column("count", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("latency_p50", Double),
    Column("latency_p95", Double),
    Column("latency_p99", Double),
    Column("latency_max", Double),
    UniqueConstraint("monitor_id", "location_id", "hour", name="rollups_key"),
    Index("rollups_hour", "hour"),
)

states = Table(
    "states", metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

outbox = Table(
    "outbox", metadata,
    Column("id", Id, primary_key=True),
    Column("dedup_key", Text, nullable=False, unique=True),
    Column("channel", Text, nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("created_at", Double, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Double, nullable=False),
    Column("delivered_at", Double),
    Column("gave_up_at", Double),
    Column("last_error", Text),
    Column("held", Boolean, nullable=False, default=False),
    Column("claimed_by", Text),
    Column("claimed_until", Double),
    Index("outbox_due", "next_attempt_at"),
)

incidents = Table(
    "incidents", metadata,
    Column("id", Id, primary_key=True),
    Column("monitor", Text, nullable=False),
    Column("started_at", Double, nullable=False),
    Column("resolved_at", Double),
    Column("reason", Text),
    Column("location", Text),
    Index("incidents_started", "started_at"),
)
# At most one open incident per monitor, even with several agents writing: SQLite and
# PostgreSQL both have partial unique indexes.
Index("incidents_one_open", incidents.c.monitor, unique=True,
      sqlite_where=incidents.c.resolved_at.is_(None),
      postgresql_where=incidents.c.resolved_at.is_(None))

silences = Table(
    "silences", metadata,
    Column("id", Id, primary_key=True),
    Column("monitor", Text, nullable=False),  # a name or a glob
    Column("starts_at", Double, nullable=False),
    Column("ends_at", Double, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_by", Text, nullable=False, default=""),
)

paused = Table(
    "paused", metadata,
    Column("monitor", Text, primary_key=True),
)

heartbeats = Table(
    "heartbeats", metadata,
    Column("monitor", Text, primary_key=True),
    Column("at", Double, nullable=False),
)

OUR_TABLES = tuple(metadata.tables)

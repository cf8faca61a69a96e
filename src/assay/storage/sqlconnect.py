"""Engines and transactions for ``SqlStore``: SQLite settings, PostgreSQL options, errors.

SQLite: WAL (readers never wait for the writer, and a crash loses at most the transactions
not yet committed), ``synchronous=NORMAL`` (in WAL mode a commit is durable against a crash
of the process, which is what a SIGKILL is; only a power loss can take back the last
commits), a busy timeout (several processes may share the file) and foreign keys. Python's
sqlite3 module starts transactions lazily with a plain ``BEGIN``, which lets two writers
each read, then fail to upgrade to a write lock; so assay begins transactions itself, and
those that write with ``BEGIN IMMEDIATE`` (one writer at a time, waiting its turn).

PostgreSQL: psycopg 3, a connect timeout, and connections checked before use (a restarted
server does not break the store).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..core.errors import ConfigError

BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5
_EXPECTED = ("expected sqlite:///PATH, postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB "
             "or memory://")


def parse_url(url: str, *, source: str) -> URL:
    """``url`` parsed, with PostgreSQL pointed at psycopg 3 (``postgresql://`` and
    ``postgres://`` would ask SQLAlchemy for psycopg2, which assay does not install)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {_EXPECTED}", source=source) from exc
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError(f"a SQLite database needs a file path ({_EXPECTED}; "
                              "memory:// keeps everything in memory)", source=source)
        # Absolute: size_bytes() must find the file whatever the working directory becomes.
        return parsed.set(database=str(Path(parsed.database).expanduser().absolute()))
    raise ConfigError(f"unsupported database {parsed.drivername!r}: {_EXPECTED}",
                      source=source)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level: the "begin" listener emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL",
                   f"busy_timeout={BUSY_TIMEOUT_MS}", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("assay_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: URL, *, source: str) -> Engine:
    """An engine for ``url`` (from ``parse_url``), configured as described above."""
    if url.get_backend_name() == "sqlite":
        folder = Path(url.database or "").parent
        if not folder.is_dir():
            raise ConfigError(f"the folder {str(folder)!r} does not exist (expected the "
                              "SQLite file's folder to exist)", source=source)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_S})


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that writes (``BEGIN IMMEDIATE`` on SQLite); commits
    at the end, rolls back on an exception."""
    with engine.connect() as connection:
        connection.execution_options(assay_write=True)
        with connection.begin():
            yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a read-only transaction (one consistent snapshot on SQLite)."""
    with engine.connect() as connection, connection.begin():
        yield connection


def upsert_insert(bind: Connection | Engine, table: Table) -> Any:
    """The dialect's ``INSERT`` with ``on_conflict_do_nothing``/``on_conflict_do_update``."""
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def unreachable(exc: SQLAlchemyError, *, source: str, backend: str,
                password: str | None) -> ConfigError:
    """The ``ConfigError`` for a database that cannot be opened, its message free of the
    password (drivers may echo the connection string)."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if password:
        detail = detail.replace(password, "***")
    expected = ("a PostgreSQL server that is up and accepts these credentials"
                if backend == "postgresql" else "a SQLite file assay can create or write")
    return ConfigError(f"cannot open the database: {detail} (expected {expected})",
                       source=source)

"""The store contract against ``SqlStore`` on a SQLite file, and what only SQL promises:
a recorded schema version, reopening, surviving SIGKILL, refusing a newer database; and
``open_store``/``redact_url``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy

from assay.core.errors import ConfigError
from assay.monitor.records import RunResult
from assay.storage.memory import MemoryStore
from assay.storage.migrations import LATEST
from assay.storage.sql import SqlStore
from assay.storage.urls import open_store, redact_url
from storage_contract import H0, StoreContract, event, run

SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


class TestSqliteStore(StoreContract):
    """``SqlStore`` on SQLite passes the shared suite."""

    @pytest.fixture
    def store(self, db_url):
        store = SqlStore(db_url)
        yield store
        store.close()


def _versions(url: str) -> list[int]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sqlalchemy.text(
                "SELECT version FROM schema_version ORDER BY version")).scalars())
    finally:
        engine.dispose()


def test_the_file_is_created_in_wal_mode_with_its_schema_version(db_url, tmp_path):
    store = SqlStore(db_url)
    store.add_result(run())
    assert (tmp_path / "monitor.db").exists()
    assert _versions(db_url) == list(range(1, LATEST + 1))
    engine = sqlalchemy.create_engine(db_url)
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    engine.dispose()
    assert mode == "wal"
    assert store.size_bytes() > 0
    store.close()


def test_reopening_keeps_everything(db_url):
    store = SqlStore(db_url)
    store.add_result(run(at=H0, location="eu", ok=False, status=503, reason="503"))
    store.enqueue(event("k1"), {"event": "firing"}, H0)
    store.save_state("health|ops", {"state": "firing"})
    incident = store.open_incident("health", H0, "503")
    store.add_silence("*", H0, H0 + 60, "deploy")
    store.set_paused("health", True)
    store.record_heartbeat("job", H0)
    store.close()
    again = SqlStore(db_url)
    assert [(r.location, r.status, r.reason) for r in again.results()] == [("eu", 503, "503")]
    assert [i.dedup_key for i in again.claim_due(H0, "a")] == ["k1"]
    assert again.load_states() == {"health|ops": {"state": "firing"}}
    assert again.open_incident("health", H0 + 5, None) == incident
    assert [s.reason for s in again.silences()] == ["deploy"]
    assert again.paused() == {"health"}
    assert again.last_heartbeat("job") == H0
    assert _versions(db_url) == list(range(1, LATEST + 1))  # not migrated twice
    again.close()


def test_a_newer_database_is_refused(db_url):
    SqlStore(db_url).close()
    engine = sqlalchemy.create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(
            "INSERT INTO schema_version VALUES (:v, 0, 'from the future')"), {"v": LATEST + 1})
    engine.dispose()
    with pytest.raises(ConfigError, match=f"schema version {LATEST + 1}, newer") as info:
        SqlStore(db_url)
    assert "monitor.db" in str(info.value) and info.value.exit_code == 2


_WRITER = """
import sys
from assay.monitor.records import AlertEvent, RunResult
from assay.storage.sql import SqlStore

store = SqlStore(sys.argv[1])
i = 0
while True:
    i += 1
    rid = store.add_result(RunResult("health", "local", 1000.0 + i, 1000.0 + i, i % 3 != 0,
                                     200, 5.0, None if i % 3 else "boom"))
    key = f"k{i}"
    store.enqueue(AlertEvent("firing", "health", "ops", "local", 1000.0 + i, "down", key),
                  {"n": i}, 1000.0 + i)
    print(rid, key, flush=True)
"""


def test_sigkill_while_writing_loses_no_committed_row(db_url, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, db_url], env=env,
                              stdout=subprocess.PIPE, text=True)
    committed: list[tuple[int, str]] = []
    try:
        for line in writer.stdout:
            rid, key = line.split()
            committed.append((int(rid), key))
            if len(committed) >= 200:
                break
        writer.send_signal(signal.SIGKILL)  # mid-loop: it keeps writing until killed
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    store = SqlStore(db_url)
    stored_ids = {r.id for r in store.results(limit=100_000)}
    assert {rid for rid, _ in committed} <= stored_ids
    keys = {i.dedup_key for i in store.outbox(delivered=False, limit=100_000)}
    assert {key for _, key in committed} <= keys
    # What was committed is readable and consistent: every stored result has its fields.
    assert all(r.monitor == "health" and r.status == 200 for r in store.results(limit=50))
    store.close()
    engine = sqlalchemy.create_engine(db_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()


def test_two_stores_on_one_file_claim_disjoint_items(db_url):
    first, second = SqlStore(db_url), SqlStore(db_url)
    for i in range(40):
        first.enqueue(event(f"k{i}"), {}, H0)
    claimed: dict[str, list[str]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def claim(store: SqlStore, owner: str) -> None:
        barrier.wait()
        while items := store.claim_due(H0, owner, limit=3):
            claimed[owner] += [i.dedup_key for i in items]
            for item in items:
                store.mark_delivered(item.id, H0)

    threads = [threading.Thread(target=claim, args=(s, o)) for s, o in
               ((first, "a"), (second, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(claimed["a"]) & set(claimed["b"])
    assert sorted(claimed["a"] + claimed["b"]) == sorted(f"k{i}" for i in range(40))
    first.close()
    second.close()


# -- open_store and redact_url -----------------------------------------------------------

def test_open_store_chooses_the_backend(db_url):
    assert isinstance(open_store("memory://"), MemoryStore)
    store = open_store(db_url)
    assert isinstance(store, SqlStore)
    store.add_result(RunResult("a", "local", H0, H0, True))
    assert store.counts("a", H0, H0 + 1) == (1, 0)
    store.close()


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg://assay:s3cr3t@db:5432/assay",
     "postgresql+psycopg://assay:***@db:5432/assay"),
    ("postgres://u:p@ss:w0rd@h/db", "postgres://u:***@h/db"),
    ("postgresql://assay@db/assay", "postgresql://assay@db/assay"),
    ("postgresql://db/assay?user=a&password=s3cr3t&sslmode=require",
     "postgresql://db/assay?user=a&password=***&sslmode=require"),
    ("sqlite:///var/lib/assay.db", "sqlite:///var/lib/assay.db"),
    ("memory://", "memory://"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize("url, expected", [
    ("mysql://root:hunter2@127.0.0.1/assay", "unsupported database 'mysql'"),
    ("not a url", "not a database URL"),
    ("sqlite://", "needs a file path"),
    ("sqlite:////nonexistent-folder-xyz/monitor.db", "does not exist"),
])
def test_open_store_refuses_bad_urls(url, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        open_store(url)
    assert "hunter2" not in str(info.value)
    assert "expected" in str(info.value)

"""The store contract against ``SqlStore`` on a real PostgreSQL (``pgserver.py`` starts
one), and what several agents sharing one database rely on: disjoint outbox claims, one
open incident, one migration."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
import sqlalchemy

from assay.core.errors import ConfigError
from assay.storage.migrations import LATEST
from assay.storage.schema import OUR_TABLES
from assay.storage.sql import SqlStore
from assay.storage.urls import open_store
from pgserver import PASSWORD, admin_execute, postgres_url  # noqa: F401  (a fixture)
from storage_contract import H0, StoreContract, event, run


@pytest.fixture
def fresh_url(postgres_url) -> Callable[[], str]:  # noqa: F811
    """Makes empty databases on the test server (dropped at the end)."""
    made: list[str] = []
    counter = itertools.count()

    def make() -> str:
        name = f"t{id(made)}_{next(counter)}"
        admin_execute(postgres_url, f"CREATE DATABASE {name} STRATEGY FILE_COPY")
        made.append(name)
        return postgres_url.rsplit("/", 1)[0] + "/" + name

    yield make
    for name in made:
        admin_execute(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db_url(fresh_url) -> str:
    return fresh_url()


@pytest.fixture(scope="module")
def contract_url(postgres_url) -> str:  # noqa: F811
    """One migrated database for the contract suite, emptied before each test (much
    faster than a database per test)."""
    url = postgres_url.rsplit("/", 1)[0] + "/contract"
    admin_execute(postgres_url, "DROP DATABASE IF EXISTS contract WITH (FORCE)")
    admin_execute(postgres_url, "CREATE DATABASE contract")
    SqlStore(url).close()
    return url


class TestPostgresStore(StoreContract):
    """``SqlStore`` on PostgreSQL passes the shared suite."""

    @pytest.fixture
    def store(self, contract_url):
        tables = ", ".join(t for t in OUR_TABLES if t != "schema_version")
        admin_execute(contract_url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        store = SqlStore(contract_url)
        yield store
        store.close()


def test_schema_version_and_size(db_url):
    store = SqlStore(db_url)
    assert store.dialect == "postgresql"
    assert store.url.endswith(db_url.rsplit("@", 1)[1]) and PASSWORD not in store.url
    before = store.size_bytes()
    for i in range(500):
        store.add_result(run(at=H0 + i))
    assert store.size_bytes() > before > 0
    engine = sqlalchemy.create_engine(db_url)
    with engine.connect() as connection:
        versions = list(connection.execute(sqlalchemy.text(
            "SELECT version FROM schema_version ORDER BY version")).scalars())
    engine.dispose()
    assert versions == list(range(1, LATEST + 1))
    store.close()


def _in_threads(*targets: Callable[[], None]) -> None:
    """Run the targets at once (a barrier lines them up) and wait for them."""
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def go(target: Callable[[], None]) -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def test_two_agents_start_together_and_migrate_once(db_url):
    stores: list[SqlStore] = []
    _in_threads(*[lambda: stores.append(SqlStore(db_url))] * 3)
    assert len(stores) == 3
    for store in stores:
        store.close()


def test_two_agents_claim_disjoint_outbox_items(db_url):
    first, second = SqlStore(db_url), SqlStore(db_url)
    for i in range(60):
        first.enqueue(event(f"k{i}"), {"i": i}, H0)
    claimed: dict[str, list[str]] = {"a": [], "b": []}

    def agent(store: SqlStore, owner: str) -> Callable[[], None]:
        def loop() -> None:
            while items := store.claim_due(H0, owner, limit=4):
                claimed[owner] += [i.dedup_key for i in items]
                for item in items:
                    store.mark_delivered(item.id, H0)
        return loop

    _in_threads(agent(first, "a"), agent(second, "b"))
    assert not set(claimed["a"]) & set(claimed["b"])
    assert sorted(claimed["a"] + claimed["b"]) == sorted(f"k{i}" for i in range(60))
    assert len(first.outbox(delivered=True)) == 60
    first.close()
    second.close()


def test_a_claim_skips_rows_another_agent_is_claiming(db_url):
    store = SqlStore(db_url)
    for i in range(4):
        store.enqueue(event(f"k{i}"), {}, H0)
    engine = sqlalchemy.create_engine(db_url)
    with engine.connect() as other, other.begin():
        # Another agent is in the middle of claiming k0 and k1: their rows are locked.
        other.execute(sqlalchemy.text(
            "SELECT id FROM outbox WHERE dedup_key IN ('k0', 'k1') FOR UPDATE"))
        claimed = [i.dedup_key for i in store.claim_due(H0, "b")]  # does not wait
    engine.dispose()
    assert claimed == ["k2", "k3"]
    store.close()


def test_two_agents_enqueue_and_open_an_incident_once(db_url):
    stores = [SqlStore(db_url) for _ in range(4)]
    inserted: list[bool] = []
    incident_ids: list[int] = []

    def agent(store: SqlStore) -> Callable[[], None]:
        def both() -> None:
            inserted.append(store.enqueue(event("health|ops|firing|1"), {}, H0))
            incident_ids.append(store.open_incident("health", H0, "down"))
        return both

    _in_threads(*[agent(s) for s in stores])
    assert sorted(inserted) == [False, False, False, True]
    assert len(set(incident_ids)) == 1
    assert len(stores[0].incidents()) == 1
    for store in stores:
        store.close()


def test_an_unreachable_server_is_a_config_error(postgres_url):  # noqa: F811
    port = postgres_url.rsplit(":", 1)[1].split("/")[0]
    url = postgres_url.replace(f":{port}/", ":1/")  # nothing listens on port 1
    with pytest.raises(ConfigError, match="cannot open the database") as info:
        open_store(url)
    message = str(info.value)
    assert PASSWORD not in message and "assay:***@127.0.0.1:1/assay" in message
    assert info.value.exit_code == 2


def test_a_wrong_password_is_a_config_error(postgres_url):  # noqa: F811
    url = postgres_url.replace(PASSWORD, "wrong-pass")
    with pytest.raises(ConfigError, match="password authentication failed") as info:
        SqlStore(url)
    assert "wrong-pass" not in str(info.value)

"""Monitor and location names as small integer ids (a results row carries two integers,
not two names), cached in the store: an id, once given, never changes or goes away."""

from __future__ import annotations

from sqlalchemy import Engine, Table, select

from .sqlconnect import read_transaction, upsert_insert, write_transaction


class Names:
    """The ``name <-> id`` table ``table`` (``monitors`` or ``locations``), cached."""

    def __init__(self, engine: Engine, table: Table):
        self._engine, self._table = engine, table
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}

    def id_of(self, name: str) -> int | None:
        """The id of ``name``, or None when no row was ever stored under it."""
        if name not in self._ids:
            with read_transaction(self._engine) as connection:
                found = connection.execute(
                    select(self._table.c.id).where(self._table.c.name == name)).scalar()
            if found is None:
                return None
            self._remember(name, found)
        return self._ids[name]

    def ensure(self, name: str) -> int:
        """The id of ``name``, created if needed (in its own transaction, so that the cache
        never holds an id that a rolled-back transaction took back)."""
        known = self.id_of(name)
        if known is not None:
            return known
        with write_transaction(self._engine) as connection:
            connection.execute(upsert_insert(connection, self._table).values(name=name)
                               .on_conflict_do_nothing(index_elements=["name"]))
            found = connection.execute(
                select(self._table.c.id).where(self._table.c.name == name)).scalar_one()
        self._remember(name, found)
        return found

    def name_of(self, ident: int) -> str:
        """The name of id ``ident`` (reloading the table for ids made by another agent)."""
        if ident not in self._names:
            self.all()
        return self._names[ident]

    def all(self) -> dict[int, str]:
        """Every ``id -> name``, freshly read."""
        with read_transaction(self._engine) as connection:
            for ident, name in connection.execute(select(self._table.c.id, self._table.c.name)):
                self._remember(name, ident)
        return dict(self._names)

    def _remember(self, name: str, ident: int) -> None:
        self._ids[name], self._names[ident] = ident, name

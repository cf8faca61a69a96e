"""The outbox in SQL: notifications survive a crash and go out once across agents.

``enqueue`` relies on the UNIQUE ``dedup_key`` (``INSERT ... ON CONFLICT DO NOTHING``): every
agent evaluating the same shared results derives the same key, and only the first insert
lands. ``claim_due`` leases items to one owner: on PostgreSQL the candidate rows are locked
with ``FOR UPDATE SKIP LOCKED`` (two agents claiming at once get disjoint items), on SQLite
the write transaction (``BEGIN IMMEDIATE``) lets one writer in at a time. A lease that runs
out (its agent died mid-send) makes the item claimable again: a notification may then go
out twice, never zero times.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine, Row, or_, select, update

from ..monitor.records import AlertEvent, OutboxItem
from .schema import outbox
from .sqlconnect import read_transaction, upsert_insert, write_transaction

MAX_ERROR = 1000  # characters kept of a delivery error


def _item(row: Row) -> OutboxItem:
    return OutboxItem(row.id, row.dedup_key, row.channel, json.loads(row.payload),
                      row.created_at, row.attempts, row.next_attempt_at, row.delivered_at,
                      row.last_error, row.held, gave_up_at=row.gave_up_at)


def enqueue(engine: Engine, event: AlertEvent, payload: dict[str, Any], now: float,
            held: bool) -> bool:
    """Insert unless the ``dedup_key`` is there; True when inserted."""
    with write_transaction(engine) as connection:
        statement = upsert_insert(connection, outbox).values(
            dedup_key=event.dedup_key, channel=event.channel,
            payload=json.dumps(payload, separators=(",", ":")), created_at=now, attempts=0,
            next_attempt_at=now, held=held).on_conflict_do_nothing(index_elements=["dedup_key"])
        # RETURNING, not rowcount: PostgreSQL's driver reports -1 once the id is fetched.
        return connection.execute(statement.returning(outbox.c.id)).first() is not None


def claim_due(engine: Engine, now: float, owner: str, lease_s: float, limit: int
              ) -> list[OutboxItem]:
    """Lease the due items (oldest due first) to ``owner`` until ``now + lease_s``."""
    c = outbox.c
    due = (select(c.id)
           .where(c.delivered_at.is_(None), c.gave_up_at.is_(None), c.held.is_(False),
                  c.next_attempt_at <= now,
                  or_(c.claimed_until.is_(None), c.claimed_until <= now, c.claimed_by == owner))
           .order_by(c.next_attempt_at, c.id).limit(limit)
           .with_for_update(skip_locked=True))
    with write_transaction(engine) as connection:
        ids = list(connection.execute(due).scalars())
        if not ids:
            return []
        connection.execute(update(outbox).where(c.id.in_(ids))
                           .values(claimed_by=owner, claimed_until=now + lease_s))
        rows = connection.execute(select(outbox).where(c.id.in_(ids))
                                  .order_by(c.next_attempt_at, c.id))
        return [_item(row) for row in rows]


def mark_delivered(engine: Engine, item_id: int, now: float) -> None:
    """The item went out: an attempt, and the end of its claim."""
    with write_transaction(engine) as connection:
        connection.execute(update(outbox).where(outbox.c.id == item_id).values(
            delivered_at=now, attempts=outbox.c.attempts + 1, claimed_by=None,
            claimed_until=None))


def mark_failed(engine: Engine, item_id: int, now: float, error: str,
                next_attempt_at: float | None) -> None:
    """A failed attempt: retry at ``next_attempt_at``, or give up (None) keeping the error."""
    values: dict[str, Any] = {"attempts": outbox.c.attempts + 1, "last_error": error[:MAX_ERROR],
                              "claimed_by": None, "claimed_until": None}
    if next_attempt_at is None:
        values["gave_up_at"] = now
    else:
        values["next_attempt_at"] = next_attempt_at
    with write_transaction(engine) as connection:
        connection.execute(update(outbox).where(outbox.c.id == item_id).values(**values))


def postpone(engine: Engine, item_id: int, until: float) -> None:
    """Due again at ``until``, claim released, no attempt counted."""
    with write_transaction(engine) as connection:
        connection.execute(update(outbox).where(outbox.c.id == item_id).values(
            next_attempt_at=until, claimed_by=None, claimed_until=None))


def release_held(engine: Engine, now: float, channel: str | None,
                 keys: Collection[str] | None = None) -> int:
    """Unhold held, undelivered items (of ``channel``, with a dedup key in ``keys``), due
    at ``now``; how many."""
    c = outbox.c
    statement = (update(outbox).where(c.held.is_(True), c.delivered_at.is_(None))
                 .values(held=False, next_attempt_at=now))
    if channel is not None:
        statement = statement.where(c.channel == channel)
    if keys is None:
        with write_transaction(engine) as connection:
            return connection.execute(statement).rowcount
    chosen = sorted(set(keys))
    released = 0
    with write_transaction(engine) as connection:
        for start in range(0, len(chosen), 500):  # bounded IN lists
            part = statement.where(c.dedup_key.in_(chosen[start:start + 500]))
            released += connection.execute(part).rowcount
    return released


def items(engine: Engine, delivered: bool | None, limit: int) -> list[OutboxItem]:
    """Items, newest first, optionally only (un)delivered ones."""
    statement = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if delivered is not None:
        column = outbox.c.delivered_at
        statement = statement.where(column.is_not(None) if delivered else column.is_(None))
    with read_transaction(engine) as connection:
        return [_item(row) for row in connection.execute(statement)]

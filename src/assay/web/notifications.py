"""The outbox as people see it: each notification's status, the filters of
``GET /api/notifications`` and the dashboard, and its JSON.

A notification's ``status`` is derived from the stored item, the first that holds:

    delivered   it went out (``delivered_at``)
    failed      delivery was given up (``gave_up_at``): attempts ran out, or its channel
                left the configuration; ``last_error`` says why
    held        a maintenance window or a silence holds it
    pending     waiting for its next attempt (``last_error`` set when earlier ones failed)

The ``Store`` filters the outbox only by delivered or not, so the other filters (status,
monitor, channel) are applied here, over a window of the newest items that grows until
enough match (retention prunes settled items, so the outbox stays small).
"""

from __future__ import annotations

from typing import Any

from ..monitor.records import OutboxItem
from ..storage.base import Store
from .jsonview import iso, iso_or_none

STATUSES = ("pending", "held", "delivered", "failed")
# How many of the newest items a filtered query reads first, and at most.
SCAN_START = 200
SCAN_MAX = 20_000


def notification_status(item: OutboxItem) -> str:
    """``delivered``, ``failed``, ``held`` or ``pending`` (see the module docstring)."""
    if item.delivered_at is not None:
        return "delivered"
    if item.gave_up_at is not None:
        return "failed"
    return "held" if item.held else "pending"


def payload_text(item: OutboxItem, key: str) -> str | None:
    """The payload's ``key`` (``event``, ``monitor``, ``message``) when it is text."""
    value = item.payload.get(key) if isinstance(item.payload, dict) else None
    return value if isinstance(value, str) else None


def retrying(item: OutboxItem) -> bool:
    """Pending after at least one failed attempt (it stands out on the dashboard)."""
    return notification_status(item) == "pending" and item.last_error is not None


def _matches(item: OutboxItem, status: str | None, monitor: str | None,
             channel: str | None) -> bool:
    return ((status is None or notification_status(item) == status)
            and (monitor is None or payload_text(item, "monitor") == monitor)
            and (channel is None or item.channel == channel))


def find_notifications(store: Store, *, status: str | None = None, monitor: str | None = None,
                       channel: str | None = None, limit: int = 100) -> list[OutboxItem]:
    """At most ``limit`` notifications matching every filter given, newest first.

    ``status`` is one of ``STATUSES``; ``monitor`` matches the payload's monitor. Filters
    look at the newest ``SCAN_MAX`` items at most.
    """
    delivered = None if status is None else status == "delivered"
    if monitor is None and channel is None and status in (None, "delivered"):
        return store.outbox(delivered=delivered, limit=limit)  # the store filters alone
    scan = max(limit, SCAN_START)
    while True:
        items = store.outbox(delivered=delivered, limit=scan)
        found = [item for item in items if _matches(item, status, monitor, channel)]
        if len(found) >= limit or len(items) < scan or scan >= SCAN_MAX:
            return found[:limit]
        scan = min(scan * 4, SCAN_MAX)


def notification_json(item: OutboxItem) -> dict[str, Any]:
    """A ``Notification`` of the API (``openapi.yaml``)."""
    return {
        "id": item.id, "event": payload_text(item, "event"),
        "monitor": payload_text(item, "monitor"), "channel": item.channel,
        "dedup_key": item.dedup_key, "created_at": iso(item.created_at),
        "attempts": item.attempts, "next_attempt_at": iso(item.next_attempt_at),
        "delivered_at": iso_or_none(item.delivered_at),
        "gave_up_at": iso_or_none(item.gave_up_at), "last_error": item.last_error,
        "status": notification_status(item), "message": payload_text(item, "message"),
    }

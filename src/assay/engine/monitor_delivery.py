"""The outbox worker: sends queued notifications to webhooks and Apprise URLs, with retries.

Alert logic never sends anything itself: it puts notifications in the store's outbox
(``Store.enqueue``), which survives a crash and lets several agents share one database
while each notification goes out once. ``Deliverer.deliver_due`` claims what is due,
sends it and records the outcome; a failed delivery is retried later with exponential
backoff and jitter (``next_delay``) until ``max_attempts``, then given up with its error
kept for the dashboard. Errors never carry a secret: channel URLs often hold tokens
(Slack, Discord, PagerDuty keys), so every channel's credentials are registered as secrets.

Webhook: ``POST`` of the payload's canonical JSON (``monitor.notification.body_bytes``),
``Content-Type: application/json``, ``X-Assay-Signature: sha256=...`` when the channel has
a secret, ``X-Assay-Dedup-Key`` and the channel's own headers; any 2xx is a success.
Apprise: the same notification as a title and a text, sent in a worker thread.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from ..core.errors import ConfigError
from ..core.records import Request
from ..core.secrets import Secrets
from ..http.transport import HttpOptions, HttpxTransport
from ..monitor.config_secrets import channel_secrets
from ..monitor.model import Channel
from ..monitor.notification import apprise_type, body_bytes, render_text, webhook_headers
from ..monitor.records import AlertEvent, OutboxItem, RunResult
from ..storage.base import Store

DEDUP_HEADER = "X-Assay-Dedup-Key"
BATCH = 20
MAX_ROUNDS = 50  # a bound on one call, whatever the store keeps handing out
ORDER_SCAN = 1000  # undelivered items looked at to keep one monitor's notices in order
ERROR_EXCERPT = 200


def _order_key(item: OutboxItem) -> tuple[str, str]:
    return str(item.payload.get("monitor")), item.channel


def next_delay(attempt: int, base: float, maximum: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential backoff with "equal jitter": the ceiling ``base * 2**(attempt-1)`` (at most
    ``maximum``), of which half is fixed and half random, so that retries really slow down
    while agents that failed together do not retry together.

    >>> rng = random.Random(1)
    >>> [round(next_delay(n, 2.0, 600.0, rng), 2) for n in (1, 2, 3, 12)]
    [1.13, 3.69, 7.06, 376.52]
    """
    ceiling = min(maximum, base * 2.0 ** min(attempt - 1, 64))
    return ceiling / 2 + rng.random() * ceiling / 2


class Deliverer:
    """Delivers the outbox of ``store`` to ``channels`` (one per agent, ``owner`` its name).

    ``now`` is the clock claims and retry times are computed with (tests inject one);
    ``rng`` draws the jitter. Calls to the store run in worker threads (``Store`` methods
    are blocking), and one ``deliver_due`` runs at a time, so that an item is never sent
    twice by the same agent.
    """

    def __init__(self, store: Store, channels: tuple[Channel, ...], *, owner: str,
                 secrets: Secrets, timeout: float = 10.0, max_attempts: int = 8,
                 base_delay: float = 2.0, max_delay: float = 600.0,
                 now: Callable[[], float] = time.time, rng: random.Random | None = None):
        self.store = store
        self.channels = {channel.name: channel for channel in channels}
        self.owner = owner
        self.secrets = secrets
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.now = now
        self.rng = rng or random.Random()
        # A claim must outlive a send that runs into its timeout.
        self.lease_s = max(60.0, 3 * timeout)
        register_channel_secrets(channels, secrets)
        self.transport = HttpxTransport(HttpOptions(timeout=timeout))
        self._lock = asyncio.Lock()

    async def deliver_due(self) -> int:
        """Send every due item; returns how many went out."""
        delivered = 0
        async with self._lock:
            for _ in range(MAX_ROUNDS):
                items = await asyncio.to_thread(self.store.claim_due, self.now(), self.owner,
                                                lease_s=self.lease_s, limit=BATCH)
                queues = await self._in_order(items)
                outcomes = await asyncio.gather(*(self._deliver_in_order(queue)
                                                  for queue in queues))
                delivered += sum(outcomes)
                if len(items) < BATCH:
                    break
        return delivered

    def update_channels(self, channels: tuple[Channel, ...]) -> None:
        """Deliver to ``channels`` from now on (the configuration was reloaded); queued
        items keep their attempts and errors."""
        register_channel_secrets(channels, self.secrets)
        self.channels = {channel.name: channel for channel in channels}

    async def send_test(self, channel: Channel, payload: dict[str, Any]) -> str | None:
        """Send ``payload`` to ``channel`` now, outside the outbox (``assay monitor
        notify-test``); None when it went out, else why not (secrets redacted)."""
        register_channel_secrets((channel,), self.secrets)
        key = str(payload.get("dedup_key") or f"test|{channel.name}")
        error = await self._send(channel, payload, key)
        return None if error is None else self.secrets.redact(error)

    async def aclose(self) -> None:
        """Close the webhook connections."""
        await self.transport.aclose()

    async def __aenter__(self) -> Deliverer:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def _in_order(self, items: list[OutboxItem]) -> list[list[OutboxItem]]:
        """The claimed items as one queue per (monitor, channel), oldest first: channels
        and monitors go in parallel, one monitor's notices to one channel in the order they
        were queued. An item with an older one still pending (backing off after a failed
        attempt) waits for it: a ``resolved`` never arrives before its ``firing``."""
        queues: dict[tuple[str, str], list[OutboxItem]] = {}
        for item in sorted(items, key=lambda i: i.id):
            queues.setdefault(_order_key(item), []).append(item)
        if not items:
            return []
        pending = await asyncio.to_thread(self.store.outbox, delivered=False, limit=ORDER_SCAN)
        oldest: dict[tuple[str, str], OutboxItem] = {}
        for item in pending:
            if item.gave_up_at is None and not item.held:
                key = _order_key(item)
                if key not in oldest or item.id < oldest[key].id:
                    oldest[key] = item
        ready = []
        for key, queue in queues.items():
            first = oldest.get(key)
            if first is not None and first.id < queue[0].id:
                until = max(first.next_attempt_at, self.now()) + 0.5
                for item in queue:
                    await asyncio.to_thread(self.store.postpone, item.id, until)
                continue
            ready.append(queue)
        return ready

    async def _deliver_in_order(self, items: list[OutboxItem]) -> int:
        delivered = 0
        for item in items:
            sent = await self._deliver(item)
            delivered += sent
            if not sent:  # the rest wait for this one's retry
                for later in items[items.index(item) + 1:]:
                    await asyncio.to_thread(self.store.postpone, later.id, self.now() + 0.5)
                break
        return delivered

    async def _deliver(self, item: OutboxItem) -> int:
        channel = self.channels.get(item.channel)
        if channel is None:
            # Removed from the configuration since it was queued: nowhere to send it.
            error = f"channel {item.channel!r} is not in the configuration"
            await asyncio.to_thread(self.store.mark_failed, item.id, self.now(), error, None)
            return 0
        error = await self._send(channel, item.payload, item.dedup_key)
        if error is None:
            await asyncio.to_thread(self.store.mark_delivered, item.id, self.now())
            return 1
        await asyncio.to_thread(self.store.mark_failed, item.id, self.now(),
                                self.secrets.redact(error), self._retry_at(item.attempts + 1))
        return 0

    def _retry_at(self, attempt: int) -> float | None:
        if attempt >= self.max_attempts:
            return None
        return self.now() + next_delay(attempt, self.base_delay, self.max_delay, self.rng)

    async def _send(self, channel: Channel, payload: dict[str, Any], key: str) -> str | None:
        if channel.kind == "webhook":
            return await self._webhook(channel, payload, key)
        if channel.kind == "apprise":
            return await self._apprise(channel, payload)
        raise ConfigError(f"expected webhook or apprise, found {channel.kind!r}",
                          location=f"notify: {channel.name}")

    async def _webhook(self, channel: Channel, payload: dict[str, Any], key: str) -> str | None:
        body = body_bytes(payload)
        ours = {**webhook_headers(body, channel.secret), DEDUP_HEADER: key}
        # The channel's headers come first; the body's type, signature and key are ours.
        taken = {name.lower() for name in ours}
        headers = [(k, v) for k, v in channel.headers if k.lower() not in taken]
        request = Request("POST", channel.url, [*headers, *ours.items()], body)
        exchange = await self.transport.send(request, timeout=self.timeout)
        if exchange.response is None:
            return exchange.failure.message if exchange.failure else "no response"
        response = exchange.response
        if 200 <= response.status < 300:
            return None
        excerpt = " ".join(response.text.split())[:ERROR_EXCERPT]
        return f"webhook answered HTTP {response.status}" + (f": {excerpt}" if excerpt else "")

    async def _apprise(self, channel: Channel, payload: dict[str, Any]) -> str | None:
        event = event_from_payload(payload)
        title, text = render_text(event)
        call = asyncio.to_thread(notify_apprise, channel.url, title, text, apprise_type(event),
                                 self.timeout)
        try:
            # Apprise enforces the timeout itself; this margin only guards against a hang.
            return await asyncio.wait_for(call, self.timeout + 5)
        except TimeoutError:
            return f"Apprise did not finish within {self.timeout:g} s"


def notify_apprise(url: str, title: str, body: str, notify_type: str,
                   timeout: float) -> str | None:
    """Send one notification through Apprise (blocking: run it in a thread); None when it
    went out, else Apprise's warnings and errors."""
    # Imported here: apprise takes ~80 ms to import, which no other command should pay.
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "Apprise does not understand the channel's URL"
    entries: list[Any] = []
    result = notifier.notify(body, title=title, notify_type=notify_type, timeout=timeout,
                             log_callback=lambda entry, _service: entries.append(entry))
    if result:
        return None
    messages = [e.message for e in entries if e.level in ("WARNING", "ERROR", "CRITICAL")]
    return "; ".join(dict.fromkeys(messages)) or "Apprise could not deliver the notification"


def event_from_payload(payload: dict[str, Any]) -> AlertEvent:
    """The ``AlertEvent`` a webhook payload was made from (``notification.payload``), so
    that an outbox item renders as Apprise text the same way as a fresh event."""
    last = payload.get("last_result") or {}
    result = None
    if last.get("ok") is not None:
        at = _epoch(last.get("at"))
        result = RunResult(str(payload.get("monitor", "")),
                           str(last.get("location") or payload.get("location", "")), at, at,
                           bool(last["ok"]), last.get("status"), last.get("latency_ms"),
                           last.get("reason"))
    return AlertEvent(str(payload.get("event", "")), str(payload.get("monitor", "")),
                      str(payload.get("channel", "")), str(payload.get("location", "")),
                      _epoch(payload.get("at")), str(payload.get("message", "")),
                      str(payload.get("dedup_key", "")), result,
                      dict(payload.get("details") or {}))


def _epoch(text: Any) -> float:
    if not isinstance(text, str):
        return 0.0
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def register_channel_secrets(channels: Iterable[Channel], secrets: Secrets) -> None:
    """Register each channel's credentials (``monitor.config_secrets.channel_secrets``: its
    signing secret, sensitive headers, the tokens in its URL) for redaction."""
    for channel in channels:
        env = "ASSAY_CHANNEL_" + re.sub(r"\W", "_", channel.name).upper()
        for value in channel_secrets(channel):
            secrets.add(value, env, f"credentials of notification channel {channel.name}")

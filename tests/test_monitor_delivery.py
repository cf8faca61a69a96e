"""The outbox worker against real receivers on 127.0.0.1: signed webhooks, retries with
backoff on an injected clock, giving up, Apprise's JSON plugin, and no secret in any error."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from assay.core.secrets import Secrets
from assay.engine.monitor_delivery import Deliverer, event_from_payload, next_delay
from assay.monitor.model import Channel
from assay.monitor.notification import payload, verify_signature
from assay.monitor.records import AlertEvent, RunResult
from assay.storage.memory import MemoryStore
from assay.storage.sql import SqlStore
from servers import Canned, Received, RecordingApp, serve

SECRET = "hm4c-signing-secret"
TOKEN = "tok3n-in-the-url-0123456789"
T = TypeVar("T")

# apprise's e-mail plugin imports the deprecated imghdr module when plugins load.
apprise_warning = pytest.mark.filterwarnings(
    "ignore:'imghdr' is deprecated:DeprecationWarning")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _event(key: str = "health|ops|firing|1", channel: str = "ops") -> AlertEvent:
    result = RunResult("health", "eu-1", 990.0, 990.0, False, 500, 12.5,
                       "expected status 200, got 500")
    return AlertEvent("firing", "health", channel, "eu-1", 995.0,
                      "health is down: 3 failed runs in a row", key, result)


def _queue(store: MemoryStore, event: AlertEvent, now: float = 995.0) -> None:
    assert store.enqueue(event, payload(event), now)


def _deliverer(store: MemoryStore, channels: tuple[Channel, ...], clock: Clock,
               **kwargs) -> Deliverer:
    return Deliverer(store, channels, owner="agent-1", secrets=Secrets(), now=clock,
                     rng=random.Random(7), **kwargs)


def _with_deliverer(store: MemoryStore, channels: tuple[Channel, ...], clock: Clock,
                    steps: Callable[[Deliverer], Awaitable[T]], **kwargs) -> T:
    """Run ``steps`` with a deliverer that lives (and is closed) on one event loop."""
    async def main() -> T:
        async with _deliverer(store, channels, clock, **kwargs) as deliverer:
            return await steps(deliverer)
    return asyncio.run(main())


def _deliver_once(store: MemoryStore, channels: tuple[Channel, ...], clock: Clock,
                  **kwargs) -> int:
    return _with_deliverer(store, channels, clock, lambda d: d.deliver_due(), **kwargs)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _checking_signature(received: Received) -> Canned:
    good = verify_signature(received.body, SECRET, received.headers.get("x-assay-signature"))
    return Canned(204 if good else 401, b"")


# -- backoff --------------------------------------------------------------------------------

def test_next_delay_doubles_with_jitter_and_a_cap():
    rng = random.Random(3)
    for attempt in range(1, 12):
        ceiling = min(600.0, 2.0 * 2 ** (attempt - 1))
        delays = [next_delay(attempt, 2.0, 600.0, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered, not a fixed schedule
    assert next_delay(10_000, 2.0, 600.0, rng) <= 600.0


def test_next_delay_is_reproducible_with_a_seeded_rng():
    first = [next_delay(n, 1.0, 60.0, random.Random(5)) for n in range(1, 6)]
    second = [next_delay(n, 1.0, 60.0, random.Random(5)) for n in range(1, 6)]
    assert first == second


# -- webhooks -------------------------------------------------------------------------------

def test_webhook_delivered_signed_with_dedup_key_and_headers():
    app = RecordingApp({"POST /hook": _checking_signature})
    store, clock = MemoryStore(), Clock()
    _queue(store, _event())
    with serve(app) as url:
        channel = Channel("ops", "webhook", f"{url}/hook", secret=SECRET,
                          headers=(("X-Env", "prod"), ("content-type", "text/plain")))
        delivered = _deliver_once(store, (channel,), clock)
    assert delivered == 1
    [received] = app.received
    assert received.headers["content-type"] == "application/json"
    assert received.headers["x-assay-dedup-key"] == "health|ops|firing|1"
    assert received.headers["x-env"] == "prod"
    assert received.headers["user-agent"] == "assay-monitor"
    assert received.headers["x-assay-signature"].startswith("sha256=")
    body = received.json()
    assert (body["event"], body["monitor"], body["location"]) == ("firing", "health", "eu-1")
    assert body["last_result"]["status"] == 500
    [item] = store.outbox()
    assert (item.delivered_at, item.attempts, item.last_error) == (1000.0, 1, None)


def test_wrong_signature_is_refused_by_the_receiver_and_recorded():
    app = RecordingApp({"POST /hook": _checking_signature})
    store, clock = MemoryStore(), Clock()
    _queue(store, _event())
    with serve(app) as url:
        channel = Channel("ops", "webhook", f"{url}/hook", secret="another-secret")
        assert _deliver_once(store, (channel,), clock) == 0
    [item] = store.outbox()
    assert item.delivered_at is None and item.last_error == "webhook answered HTTP 401"


def test_failing_webhook_is_retried_with_backoff_then_delivered():
    answers = iter([500, 503, 200])
    app = RecordingApp({"POST /hook": lambda r: Canned(next(answers), {"error": "busy"})})
    store, clock = MemoryStore(), Clock(1000.0)
    _queue(store, _event())

    async def steps(deliverer: Deliverer) -> None:
        assert await deliverer.deliver_due() == 0
        [item] = store.outbox()
        assert item.attempts == 1 and item.last_error.startswith("webhook answered HTTP 500")
        first_retry = item.next_attempt_at
        assert 1000.0 + 1.0 <= first_retry <= 1000.0 + 2.0  # base 2 s, half of it jittered

        clock.t = first_retry - 0.01
        assert await deliverer.deliver_due() == 0
        assert len(app.received) == 1  # not due yet: nothing sent

        clock.t = first_retry
        assert await deliverer.deliver_due() == 0
        [item] = store.outbox()
        assert item.attempts == 2
        assert clock.t + 2.0 <= item.next_attempt_at <= clock.t + 4.0  # doubled

        clock.t = item.next_attempt_at
        assert await deliverer.deliver_due() == 1

    with serve(app) as url:
        _with_deliverer(store, (Channel("ops", "webhook", f"{url}/hook"),), clock, steps)
    [item] = store.outbox()
    assert (item.attempts, item.delivered_at) == (3, clock.t)
    assert len(app.received) == 3
    keys = {r.headers["x-assay-dedup-key"] for r in app.received}
    assert keys == {"health|ops|firing|1"}  # every retry carries the same key


def test_delivery_gives_up_after_max_attempts():
    app = RecordingApp({"POST /hook": Canned(500, "down")})
    store, clock = MemoryStore(), Clock()
    _queue(store, _event())
    async def steps(deliverer: Deliverer) -> list[int]:
        counts = []
        for _ in range(5):
            counts.append(await deliverer.deliver_due())
            clock.t += 10_000
        return counts

    with serve(app) as url:
        counts = _with_deliverer(store, (Channel("ops", "webhook", f"{url}/hook"),), clock,
                                 steps, max_attempts=3)
    assert counts == [0] * 5
    assert len(app.received) == 3
    [item] = store.outbox()
    assert (item.attempts, item.delivered_at) == (3, None)
    assert item.last_error == "webhook answered HTTP 500: down"


def test_errors_never_carry_a_token_from_the_url():
    def echo(request: Received) -> Canned:
        return Canned(403, f"bad credentials in {request.query}")

    app = RecordingApp({"POST /hook": echo})
    store, clock = MemoryStore(), Clock()
    _queue(store, _event())
    with serve(app) as url:
        channel = Channel("ops", "webhook", f"{url}/hook?token={TOKEN}")
        _deliver_once(store, (channel,), clock)
    assert app.received[0].query == f"token={TOKEN}"
    [item] = store.outbox()
    assert TOKEN not in item.last_error
    assert item.last_error == "webhook answered HTTP 403: bad credentials in token=[REDACTED]"


def test_refused_and_slow_webhooks_are_failures_with_reasons():
    port = _closed_port()
    app = RecordingApp({"POST /slow": Canned(200, {}, delay=0.5)})
    store, clock = MemoryStore(), Clock()
    _queue(store, _event("k1", "refused"))
    _queue(store, _event("k2", "slow"))
    with serve(app) as url:
        channels = (Channel("refused", "webhook", f"http://127.0.0.1:{port}/hook"),
                    Channel("slow", "webhook", f"{url}/slow"))
        assert _deliver_once(store, channels, clock, timeout=0.1) == 0
    errors = {item.channel: item.last_error for item in store.outbox()}
    assert errors == {"refused": f"connection refused by 127.0.0.1:{port}",
                      "slow": "no response within 0.1 s"}


def test_an_item_for_a_removed_channel_is_given_up_at_once():
    store, clock = MemoryStore(), Clock()
    _queue(store, _event(channel="gone"))
    async def steps(deliverer: Deliverer) -> list[int]:
        first = await deliverer.deliver_due()
        clock.t += 10_000
        # Given up for good: a reload that brings the channel back does not resend it.
        deliverer.update_channels((Channel("gone", "webhook", "http://127.0.0.1:9/"),))
        return [first, await deliverer.deliver_due()]

    assert _with_deliverer(store, (), clock, steps) == [0, 0]
    [item] = store.outbox()
    assert (item.attempts, item.last_error) == (1, "channel 'gone' is not in the configuration")


def test_send_test_reports_success_and_failure():
    app = RecordingApp({"POST /hook": Canned(200, {})})
    store, clock = MemoryStore(), Clock()
    body = payload(_event("test|ops"))

    async def main(url: str) -> tuple[str | None, str | None]:
        async with _deliverer(store, (), clock) as deliverer:
            ok = await deliverer.send_test(Channel("ops", "webhook", f"{url}/hook"), body)
            bad = await deliverer.send_test(
                Channel("ops", "webhook", f"{url}/missing?key={TOKEN}"), body)
            return ok, bad

    with serve(app) as url:
        ok, bad = asyncio.run(main(url))
    assert ok is None
    assert bad.startswith("webhook answered HTTP 404") and TOKEN not in bad
    assert app.received[0].headers["x-assay-dedup-key"] == "test|ops"
    assert store.outbox() == []  # a test notification does not go through the outbox


# -- Apprise --------------------------------------------------------------------------------

@apprise_warning
def test_apprise_json_url_delivers_to_a_local_server():
    app = RecordingApp({"POST /notify": Canned(200, {})})
    store, clock = MemoryStore(), Clock()
    _queue(store, _event())
    with serve(app) as url:
        port = url.rsplit(":", 1)[1]
        channel = Channel("ops", "apprise", f"json://127.0.0.1:{port}/notify")
        assert _deliver_once(store, (channel,), clock) == 1
    [received] = app.received
    sent = received.json()
    assert sent["title"] == "[FIRING] health @ eu-1"
    assert sent["message"].startswith("health is down: 3 failed runs in a row\n")
    assert "expected status 200, got 500" in sent["message"]
    assert sent["type"] == "failure"
    assert store.outbox()[0].delivered_at == 1000.0


@apprise_warning
def test_apprise_failure_keeps_its_message_without_the_token():
    app = RecordingApp({"POST /notify": Canned(500, {})})
    store, clock = MemoryStore(), Clock()
    _queue(store, _event())
    with serve(app) as url:
        port = url.rsplit(":", 1)[1]
        channel = Channel("ops", "apprise", f"json://user:{TOKEN}@127.0.0.1:{port}/notify")
        assert _deliver_once(store, (channel,), clock) == 0
    assert app.received[0].headers["authorization"].startswith("Basic ")
    [item] = store.outbox()
    assert item.last_error and "JSON" in item.last_error
    assert TOKEN not in item.last_error
    assert item.next_attempt_at > clock.t


@apprise_warning
def test_apprise_rejects_an_unknown_url_without_showing_it():
    store, clock = MemoryStore(), Clock()
    _queue(store, _event())
    channel = Channel("ops", "apprise", f"nosuchservice://{TOKEN}/x")
    _deliver_once(store, (channel,), clock)
    [item] = store.outbox()
    assert item.last_error == "Apprise does not understand the channel's URL"


def test_event_from_payload_round_trips_what_apprise_shows():
    event = _event()
    back = event_from_payload(json.loads(json.dumps(payload(event))))
    assert (back.event, back.monitor, back.location, back.at, back.message) == (
        event.event, event.monitor, event.location, event.at, event.message)
    assert back.last_result.reason == event.last_result.reason
    assert back.last_result.status == 500


def test_outbox_in_a_sqlite_file_is_retried_then_delivered(tmp_path):
    answers = iter([502, 200])
    app = RecordingApp({"POST /hook": lambda r: Canned(next(answers), "bad gateway")})
    store, clock = SqlStore(f"sqlite:///{tmp_path / 'monitor.db'}"), Clock()
    try:
        _queue(store, _event())

        async def steps(deliverer: Deliverer) -> list[int]:
            first = await deliverer.deliver_due()
            [item] = store.outbox()
            clock.t = item.next_attempt_at
            return [first, await deliverer.deliver_due(), await deliverer.deliver_due()]

        with serve(app) as url:
            counts = _with_deliverer(store, (Channel("ops", "webhook", f"{url}/hook"),),
                                     clock, steps)
        [item] = store.outbox()
    finally:
        store.close()
    assert counts == [0, 1, 0]  # failed, then delivered, then nothing left
    assert (item.attempts, item.delivered_at) == (2, clock.t)
    assert item.last_error == "webhook answered HTTP 502: bad gateway"
    assert len(app.received) == 2


def test_a_resolved_never_overtakes_its_firing_still_backing_off():
    down = [True]
    app = RecordingApp({"POST /hook": lambda r: Canned(503 if down[0] else 204, b"")})
    store, clock = MemoryStore(), Clock(1000.0)
    _queue(store, _event("health|ops|firing|1"))

    async def steps(deliverer: Deliverer) -> None:
        assert await deliverer.deliver_due() == 0  # the receiver is down: firing backs off
        [firing] = store.outbox()
        resolved = AlertEvent("resolved", "health", "ops", "eu-1", 1000.5, "health is up",
                              "health|ops|resolved|1")
        _queue(store, resolved, now=1000.5)
        down[0] = False  # the receiver is back before the firing's retry is due
        clock.t = 1000.6
        assert await deliverer.deliver_due() == 0  # the resolved waits for the firing
        clock.t = firing.next_attempt_at
        assert await deliverer.deliver_due() == 1
        clock.t = firing.next_attempt_at + 1.0
        assert await deliverer.deliver_due() == 1

    with serve(app) as url:
        _with_deliverer(store, (Channel("ops", "webhook", f"{url}/hook"),), clock, steps)
    events = [json.loads(r.body)["event"] for r in app.received]
    assert events == ["firing", "firing", "resolved"]
    assert all(item.delivered_at is not None for item in store.outbox())
    assert [i.attempts for i in sorted(store.outbox(), key=lambda i: i.id)] == [2, 1]

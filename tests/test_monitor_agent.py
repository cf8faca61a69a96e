"""The monitor agent run for real: what issue 5's "Alerts" asks, through ``MonitorAgent``.

The pure parts (machines, quorum, windows, baselines, burn rates) have their own tests;
these run the agent on its real clock against targets and a webhook receiver on
127.0.0.1, with short intervals (``every: 200ms``, a housekeeping tick of 0.1 s) and
bounded waits: they poll until what must happen has happened, never assert a duration.
Agents run in-process (each on its own event loop thread beside the test) except for
SIGHUP, which needs a real ``assay monitor`` process.

- quorum: two agents (eu-1, us-1) on one PostgreSQL database; the target fails from one
  location only (no alert), then from both (exactly one ``firing`` in total), recovers
  (one ``resolved``);
- maintenance: notifications are held in the outbox while a window is active, delivered
  after it, including an alert that fired and resolved within the window (both sent);
- silences: ``POST /api/silences`` holds one monitor's notifications, not another's;
- reload: a changed file adds a monitor and a threshold without losing results or the
  open incident; a broken file leaves the previous config running; SIGHUP reloads;
- anomaly, SLO burn, heartbeat: each turns into its notification through the agent.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from itertools import cycle

import httpx
import pytest

from assay.engine.monitor_alerting import Alerting
from assay.monitor.config import load_config
from assay.monitor.records import RunResult
from assay.storage.memory import MemoryStore
from assay.storage.sql import SqlStore
from assay.web.app import create_app
from monitor_agent_harness import (
    HOOK,
    Lines,
    Process,
    Switch,
    agent,
    count,
    health_app,
    hook_app,
    iso,
    notices,
    results,
    running,
    sqlite_store,
    wait_for,
    write,
)
from pgserver import admin_execute, postgres_url  # noqa: F401  (a fixture)
from servers import Canned, RecordingApp, serve

# -- quorum across locations -------------------------------------------------------------

QUORUM = """
base_url: {target}
monitors:
  - name: api
    request: {{method: GET, path: /health}}
    expect: {{status: 200}}
    every: 200ms
    timeout: 1s
    locations_failing: 2
    anomaly: false
""" + HOOK


@pytest.fixture
def shared_db(postgres_url) -> Iterator[str]:  # noqa: F811
    """A fresh database on the test PostgreSQL server, for agents at two locations."""
    name = f"quorum_{os.getpid()}_{time.monotonic_ns()}"
    admin_execute(postgres_url, f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    admin_execute(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_quorum_two_locations_one_database_one_notification(tmp_path, shared_db):
    eu_down, us_down = Switch(), Switch()
    hook = hook_app()
    with serve(health_app({"/health": eu_down})) as eu_target, \
            serve(health_app({"/health": us_down})) as us_target, serve(hook) as hook_url:
        # One file per location: the same monitor, the target as each location reaches it.
        files = {}
        for location, target in (("eu-1", eu_target), ("us-1", us_target)):
            files[location] = tmp_path / f"{location}.yaml"
            files[location].write_text(QUORUM.format(target=target, hook=hook_url))
        stores = {location: SqlStore(shared_db) for location in files}
        reader = SqlStore(shared_db)
        try:
            agents = [agent(files[loc], stores[loc], loc) for loc in files]
            with running(*agents):
                def failed(location: str) -> int:
                    return count(reader, "api", ok=False, location=location)

                def runs(location: str) -> int:
                    return count(reader, "api", location=location)

                wait_for(lambda: min(runs("eu-1"), runs("us-1")) >= 3, "healthy runs")
                eu_down.on = True  # one location sees it down: below the quorum of 2
                wait_for(lambda: failed("eu-1") >= 6, "six failures at eu-1")
                seen = runs("us-1")
                wait_for(lambda: runs("us-1") >= seen + 3, "us-1 deciding those slots")
                one_location = (notices(hook), reader.outbox(), reader.incidents())

                us_down.on = True  # both locations: the quorum is reached
                wait_for(lambda: notices(hook, "firing"), "the firing webhook")
                base = failed("us-1")
                wait_for(lambda: failed("us-1") >= base + 5, "more failed slots")
                while_down = ([n["event"] for n in notices(hook)], reader.incidents(),
                              [a.alerting.firing("api") for a in agents])

                eu_down.on = us_down.on = False
                wait_for(lambda: notices(hook, "resolved"), "the resolved webhook")
                base = runs("us-1")
                wait_for(lambda: runs("us-1") >= base + 5, "more healthy slots")
            outbox = reader.outbox()
            incidents = reader.incidents()
            locations = {r.location for r in results(reader, "api")}
        finally:
            for store in [*stores.values(), reader]:
                store.close()
    assert one_location == ([], [], [])
    # Both agents judged it firing (each queued the notice), one went out.
    assert while_down[0] == ["firing"] and while_down[2] == [True, True]
    assert [i.resolved_at for i in while_down[1]] == [None]
    assert [n["event"] for n in notices(hook)] == ["firing", "resolved"]
    # Both agents queued the same occurrences: the outbox kept one of each.
    assert sorted(i.payload["event"] for i in outbox) == ["firing", "resolved"]
    assert all(i.delivered_at is not None for i in outbox)
    firing = notices(hook, "firing")[0]
    assert firing["location"] in ("eu-1", "us-1")
    assert firing["last_result"]["status"] == 503
    assert locations == {"eu-1", "us-1"}
    assert len(incidents) == 1 and incidents[0].resolved_at is not None


def test_quorum_feeds_slots_in_order(tmp_path):
    """A later slot that is decidable early (one location up: the quorum of 2 cannot be
    reached) waits for an earlier undecided one, whose outcome would otherwise be lost."""
    config_file = tmp_path / "monitors.yaml"
    config_file.write_text(QUORUM.format(target="http://127.0.0.1:9", hook="http://127.0.0.1:9")
                           .replace("failure_threshold: 2", "failure_threshold: 1")
                           .replace("success_threshold: 2", "success_threshold: 1"))
    config = load_config(config_file)
    monitor = config.monitor("api")
    store = MemoryStore()
    alerting = Alerting(config, store, location="eu-1")

    def report(location: str, planned_at: float, ok: bool) -> RunResult:
        result = RunResult("api", location, planned_at + 0.01, planned_at, ok,
                           200 if ok else 503, 5.0, None if ok else "expected status 200")
        store.add_result(result)
        return result

    for planned_at in (1000.0, 1000.2, 1000.4):
        report("us-1", planned_at, True)
        assert alerting.observe(monitor, report("eu-1", planned_at, True),
                                planned_at + 0.1) == []
    # eu-1 fails 1000.6 (us-1 not heard yet: wait), then passes 1000.8 (up whatever us-1
    # says), then us-1's reports arrive: 1000.6 was down at both locations.
    assert alerting.observe(monitor, report("eu-1", 1000.6, False), 1000.7) == []
    assert alerting.observe(monitor, report("eu-1", 1000.8, True), 1000.9) == []
    report("us-1", 1000.6, False)
    report("us-1", 1000.8, True)
    queued = alerting.tick(1000.95)
    assert [(e.event, e.details["streak_started_at"]) for e in queued] == [
        ("firing", 1000.6), ("resolved", 1000.6)]


# -- maintenance windows and silences ----------------------------------------------------

TWO_MONITORS = """
base_url: {target}
monitors:
  - name: {first}
    request: {{method: GET, path: /first}}
    expect: {{status: 200}}
    every: 200ms
    timeout: 1s
    anomaly: false
  - name: {second}
    request: {{method: GET, path: /second}}
    expect: {{status: 200}}
    every: 200ms
    timeout: 1s
    anomaly: false
""" + HOOK


def test_maintenance_holds_notifications_until_the_window_ends(tmp_path):
    """Checks run and are stored during the window; notifications wait in the outbox and
    go out after it. An alert that fired and resolved within the window is delivered
    too, both of its notices (held, never dropped: the receiver learns what happened)."""
    stays_down, flaky = Switch(True), Switch(True)
    hook = hook_app()
    with serve(health_app({"/first": stays_down, "/second": flaky})) as target, \
            serve(hook) as hook_url:
        config = tmp_path / "monitors.yaml"
        now = time.time()
        end = now + 5
        config.write_text(TWO_MONITORS.format(target=target, hook=hook_url, first="stays-down",
                                              second="recovers")
                          + f'maintenance:\n  - {{start: "{iso(now - 60)}", '
                            f'end: "{iso(end)}", reason: upgrade}}\n')
        end = datetime.fromisoformat(iso(end)).timestamp()  # the file's, to the second
        store = sqlite_store(tmp_path)
        try:
            # A silence of monitors that have nothing held must not keep these.
            store.add_silence("nightly-*", now - 60, now + 3600, "unrelated")
            monitor_agent = agent(config, store)
            with running(monitor_agent):
                def held(monitor: str) -> list[str]:
                    return sorted(i.payload["event"] for i in store.outbox()
                                  if i.held and i.payload["monitor"] == monitor)

                wait_for(lambda: held("stays-down") == ["firing"]
                         and held("recovers") == ["firing"], "two held firing notices")
                flaky.on = False
                wait_for(lambda: held("recovers") == ["firing", "resolved"],
                         "the resolution, held too")
                in_window = time.time() < end
                states = monitor_agent.states()
                received_meanwhile = notices(hook)
                wait_for(lambda: len(notices(hook)) == 3, "the held notices, delivered",
                         timeout=end - time.time() + 10)
                wait_for(lambda: store.outbox(delivered=False) == [], "an empty outbox")
        finally:
            store.close()
    assert in_window, "the test machine is too slow for a 5 s window"
    assert received_meanwhile == []
    assert states["recovers"]["state"] == "maintenance"
    assert sorted((n["monitor"], n["event"]) for n in notices(hook)) == [
        ("recovers", "firing"), ("recovers", "resolved"), ("stays-down", "firing")]
    # Delivered after the end of the window, from runs stored during it.
    assert all(datetime.fromisoformat(n["at"]).timestamp() < end for n in notices(hook))
    store = sqlite_store(tmp_path)
    try:
        during = [r for r in results(store, "stays-down") if r.at < end]
        assert len(during) >= 2 and not any(r.ok for r in during)
        assert all(i.delivered_at is not None and i.delivered_at >= end
                   for i in store.outbox())
    finally:
        store.close()


def test_a_silence_holds_one_monitors_notifications(tmp_path):
    failing = Switch()
    hook = hook_app()
    with serve(health_app({"/first": failing, "/second": failing})) as target, \
            serve(hook) as hook_url:
        config = tmp_path / "monitors.yaml"
        config.write_text(TWO_MONITORS.format(target=target, hook=hook_url,
                                              first="payments", second="search"))
        store = sqlite_store(tmp_path)
        try:
            monitor_agent = agent(config, store)
            with running(monitor_agent), serve(create_app(monitor_agent)) as web, \
                    httpx.Client(base_url=web, timeout=5) as api:
                created = api.post("/api/silences", json={"monitor": "pay*", "duration": "1h",
                                                          "reason": "deploy"})
                assert created.status_code == 201, created.text
                failing.on = True
                wait_for(lambda: notices(hook, "firing", "search"), "search's firing webhook")
                wait_for(lambda: any(i.held and i.payload["monitor"] == "payments"
                                     for i in store.outbox()), "payments' notice, held")
                base = count(store, "search", ok=False)
                wait_for(lambda: count(store, "search", ok=False) >= base + 3, "more runs")
                silenced = notices(hook, monitor="payments")
                deleted = api.delete(created.headers["location"])
                wait_for(lambda: notices(hook, "firing", "payments"),
                         "payments' firing webhook once the silence is gone")
        finally:
            store.close()
    assert silenced == []
    assert deleted.status_code == 204
    assert [(n["monitor"], n["event"]) for n in notices(hook)] == [
        ("search", "firing"), ("payments", "firing")]


# -- reload --------------------------------------------------------------------------------

RELOAD_V1 = """
base_url: {target}
monitors:
  - name: a
    request: {{method: GET, path: /first}}
    expect: {{status: 200}}
    every: 200ms
    timeout: 1s
    anomaly: false
""" + HOOK
RELOAD_V2 = RELOAD_V1.replace("    anomaly: false\n", """    anomaly: false
    alerts: {{ops: {{success_threshold: 4}}}}
  - name: b
    request: {{method: GET, path: /second}}
    expect: {{status: 200}}
    every: 200ms
    timeout: 1s
    anomaly: false
""", 1)
# A heartbeat added by a reload gets its every + grace from then, not from the start.
RELOAD_V3 = RELOAD_V2.replace("\nnotify:", """  - name: job
    heartbeat: true
    every: 200ms
    grace: 300ms
    notify: []

notify:""", 1)


@pytest.fixture
def monitor_log() -> Iterator[Lines]:
    logger = logging.getLogger("assay.monitor")
    handler = Lines()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_reload_adds_a_monitor_and_keeps_state_and_survives_a_broken_file(tmp_path,
                                                                          monitor_log):
    a_down, b_down = Switch(True), Switch()
    hook = hook_app()
    with serve(health_app({"/first": a_down, "/second": b_down})) as target, \
            serve(hook) as hook_url:
        config = tmp_path / "monitors.yaml"
        config.write_text(RELOAD_V1.format(target=target, hook=hook_url))
        store = sqlite_store(tmp_path)
        try:
            monitor_agent = agent(config, store)
            with running(monitor_agent), serve(create_app(monitor_agent)) as web, \
                    httpx.Client(base_url=web, timeout=5) as api:
                def listed() -> dict[str, str]:
                    return {m["name"]: m["state"] for m in api.get("/api/monitors").json()}

                wait_for(lambda: notices(hook, "firing", "a"), "a firing")
                wait_for(lambda: listed() == {"a": "firing"}, "a firing on the API")
                before = {r.id for r in results(store, "a")}

                wait_for(lambda: count(store, "a") >= 6, "a second of runs")
                write(config, RELOAD_V3.format(target=target, hook=hook_url))
                wait_for(lambda: count(store, "b") >= 3, "runs of the added monitor b")
                wait_for(lambda: count(store, "job", ok=False), "the heartbeat missing")
                after_reload = listed()
                assert any("config reloaded: 3 monitors" in m for m in monitor_log.messages)

                write(config, "monitors: [\n")  # broken: the previous config stays
                wait_for(lambda: any("config not reloaded" in m for m in monitor_log.messages),
                         "the warning about the broken file")
                base = {name: count(store, name) for name in ("a", "b")}
                wait_for(lambda: all(count(store, n) >= base[n] + 3 for n in base),
                         "both monitors still running")
                kept = [m.name for m in monitor_agent.config.monitors]

                a_down.on = False  # the new success_threshold (4) resolves it
                wait_for(lambda: notices(hook, "resolved", "a"), "a resolved")
                final = listed()
        finally:
            store.close()
    assert {k: after_reload[k] for k in ("a", "b")} == {"a": "firing", "b": "up"}
    assert kept == ["a", "b", "job"]
    assert final["a"] == "up"
    store = sqlite_store(tmp_path)
    try:
        assert before <= {r.id for r in results(store, "a")}
        [incident] = store.incidents(monitor="a")  # the open incident carried over
        assert incident.resolved_at is not None
        job = results(store, "job")
    finally:
        store.close()
    # No second firing after the reload; the resolution counted 4 successes, not 2.
    assert [n["event"] for n in notices(hook, monitor="a")] == ["firing", "resolved"]
    [resolved] = notices(hook, "resolved", "a")
    assert resolved["details"]["successes"] == 4
    assert notices(hook, monitor="b") == []
    # The heartbeat added a second after the start got its every + grace from the reload.
    assert job[0].ok, job[0].reason
    assert next(r for r in job if not r.ok).reason.startswith("no heartbeat since")
    warning = next(m for m in monitor_log.messages if "config not reloaded" in m)
    assert "monitors.yaml" in warning


@pytest.mark.slow
def test_sighup_reloads_the_process(tmp_path):
    hook = hook_app()
    with serve(health_app({"/first": Switch(), "/second": Switch()})) as target, \
            serve(hook) as hook_url:
        config = tmp_path / "monitors.yaml"
        config.write_text(RELOAD_V1.format(target=target, hook=hook_url))
        process = Process(config, tmp_path / "monitor.db")
        try:
            with httpx.Client(base_url=process.dashboard(), timeout=5) as api:
                def names() -> list[str]:
                    return [m["name"] for m in api.get("/api/monitors").json()]

                # An unchanged file reloads only when asked: the log line proves SIGHUP.
                process.popen.send_signal(signal.SIGHUP)
                wait_for(lambda: process.logged("config reloaded: 1 monitors"),
                         "the reload SIGHUP asked for")
                write(config, RELOAD_V2.format(target=target, hook=hook_url))
                process.popen.send_signal(signal.SIGHUP)
                wait_for(lambda: names() == ["a", "b"], "b on the API")
                wait_for(lambda: len(api.get("/api/results", params={"monitor": "b"}).json())
                         >= 2, "runs of b")
            process.popen.send_signal(signal.SIGINT)
            assert process.popen.wait(timeout=15) == 0
        finally:
            process.close()
    assert process.logged("config reloaded: 2 monitors") >= 1
    assert not any("Traceback" in line for line in process.stderr)


# -- anomaly, SLO burn, heartbeat ----------------------------------------------------------

ANOMALY = """
base_url: {target}
monitors:
  - name: api
    request: {{method: GET, path: /api}}
    expect: {{status: 200}}
    every: 200ms
    timeout: 2s
    anomaly: {{window: 20, min_samples: 10, consecutive: 3}}
""" + HOOK


def test_a_latency_jump_is_one_anomaly_notice(tmp_path):
    slow = Switch()
    # A baseline with some spread (1 to 21 ms) rather than ~1 ms, so that scheduling
    # jitter on a busy machine is not itself an anomaly; then 300 ms.
    spread = cycle([0.0, 0.005, 0.010, 0.015, 0.020])
    target_app = RecordingApp({"GET /api": lambda _: Canned(200, {}, delay=0.3 if slow.on
                                                             else next(spread))})
    hook = hook_app()
    with serve(target_app) as target, serve(hook) as hook_url:
        config = tmp_path / "monitors.yaml"
        config.write_text(ANOMALY.format(target=target, hook=hook_url))
        store = sqlite_store(tmp_path)
        try:
            with running(agent(config, store)):
                wait_for(lambda: count(store, "api") >= 12, "a baseline of 12 fast runs")
                slow.on = True
                wait_for(lambda: notices(hook, "anomaly"), "the anomaly webhook")
                base = count(store, "api")
                wait_for(lambda: count(store, "api") >= base + 3, "more slow runs")
        finally:
            store.close()
    assert [n["event"] for n in notices(hook)] == ["anomaly"]
    [anomaly] = notices(hook, "anomaly")
    assert anomaly["last_result"]["ok"] is True
    assert anomaly["last_result"]["latency_ms"] >= 300
    assert anomaly["details"]["z"] > 3.5
    assert "3 runs in a row" in anomaly["message"]


SLO = """
base_url: {target}
monitors:
  - name: api
    request: {{method: GET, path: /first}}
    expect: {{status: 200}}
    every: 200ms
    timeout: 1s
    anomaly: false
    slo: {{availability: 99%, window: 1h}}
""" + HOOK


def test_a_failing_target_burns_its_slo(tmp_path):
    hook = hook_app()
    with serve(health_app({"/first": Switch(True)})) as target, serve(hook) as hook_url:
        config = tmp_path / "monitors.yaml"
        config.write_text(SLO.format(target=target, hook=hook_url))
        store = sqlite_store(tmp_path)
        try:
            monitor_agent = agent(config, store, slo_every_s=0.2)
            with running(monitor_agent):
                wait_for(lambda: notices(hook, "slo_burn"), "the slo_burn webhook")
                base = count(store, "api")
                wait_for(lambda: count(store, "api") >= base + 5,
                         "more evaluations while it keeps burning")
                budget = monitor_agent.slo_budget("api")
        finally:
            store.close()
    # One page for the episode: page-slow and ticket burn too, but are inhibited.
    [burn] = notices(hook, "slo_burn")
    assert burn["details"]["objective"] == "availability"
    assert (burn["details"]["rule"], burn["details"]["severity"]) == ("page-fast", "page")
    assert burn["details"]["short_burn"] == pytest.approx(100.0)  # every run failed
    assert burn["last_result"]["ok"] is None  # an SLO burn is about many runs
    assert budget is not None and budget["objectives"]["availability"]["remaining"] < 0
    assert [n["event"] for n in notices(hook, "firing")] == ["firing"]


HEARTBEAT = """
monitors:
  - name: nightly job
    heartbeat: true
    every: 500ms
    grace: 300ms
    anomaly: false
notify:
  - name: ops
    webhook: {hook}/hook
    failure_threshold: 1
"""


def test_heartbeats_keep_a_monitor_up_and_their_absence_fires(tmp_path):
    hook = hook_app()
    with serve(hook) as hook_url:
        config = tmp_path / "monitors.yaml"
        config.write_text(HEARTBEAT.format(hook=hook_url))
        store = sqlite_store(tmp_path)
        pinging = threading.Event()
        pinging.set()
        try:
            monitor_agent = agent(config, store)
            with running(monitor_agent), serve(create_app(monitor_agent)) as web, \
                    httpx.Client(base_url=web, timeout=5) as api:
                pings: list[int] = []

                def ping() -> None:
                    with httpx.Client(base_url=web, timeout=5) as client:
                        while pinging.is_set():
                            url = "/api/heartbeat/nightly%20job"
                            pings.append(client.post(url).status_code)
                            time.sleep(0.1)  # the job's own rhythm, not a test of timing

                pinger = threading.Thread(target=ping, daemon=True)
                pinger.start()
                wait_for(lambda: count(store, "nightly job") >= 4, "runs while pinged")
                pinging.clear()
                pinger.join(timeout=10)
                last = store.last_heartbeat("nightly job")
                wait_for(lambda: notices(hook, "firing"), "the firing webhook")
                unknown = api.post("/api/heartbeat/nobody")
        finally:
            pinging.clear()
            store.close()
    assert pings and set(pings) == {200}
    assert unknown.status_code == 404
    store = sqlite_store(tmp_path)
    try:
        runs = results(store, "nightly job")
    finally:
        store.close()
    assert last is not None
    while_pinged = [r for r in runs if r.at <= last]
    assert len(while_pinged) >= 3 and all(r.ok for r in while_pinged)
    failed = [r for r in runs if not r.ok]
    assert failed and all(r.at - last > 0.8 for r in failed)  # every + grace
    assert failed[0].reason.startswith("no heartbeat since")
    [firing] = notices(hook, "firing")
    assert firing["monitor"] == "nightly job"
    assert firing["last_result"]["reason"].startswith("no heartbeat since")

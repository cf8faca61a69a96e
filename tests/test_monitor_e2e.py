"""``assay monitor`` end to end, as a process: a target fails for a while and recovers.

What issue 5 asks to see: exactly one ``firing`` and one ``resolved`` webhook (signed), the
results in the database, the incident on the dashboard in a real browser, the metrics; and
a SIGKILL mid-run loses nothing: history intact, scheduling resumes, the notification that
was still waiting in the outbox goes out once after the restart.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from assay.monitor.notification import SIGNATURE_HEADER, verify_signature
from assay.storage.sql import SqlStore
from servers import Canned, Received, RecordingApp, serve
from test_report_html_browser import chromium

SECRET = "hook-secret-42"
CONFIG = """
base_url: {target}
monitors:
  - name: health
    request: {{method: GET, path: /health}}
    expect: {{status: 200}}
    every: 200ms
    timeout: 2s
    anomaly: false      # loopback latency jitters; anomalies have their own tests
notify:
  - name: ops
    webhook: {hook}/hook
    secret: {secret}
    failure_threshold: 3
    success_threshold: 2
    send_on_resolved: true
"""


class Switch:
    """A flag the test flips while servers in other threads read it."""

    def __init__(self, on: bool = False):
        self.on = on


def target_app(failing: Switch) -> RecordingApp:
    return RecordingApp({"GET /health": lambda _: Canned(503, {"status": "down"})
                         if failing.on else Canned(200, {"status": "ok"})})


def hook_app(down: Switch, delivered: list[Received]) -> RecordingApp:
    def hook(request: Received) -> Canned:
        if down.on:
            return Canned(500, {"error": "receiver down"})
        delivered.append(request)
        return Canned(204, b"")
    return RecordingApp({"POST /hook": hook})


@contextmanager
def monitor_process(config: Path, db: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """``assay monitor CONFIG`` on a free port; yields the process and the dashboard URL."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen([sys.executable, "-m", "assay", "monitor", str(config), "--db",
                           f"sqlite:///{db}", "--port", "0"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            first = process.stdout.readline()
            found = re.fullmatch(r"dashboard (\S+)\n", first)
            assert found, first + process.stderr.read()
            yield process, found.group(1).rstrip("/")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` (a real process runs on a real clock) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def browser_view(url: str, screenshot: Path) -> dict[str, int]:
    """The monitor page as headless Chromium shows it: how many incident rows, how many
    still open; a screenshot is saved beside the test's files."""
    with chromium() as browser:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#incidents")
        page.screenshot(path=str(screenshot), full_page=True)
        return {"incidents": page.locator("tr[data-incident]").count(),
                "open": page.locator("tr[data-incident].open").count()}


def events(delivered: list[Received]) -> list[str]:
    return [json.loads(r.body)["event"] for r in delivered]


def stored(db: Path) -> SqlStore:
    return SqlStore(f"sqlite:///{db}")


@pytest.mark.slow
@pytest.mark.browser
def test_fails_for_a_while_and_recovers(tmp_path: Path) -> None:
    failing, hook_down, delivered = Switch(), Switch(), []
    with serve(target_app(failing)) as target, serve(hook_app(hook_down, delivered)) as hook:
        config = tmp_path / "monitors.yaml"
        config.write_text(CONFIG.format(target=target, hook=hook, secret=SECRET))
        db = tmp_path / "monitor.db"
        with monitor_process(config, db) as (process, dashboard), \
                httpx.Client(base_url=dashboard, timeout=5) as api:
            wait_for(lambda: len(api.get("/api/results", params={"monitor": "health", "limit": 1000})
                                 .json()) >= 3, "three healthy runs")
            failing.on = True
            wait_for(lambda: "firing" in events(delivered), "the firing webhook")
            failing.on = False
            wait_for(lambda: "resolved" in events(delivered), "the resolved webhook")
            settled = len(api.get("/api/results", params={"monitor": "health", "limit": 1000})
                          .json())
            wait_for(lambda: len(api.get("/api/results", params={"monitor": "health", "limit": 1000})
                                 .json()) >= settled + 10, "ten more runs")
            metrics = api.get("/metrics").text
            incidents = api.get("/api/incidents").json()
            page = api.get("/monitors/health").text
            status_page = api.get("/status").text
            shown = browser_view(dashboard + "/monitors/health", tmp_path / "monitor.png")
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=15) == 0
    assert events(delivered) == ["firing", "resolved"]
    for request in delivered:
        assert verify_signature(request.body, SECRET, request.headers[SIGNATURE_HEADER.lower()])
        body = json.loads(request.body)
        assert body["monitor"] == "health" and body["location"] == "local"
        assert body["dedup_key"] and body["at"].endswith("Z")
    assert json.loads(delivered[0].body)["last_result"]["status"] == 503
    store = stored(db)
    try:
        results = store.results(monitor="health", limit=100_000)
        failed = [r for r in results if not r.ok]
        assert len(failed) >= 3 and len(results) > len(failed)
        assert all(r.reason == "expected status 200, got 503" for r in failed)
        closed = store.incidents(monitor="health")
        assert len(closed) == 1 and closed[0].resolved_at is not None
    finally:
        store.close()
    failures = re.search(r'assay_monitor_failures_total\{location="local",monitor="health"\} '
                         r"(\d+)", metrics)
    assert failures and int(failures.group(1)) == len(failed)
    assert len(incidents) == 1
    assert "expected status 200, got 503" in page
    assert "health" in status_page
    assert shown["incidents"] == 1 and shown["open"] == 0
    assert (tmp_path / "monitor.png").stat().st_size > 0
    print(f"screenshot: {tmp_path / 'monitor.png'}")


@pytest.mark.slow
def test_a_killed_agent_loses_nothing(tmp_path: Path) -> None:
    failing, hook_down, delivered = Switch(True), Switch(True), []
    with serve(target_app(failing)) as target, serve(hook_app(hook_down, delivered)) as hook:
        config = tmp_path / "monitors.yaml"
        config.write_text(CONFIG.format(target=target, hook=hook, secret=SECRET))
        db = tmp_path / "monitor.db"
        with monitor_process(config, db) as (process, _):
            # The alert fires while the receiver is down: the notification waits in the
            # outbox, retried with backoff. Then the agent is killed.
            def waiting() -> bool:
                store = stored(db)
                try:
                    return any(item.attempts >= 1 and item.delivered_at is None
                               for item in store.outbox())
                finally:
                    store.close()
            wait_for(waiting, "a failed delivery attempt")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        store = stored(db)
        before = {r.id for r in store.results(monitor="health", limit=100_000)}
        store.close()
        hook_down.on = False
        with monitor_process(config, db) as (process, dashboard), \
                httpx.Client(base_url=dashboard, timeout=5) as api:
            wait_for(lambda: "firing" in events(delivered), "the firing webhook after restart")
            wait_for(lambda: len(api.get("/api/results", params={"monitor": "health",
                                                                  "limit": 1000})
                                 .json()) >= len(before) + 5, "runs after restart")
            time.sleep(1.0)  # room for a duplicate to show up, if there were one
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=15) == 0
    assert events(delivered) == ["firing"]
    store = stored(db)
    try:
        after = {r.id for r in store.results(monitor="health", limit=100_000)}
        assert before <= after and len(after) > len(before)
        assert [i.delivered_at is not None for i in store.outbox()] == [True]
    finally:
        store.close()

"""The monitor's REST API over real HTTP: states, pause/resume, results, incidents, silences,
heartbeats, the token gate, security headers and problem documents.

``web_view`` (a ``StaticView`` over a seeded ``MemoryStore`` and a fixed clock) is shared by
the other web tests (pages, metrics, OpenAPI).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from assay.monitor.config import load_config
from assay.monitor.notification import payload
from assay.monitor.records import AlertEvent, RunResult
from assay.storage.memory import MemoryStore
from assay.web.app import create_app
from assay.web.params import days_from_civil, parse_time_text
from assay.web.security import session_value
from assay.web.view import StaticView
from servers import serve

NOW = 1_750_000_000.0  # 2025-06-15T15:06:40Z
TOKEN = "web-test-token"
DB_URL = "postgresql+psycopg://assay:pg-s3cret-pw@127.0.0.1:5432/assay"
HOSTILE = "<script>window.__pwned = 1</script><img src=x onerror=alert(1)>"
MONITORS_YAML = """\
base_url: http://127.0.0.1:9
monitors:
  - name: health
    description: The health endpoint answers
    group: API
    request: {path: /health}
    every: 10m
    slo: {availability: 99%, latency: "p95 < 300ms", window: 30d}
  - name: book flow
    group: API
    request: {path: /books}
    every: 10m
  - name: nightly-backup
    group: Jobs
    heartbeat: true
    every: 24h
    grace: 30m
  - name: cache port
    group: Infrastructure
    tcp: 127.0.0.1:6379
    every: 10m
maintenance:
  - start: 2025-06-15T14:06:40Z
    end: 2025-06-15T16:06:40Z
    monitors: [cache port]
"""
HEALTH_FAILED = (36, 37, 38)  # runs 6 hours ago


def web_config(folder: Path):
    """The monitors file above, loaded."""
    path = folder / "monitors.yaml"
    path.write_text(MONITORS_YAML)
    return load_config(path, env={})


BAD_GATEWAY = "webhook answered 502 Bad Gateway"
REFUSED = f"connection refused by {HOSTILE}"
# The seeded outbox, newest first: (monitor, channel, event, status).
NOTIFICATIONS = [
    ("health", "ops", "anomaly", "pending"),
    ("book flow", "ops", "reminder", "held"),
    ("book flow", "pager", "firing", "pending"),
    ("book flow", "ops", "firing", "failed"),
    ("health", "ops", "resolved", "delivered"),
    ("health", "ops", "firing", "delivered"),
]


def seed_notification(store: MemoryStore, kind: str, monitor: str, channel: str, at: float, *,
                      held: bool = False,
                      failures: tuple[tuple[float, str, float | None], ...] = (),
                      delivered_at: float | None = None) -> None:
    """Queue a notification at ``at`` and play its deliveries: ``failures`` are
    ``(when, error, next attempt or None to give up)``, then maybe a delivery."""
    event = AlertEvent(kind, monitor, channel, "local", at, f"{monitor}: {kind}",
                       f"{monitor}|{channel}|{kind}|{at:.0f}")
    assert store.enqueue(event, payload(event), at, held=held)
    item_id = store.outbox(limit=1)[0].id
    for when, error, retry_at in failures:
        store.mark_failed(item_id, when, error, retry_at)
    if delivered_at is not None:
        store.mark_delivered(item_id, delivered_at)


def seed_outbox(store: MemoryStore) -> None:
    """``NOTIFICATIONS``: ``health``'s firing and resolved delivered; ``book flow``'s firing
    given up after 5 attempts on ``ops`` and retrying on ``pager`` (its error is hostile
    markup), its reminder held by the silence; a fresh ``health`` anomaly."""
    seed_notification(store, "firing", "health", "ops", NOW - 39 * 600,
                      delivered_at=NOW - 39 * 600 + 1)
    seed_notification(store, "resolved", "health", "ops", NOW - 36 * 600,
                      failures=((NOW - 36 * 600, "timed out after 10s", NOW - 36 * 600 + 30),),
                      delivered_at=NOW - 36 * 600 + 31)
    start = NOW - 1500
    seed_notification(store, "firing", "book flow", "ops", start, failures=tuple(
        (start + 60 * n, BAD_GATEWAY, None if n == 4 else start + 60 * (n + 1))
        for n in range(5)))
    seed_notification(store, "firing", "book flow", "pager", start, failures=(
        (start, REFUSED, NOW - 60), (NOW - 60, REFUSED, NOW + 240)))
    seed_notification(store, "reminder", "book flow", "ops", NOW - 300, held=True)
    seed_notification(store, "anomaly", "health", "ops", NOW - 60)


def seeded_store() -> MemoryStore:
    """Two days of ``health`` runs every 10 minutes (3 failed 6 hours ago, a resolved
    incident then), ``book flow`` failing now with an open incident whose reason is
    hostile markup, ``cache port`` up (in maintenance), ``nightly-backup`` never pinged,
    one active silence, and the notifications of ``seed_outbox``."""
    store = MemoryStore()
    for i in range(288):
        at = NOW - (i + 1) * 600 + 5
        failed = i in HEALTH_FAILED
        store.add_result(RunResult("health", "local", at, at - 5, not failed,
                                   503 if failed else 200, 40.0 + (i % 5) * 10,
                                   "status 503, expected 200" if failed else None))
    store.open_incident("health", NOW - 39 * 600, "status 503, expected 200", "local")
    store.resolve_incident("health", NOW - 36 * 600)
    for i in range(3):
        at = NOW - (i + 1) * 600 + 7
        store.add_result(RunResult("book flow", "local", at, at, False, 500, 120.0, HOSTILE))
    store.open_incident("book flow", NOW - 1500, HOSTILE, "local")
    store.add_result(RunResult("cache port", "local", NOW - 300, NOW - 300, True, None, 1.5))
    store.add_silence("book flow", NOW - 600, NOW + 3000, "known outage", "ops")
    seed_outbox(store)
    return store


def web_view(folder: Path, store: MemoryStore | None = None) -> StaticView:
    """A ``StaticView`` over the config above and ``store`` (seeded), at ``NOW``."""
    return StaticView(web_config(folder), store if store is not None else seeded_store(),
                      location="eu-1", db_url=DB_URL, clock=lambda: NOW)


@pytest.fixture()
def view(tmp_path) -> StaticView:
    return web_view(tmp_path)


@pytest.fixture()
def api(view):
    """A client of the app with --auth-token, sending the token."""
    with serve(create_app(view, auth_token=TOKEN)) as url:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    return body


def test_monitors_list_states_in_config_order(api):
    monitors = api.get("/api/monitors").json()
    assert [(m["name"], m["state"]) for m in monitors] == [
        ("health", "up"), ("book flow", "firing"), ("nightly-backup", "unknown"),
        ("cache port", "maintenance")]
    health, book, backup, _ = monitors
    assert health["last_result"]["at"] == "2025-06-15T14:56:45Z"
    assert (health["last_result"]["status"], health["group"], health["every_s"]) == (
        200, "API", 600.0)
    assert book["reason"] == HOSTILE and book["last_result"]["outcome"] == "down"
    assert backup["last_result"] is None and backup["kind"] == "heartbeat"


def test_pause_and_resume_through_the_api(api, view):
    paused = api.post("/api/monitors/health/pause")
    assert paused.status_code == 200
    assert (paused.json()["state"], paused.json()["paused"]) == ("paused", True)
    assert view.store.paused() == {"health"}
    assert api.get("/api/monitors").json()[0]["state"] == "paused"
    resumed = api.post("/api/monitors/health/resume")
    assert (resumed.json()["state"], resumed.json()["paused"]) == ("up", False)
    assert view.store.paused() == set()
    body = _problem(api.post("/api/monitors/no such monitor/pause"), 404)
    assert "no such monitor" in body["detail"]


def test_results_filter_by_monitor_location_time_and_limit(api, view):
    view.store.add_result(RunResult("health", "us-1", NOW - 100, NOW - 100, True, 200, 90.0))
    everything = api.get("/api/results", params={"monitor": "health", "limit": 1000}).json()
    assert len(everything) == 289
    assert [r["at"] for r in everything] == sorted((r["at"] for r in everything), reverse=True)
    us = api.get("/api/results", params={"location": "us-1"}).json()
    assert [(r["monitor"], r["latency_ms"]) for r in us] == [("health", 90.0)]
    # The same hour, as an RFC 3339 time with an offset and as epoch seconds.
    by_text = api.get("/api/results", params={
        "monitor": "health", "since": "2025-06-15T16:06:40+02:00",
        "until": "2025-06-15T14:36:40Z"}).json()
    by_epoch = api.get("/api/results", params={
        "monitor": "health", "since": str(NOW - 3600), "until": str(NOW - 1800)}).json()
    assert by_text == by_epoch
    assert [r["at"] for r in by_text] == ["2025-06-15T14:26:45Z", "2025-06-15T14:16:45Z",
                                          "2025-06-15T14:06:45Z"]
    assert len(api.get("/api/results", params={"limit": 2}).json()) == 2
    failed = [r for r in everything if not r["ok"]]
    assert {r["reason"] for r in failed} == {"status 503, expected 200"}


@pytest.mark.parametrize(("name", "value"), [
    ("since", "yesterday"), ("until", "2025-02-30T00:00:00Z"), ("since", "-5"),
    ("limit", "0"), ("limit", "1001"), ("limit", "ten")])
def test_bad_result_parameters_are_400_naming_the_parameter(api, name, value):
    body = _problem(api.get("/api/results", params={name: value}), 400)
    assert [e["field"] for e in body["errors"]] == [name]
    assert name in body["detail"]


def test_incidents_newest_first_and_by_monitor(api):
    incidents = api.get("/api/incidents").json()
    assert [(i["monitor"], i["open"]) for i in incidents] == [("book flow", True),
                                                              ("health", False)]
    health = api.get("/api/incidents", params={"monitor": "health"}).json()
    assert health[0]["started_at"] == "2025-06-15T08:36:40Z"
    assert health[0]["resolved_at"] == "2025-06-15T09:06:40Z"
    assert api.get("/api/incidents", params={"since": str(NOW - 3600)}).json()[0][
        "monitor"] == "book flow"


def _summary(notifications: list[dict]) -> list[tuple[str, str, str, str]]:
    return [(n["monitor"], n["channel"], n["event"], n["status"]) for n in notifications]


def test_notifications_newest_first_with_status_attempts_and_errors(api):
    notifications = api.get("/api/notifications").json()
    assert _summary(notifications) == NOTIFICATIONS
    anomaly, held, retrying, failed, resolved, _ = notifications
    assert failed == {
        "id": failed["id"], "event": "firing", "monitor": "book flow", "channel": "ops",
        "dedup_key": "book flow|ops|firing|1749998500", "created_at": "2025-06-15T14:41:40Z",
        "attempts": 5, "next_attempt_at": "2025-06-15T14:45:40Z", "delivered_at": None,
        "gave_up_at": "2025-06-15T14:45:40Z", "last_error": BAD_GATEWAY, "status": "failed",
        "message": "book flow: firing"}
    assert (retrying["attempts"], retrying["last_error"], retrying["gave_up_at"]) == (
        2, REFUSED, None)
    assert retrying["next_attempt_at"] == "2025-06-15T15:10:40Z"
    assert (resolved["attempts"], resolved["delivered_at"], resolved["last_error"]) == (
        2, "2025-06-15T09:07:11Z", "timed out after 10s")
    assert (anomaly["attempts"], anomaly["last_error"]) == (0, None)
    assert held["delivered_at"] is None and held["gave_up_at"] is None


@pytest.mark.parametrize("status", ["pending", "held", "delivered", "failed"])
def test_notifications_by_status(api, status):
    found = api.get("/api/notifications", params={"status": status}).json()
    assert _summary(found) == [n for n in NOTIFICATIONS if n[3] == status]


def test_notifications_by_monitor_channel_and_limit(api):
    health = api.get("/api/notifications", params={"monitor": "health"}).json()
    assert _summary(health) == [n for n in NOTIFICATIONS if n[0] == "health"]
    pager = api.get("/api/notifications", params={"channel": "pager"}).json()
    assert _summary(pager) == [("book flow", "pager", "firing", "pending")]
    both = api.get("/api/notifications", params={
        "monitor": "book flow", "channel": "ops", "status": "held"}).json()
    assert _summary(both) == [("book flow", "ops", "reminder", "held")]
    newest = api.get("/api/notifications", params={"monitor": "health", "limit": 2}).json()
    assert [n["event"] for n in newest] == ["anomaly", "resolved"]
    assert len(api.get("/api/notifications", params={"limit": 3}).json()) == 3
    assert api.get("/api/notifications", params={"monitor": "nobody"}).json() == []
    assert api.get("/api/notifications", params={"channel": ""}).json() == []


def test_notification_filters_reach_past_the_newest_items(tmp_path):
    store = MemoryStore()
    seed_notification(store, "firing", "old", "ops", NOW - 5000, failures=(
        (NOW - 4999, "HTTP 404", None),))
    for i in range(900):
        seed_notification(store, "anomaly", "busy", "ops", NOW - 4000 + i)
    with serve(create_app(web_view(tmp_path, store))) as url:
        found = httpx.get(f"{url}/api/notifications", params={"monitor": "old"}).json()
        failed = httpx.get(f"{url}/api/notifications", params={"status": "failed"}).json()
        pending = httpx.get(f"{url}/api/notifications",
                            params={"status": "pending", "limit": 1000}).json()
    assert _summary(found) == _summary(failed) == [("old", "ops", "firing", "failed")]
    assert len(pending) == 900


@pytest.mark.parametrize("value", ["lost", "", "FAILED", "delivered,failed"])
def test_a_bad_notification_status_is_400_naming_it(api, value):
    body = _problem(api.get("/api/notifications", params={"status": value}), 400)
    assert [e["field"] for e in body["errors"]] == ["status"]
    assert "pending, held, delivered, failed" in body["errors"][0]["message"]


def test_silence_create_read_list_delete(api, view):
    created = api.post("/api/silences", json={
        "monitor": "payments-*", "starts_at": "2025-06-15T17:00:00+02:00", "duration": "90m",
        "reason": "deploy"})
    assert created.status_code == 201, created.text
    silence = created.json()
    assert created.headers["location"] == f"/api/silences/{silence['id']}"
    assert (silence["starts_at"], silence["ends_at"]) == ("2025-06-15T15:00:00Z",
                                                          "2025-06-15T16:30:00Z")
    assert (silence["active"], silence["created_by"]) == (True, "api")
    assert api.get(created.headers["location"]).json() == silence
    assert [s["monitor"] for s in api.get("/api/silences").json()] == ["book flow",
                                                                      "payments-*"]
    stored = [s for s in view.store.silences() if s.id == silence["id"]]
    assert stored[0].ends_at - stored[0].starts_at == 5400
    assert api.delete(created.headers["location"]).status_code == 204
    _problem(api.delete(created.headers["location"]), 404)
    _problem(api.get(created.headers["location"]), 404)
    assert [s.monitor for s in view.store.silences()] == ["book flow"]


def test_silence_ends_at_epoch_and_default_start(api):
    silence = api.post("/api/silences", json={"monitor": "health", "ends_at": NOW + 60}).json()
    assert (silence["starts_at"], silence["ends_at"]) == ("2025-06-15T15:06:40Z",
                                                          "2025-06-15T15:07:40Z")


@pytest.mark.parametrize(("body", "fields"), [
    ({"monitor": "health"}, ["ends_at"]),
    ({"monitor": "health", "ends_at": NOW, "duration": 60}, ["ends_at"]),
    ({"duration": "1h"}, ["monitor"]),
    ({"monitor": "", "duration": "1x"}, ["monitor", "duration"]),
    ({"monitor": "health", "duration": -1}, ["duration"]),
    ({"monitor": "health", "ends_at": True}, ["ends_at"]),
    ({"monitor": "health", "ends_at": "tomorrow"}, ["ends_at"]),
    ({"monitor": "a\x00b", "duration": 5}, ["monitor"]),
    (["health"], ["body"]),
])
def test_invalid_silences_are_422_naming_every_field(api, body, fields):
    found = _problem(api.post("/api/silences", json=body), 422)
    assert [e["field"] for e in found["errors"]] == fields


def test_malformed_json_is_400_and_bad_ids_are_400_or_404(api):
    _problem(api.post("/api/silences", content=b"{not json",
                      headers={"content-type": "application/json"}), 400)
    _problem(api.post("/api/silences", content=b'{"monitor": "x", "duration": NaN}'), 400)
    assert _problem(api.delete("/api/silences/abc"), 400)["errors"][0]["field"] == "silenceId"
    _problem(api.delete("/api/silences/" + "9" * 40), 404)


def test_heartbeat_is_public_and_only_for_heartbeat_monitors(view):
    with serve(create_app(view, auth_token=TOKEN)) as url:
        ping = httpx.post(f"{url}/api/heartbeat/nightly-backup")
        assert ping.status_code == 200
        assert ping.json() == {"monitor": "nightly-backup", "received_at": "2025-06-15T15:06:40Z"}
        assert view.store.last_heartbeat("nightly-backup") == NOW
        _problem(httpx.post(f"{url}/api/heartbeat/health"), 404)
        _problem(httpx.post(f"{url}/api/heartbeat/nobody"), 404)
        assert view.store.last_heartbeat("health") is None


def test_token_gate(view):
    with serve(create_app(view, auth_token=TOKEN)) as url:
        for path in ("/api/monitors", "/api/openapi.json", "/", "/monitors/health"):
            denied = httpx.get(url + path)
            _problem(denied, 401)
            assert denied.headers["www-authenticate"].startswith("Bearer")
        wrong = httpx.get(f"{url}/api/monitors", headers={"Authorization": "Bearer nope"})
        _problem(wrong, 401)
        for path in ("/status", "/metrics"):
            assert httpx.get(url + path).status_code == 200


def test_a_page_opened_with_the_token_sets_a_session_cookie_for_pages_only(view):
    with serve(create_app(view, auth_token=TOKEN)) as url:
        opened = httpx.get(f"{url}/monitors/health?range=7d&token={TOKEN}")
        assert opened.status_code == 303
        assert opened.headers["location"] == "/monitors/health?range=7d"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert TOKEN not in cookie and session_value(TOKEN) in cookie
        session = {"assay_session": session_value(TOKEN)}
        assert httpx.get(f"{url}/monitors/health", cookies=session).status_code == 200
        _problem(httpx.get(f"{url}/api/monitors", cookies=session), 401)
        _problem(httpx.get(f"{url}/?token=wrong"), 401)


def test_without_a_token_everything_is_open(view):
    with serve(create_app(view)) as url:
        assert httpx.get(f"{url}/api/monitors").status_code == 200
        assert httpx.get(f"{url}/").status_code == 200


def test_dashboard_buttons_refuse_other_origins(view):
    with serve(create_app(view)) as url:
        other = httpx.post(f"{url}/monitors/health/pause", headers={
            "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
        assert other.status_code == 403
        assert view.store.paused() == set()
        same = httpx.post(f"{url}/monitors/health/pause?back=monitor",
                          headers={"Origin": url, "Sec-Fetch-Site": "same-origin"})
        assert (same.status_code, same.headers["location"]) == (303, "/monitors/health")
        assert view.store.paused() == {"health"}


def test_errors_and_security_headers_everywhere(api):
    undeclared = api.patch("/api/monitors")
    _problem(undeclared, 405)
    assert undeclared.headers["allow"]
    _problem(api.get("/api/nothing/here"), 404)
    _problem(api.get("/api/silences/"), 404)
    listed = api.get("/api/monitors")
    assert listed.headers["x-content-type-options"] == "nosniff"
    assert listed.headers["content-security-policy"].startswith("default-src 'none'")
    page = api.get("/")
    csp = page.headers["content-security-policy"]
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'<script nonce="{nonce}">' in page.text
    assert "unsafe-inline" not in csp and "script-src 'nonce-" in csp


def test_pages_escape_config_and_api_text_and_redact_the_database(api):
    for path in ("/", "/monitors/book flow", "/status"):
        text = api.get(path).text
        assert "<script>window.__pwned" not in text
        assert "pg-s3cret-pw" not in text
    dashboard = api.get("/").text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in dashboard
    assert "postgresql+psycopg://assay:***@127.0.0.1:5432/assay" in dashboard
    # The public page shows no failure reason (they can name internal hosts).
    assert "__pwned" not in api.get("/status").text
    assert "pg-s3cret-pw" not in api.get("/api/openapi.json").text


def test_notifications_are_on_the_dashboard_and_monitor_pages_not_on_the_status_page(api):
    assert BAD_GATEWAY in api.get("/").text
    health = api.get("/monitors/health").text
    assert "timed out after 10s" in health and BAD_GATEWAY not in health
    assert BAD_GATEWAY in api.get("/monitors/book flow").text
    public = api.get("/status").text
    assert 'id="notifications"' not in public and "Bad Gateway" not in public


def test_unknown_monitor_page_and_range_are_html_errors(api):
    missing = api.get("/monitors/nobody")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "There is no monitor &#39;nobody&#39;." in missing.text
    bad_range = api.get("/monitors/health", params={"range": "1y"})
    assert bad_range.status_code == 400 and "24h, 7d, 30d" in bad_range.text
    assert api.get("/monitors/health", params={"range": "30d"}).status_code == 200


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-06-15T15:06:40Z", NOW),
    ("2025-06-15t17:06:40.5+02:00", NOW + 0.5),
    ("2025-06-15T15:06:40Z\n", NOW),
    ("1750000000", NOW),
    ("1750000000.25", NOW + 0.25),
    ("2024-02-29T00:00:00Z", 1709164800.0),
    ("0001-01-01T00:00:00+23:59", -62135596800.0),  # clamped to the year 1
    ("0001-01-01T00:00:00-01:00", -62135596800.0 + 3600),
    ("2023-02-29T00:00:00Z", None),
    ("0000-01-01T00:00:00Z", None),
    ("2025-06-15 15:06:40Z", None),
    ("-1", None),
    ("1e9", None),
    ("", None),
])
def test_time_parameters(text, expected):
    assert parse_time_text(text) == expected


def test_days_from_civil_agrees_with_datetime():
    for year in (1, 4, 100, 400, 1600, 1969, 1970, 2000, 2024, 2100, 9999):
        for month, day in ((1, 1), (2, 28), (3, 1), (12, 31)):
            moment = datetime(year, month, day, tzinfo=UTC)
            epoch = (moment - datetime(1970, 1, 1, tzinfo=UTC)).days
            assert days_from_civil(year, month, day) == epoch


class BrokenView(StaticView):
    """A view whose state lookup fails (a bug in a runner)."""

    def states(self):
        raise RuntimeError("the runner crashed at /srv/secret/path")


def test_a_bug_is_a_500_problem_without_details(tmp_path):
    view = BrokenView(web_config(tmp_path), seeded_store(), clock=lambda: NOW)
    with serve(create_app(view)) as url:
        crashed = httpx.get(f"{url}/api/monitors")
        body = _problem(crashed, 500)
        assert "/srv/secret" not in crashed.text and "assay" in body["detail"]
        assert httpx.get(f"{url}/api/silences").status_code == 200

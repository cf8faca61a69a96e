"""One run of one monitor against real servers on 127.0.0.1: HTTP requests and scenarios
(auth, captures, expectations, timeouts, retries), TCP connects, TLS certificates, heartbeats."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from pathlib import Path

import pytest
import trustme
import yaml

from assay.core.secrets import Secrets
from assay.engine.monitor_probes import Prober, cert_outcome, heartbeat_outcome
from assay.monitor.config import load_config
from assay.monitor.model import Comparison, Monitor, MonitorConfig
from assay.suites import load_suite
from servers import Canned, Received, RecordingApp, serve

TOKEN = "s3cr3t-bearer-token"


def _config(tmp_path: Path, base_url: str, scenarios: list[dict], **extra) -> MonitorConfig:
    document = {"base_url": base_url, "auth": {"bearer": TOKEN},
                "headers": {"X-Team": "{{ team }}"}, "variables": {"team": "ops"},
                "scenarios": scenarios, **extra}
    path = tmp_path / "monitors.yaml"
    path.write_text(yaml.safe_dump(document))
    suite = load_suite(path)
    monitors = tuple(Monitor(s.name, "scenario", every_s=10, scenario=s) for s in suite.scenarios)
    return MonitorConfig(str(path), suite, monitors)


def _one_request(request: dict, expect: dict | None = None) -> list[dict]:
    step = {"request": request}
    if expect is not None:
        step["expect"] = expect
    return [{"name": "health", "steps": [step]}]


def _http(config: MonitorConfig, name: str = "health", **changes) -> Monitor:
    scenario = next(s for s in config.suite.scenarios if s.name == name)
    fields = {"every_s": 10.0, "scenario": scenario, **changes}
    return Monitor(name, "http", **fields)


def _run(config: MonitorConfig, monitor: Monitor, **kwargs):
    async def main():
        async with Prober(config, location="eu-1", secrets=Secrets(),
                          retry_pause_s=0.01) as prober:
            return await prober.run(monitor, 1000.0, now=lambda: 1000.5, **kwargs)
    return asyncio.run(main())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- HTTP ---------------------------------------------------------------------------------

def test_http_monitor_ok_sends_suite_auth_and_headers(tmp_path):
    app = RecordingApp({"GET /health": Canned(200, {"status": "ok"})})
    with serve(app) as url:
        config = _config(tmp_path, url, _one_request({"method": "GET", "path": "/health"},
                                                     {"status": 200, "latency": "< 5s"}))
        result = _run(config, _http(config))
    assert (result.ok, result.status, result.reason, result.attempts) == (True, 200, None, 1)
    assert (result.monitor, result.location, result.at, result.planned_at) == (
        "health", "eu-1", 1000.5, 1000.0)
    assert result.latency_ms is not None and result.latency_ms > 0
    [received] = app.received
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
    assert received.headers["x-team"] == "ops"


def test_http_monitor_wrong_status_fails_with_the_expectation(tmp_path):
    app = RecordingApp({"GET /health": Canned(503, {"status": "down"})})
    with serve(app) as url:
        config = _config(tmp_path, url, _one_request({"method": "GET", "path": "/health"},
                                                     {"status": 200}))
        result = _run(config, _http(config))
    assert (result.ok, result.status) == (False, 503)
    assert result.reason == "expected status 200, got 503"


def test_latency_expectation_fails_a_slow_answer(tmp_path):
    app = RecordingApp({"GET /health": Canned(200, {}, delay=0.3)})
    with serve(app) as url:
        config = _config(tmp_path, url, _one_request({"method": "GET", "path": "/health"},
                                                     {"status": 200, "latency": "< 50ms"}))
        result = _run(config, _http(config))
    assert not result.ok and result.status == 200
    assert result.reason.startswith("expected response time < 50ms, got ")


def test_timeout_bounds_the_whole_run(tmp_path):
    app = RecordingApp({"GET /health": Canned(200, {}, delay=0.5)})
    with serve(app) as url:
        config = _config(tmp_path, url, _one_request({"method": "GET", "path": "/health"}))
        result = _run(config, _http(config, timeout_s=0.1))
    assert (result.ok, result.status, result.reason) == (False, None, "timeout after 0.1 s")
    assert len(app.received) == 1


def test_refused_connection_is_a_failed_run(tmp_path):
    port = _closed_port()
    config = _config(tmp_path, f"http://127.0.0.1:{port}",
                     _one_request({"method": "GET", "path": "/health"}))
    result = _run(config, _http(config))
    assert not result.ok
    assert result.reason == f"connection refused by 127.0.0.1:{port}"


def test_secrets_never_appear_in_a_reason(tmp_path):
    def echo(request: Received) -> Canned:
        return Canned(200, {"seen": request.headers.get("authorization", "")})

    app = RecordingApp({"GET /whoami": echo})
    with serve(app) as url:
        config = _config(tmp_path, url, _one_request(
            {"method": "GET", "path": "/whoami"}, {"json": {"$.seen": "nobody"}}))
        result = _run(config, _http(config))
    assert not result.ok
    assert "$.seen" in result.reason and "[REDACTED]" in result.reason
    assert TOKEN not in result.reason


# -- scenarios and retries ---------------------------------------------------------------

BOOK_FLOW = [{"name": "book flow", "steps": [
    {"request": {"method": "POST", "path": "/books", "json": {"title": "Dune"}},
     "expect": {"status": 201}, "capture": {"book_id": "$.id"}},
    {"request": {"method": "GET", "path": "/books/{{ book_id }}"}, "expect": {"status": 200}},
]}]


def test_scenario_monitor_carries_captures_between_steps(tmp_path):
    app = RecordingApp({"POST /books": Canned(201, {"id": 42}),
                        "GET /books/42": Canned(200, {"id": 42, "title": "Dune"})})
    with serve(app) as url:
        config = _config(tmp_path, url, BOOK_FLOW)
        result = _run(config, config.monitors[0])
    assert (result.ok, result.status, result.reason) == (True, 200, None)
    assert [(r.method, r.path) for r in app.received] == [("POST", "/books"), ("GET", "/books/42")]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in app.received)


def test_scenario_reason_names_the_failing_step_as_written(tmp_path):
    app = RecordingApp({"POST /books": Canned(201, {"id": 7})})
    with serve(app) as url:
        config = _config(tmp_path, url, BOOK_FLOW)
        result = _run(config, config.monitors[0])
    assert (result.ok, result.status) == (False, 404)
    assert result.reason == "step 2 GET /books/{{ book_id }}: expected status 200, got 404"


def test_scenario_stops_at_a_capture_that_finds_nothing(tmp_path):
    app = RecordingApp({"POST /books": Canned(201, {"no_id": True})})
    with serve(app) as url:
        config = _config(tmp_path, url, BOOK_FLOW)
        result = _run(config, config.monitors[0])
    assert not result.ok
    assert result.reason == "step 1 POST /books: capture book_id: $.id: no match"
    assert len(app.received) == 1


def test_retries_rerun_the_scenario_and_count_attempts(tmp_path):
    calls: list[int] = []

    def flaky(request: Received) -> Canned:
        calls.append(1)
        return Canned(500 if len(calls) == 1 else 200, {})

    app = RecordingApp({"GET /health": flaky})
    with serve(app) as url:
        config = _config(tmp_path, url, _one_request({"method": "GET", "path": "/health"},
                                                     {"status": 200}))
        result = _run(config, _http(config, retries=2))
    assert (result.ok, result.attempts, result.status) == (True, 2, 200)
    assert len(app.received) == 2


def test_retries_give_up_after_the_last_attempt(tmp_path):
    app = RecordingApp({"GET /health": Canned(500, {})})
    with serve(app) as url:
        config = _config(tmp_path, url, _one_request({"method": "GET", "path": "/health"},
                                                     {"status": 200}))
        result = _run(config, _http(config, retries=2))
    assert (result.ok, result.attempts, result.reason) == (
        False, 3, "expected status 200, got 500")
    assert len(app.received) == 3


# -- TCP ------------------------------------------------------------------------------------

def _suite_only(tmp_path: Path) -> MonitorConfig:
    return _config(tmp_path, "http://127.0.0.1:9", _one_request({"method": "GET", "path": "/"}))


def test_tcp_monitor_open_and_closed_ports(tmp_path):
    config = _suite_only(tmp_path)

    async def main():
        accepted: list[bool] = []

        async def on_connect(reader, writer):
            accepted.append(True)
            writer.close()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        closed = _closed_port()
        async with Prober(config, location="l", secrets=Secrets()) as prober:
            up = await prober.run(Monitor("db", "tcp", host="127.0.0.1", port=port), 5.0)
            down = await prober.run(Monitor("db", "tcp", host="127.0.0.1", port=closed), 5.0)
        await asyncio.sleep(0.05)  # let the server accept before closing it
        server.close()
        await server.wait_closed()
        return up, down, closed, accepted

    up, down, closed, accepted = asyncio.run(main())
    assert (up.ok, up.status, up.reason) == (True, None, None)
    assert up.latency_ms is not None and up.latency_ms >= 0
    assert accepted == [True]
    assert (down.ok, down.reason) == (False, f"connection refused by 127.0.0.1:{closed}")


# -- TLS ------------------------------------------------------------------------------------

@pytest.fixture
def short_lived_cert(tmp_path, monkeypatch):
    """A certificate for 127.0.0.1 that expires in 10 days, trusted through SSL_CERT_FILE
    (the variable OpenSSL's default verify paths read)."""
    ca = trustme.CA()
    not_after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=10)
    cert = ca.issue_cert("127.0.0.1", not_after=not_after)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context, ca_file, not_after.timestamp()


async def _tls_run(config: MonitorConfig, context: ssl.SSLContext, monitor_fields: dict,
                   *, verify: bool = True):
    async def on_connect(reader, writer):
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    monitor = Monitor("cert", "tls", host="127.0.0.1", port=port, **monitor_fields)
    async with Prober(config, location="l", secrets=Secrets(), verify=verify) as prober:
        result = await prober.run(monitor, 0.0)
    server.close()
    await server.wait_closed()
    return result


def test_tls_monitor_reads_days_left(tmp_path, monkeypatch, short_lived_cert):
    context, ca_file, expires = short_lived_cert
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    config = _suite_only(tmp_path)
    strict = asyncio.run(_tls_run(config, context, {"cert_days_left": Comparison(">", 14)}))
    lenient = asyncio.run(_tls_run(config, context, {"cert_days_left": Comparison(">", 7)}))
    default = asyncio.run(_tls_run(config, context, {}))
    assert not strict.ok
    assert strict.reason.startswith("certificate expires in 9.9 days (") or \
        strict.reason.startswith("certificate expires in 10.0 days (")
    assert strict.reason.endswith("), expected days left > 14")
    assert (lenient.ok, lenient.reason) == (True, None)
    assert default.ok and default.latency_ms > 0


def test_tls_monitor_fails_an_untrusted_chain(tmp_path, monkeypatch, short_lived_cert):
    context, _, _ = short_lived_cert
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    (tmp_path / "no-certs").mkdir()
    monkeypatch.setenv("SSL_CERT_FILE", str(other_ca))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-certs"))
    config = _suite_only(tmp_path)
    verified = asyncio.run(_tls_run(config, context, {}))
    unverified = asyncio.run(_tls_run(config, context, {}, verify=False))
    assert not verified.ok
    assert "not trusted" in verified.reason and "127.0.0.1" in verified.reason
    assert unverified.ok


def test_cert_outcome_names_days_and_expiry():
    day = 86400.0
    assert cert_outcome(20 * day, 0.0, Comparison(">", 14)).ok
    expired = cert_outcome(0.0, 2 * day, Comparison(">", 0))
    assert expired.reason == ("certificate expired 2.0 days ago (1970-01-01T00:00:00Z), "
                              "expected days left > 0")


# -- heartbeat ------------------------------------------------------------------------------

def test_heartbeat_within_every_plus_grace():
    monitor = Monitor("nightly", "heartbeat", every_s=3600, grace_s=600)
    assert heartbeat_outcome(monitor, 10_000.0, 10_000.0 + 4200).ok
    late = heartbeat_outcome(monitor, 10_000.0, 10_000.0 + 4201)
    assert (late.ok, late.reason) == (False, "no heartbeat since 1970-01-01T02:46:40Z")
    never = heartbeat_outcome(monitor, None, 0.0)
    assert (never.ok, never.reason) == (False, "never received a heartbeat")


def test_heartbeat_run_uses_the_injected_clock(tmp_path):
    config = _suite_only(tmp_path)
    monitor = Monitor("nightly", "heartbeat", every_s=60, grace_s=0)
    fresh = _run(config, monitor, last_heartbeat=1000.5 - 60)
    stale = _run(config, monitor, last_heartbeat=1000.5 - 61)
    assert (fresh.ok, fresh.at, fresh.latency_ms) == (True, 1000.5, None)
    assert not stale.ok and stale.reason.startswith("no heartbeat since 1970-01-01T00:15:39")


# -- the issue's configuration, read by load_config ---------------------------------------

ISSUE_CONFIG = """\
base_url: {url}
scenarios:
  - name: create then read a book
    steps:
      - request: {{method: POST, path: /books, json: {{title: Dune, author: Herbert}}}}
        expect: {{status: 201}}
        capture: {{book_id: $.id}}
      - request: {{method: GET, path: "/books/{{{{ book_id }}}}"}}
        expect: {{status: 200}}
monitors:
  - name: health
    request: {{method: GET, path: /health}}
    expect: {{status: 200, latency: "< 500ms"}}
    every: 1s
  - name: book flow
    scenario: create then read a book
    every: 30s
"""


def test_the_issue_configuration_runs_as_written(tmp_path):
    app = RecordingApp({"GET /health": Canned(200, {"ok": True}),
                        "POST /books": Canned(201, {"id": 9}),
                        "GET /books/9": Canned(200, {"id": 9})})
    with serve(app) as url:
        path = tmp_path / "monitors.yaml"
        path.write_text(ISSUE_CONFIG.format(url=url))
        config = load_config(path)

        async def main():
            async with Prober(config, location="local", secrets=Secrets()) as prober:
                return [await prober.run(m, 0.0) for m in config.monitors]

        health, flow = asyncio.run(main())
    assert [m.kind for m in config.monitors] == ["http", "scenario"]
    assert (health.monitor, health.ok, health.status) == ("health", True, 200)
    assert (flow.monitor, flow.ok, flow.status) == ("book flow", True, 200)
    assert [(r.method, r.path) for r in app.received] == [
        ("GET", "/health"), ("POST", "/books"), ("GET", "/books/9")]
    assert app.received[1].json() == {"title": "Dune", "author": "Herbert"}

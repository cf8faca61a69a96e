"""The monitors file: the issue's example as written, every monitor kind, per-channel
overrides, SLOs, maintenance windows, ${ENV}, the secrets it holds, and errors that name
the file, the line and the key path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from assay.core.errors import ConfigError, SuiteError
from assay.monitor.config import (
    config_digest,
    config_secrets,
    load_config,
    monitors_schema,
    parse_config,
)
from assay.monitor.model import AlertSettings, Comparison
from assay.suites.yamlio import parse_yaml

# Apprise loads its e-mail plugin, which imports the deprecated imghdr module (a warning
# raised inside Apprise, not assay).
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

ISSUE_FILE = """\
base_url: http://127.0.0.1:18080
scenarios:
  - name: create then read a book        # same syntax as suites
    steps:
      - request: {method: POST, path: /books, json: {title: Dune, author: Herbert}}
        expect: {status: 201}
        capture: {book_id: $.id}
      - request: {method: GET, path: "/books/{{ book_id }}"}
        expect: {status: 200}
monitors:
  - name: health
    request: {method: GET, path: /health}
    expect: {status: 200, latency: "< 500ms"}
    every: 1s
  - name: book flow
    scenario: create then read a book
    every: 30s
notify:
  - name: ops
    webhook: http://127.0.0.1:18081/hook
    failure_threshold: 3
    success_threshold: 2
    send_on_resolved: true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitors.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    return load_config(write(tmp_path, text), env=env or {})


def load_error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    assert info.value.source == str(path)
    assert str(info.value).startswith(f"{path}: line ")
    return info.value


def one_monitor(body: str, tail: str = "") -> str:
    """A file with one monitor whose keys (indented by 4) are ``body``."""
    return "base_url: http://127.0.0.1:1\nmonitors:\n  - name: m\n" + body + tail


def test_the_issue_file_works_as_written(tmp_path):
    config = load(tmp_path, ISSUE_FILE)
    assert config.source == str(tmp_path / "monitors.yaml")
    assert config.suite.base_url == "http://127.0.0.1:18080"
    health, flow = config.monitors
    assert (health.name, health.kind, health.every_s, health.cron) == ("health", "http", 1.0,
                                                                       None)
    assert health.timeout_s == 10.0 and health.retries == 0 and health.line == 11
    (step,) = health.scenario.steps
    assert health.scenario.name == "health"
    assert (step.request.method, step.request.path) == ("GET", "/health")
    assert step.expect.status == (200,) and step.expect.latency == ("<", 0.5)
    assert (flow.kind, flow.every_s, flow.line) == ("scenario", 30.0, 15)
    assert flow.scenario is config.suite.scenarios[0]
    assert [s.name for s in flow.scenario.steps] == ["POST /books", "GET /books/{{ book_id }}"]
    assert flow.scenario.steps[0].capture[0].expression == "$.id"
    (ops,) = config.channels
    assert (ops.name, ops.kind, ops.url, ops.secret) == ("ops", "webhook",
                                                         "http://127.0.0.1:18081/hook", None)
    assert ops.settings == AlertSettings(failure_threshold=3, success_threshold=2,
                                         send_on_resolved=True)
    # No notify: on a monitor means every channel, with the channel's own settings.
    assert health.notify is None and health.channels(config.channels) == (ops,)
    assert health.settings_for(ops) == ops.settings
    assert config.maintenance == () and config.retention.raw_s == 7 * 86400


def test_every_monitor_kind(tmp_path):
    config = load(tmp_path, """\
monitors:
  - name: db port
    tcp: "db.internal:5432"
    every: 10s
  - name: cache port
    tcp: {host: "::1", port: 6379}
    cron: "*/5 * * * *"
    timeout: 2s
    retries: 2
  - name: cert
    tls: example.com
    expect: {cert_days_left: "> 14"}
    every: 1h
  - name: cert on 8443
    tls: "[2001:db8::1]:8443"
    expect: {cert_days_left: 30}
    every: 1d
  - name: cert mapping
    tls: {host: api.example.com}
    every: 12h
  - name: nightly job
    heartbeat: true
    every: 24h
    grace: 30m
  - name: by url
    request: {url: "https://api.example.com/ping"}
    every: 1
""")
    kinds = {m.name: m for m in config.monitors}
    assert [(m.kind, m.host, m.port) for m in config.monitors] == [
        ("tcp", "db.internal", 5432), ("tcp", "::1", 6379), ("tls", "example.com", 443),
        ("tls", "2001:db8::1", 8443), ("tls", "api.example.com", 443),
        ("heartbeat", None, None), ("http", None, None)]
    cache = kinds["cache port"]
    assert (cache.cron, cache.every_s, cache.timeout_s, cache.retries) == (
        "*/5 * * * *", None, 2.0, 2)
    assert kinds["cert"].cert_days_left == Comparison(">", 14.0)
    assert kinds["cert"].cert_days_left.holds(15) and not kinds["cert"].cert_days_left.holds(14)
    # A number alone means "at least that many days".
    assert kinds["cert on 8443"].cert_days_left == Comparison(">=", 30.0)
    assert kinds["cert on 8443"].every_s == 86400.0
    assert kinds["cert mapping"].cert_days_left is None
    beat = kinds["nightly job"]
    assert (beat.every_s, beat.grace_s, beat.scenario) == (86400.0, 1800.0, None)
    assert kinds["by url"].scenario.steps[0].request.url == "https://api.example.com/ping"
    assert kinds["by url"].every_s == 1.0
    assert all(m.scenario is None for m in config.monitors if m.kind in ("tcp", "tls"))


def test_notify_lists_and_per_channel_overrides(tmp_path):
    config = load(tmp_path, """\
monitors:
  - name: quiet
    tcp: h:1
    every: 1m
    notify: []
  - name: paged
    tcp: h:2
    every: 1m
    notify: [ops, ops]
    alerts:
      ops: {failure_threshold: 5, remind_every: 1h}
  - name: everywhere
    tcp: h:3
    every: 1m
    alerts:
      chat: {remind_every: false, send_on_resolved: false}
notify:
  - name: ops
    webhook: https://hooks.example.com/ops
    success_threshold: 4
    flap_window: 15m
    flap_threshold: 4
  - name: chat
    apprise: json://127.0.0.1:9/notify
    remind_every: 2h
""")
    ops, chat = config.channels
    quiet, paged, everywhere = config.monitors
    assert quiet.channels(config.channels) == ()
    assert paged.notify == ("ops",) and paged.channels(config.channels) == (ops,)
    assert ops.settings == AlertSettings(success_threshold=4, flap_window_s=900.0,
                                         flap_threshold=4)
    # An override changes only what it names; the rest comes from the channel.
    assert paged.settings_for(ops) == AlertSettings(failure_threshold=5, success_threshold=4,
                                                    remind_every_s=3600.0,
                                                    flap_window_s=900.0, flap_threshold=4)
    assert chat.kind == "apprise" and chat.settings.remind_every_s == 7200.0
    assert everywhere.settings_for(chat) == AlertSettings(remind_every_s=None,
                                                          send_on_resolved=False)
    assert everywhere.settings_for(ops) is ops.settings
    assert everywhere.channels(config.channels) == (ops, chat)


def test_slo_anomaly_and_the_rest_of_a_monitor(tmp_path):
    config = load(tmp_path, """\
monitors:
  - name: api
    description: The public API
    group: Core services
    request: {path: /health}
    every: 30s
    slo: {availability: 99.9%, latency: "p95 < 300ms", window: 30d}
    anomaly: {window: 50, threshold: 4, consecutive: 2}
    locations_failing: 2
  - name: search
    request: {path: /search}
    every: 30s
    slo: {latency: "p99.9 <= 1.1s"}
    anomaly: false
  - name: small baseline
    request: {path: /x}
    every: 30s
    slo: {availability: "99.95 %", window: 7d}
    anomaly: {window: 10}
""")
    api, search, small = config.monitors
    assert (api.slo.availability, api.slo.latency_quantile, api.slo.latency_ms,
            api.slo.window_s) == (0.999, 0.95, 300.0, 30 * 86400.0)
    assert (api.anomaly.enabled, api.anomaly.window, api.anomaly.threshold,
            api.anomaly.consecutive, api.anomaly.min_samples) == (True, 50, 4.0, 2, 20)
    assert (api.locations_failing, api.group, api.description) == (2, "Core services",
                                                                   "The public API")
    assert (search.slo.availability, search.slo.latency_quantile, search.slo.latency_ms) == (
        None, 0.999, 1100.0)
    assert search.slo.window_s == 30 * 86400.0 and search.anomaly.enabled is False
    assert (small.slo.availability, small.slo.window_s) == (0.9995, 7 * 86400.0)
    # A baseline of 10 runs cannot wait for 20 samples: it is trusted once full.
    assert (small.anomaly.window, small.anomaly.min_samples) == (10, 10)
    assert (small.group, small.locations_failing, small.slo.latency_ms) == ("default", 1, None)


def test_maintenance_both_forms_and_retention(tmp_path):
    config = load(tmp_path, """\
monitors:
  - name: api
    tcp: h:1
    every: 1m
  - name: db
    tcp: h:2
    every: 1m
maintenance:
  - start: 2025-06-01T02:00:00Z
    end: "2025-06-01T05:30:00+02:00"
    reason: database upgrade
  - cron: "0 2 * * SUN"
    duration: 2h
    monitors: [db]
retention: {raw: 14d, rollups: 400d}
""")
    once, weekly = config.maintenance
    assert once.start == datetime(2025, 6, 1, 2, 0, tzinfo=UTC).timestamp()
    assert once.end == datetime(2025, 6, 1, 3, 30, tzinfo=UTC).timestamp()
    assert (once.cron, once.duration_s, once.monitors, once.reason) == (
        None, None, (), "database upgrade")
    assert (weekly.cron, weekly.duration_s, weekly.monitors, weekly.start) == (
        "0 2 * * SUN", 7200.0, ("db",), None)
    assert (config.retention.raw_s, config.retention.rollups_s) == (14 * 86400.0, 400 * 86400.0)


def test_environment_variables_everywhere(tmp_path):
    config = load(tmp_path, """\
base_url: ${API_URL}
monitors:
  - name: api
    request: {path: /health, headers: {X-Tenant: "${TENANT:-acme}"}}
    every: ${EVERY:-15s}
    retries: ${RETRIES}
notify:
  - name: ops
    webhook: ${HOOK_URL}
    secret: ${HOOK_SECRET}
    failure_threshold: ${THRESHOLD:-4}
""", env={"API_URL": "http://127.0.0.1:9000", "RETRIES": "2",
          "HOOK_URL": "https://hooks.example.com/x", "HOOK_SECRET": "s3cr3t-hmac"})
    (api,) = config.monitors
    assert config.suite.base_url == "http://127.0.0.1:9000"
    assert api.scenario.steps[0].request.headers == {"X-Tenant": "acme"}
    # An unquoted ${VAR} is typed as if written in the file: retries is the number 2.
    assert (api.every_s, api.retries) == (15.0, 2)
    (ops,) = config.channels
    assert (ops.url, ops.secret, ops.settings.failure_threshold) == (
        "https://hooks.example.com/x", "s3cr3t-hmac", 4)


def test_an_unset_environment_variable_names_its_line(tmp_path):
    error = load_error(tmp_path, ISSUE_FILE + "    secret: ${HOOK_SECRET}\n")
    assert error.location == "line 24, key notify[0].secret"
    assert error.message.startswith("environment variable HOOK_SECRET is not set")


def test_config_secrets(tmp_path):
    config = load(tmp_path, """\
base_url: https://svc:basepw1@api.example.com
headers: {X-Api-Key: "${KEY}", Accept: application/json}
variables: {api_token: vartoken123, title: Dune}
auth:
  - bearer: "${TOKEN}"
  - basic: {username: bob, password: b0bpass}
monitors:
  - name: a
    request:
      path: /x
      headers: {Authorization: "Bearer reqtoken99", X-Trace: "{{ title }}"}
      query: {sig: qsig123, page: "2"}
    every: 1m
notify:
  - name: hook
    webhook: https://hooks.example.com/services/T0001/B0002/abcDEF123ghiJKL456mnoPQR?token=qtok9&x=1
    secret: "${HMAC}"
    headers: {Authorization: "Token hdrtok77", X-Team: platform}
  - name: slack
    apprise: slack://TokenA1/TokenB2/TokenC3/#general
  - name: mail
    apprise: mailto://user:m4ilpass@gmail.com
  - name: pagerduty
    apprise: pagerduty://intkey123@apikey456
""", env={"KEY": "k3ykey", "TOKEN": "t0ken0", "HMAC": "hm4c-key"})
    secrets = config_secrets(config)
    assert set(secrets) == {
        "hm4c-key", "hdrtok77", "qtok9", "abcDEF123ghiJKL456mnoPQR",
        "TokenA1", "TokenB2", "TokenC3", "m4ilpass", "user:m4ilpass", "intkey123", "apikey456",
        "t0ken0", "b0bpass", "bob:b0bpass", "k3ykey", "vartoken123", "basepw1", "svc:basepw1",
        "reqtoken99", "qsig123",
    }
    assert len(secrets) == len(set(secrets))
    # Names, hosts and plain values are not secrets: redacting them would hide useful text.
    assert not {"user", "gmail.com", "platform", "Dune", "general", "2"} & set(secrets)


def test_config_secrets_of_the_issue_file_is_empty(tmp_path):
    assert config_secrets(load(tmp_path, ISSUE_FILE)) == []


def test_config_digest_follows_the_bytes(tmp_path):
    path = write(tmp_path, ISSUE_FILE)
    first = config_digest(path)
    assert first == config_digest(path) and len(first) == 64
    path.write_text(ISSUE_FILE.replace("every: 30s", "every: 31s"), encoding="utf-8")
    assert config_digest(path) != first
    with pytest.raises(ConfigError) as info:
        config_digest(tmp_path / "missing.yaml")
    assert info.value.source == str(tmp_path / "missing.yaml")
    assert "cannot read the monitors file" in info.value.message


def test_parse_config_takes_an_already_parsed_document(tmp_path):
    data, where = parse_yaml(ISSUE_FILE, source="inline.yaml", env={})
    config = parse_config(data, "inline.yaml", where, base_dir=tmp_path)
    assert config.source == "inline.yaml"
    assert [m.name for m in config.monitors] == ["health", "book flow"]


def test_the_schema_composes_the_suite_schema_without_copying_it():
    schema = monitors_schema()
    # The reference resolves beside the installed file too, for editors that open it.
    here = Path(str(resources.files("assay.monitor")))
    assert (here / "../suites/suite.schema.json").is_file()
    Draft202012Validator.check_schema(schema)
    assert "request" not in schema["$defs"] and "expect" not in schema["$defs"]
    refs = json.dumps(schema)
    assert '"../suites/suite.schema.json#/$defs/request"' in refs
    assert set(schema["properties"]) >= {"base_url", "scenarios", "auth", "monitors", "notify",
                                         "maintenance", "retention"}


def test_apprise_urls_are_checked_without_sending(tmp_path):
    unknown = load_error(tmp_path, ISSUE_FILE + "  - name: chat\n    apprise: nosuch://x/y\n")
    assert unknown.location == "line 25, key notify[1].apprise"
    assert unknown.message.startswith("unknown Apprise service 'nosuch://'")
    rejected = load_error(tmp_path, ISSUE_FILE + "  - name: chat\n    apprise: discord://\n")
    assert rejected.location == "line 25, key notify[1].apprise"
    assert rejected.message.startswith("Apprise does not accept this discord:// URL")


M = "base_url: http://127.0.0.1:1\nmonitors:\n  - name: m\n"
CHANNEL = "notify:\n  - name: ops\n    webhook: http://127.0.0.1:9/hook\n"
ERRORS = [
    # (file, location, the start of the message)
    (M + "    every: 1s\n", "line 3, key monitors[0]",
     "expected exactly one of request, scenario, tcp, tls or heartbeat: true, found a "
     "mapping with keys: name, every"),
    (M + "    tcp: h:1\n    tls: h\n    every: 1s\n", "line 3, key monitors[0]",
     "expected exactly one of request, scenario, tcp, tls or heartbeat: true"),
    (M + "    tcp: h:1\n    evry: 1s\n", "line 5, key monitors[0].evry",
     "unknown key 'evry' (expected one of: name, description, group, request, expect"),
    (M + "    tcp: h:1\n    every: soon\n", "line 5, key monitors[0].every",
     "expected a duration such as 30s, 5m, 1h or 7d, or a number of seconds, found a string "
     "('soon')"),
    (M + "    tcp: h:1\n    every: 0s\n", "line 5, key monitors[0].every",
     "expected a duration longer than 0, found '0s'"),
    (M + "    tcp: h:1\n    every: 1s\n    cron: '* * * * *'\n", "line 6, key monitors[0].cron",
     "expected exactly one of every (an interval such as 30s) or cron (such as '*/5 * * * *'), "
     "found both"),
    (M + "    tcp: h:1\n", "line 3, key monitors[0]",
     "expected exactly one of every (an interval such as 30s) or cron"),
    (M + "    tcp: h:1\n    cron: '61 * * * *'\n", "line 5, key monitors[0].cron",
     "invalid cron expression '61 * * * *':"),
    (M + "    tcp: h:1\n    cron: '* * * * * *'\n", "line 5, key monitors[0].cron",
     "invalid cron expression '* * * * * *' (expected 5 fields: minute hour"),
    (M + "    tcp: h:1\n    cron: '0 2 30 2 *'\n", "line 5, key monitors[0].cron",
     "cron expression '0 2 30 2 *' never fires"),
    (M + "    tcp: h:1\n    every: 1s\n  - name: m\n    tcp: h:2\n    every: 1s\n",
     "line 6, key monitors[1].name", "duplicate monitor name 'm'"),
    (M + "    scenario: nope\n    every: 1s\n", "line 4, key monitors[0].scenario",
     "unknown scenario 'nope' (the file has no scenarios:)"),
    (M.replace("monitors:", "scenarios:\n  - name: real\n    steps:\n      - request: "
               "{path: /}\nmonitors:") + "    scenario: fake\n    every: 1s\n",
     "line 8, key monitors[0].scenario", "unknown scenario 'fake' (expected one of "
     "scenarios: 'real')"),
    (M + "    tcp: h:1\n    every: 1s\n    notify: [ops, pager]\n" + CHANNEL,
     "line 6, key monitors[0].notify[1]", "unknown channel 'pager' (expected one of: ops)"),
    (M + "    tcp: h:1\n    every: 1s\n    alerts: {pager: {failure_threshold: 2}}\n" + CHANNEL,
     "line 6, key monitors[0].alerts.pager", "unknown channel 'pager' (expected one of notify: "
     "ops)"),
    (M + "    tcp: h:1\n    every: 1s\n    notify: []\n    alerts: {ops: {failure_threshold: 2}}\n"
     + CHANNEL, "line 7, key monitors[0].alerts.ops", "this monitor does not notify 'ops'"),
    (M + "    tcp: h:1\n    every: 1s\n    alerts: {ops: {failure_treshold: 2}}\n" + CHANNEL,
     "line 6, key monitors[0].alerts.ops.failure_treshold", "unknown key 'failure_treshold'"),
    (M + "    tcp: h:1\n    every: 1s\n    slo: {availability: 150%}\n",
     "line 6, key monitors[0].slo.availability",
     "expected a percentage between 0% and 100% such as 99.9%, found '150%'"),
    (M + "    tcp: h:1\n    every: 1s\n    slo: {availability: 100%}\n",
     "line 6, key monitors[0].slo.availability",
     "expected an availability above 0% and below 100%"),
    (M + "    tcp: h:1\n    every: 1s\n    slo: {availability: 99.9}\n",
     "line 6, key monitors[0].slo.availability",
     "expected a percentage such as 99.9%, found a number (99.9)"),
    (M + "    tcp: h:1\n    every: 1s\n    slo: {latency: fast}\n",
     "line 6, key monitors[0].slo.latency",
     "expected a latency objective such as 'p95 < 300ms', found a string ('fast')"),
    (M + "    tcp: h:1\n    every: 1s\n    slo: {latency: p100 < 1s}\n",
     "line 6, key monitors[0].slo.latency", "expected a percentile above p0 and below p100"),
    (M + "    tcp: h:1\n    every: 1s\n    slo: {window: 30d}\n", "line 6, key monitors[0].slo",
     "expected availability, latency or both, found a mapping with keys: window"),
    (M + "    tcp: h:1\n    every: 1s\n    anomaly: {windw: 50}\n",
     "line 6, key monitors[0].anomaly.windw", "unknown key 'windw' (expected one of: window"),
    (M + "    tcp: h:1\n    every: 1s\n    anomaly: sometimes\n", "line 6, key monitors[0].anomaly",
     "expected true, false or a mapping with window, threshold, consecutive, min_samples"),
    (M + "    tcp: h:1\n    every: 1s\n    anomaly: {window: 10, min_samples: 20}\n",
     "line 6, key monitors[0].anomaly.min_samples", "expected at most window (10), found 20"),
    (M + "    tcp: h\n    every: 1s\n", "line 4, key monitors[0].tcp",
     "expected 'host:port' or {host, port}, found a string ('h')"),
    (M + "    tcp: h:70000\n    every: 1s\n", "line 4, key monitors[0].tcp",
     "expected a port from 1 to 65535, found 70000"),
    (M + "    tls: h\n    every: 1s\n    expect: {status: 200}\n",
     "line 6, key monitors[0].expect.status", "unknown key 'status' (expected one of: "
     "cert_days_left)"),
    (M + "    tls: h\n    every: 1s\n    expect: {cert_days_left: soon}\n",
     "line 6, key monitors[0].expect.cert_days_left",
     "expected a comparison such as '> 14', or a number of days"),
    (M + "    request: {path: /}\n    every: 1s\n    expect: {cert_days_left: '> 3'}\n",
     "line 6, key monitors[0].expect.cert_days_left", "unknown key 'cert_days_left'"),
    (M + "    request: {paht: /}\n    every: 1s\n", "line 4, key monitors[0].request.paht",
     "unknown key 'paht' (expected one of: method, path, url"),
    (M + "    request: {path: /}\n    every: 1s\n    expect: {status: ok}\n",
     "line 6, key monitors[0].expect.status", "expected a status code (201) or a class (2xx)"),
    (M + "    tcp: h:1\n    every: 1s\n    expect: {status: 200}\n",
     "line 6, key monitors[0].expect", "expect belongs to request and tls monitors"),
    (M + "    tcp: h:1\n    every: 1s\n    grace: 1m\n", "line 6, key monitors[0].grace",
     "grace belongs to heartbeat monitors"),
    (M + "    heartbeat: true\n", "line 3, key monitors[0]", "missing key 'every'"),
    (M + "    heartbeat: true\n    cron: '@daily'\n", "line 5, key monitors[0].cron",
     "a heartbeat expects a ping every interval"),
    (M + "    heartbeat: false\n    every: 1s\n", "line 4, key monitors[0].heartbeat",
     "expected true, found false"),
    (M + "    tcp: h:1\n    every: 1s\n    retries: -1\n", "line 6, key monitors[0].retries",
     "expected a number >= 0, found a number (-1)"),
    (M.replace("name: m", "name: a/b") + "    tcp: h:1\n    every: 1s\n",
     "line 3, key monitors[0].name", "expected a name without '/'"),
    (M + "    tcp: h:1\n    every: 1s\nnotify:\n  - name: ops\n", "line 7, key notify[0]",
     "expected exactly one of webhook (an http(s) URL) or apprise (an Apprise URL), found a "
     "mapping with keys: name"),
    (M + "    tcp: h:1\n    every: 1s\nnotify:\n  - name: ops\n    webhook: ftp://x/\n",
     "line 8, key notify[0].webhook", "expected an http(s) URL, found a string ('ftp://x/')"),
    (M + "    tcp: h:1\n    every: 1s\n" + CHANNEL + "    secret: ''\n",
     "line 9, key notify[0].secret", "expected a non-empty secret (the HMAC key, often "
     "${ENV_VAR}), found a string ('')"),
    (M + "    tcp: h:1\n    every: 1s\nnotify:\n  - name: ops\n    apprise: json://h\n"
     "    secret: s\n", "line 9, key notify[0].secret", "'secret' belongs to webhook channels"),
    (M + "    tcp: h:1\n    every: 1s\n" + CHANNEL + CHANNEL.replace("notify:\n", ""),
     "line 9, key notify[1].name", "duplicate channel name 'ops'"),
    (M + "    tcp: h:1\n    every: 1s\n" + CHANNEL + "    failure_threshold: 0\n",
     "line 9, key notify[0].failure_threshold", "expected a number >= 1, found a number (0)"),
    (M + "    tcp: h:1\n    every: 1s\n" + CHANNEL + "    remind_every: never\n",
     "line 9, key notify[0].remind_every", "expected a duration such as 1h, or false, found "
     "a string ('never')"),
    (M + "    tcp: h:1\n    every: 1s\nmaintenance:\n  - {start: 2025-01-01T00:00:00Z}\n",
     "line 7, key maintenance[0]", "expected either start and end (ISO 8601 times) or cron "
     "and duration, found a mapping with keys: start"),
    (M + "    tcp: h:1\n    every: 1s\nmaintenance:\n  - start: 2025-01-01T00:00:00\n"
     "    end: 2025-01-01T01:00:00Z\n", "line 7, key maintenance[0].start",
     "expected a time with a timezone"),
    (M + "    tcp: h:1\n    every: 1s\nmaintenance:\n  - start: 2025-01-01T02:00:00Z\n"
     "    end: 2025-01-01T01:00:00Z\n", "line 8, key maintenance[0].end",
     "expected end after start"),
    (M + "    tcp: h:1\n    every: 1s\nmaintenance:\n  - start: yesterday\n"
     "    end: 2025-01-01T01:00:00Z\n", "line 7, key maintenance[0].start",
     "expected an ISO 8601 time such as 2025-06-01T02:00:00Z, found 'yesterday'"),
    (M + "    tcp: h:1\n    every: 1s\nmaintenance:\n  - cron: '0 2 * * SUN'\n    duration: 2h\n"
     "    monitors: [m, n]\n", "line 9, key maintenance[0].monitors[1]",
     "unknown monitor 'n' (expected one of: m)"),
    (M + "    tcp: h:1\n    every: 1s\nmaintenance:\n  - cron: '0 2 * * FUNDAY'\n"
     "    duration: 2h\n", "line 7, key maintenance[0].cron", "invalid cron expression"),
    (M + "    tcp: h:1\n    every: 1s\nretention: {raw: 30d, rollups: 7d}\n",
     "line 6, key retention.rollups",
     "expected rollups kept at least as long as raw results (30d), found 7d"),
    (M + "    tcp: h:1\n    every: 1s\nretention: {raw: 1w}\n", "line 6, key retention.raw",
     "expected a duration such as 30s, 5m, 1h or 7d"),
    (M + "    tcp: h:1\n    every: 1s\nnotfy: []\n", "line 6, key notfy",
     "unknown key 'notfy' (expected one of: base_url, spec, description, variables, headers, "
     "auth, timeout, scenarios, setup, teardown, monitors, notify, maintenance, retention)"),
    (M + "    tcp: h:1\n    every: 1s\nmonitors: []\n", "line 6, key monitors",
     "duplicate key 'monitors'"),
    ("base_url: http://x\n", "line 1", "no 'monitors' in the file"),
    ("- just a list\n", "line 1", "a monitors file must be a mapping with 'monitors', found a "
                                  "list of 1 item"),
]


@pytest.mark.parametrize(("text", "location", "message"), ERRORS,
                         ids=[f"{loc}: {msg[:40]}" for _, loc, msg in ERRORS])
def test_errors_name_the_line_and_key(tmp_path, text, location, message):
    error = load_error(tmp_path, text)
    assert error.location == location
    assert error.message.startswith(message), error.message


def test_suite_part_errors_are_located_like_a_suites(tmp_path):
    error = load_error(tmp_path, ISSUE_FILE.replace("expect: {status: 201}",
                                                    "expect: {staus: 201}"))
    assert error.location == "line 6, key scenarios[0].steps[0].expect.staus"
    assert error.message.startswith("unknown key 'staus' (expected one of: status,")


def test_a_request_monitor_may_not_use_an_undefined_variable(tmp_path):
    text = one_monitor("    request: {path: \"/books/{{ book }}\"}\n    every: 1s\n")
    error = load_error(tmp_path, text)
    assert isinstance(error, SuiteError)
    assert error.location == "line 3"
    assert "undefined variable 'book'" in error.message
    defined = load(tmp_path, "variables: {book: 7}\n" + text)
    assert defined.monitors[0].scenario.steps[0].request.path == "/books/{{ book }}"


def test_an_unreadable_or_broken_file(tmp_path):
    path = tmp_path / "monitors.yaml"
    with pytest.raises(ConfigError) as missing:
        load_config(path, env={})
    assert str(missing.value).startswith(f"{path}: cannot read the monitors file")
    path.write_bytes(b"monitors: [\xff]\n")
    with pytest.raises(ConfigError) as binary:
        load_config(path, env={})
    assert "not UTF-8 text" in binary.value.message
    error = load_error(tmp_path, "monitors:\n  - name: m\n   tcp: h:1\n")
    assert error.location.startswith("line 3, column")

"""``assay monitor`` from the command line: --once, notify-test, and bad input (exit 2)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from assay.cli.main import cli
from assay.monitor.notification import SIGNATURE_HEADER, verify_signature
from servers import Canned, RecordingApp, serve

CONFIG = """
base_url: {target}
monitors:
  - name: health
    request: {{method: GET, path: /health}}
    expect: {{status: 200}}
    every: 10s
  - name: broken
    request: {{method: GET, path: /broken}}
    expect: {{status: 200}}
    every: 10s
notify:
  - name: ops
    webhook: {hook}/hook
    secret: s3cret
"""


@pytest.fixture
def servers() -> Iterator[tuple[str, str, RecordingApp]]:
    target = RecordingApp({"GET /health": Canned(200, {"ok": True}),
                           "GET /broken": Canned(503, {"ok": False})})
    hook = RecordingApp({"POST /hook": Canned(204, b"")})
    with serve(target) as target_url, serve(hook) as hook_url:
        yield target_url, hook_url, hook


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "monitors.yaml"
    path.write_text(text)
    return str(path)


def test_once_runs_every_monitor_and_exits_1_when_one_failed(tmp_path, servers) -> None:
    target, hook, _ = servers
    result = CliRunner().invoke(cli, ["monitor", write(tmp_path, CONFIG.format(
        target=target, hook=hook)), "--once", "--no-color"])
    assert result.exit_code == 1, result.output
    assert "health" in result.output and "broken" in result.output
    assert "expected status 200, got 503" in result.output
    assert "1 up, 1 down" in result.output
    assert not (tmp_path / "assay-monitor.db").exists()  # --once keeps results in memory


def test_once_exits_0_when_all_passed(tmp_path, servers) -> None:
    target, hook, _ = servers
    text = CONFIG.format(target=target, hook=hook).replace("/broken", "/health")
    result = CliRunner().invoke(cli, ["monitor", write(tmp_path, text), "--once"])
    assert result.exit_code == 0, result.output
    assert "2 up, 0 down" in result.output


def test_notify_test_sends_a_signed_test_notification(tmp_path, servers) -> None:
    target, hook, hook_app = servers
    path = write(tmp_path, CONFIG.format(target=target, hook=hook))
    result = CliRunner().invoke(cli, ["monitor", "notify-test", path, "--channel", "ops"])
    assert result.exit_code == 0, result.output
    [received] = hook_app.received
    assert json.loads(received.body)["event"] == "test"
    assert verify_signature(received.body, "s3cret", received.headers[SIGNATURE_HEADER.lower()])


def test_notify_test_to_a_receiver_that_fails_is_exit_1(tmp_path, servers) -> None:
    target, _, _ = servers
    path = write(tmp_path, CONFIG.format(target=target, hook=target))  # 404 for /hook
    result = CliRunner().invoke(cli, ["monitor", "notify-test", path, "--channel", "ops"])
    assert result.exit_code == 1
    assert "not delivered to ops" in result.output


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(("args", "text", "expected"), [
    (["--once"], "monitors:\n  - name: x\n    every: 1s\n", "monitors[0]"),
    (["--once"], "monitors:\n  - name: x\n    request: {path: /}\n    evry: 1s\n", "evry"),
    (["notify-test", "FILE", "--channel", "pager"], None, "--channel"),
    (["--db", "mysql://u:secretpw@h/db"], None, "mysql"),
    (["--port", "70000"], None, "--port"),
])
def test_bad_input_is_exit_2_with_one_clear_line(tmp_path, servers, args, text,
                                                 expected) -> None:
    target, hook, _ = servers
    path = write(tmp_path, text if text is not None else CONFIG.format(target=target,
                                                                       hook=hook))
    argv = ["monitor", *(path if a == "FILE" else a for a in args)]
    if "FILE" not in args:
        argv.insert(1, path)
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "secretpw" not in result.output
    assert "Traceback" not in result.output


def test_a_port_in_use_is_exit_2(tmp_path, servers, busy_port) -> None:
    target, hook, _ = servers
    path = write(tmp_path, CONFIG.format(target=target, hook=hook))
    result = CliRunner().invoke(cli, ["monitor", path, "--port", str(busy_port), "--db",
                                      f"sqlite:///{tmp_path / 'm.db'}"])
    assert result.exit_code == 2, result.output
    assert f"--port: cannot listen on 127.0.0.1:{busy_port}" in result.output

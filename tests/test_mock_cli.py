"""``assay mock`` as a user runs it: a process, its first line, its exit codes and errors."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from assay.cli.main import cli
from assay.engine.mock_run import MockConfig, build_app
from assay.http.fastserver import serve_in_thread

DEMO_SPEC = str(Path(__file__).parents[1] / "src" / "assay" / "demo" / "openapi.yaml")


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """``assay mock ARGS`` in a process; yields it and the URL of its first line."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen([sys.executable, "-m", "assay", "mock", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            first = process.stdout.readline()
            if not first:
                raise AssertionError(f"assay mock printed nothing: {process.stderr.read()}")
            found = re.fullmatch(r"serving (\S+)\n", first)
            assert found, first
            yield process, found.group(1)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def test_first_line_names_the_url_and_ctrl_c_exits_0(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text(Path(DEMO_SPEC).read_text().replace(
        "url: http://127.0.0.1:8000", "url: https://api.example.com/v1"))
    with running(str(spec), "--port", "0") as (process, url):
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert httpx.get(f"{url}/books/1").json()["title"] == "Dune"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in process.stderr.read()


def test_tls_serves_https_with_the_printed_certificate() -> None:
    with running(DEMO_SPEC, "--port", "0", "--tls") as (process, url):
        assert url.startswith("https://127.0.0.1:")
        assert process.stderr is not None
        note = process.stderr.readline()
        cert = re.search(r"certificate (\S+\.pem)", note)
        assert cert, note
        with httpx.Client(verify=ssl.create_default_context(cafile=cert.group(1))) as client:
            assert client.get(f"{url}/health").json() == {"status": "ok"}


def test_examples_phase_against_the_mock_finds_nothing() -> None:
    app = build_app(MockConfig(spec=DEMO_SPEC))
    with serve_in_thread(app.handle) as server:
        result = CliRunner().invoke(cli, ["test", DEMO_SPEC, "--url", server.url,
                                          "--phases", "examples", "--auth-bearer", "t",
                                          "--no-color"])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.output


def _busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def busy_port() -> Iterator[int]:
    yield from _busy_port()


@pytest.mark.parametrize(("args", "expected"), [
    (["missing.yaml"], "missing.yaml"),
    (["--record", "c.yaml"], "--record"),
    (["--replay", "nothing.yaml"], "--replay"),
    ([DEMO_SPEC, "--strict"], "--strict"),
    ([DEMO_SPEC, "--port", "70000"], "--port"),
    ([], "SPEC"),
    ([DEMO_SPEC, "--faults", "FAULTS"], "faults[0].probability"),
])
def test_bad_input_is_exit_2_with_one_clear_line(args: list[str], expected: str,
                                                 tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("faults:\n  - probability: 2\n    fault: connection_reset\n")
    args = [str(faults) if a == "FAULTS" else a for a in args]
    result = CliRunner().invoke(cli, ["mock", *args])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output


def test_a_port_in_use_is_exit_2(busy_port: int) -> None:
    result = subprocess.run([sys.executable, "-m", "assay", "mock", DEMO_SPEC, "--port",
                             str(busy_port)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"--port: cannot listen on 127.0.0.1:{busy_port}" in result.stderr
    assert "Traceback" not in result.stderr

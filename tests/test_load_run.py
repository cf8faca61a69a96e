"""``assay load`` end to end: real worker processes against real servers on 127.0.0.1.

Every run is bounded (an iteration count or a duration of a second or two). Assertions
compare what assay says it sent with what the server received, and check the latency
figures for what the server did (a stall must show), never the speed of the machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from assay.cli.main import cli
from assay.core.secrets import Secrets
from assay.engine.load_run import LoadTarget, run_load_sync
from assay.engine.run import load_target
from assay.load.config import LoadConfig
from assay.load.schedule import parse_stages
from loadservers import load_server
from servers import serve

DEMO_SPEC = Path(__file__).parent.parent / "src" / "assay" / "demo" / "openapi.yaml"


def _run(url: str, **settings) -> object:
    config = LoadConfig(**settings)
    return run_load_sync(LoadTarget(url), config, Secrets())


def test_closed_iterations_are_sent_exactly_once_across_workers():
    with load_server() as (url, received):
        result = _run(url + "/items?x=1", vus=5, iterations=300, workers=2)
    assert received.total == 300
    assert received.requests["GET /items"] == 300
    load = result.load
    assert load.requests == 300 and load.errors == 0
    assert load.model == "closed" and load.workers == 2
    assert set(load.by_step) == {"GET /items"}
    assert load.latency.p50 is not None and load.latency.p50 <= load.latency.max
    assert not result.failed


def test_a_timed_run_merges_the_workers_counts_exactly():
    with load_server() as (url, received):
        result = _run(url, vus=4, duration_s=1.0, workers=2)
    assert result.load.requests == received.total > 0
    assert sum(p.requests for p in result.load.timeline) == received.total
    assert result.load.error_rate == 0.0


def test_open_model_sends_the_schedule_whatever_the_workers():
    with load_server() as (url, received):
        result = _run(url, model="open", rate=300.0, duration_s=1.0, workers=2)
    assert received.total == 300
    assert result.load.requests == 300
    assert result.load.model == "open"


def test_latency_counts_the_wait_for_a_connection_not_only_the_service_time():
    # One connection, 50 ms per response, 40 arrivals per second: the schedule falls
    # behind, so each request waits for the previous ones. Measured from the send, every
    # request looks like 50 ms; measured from its planned time, the wait shows.
    def slow(method, target, body):
        return 200, b"ok", 0.05

    with load_server(slow) as (url, received):
        result = _run(url, model="open", rate=40.0, duration_s=0.5, workers=1,
                      max_connections=1)
    load = result.load
    assert received.total == load.requests == 20
    assert load.service_time.p99 < 200
    assert load.latency.max > 3 * load.service_time.p99
    assert load.late_starts > 0


def test_ramping_arrival_rate_follows_the_stages():
    shape = parse_stages(["1s:200/s"])
    with load_server() as (url, received):
        result = _run(url, model="open", stages=tuple(shape.stages), workers=1)
    # A ramp from 0 to 200/s over one second: 100 arrivals in all.
    assert received.total == result.load.requests == 100


def test_errors_are_counted_by_kind():
    def flaky(method, target, body):
        return (503, b"busy", 0.0) if target.endswith("bad") else (200, b"ok", 0.0)

    with load_server(flaky) as (url, received):
        result = _run(url + "/bad", vus=2, iterations=50, workers=1)
    assert result.load.errors == 50
    assert result.load.errors_by_kind == {"http 503": 50}
    assert result.load.error_rate == 1.0
    finding = result.findings[0]
    assert finding.check == "not_a_server_error" and finding.count == 50


def test_thresholds_gate_the_exit_code_and_land_in_the_json_report(tmp_path):
    def slow(method, target, body):
        return 200, b"ok", 0.02

    report = tmp_path / "r.json"
    with load_server(slow) as (url, _):
        runner = CliRunner()
        crossed = runner.invoke(cli, ["load", url, "--vus", "2", "--iterations", "20",
                                      "--workers", "1", "--threshold", "p50<5ms",
                                      "--threshold", "error_rate<1%", "--quiet",
                                      "--json", str(report)])
        held = runner.invoke(cli, ["load", url, "--vus", "2", "--iterations", "20",
                                   "--workers", "1", "--threshold", "p50<5s", "--quiet"])
    assert crossed.exit_code == 1, crossed.output
    assert held.exit_code == 0, held.output
    data = json.loads(report.read_text())
    assert data["command"] == "load"
    section = data["load"]
    assert section["requests"] == 20
    by_expr = {t["expr"]: t for t in section["thresholds"]}
    assert by_expr["p50<5ms"]["ok"] is False and by_expr["p50<5ms"]["value"] >= 20
    assert by_expr["error_rate<1%"]["ok"] is True


def test_abort_on_fail_stops_the_run_after_the_grace_period():
    def slow(method, target, body):
        return 200, b"ok", 0.02

    with load_server(slow) as (url, received):
        config = LoadConfig(vus=2, duration_s=30.0, workers=1, thresholds=("p50<1ms",),
                            abort_grace_s=1.0)
        result = run_load_sync(LoadTarget(url), config, Secrets())
    assert result.load.aborted.startswith("threshold crossed: p50<1ms")
    assert result.load.duration_s < 20
    assert result.failed


def test_a_suite_scenario_runs_with_captures_and_checks(tmp_path):
    from assay.demo.app import create_app

    with serve(create_app()) as url:
        suite = tmp_path / "suite.yaml"
        suite.write_text(f"""
base_url: {url}
auth: {{bearer: demo-token}}
setup:
  - name: seed
    steps:
      - request: {{method: POST, path: /books, json: {{title: Seed, author: Ann}}}}
        expect: {{status: 201}}
        capture: {{seed_id: $.id}}
teardown:
  - name: clean
    steps:
      - request: {{method: DELETE, path: "/books/{{{{ seed_id }}}}"}}
scenarios:
  - name: create then read a book
    steps:
      - name: read the seed
        request: {{method: GET, path: "/books/{{{{ seed_id }}}}"}}
        expect: {{status: 200, json: {{$.title: Seed}}}}
      - name: create
        request: {{method: POST, path: /books, json: {{title: Dune, author: Herbert}}}}
        expect: {{status: 201}}
        capture: {{book_id: $.id}}
      - name: read
        request: {{method: GET, path: "/books/{{{{ book_id }}}}"}}
        expect: {{status: 200, json: {{$.title: Dune}}}}
""")
        before = [book["title"] for book in httpx.get(f"{url}/books?limit=50").json()]
        target = LoadTarget(str(suite), test_target=load_target(str(suite)))
        config = LoadConfig(vus=2, iterations=10, workers=1)
        result = run_load_sync(target, config, Secrets())
        books = httpx.get(f"{url}/books?limit=50").json()
    load = result.load
    assert load.by_step["read the seed"].requests == 10
    assert load.by_step["create"].requests == 10
    assert load.by_step["read"].requests == 10
    assert load.errors == 0
    assert load.checks_failed == 0 and load.checks_passed == 30
    assert result.findings == []
    # Setup ran once before the load, teardown once after it: the seed is gone.
    titles = [book["title"] for book in books]
    assert titles.count("Seed") == 0
    assert titles.count("Dune") == before.count("Dune") + 10


def test_spec_operations_are_sent_by_weight_and_only_safe_methods(tmp_path):
    from assay.demo.app import create_app

    with serve(create_app()) as url:
        target = LoadTarget(str(DEMO_SPEC), url=url, test_target=load_target(str(DEMO_SPEC)),
                            weights={"listBooks": 5.0})
        result = run_load_sync(target, LoadConfig(vus=2, iterations=200, workers=1),
                               Secrets())
    steps = result.load.by_step
    assert "GET /books" in steps and "GET /health" in steps
    assert all(name.split(" ")[0] in ("GET", "HEAD") for name in steps)
    assert steps["GET /books"].requests > 2 * steps["GET /health"].requests
    assert sum(s.requests for s in steps.values()) == 200


@pytest.mark.parametrize("args, flag", [
    (["--vus", "2"], "--duration"),
    (["--vus", "2", "--rate", "10/s", "--duration", "1s"], "--vus/--rate"),
    (["--duration", "1s", "--threshold", "p95<<3"], "--threshold"),
    (["--duration", "1s", "--stage", "10s:5", "--stage", "5s:10/s"], "--stage"),
    (["--duration", "1s", "--scenario", "x"], "--scenario"),
    (["--duration", "1s", "--workers", "0"], "--workers"),
])
def test_bad_flags_exit_2_naming_the_flag(args, flag):
    result = CliRunner().invoke(cli, ["load", "http://127.0.0.1:9/", *args])
    assert result.exit_code == 2, result.output
    assert flag in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_target_exits_2():
    result = CliRunner().invoke(cli, ["load", "http://127.0.0.1:9/", "--duration", "1s"])
    assert result.exit_code == 2
    assert "127.0.0.1:9" in result.output


@pytest.mark.slow
def test_a_dask_cluster_runs_the_same_workers_and_merges_exactly():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with load_server() as (url, received):
            result = _run(url + "/c", vus=3, iterations=240, workers=0,
                          cluster=cluster.scheduler_address)
            timed = _run(url + "/t", vus=2, duration_s=1.0, workers=0,
                         cluster=cluster.scheduler_address)
    assert received.requests["GET /c"] == result.load.requests == 240
    assert result.load.workers == 2
    assert received.requests["GET /t"] == timed.load.requests > 0


def test_ctrl_c_stops_gracefully_and_still_writes_the_reports(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    report = tmp_path / "r.json"
    with load_server() as (url, received):
        process = subprocess.Popen(
            [sys.executable, "-m", "assay", "load", url, "--vus", "2",
             "--duration", "60s", "--workers", "2", "--quiet", "--json", str(report)],
            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while received.total < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        # What a terminal does on Ctrl-C: SIGINT to the whole process group.
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=30)
        sent = received.total
    assert process.returncode == 0, err.decode()
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert data["load"]["aborted"] == "interrupted (Ctrl-C)"
    assert data["load"]["requests"] == sent > 0
    assert data["load"]["duration_s"] < 50


def test_suite_scenarios_run_at_an_arrival_rate(tmp_path):
    with load_server() as (url, received):
        suite = tmp_path / "suite.yaml"
        suite.write_text(f"""
base_url: {url}
scenarios:
  - name: two steps
    steps:
      - name: first
        request: {{method: POST, path: /a, json: {{n: 1}}}}
        expect: {{status: 200}}
      - name: second
        request: {{method: GET, path: /b}}
        think: 10ms
""")
        target = LoadTarget(str(suite), test_target=load_target(str(suite)))
        config = LoadConfig(model="open", rate=40.0, duration_s=1.0, workers=1)
        result = run_load_sync(target, config, Secrets())
    # 40 arrivals in one second, each a whole scenario: 40 of each step.
    assert received.requests["POST /a"] == 40 and received.requests["GET /b"] == 40
    assert result.load.by_step["first"].requests == 40
    assert result.load.by_step["second"].requests == 40
    assert result.load.checks_passed == 80

"""The engine against real servers: dry runs, --max-failures, timeouts, interruption."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from assay.cli.main import cli
from assay.core.events import CaseFinished
from assay.core.secrets import Secrets
from assay.engine.config import TestConfig
from assay.engine.run import TestTarget, run_test
from assay.http.transport import HttpOptions
from assay.specs import load_spec_text
from servers import Canned, RecordingApp, serve

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        f"/{name}": {"get": {"operationId": name, "tags": [tag], "parameters": [
            {"name": "q", "in": "query", "required": True,
             "schema": {"type": "string", "minLength": 2}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"type": "object", "required": ["ok"],
                           "properties": {"ok": {"type": "boolean"}}}}}}}}}
        for name, tag in (("a", "x"), ("b", "x"), ("c", "y"))
    },
}


def spec_file(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(SPEC))
    return path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_dry_run_lists_cases_and_sends_nothing(tmp_path):
    app = RecordingApp()
    with serve(app) as url:
        result = run("test", spec_file(tmp_path), "--url", url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert app.received == []
    assert f"GET {url}/a?q=aa" in result.output and f"GET {url}/c?q=aa" in result.output


def test_cases_are_sent_with_minimal_valid_parameters_and_pass(tmp_path):
    app = RecordingApp({f"GET /{n}": Canned(200, {"ok": True}) for n in "abc"})
    with serve(app) as url:
        result = run("test", spec_file(tmp_path), "--url", url, "--include-tag", "x",
                     "--phases", "examples")
    assert result.exit_code == 0, result.output
    assert [(r.path, r.query) for r in app.received] == [("/a", "q=aa"), ("/b", "q=aa")]


def test_max_failures_stops_early(tmp_path):
    app = RecordingApp({f"GET /{n}": Canned(500, "boom") for n in "abc"})
    with serve(app) as url:
        result = run("test", spec_file(tmp_path), "--url", url, "--max-failures", "1",
                     "--checks", "not_a_server_error")
    assert result.exit_code == 1
    assert len(app.received) == 1


def test_timeouts_are_errors_not_crashes(tmp_path):
    app = RecordingApp({"GET /a": Canned(200, {"ok": True}, delay=1.0),
                        "GET /b": Canned(200, {"ok": True}), "GET /c": Canned(200, {"ok": 1})})
    with serve(app) as url:
        result = run("test", spec_file(tmp_path), "--url", url, "--timeout", "200ms",
                     "--json", tmp_path / "r.json", "--phases", "examples")
    assert result.exit_code == 1
    data = json.loads((tmp_path / "r.json").read_text())
    assert [(e["operation"], e["kind"]) for e in data["errors"]] == [("GET /a", "timeout")]
    assert [(f["operation"], f["check"]) for f in data["findings"]] == [
        ("GET /c", "response_schema_conformance")]


def test_interrupted_run_keeps_its_results(tmp_path):
    app = RecordingApp({"GET /a": Canned(200, {"ok": True}),
                        "GET /b": Canned(200, {"ok": True}, delay=1.5)})
    spec = load_spec_text(json.dumps(SPEC), source="spec.json")

    async def scenario(url):
        seen = asyncio.Event()

        def sink(event):
            if isinstance(event, CaseFinished):
                seen.set()

        config = TestConfig(base_url=url, http=HttpOptions(timeout=10))
        task = asyncio.create_task(run_test(TestTarget("spec.json", spec), config, Secrets(),
                                            [sink]))
        await seen.wait()
        await asyncio.sleep(0.1)  # the second request is now in flight
        task.cancel()
        return await task

    with serve(app) as url:
        result = asyncio.run(scenario(url))
    assert result.interrupted is True
    assert result.summary.cases == 1 and not result.failed


KEYED = {
    "openapi": "3.0.3", "info": {"title": "k", "version": "1"},
    "components": {"securitySchemes": {
        "queryKey": {"type": "apiKey", "in": "query", "name": "api_key"},
        "headerKey": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
    "paths": {
        "/q": {"get": {"security": [{"queryKey": []}],
                       "responses": {"200": {"description": "ok"}}}},
        "/h": {"get": {"security": [{"headerKey": []}],
                       "responses": {"200": {"description": "ok"}}}},
        "/open": {"get": {"security": [], "responses": {"200": {"description": "ok"}}}},
    },
}


def test_credentials_go_only_where_the_operation_accepts_them(tmp_path):
    path = tmp_path / "keyed.json"
    path.write_text(json.dumps(KEYED))
    app = RecordingApp({f"GET /{p}": Canned(200) for p in ("q", "h", "open")})
    with serve(app) as url:
        result = run("test", path, "--url", url, "--api-key", "queryKey=QK1",
                     "--api-key", "headerKey=HK2", "--phases", "examples")
    assert result.exit_code == 0, result.output
    got = {r.path: (r.query, r.headers.get("x-key")) for r in app.received}
    assert got == {"/q": ("api_key=QK1", None), "/h": ("", "HK2"), "/open": ("", None)}

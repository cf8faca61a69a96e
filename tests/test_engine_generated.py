"""The generated phases (coverage, fuzz, stateful) against real servers that record requests."""

from __future__ import annotations

import json

from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assay.cli.main import cli
from servers import serve

SECURED = "/things/{thingId}"


def spec(paths: dict, **components) -> dict:
    document = {"openapi": "3.1.0", "info": {"title": "gen", "version": "1"}, "paths": paths}
    if components:
        document["components"] = components
    return document


def write(tmp_path, document: dict, name: str = "spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def report(path) -> dict:
    return json.loads(path.read_text())


class Recorder:
    """An app whose ``handler(request) -> Response`` answers every path, recording requests."""

    def __init__(self, handler):
        self.handler = handler
        self.received: list[tuple[str, str, dict, bytes]] = []

    def app(self) -> Starlette:
        async def endpoint(request):
            body = await request.body()
            self.received.append((request.method, str(request.url.path) + (
                "?" + request.url.query if request.url.query else ""),
                dict(request.headers), body))
            return self.handler(request, body)

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


NUMBER_SPEC = spec({"/items": {"get": {
    "parameters": [{"name": "n", "in": "query", "required": True,
                    "schema": {"type": "integer", "minimum": 0, "maximum": 100000}}],
    "responses": {"200": {"description": "ok"}, "422": {"description": "bad"}}}}})


def crash_from(limit: int):
    def handler(request, body):
        raw = request.query_params.get("n", "")
        if not raw.isdigit() or int(raw) > 100000:
            return JSONResponse({"error": "n"}, 422)
        if int(raw) >= limit:
            return JSONResponse({"error": "boom"}, 500)
        return Response(status_code=200)
    return handler


def test_fuzz_shrinks_a_crash_to_its_smallest_input(tmp_path):
    recorder = Recorder(crash_from(12345))
    out = tmp_path / "r.json"
    with serve(recorder.app()) as url:
        result = run("test", write(tmp_path, NUMBER_SPEC), "--url", url, "--phases", "fuzz",
                     "--seed", "3", "--max-examples", "150", "--json", out, "--workers", "1")
    assert result.exit_code == 1, result.output
    [finding] = report(out)["findings"]
    assert finding["check"] == "not_a_server_error" and finding["phase"] == "fuzz"
    assert finding["request"]["url"].endswith("/items?n=12345")
    assert finding["count"] > 1 and finding["seed"] == 3


def test_failures_are_replayed_first_on_the_next_run(tmp_path):
    recorder = Recorder(crash_from(12345))
    db = tmp_path / "failures.sqlite"
    document = write(tmp_path, NUMBER_SPEC)
    with serve(recorder.app()) as url:
        first = run("test", document, "--url", url, "--phases", "fuzz", "--seed", "3",
                    "--max-examples", "150", "--failures-db", db)
        assert first.exit_code == 1, first.output
        recorder.received.clear()
        second = run("test", document, "--url", url, "--phases", "fuzz", "--seed", "4",
                     "--max-examples", "1", "--failures-db", db)
        assert second.exit_code == 1, second.output
        assert recorder.received[0][1] == "/items?n=12345"
        recorder.received.clear()
        third = run("test", document, "--url", url, "--phases", "fuzz", "--seed", "4",
                    "--max-examples", "1", "--failures-db", db, "--no-replay")
    assert "/items?n=12345" not in [r[1] for r in recorder.received]
    assert third.exit_code in (0, 1)


def test_same_seed_same_cases_whatever_the_workers(tmp_path):
    document = spec({f"/r{i}": {"get": {
        "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}},
                       {"name": "n", "in": "query", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok"}, "422": {"description": "bad"}}}}
        for i in range(4)})
    path = write(tmp_path, document)
    def integers_only(request, body):
        n = request.query_params.get("n")
        valid = n is None or n.lstrip("-").isdigit()
        return Response(status_code=200 if valid else 422)

    seen = []
    for workers in ("1", "2"):
        recorder = Recorder(integers_only)
        with serve(recorder.app()) as url:
            result = run("test", path, "--url", url, "--phases", "fuzz", "--seed", "9",
                         "--max-examples", "20", "--workers", workers)
        assert result.exit_code == 0, result.output
        seen.append(sorted(r[1] for r in recorder.received))
    assert seen[0] == seen[1] and len(seen[0]) > 40


SECURED_SPEC = spec(
    {SECURED: {
        "get": {"parameters": [{"name": "thingId", "in": "path", "required": True,
                                "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok"}, "404": {"description": "no"}}},
        "put": {"security": [{"bearer": []}],
                "parameters": [{"name": "thingId", "in": "path", "required": True,
                                "schema": {"type": "integer"}},
                               {"name": "X-Reason", "in": "header", "required": True,
                                "schema": {"type": "string", "minLength": 1}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["size"], "additionalProperties": False,
                    "properties": {"size": {"type": "integer", "minimum": 1,
                                            "maximum": 10}}}}}},
                "responses": {"200": {"description": "ok"}, "401": {"description": "who"},
                              "422": {"description": "bad"}}}}},
    securitySchemes={"bearer": {"type": "http", "scheme": "bearer"}})


def lax_server(request, body):
    """Accepts everything: no auth, no validation, no 405."""
    return JSONResponse({"ok": True})


def test_coverage_probes_auth_methods_headers_and_negative_bodies(tmp_path):
    recorder = Recorder(lax_server)
    out = tmp_path / "r.json"
    with serve(recorder.app()) as url:
        result = run("test", write(tmp_path, SECURED_SPEC), "--url", url, "--phases",
                     "coverage", "--auth-bearer", "s3cret", "--json", out)
    assert result.exit_code == 1, result.output
    data = report(out)
    found = {(f["operation"], f["check"]) for f in data["findings"]}
    assert ("PUT /things/{thingId}", "ignored_auth") in found
    assert ("PUT /things/{thingId}", "missing_required_header") in found
    assert ("PUT /things/{thingId}", "negative_data_rejection") in found
    assert ("PATCH /things/{thingId}", "unsupported_method") in found
    puts = [r for r in recorder.received if r[0] == "PUT"]
    authorizations = {r[2].get("authorization") for r in puts}
    assert {None, "Bearer s3cret"} <= authorizations
    assert any(a and a.startswith("Bearer ") and a != "Bearer s3cret" for a in authorizations)
    reasons = {f["reason"] for f in data["findings"] if f["check"] == "negative_data_rejection"}
    assert any("size" in (r or "") for r in reasons)
    assert "s3cret" not in out.read_text()


def strict_server(request, body):
    """Does everything right for SECURED_SPEC."""
    if request.method not in ("GET", "PUT"):
        return Response(status_code=405, headers={"Allow": "GET, PUT"})
    thing = request.path_params["path"].split("/")[-1]
    if not thing.lstrip("-").isdigit():
        return JSONResponse({"error": "id"}, 422 if request.method == "PUT" else 404)
    if request.method == "GET":
        return JSONResponse({"ok": True})
    if request.headers.get("authorization") != "Bearer s3cret":
        return JSONResponse({"error": "auth"}, 401)
    if not request.headers.get("x-reason"):
        return JSONResponse({"error": "reason"}, 422)
    try:
        data = json.loads(body)
    except ValueError:
        return JSONResponse({"error": "json"}, 422)
    valid = (isinstance(data, dict) and set(data) == {"size"} and type(data["size"]) is int
             and 1 <= data["size"] <= 10)
    return JSONResponse({"ok": True}) if valid else JSONResponse({"error": "body"}, 422)


def test_a_correct_server_gives_no_finding_in_any_phase(tmp_path):
    recorder = Recorder(strict_server)
    with serve(recorder.app()) as url:
        result = run("test", write(tmp_path, SECURED_SPEC), "--url", url, "--auth-bearer",
                     "s3cret", "--seed", "1", "--max-examples", "60")
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output
    for phase in ("examples", "coverage", "fuzz", "stateful"):
        assert f"{phase}:" in result.output


def test_baseline_known_findings_do_not_fail_the_run(tmp_path):
    recorder = Recorder(crash_from(50))
    document = write(tmp_path, NUMBER_SPEC)
    baseline = tmp_path / "baseline.yaml"
    out = tmp_path / "r.json"
    with serve(recorder.app()) as url:
        common = ("test", document, "--url", url, "--phases", "coverage")
        first = run(*common, "--baseline", baseline, "--baseline-update")
        assert first.exit_code == 1, first.output
        text = baseline.read_text()
        assert "not_a_server_error" in text and "GET /items" in text
        junit = tmp_path / "junit.xml"
        second = run(*common, "--baseline", baseline, "--json", out, "--junit", junit)
    assert second.exit_code == 0, second.output
    assert report(out)["findings"] and all(f["known"] for f in report(out)["findings"])
    assert 'failures="0"' in junit.read_text() and "known finding" in junit.read_text()
    baseline.write_text("[]\n")
    with serve(Recorder(crash_from(50)).app()) as url:
        third = run("test", document, "--url", url, "--phases", "coverage",
                    "--baseline", baseline)
    assert third.exit_code == 1


def test_bad_baseline_and_flags_are_usage_errors(tmp_path):
    document = write(tmp_path, NUMBER_SPEC)
    bad = tmp_path / "b.yaml"
    bad.write_text("{not: a list}\n")
    result = run("test", document, "--url", "http://127.0.0.1:9", "--baseline", bad)
    assert result.exit_code == 2 and "b.yaml" in result.output
    for flags, name in ((("--max-examples", "0"), "--max-examples"),
                        (("--workers", "two"), "--workers"),
                        (("--max-time", "soon"), "--max-time"),
                        (("--baseline-update",), "--baseline-update"),
                        (("--phases", "fuzzing"), "--phases"),
                        (("--failures-db", str(bad / "x.db")), "--failures-db")):
        result = run("test", document, "--url", "http://127.0.0.1:9", *flags)
        assert result.exit_code == 2, (flags, result.output)
        assert name in result.output and "Traceback" not in result.output


def test_max_time_ends_fuzzing_and_skips_later_phases(tmp_path):
    def slow(request, body):
        import time
        time.sleep(0.05)
        return Response(status_code=200)

    recorder = Recorder(slow)
    out = tmp_path / "r.json"
    with serve(recorder.app()) as url:
        result = run("test", write(tmp_path, NUMBER_SPEC), "--url", url, "--phases",
                     "fuzz,stateful", "--max-examples", "5000", "--max-time", "1s",
                     "--workers", "1", "--json", out)
    data = report(out)
    assert data["summary"]["phases"]["fuzz"] < 5000
    assert any("--max-time" in w["message"] for w in data["warnings"]), result.output


def test_interrupting_the_fuzz_phase_ends_the_run_with_its_results(tmp_path):
    import asyncio

    from assay.core.events import CaseFinished
    from assay.core.secrets import Secrets
    from assay.engine.config import TestConfig
    from assay.engine.run import TestTarget, run_test
    from assay.specs import load_spec_text

    def slow(request, body):
        import time
        time.sleep(0.02)
        return Response(status_code=200)

    spec = load_spec_text(json.dumps(NUMBER_SPEC), source="spec.json")

    async def scenario(url, workers):
        seen = asyncio.Event()
        count = []

        def sink(event):
            if isinstance(event, CaseFinished):
                count.append(event)
                if len(count) >= 3:
                    seen.set()

        config = TestConfig(base_url=url, phases=("fuzz",), max_examples=10_000,
                            workers=workers, seed=1, replay=False)
        task = asyncio.create_task(run_test(TestTarget("spec.json", spec), config,
                                            Secrets(), [sink]))
        await seen.wait()
        task.cancel()
        return await asyncio.wait_for(task, timeout=30)

    for workers in (1, 2):
        with serve(Recorder(slow).app()) as url:
            result = asyncio.run(scenario(url, workers))
        assert result.interrupted is True
        assert 3 <= result.summary.cases < 10_000
        assert not result.errors

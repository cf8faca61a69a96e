"""End to end: YAML suites run by `assay test` against real servers that record requests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from assay.cli.main import cli
from assay.demo import spec_text
from assay.demo.app import create_app
from servers import Canned, RecordingApp, serve

DATA = Path(__file__).parent / "data" / "suites"
TOKEN = "demo-token"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def books_suite(tmp_path: Path) -> Path:
    """The issue's example suite, verbatim, beside the demo's OpenAPI document."""
    shutil.copy(DATA / "books.yaml", tmp_path / "suite.yaml")
    (tmp_path / "openapi.yaml").write_text(spec_text())
    return tmp_path / "suite.yaml"


def test_issue_example_suite_passes_against_the_fixed_demo(tmp_path):
    suite = books_suite(tmp_path)
    with serve(create_app(fixed=True, token=TOKEN)) as url:
        result = run("test", suite, "--url", url, "--auth-bearer", TOKEN,
                     "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"]["cases"] == 2 and data["findings"] == []
    assert [t["name"] for t in data["tests"]] == ["create then read a book"]


def test_suite_responses_are_checked_against_its_spec(tmp_path):
    suite = books_suite(tmp_path)
    with serve(create_app(token=TOKEN)) as url:  # seeded: no Location header on create
        result = run("test", suite, "--url", url, "--auth-bearer", TOKEN,
                     "--json", tmp_path / "r.json")
    assert result.exit_code == 1
    data = json.loads((tmp_path / "r.json").read_text())
    found = {(f["operation"], f["check"]) for f in data["findings"]}
    assert found == {("POST /books", "response_headers_conformance")}


def test_failed_expectation_stops_the_scenario_and_reproduces_the_sequence(tmp_path):
    suite = books_suite(tmp_path)
    with serve(create_app(fixed=True, token=TOKEN)) as url:
        result = run("test", suite, "--url", url, "--auth-bearer", TOKEN,
                     "--var", "author=Tolkien", "--json", tmp_path / "r.json")
    assert result.exit_code == 1
    data = json.loads((tmp_path / "r.json").read_text())
    [finding] = data["findings"]
    assert finding["check"] == "expected_json"
    assert finding["operation"] == "GET /books/{bookId}"
    assert "Herbert" in finding["message"] and "Tolkien" in finding["message"]
    assert [s["operation"] for s in finding["steps"]] == ["POST /books"]
    commands = finding["reproduce"].splitlines()
    assert len(commands) == 2 and "-X POST" in commands[0] and "/books/" in commands[1]


SUITE = """
base_url: {url}
variables: {{greeting: hello}}
auth:
  bearer: ${{SUITE_TOKEN}}
setup:
  - name: reset
    steps:
      - request: {{method: POST, path: /reset}}
        expect: {{status: 204}}
scenarios:
  - name: create
    parametrize:
      - {{title: Dune}}
      - {{title: Emma}}
    steps:
      - request:
          method: POST
          path: /items
          query: {{tag: [a, b]}}
          json: {{title: "{{{{ title }}}}", note: "{{{{ greeting }}}}"}}
        expect: {{status: 2xx, json: {{$.id: {{type: integer}}}}}}
        capture: {{item: $.id, where: {{header: Location}}}}
      - request: {{path: "/items/{{{{ item }}}}"}}
        retry: {{times: 3, delay: 10ms, until: {{json: {{$.state: ready}}}}}}
        expect: {{status: 200, json: {{$.state: ready}}}}
  - name: broken
    steps:
      - request: {{path: "/items/{{{{ greeting.nowhere }}}}"}}
teardown:
  - name: clean
    steps:
      - request: {{method: DELETE, path: /items}}
        expect: {{status: 204}}
"""


def make_app():
    polls = {"n": 0}

    def created(request):
        return Canned(201, {"id": 7}, {"Location": "/items/7"})

    def poll(request):
        polls["n"] += 1
        return Canned(200, {"state": "ready" if polls["n"] % 2 == 0 else "pending"})

    return RecordingApp({
        "POST /reset": Canned(204),
        "POST /items": created,
        "GET /items/7": poll,
        "DELETE /items": Canned(204),
    })


def test_setup_rows_captures_retry_teardown_and_template_errors(tmp_path, monkeypatch):
    app = make_app()
    monkeypatch.setenv("SUITE_TOKEN", "s3cr3t-token")
    with serve(app) as url:
        suite = tmp_path / "suite.yaml"
        suite.write_text(SUITE.format(url=url))
        result = run("test", suite, "--json", tmp_path / "r.json")
    seen = [(r.method, r.path) for r in app.received]
    assert seen[0] == ("POST", "/reset") and seen[-1] == ("DELETE", "/items")
    posts = [r for r in app.received if r.method == "POST" and r.path == "/items"]
    assert [p.json()["title"] for p in posts] == ["Dune", "Emma"]
    assert all(p.query == "tag=a&tag=b" and p.json()["note"] == "hello" for p in posts)
    assert all(r.headers["authorization"] == "Bearer s3cr3t-token" for r in app.received)
    polls = [r for r in app.received if r.path == "/items/7"]
    assert len(polls) == 4  # each row polls until ready: pending, ready
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["findings"] == []
    assert [e["kind"] for e in data["errors"]] == ["suite"]
    assert "nowhere" in data["errors"][0]["message"]
    assert result.exit_code == 1  # an errored scenario fails the run
    assert "s3cr3t-token" not in result.output + (tmp_path / "r.json").read_text()
    names = [t["name"] for t in data["tests"]]
    assert "create [title=Dune]" in names and "create [title=Emma]" in names

"""No report writes a secret: headers, query strings, bodies and messages are all redacted."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from assay.core import events
from assay.core.events import RunError, RunResult, RunWarning, Summary
from assay.core.records import Finding, Step
from assay.core.secrets import Secrets
from assay.reporting.html import render_html
from assay.reporting.json_report import render_json
from assay.reporting.junit import render_junit
from servers import Canned, RecordingApp, serve
from test_report_support import exchange

TOKEN = "tok-9f8e7d6c5b4a"
PASSWORD = "alice:pa55word"


@pytest.fixture(scope="module")
def secret_run() -> tuple[RunResult, Secrets, RecordingApp]:
    app = RecordingApp({"GET /me": lambda received: Canned(
        500, {"error": "bad token", "echo": received.headers.get("x-custom", "")})})
    with serve(app) as base_url:
        request, response = exchange(
            base_url, "GET", f"/me?api_key={TOKEN}&page=1", operation="GET /me",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Custom": f"prefix {TOKEN}"})
    secrets = Secrets()
    secrets.add(TOKEN, "ASSAY_TOKEN", "bearer token")
    secrets.add(PASSWORD, "ASSAY_BASIC", "basic auth user:password")
    finding = Finding(
        "not_a_server_error", "GET /me", "high",
        f"Server error 500 for token {TOKEN}", 500,
        secrets.reference(f"curl '{request.url}' -H 'Authorization: Bearer {TOKEN}'"),
        cause=f"500 {TOKEN}", reason=f"with {TOKEN}",
        steps=[Step("GET /me", "GET", request.url, 500)],
        request=request, response=response)
    run = RunResult(
        "test", f"http://{PASSWORD}@127.0.0.1/", Summary(findings=1), [finding],
        tests=[events.TestCaseResult("GET /me", f"api {TOKEN}", cases=1, failures=[finding],
                                     errors=[f"retry with {TOKEN} failed"])],
        errors=[RunError(f"login as {PASSWORD} failed", "GET /me")],
        warnings=[RunWarning(f"token {TOKEN} expires soon")],
        secrets_env={"ASSAY_TOKEN": "bearer token"},
    )
    return run, secrets, app


def test_the_exchange_really_carried_the_secret(secret_run):
    run, _, app = secret_run
    received = app.received[0]
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
    assert f"api_key={TOKEN}" in received.query
    assert TOKEN in run.findings[0].response.body.decode()


@pytest.mark.parametrize("render", [
    lambda run, secrets: json.dumps(render_json(run, secrets), ensure_ascii=False),
    render_junit,
    render_html,
], ids=["json", "junit", "html"])
def test_no_report_contains_a_secret(secret_run, render):
    run, secrets, _ = secret_run
    text = render(run, secrets)
    for secret in (TOKEN, PASSWORD, "pa55word", "YWxpY2U6cGE1NXdvcmQ="):
        assert secret not in text
    # The secret's places are still visible, so a reader knows something was there.
    assert "[REDACTED]" in text
    assert "$ASSAY_TOKEN" in text


def test_json_report_names_the_environment_variables_only(secret_run):
    run, secrets, _ = secret_run
    report = render_json(run, secrets)
    assert report["secrets"] == {"ASSAY_TOKEN": "bearer token",
                                 "ASSAY_BASIC": "basic auth user:password"}
    finding = report["findings"][0]
    headers = dict(map(tuple, finding["request"]["headers"]))
    assert headers["authorization"] == "[REDACTED]"
    assert headers["x-custom"] == "prefix [REDACTED]"
    assert finding["request"]["url"].endswith("/me?api_key=[REDACTED]&page=1")
    assert json.loads(finding["response"]["body"])["echo"] == "prefix [REDACTED]"
    assert finding["reproduce"].endswith("-H 'Authorization: Bearer $ASSAY_TOKEN'")


def test_junit_redacts_attributes_too(secret_run):
    run, secrets, _ = secret_run
    root = ET.fromstring(render_junit(run, secrets))
    case = root.find("testsuite/testcase")
    assert case.get("classname") == "api [REDACTED]"
    assert case.find("failure").get("message") == "Server error 500 for token [REDACTED]"

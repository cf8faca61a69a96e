"""The JSON report: DESIGN.md's contract, its shipped JSON Schema, bodies and headers."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

import assay
from assay.core.errors import UsageError
from assay.core.events import RunResult, Summary
from assay.core.records import Finding, Request, Response, Timings
from assay.core.secrets import Secrets
from assay.reporting.json_report import (
    BODY_LIMIT,
    body_fields,
    redact_url,
    render_json,
    report_schema,
    write_json,
)
from servers import serve
from test_report_support import BINARY_BODY, SCRIPT_PAYLOAD, hostile_app, sample_result


@pytest.fixture(scope="module")
def result() -> RunResult:
    with serve(hostile_app()) as base_url:
        return sample_result(base_url)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_rendered_report_is_valid_against_the_shipped_schema(result, validator):
    report = render_json(result, Secrets())
    errors = [e.message for e in validator.iter_errors(report)]
    assert errors == []
    # The file written to disk is the same document.
    assert report["findings"][0]["response"]["status"] == 500


def test_empty_run_is_valid_too(validator):
    report = render_json(RunResult("test", None, Summary()), Secrets())
    assert validator.is_valid(report)
    assert report["findings"] == [] and report["summary"]["findings"] == 0


@pytest.mark.parametrize("field", ["reproduce", "severity", "steps", "status"])
def test_a_finding_missing_a_required_field_fails_validation(result, validator, field):
    report = render_json(result, Secrets())
    broken = copy.deepcopy(report)
    del broken["findings"][0][field]
    assert not validator.is_valid(broken)
    assert validator.is_valid(report)


@pytest.mark.parametrize("path, value", [
    (("findings", 0, "severity"), "urgent"),
    (("report_version",), 2),
    (("tool",), "schemathesis"),
    (("summary", "seed"), "one"),
    (("findings", 0, "response", "body_encoding"), "base64"),
])
def test_values_outside_the_contract_fail_validation(result, validator, path, value):
    broken = render_json(result, Secrets())
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert not validator.is_valid(broken)


def test_top_level_fields_follow_design(result):
    report = render_json(result, Secrets())
    assert report["tool"] == "assay"
    assert report["version"] == assay.__version__
    assert report["report_version"] == 1
    assert report["command"] == "test"
    assert report["target"] == result.target
    assert report["started_at"] == "2024-05-01T12:00:00+00:00"
    assert report["interrupted"] is False
    assert report["summary"] == {
        "operations": 6, "cases": 98, "findings": 4, "duration_s": 2.5, "seed": 1234,
        "phases": {"examples": 40, "fuzzing": 50, "stateful": 8},
    }
    assert report["secrets"] == {"ASSAY_KEY": "API key"}
    assert [e["kind"] for e in report["errors"]] == ["connection_reset", "error"]
    assert report["warnings"][0]["operation"] == "PUT /books/{id}"


def test_findings_carry_request_response_and_steps(result):
    findings = render_json(result, Secrets())["findings"]
    assert [f["check"] for f in findings] == [
        "not_a_server_error", "response_schema_conformance", "use_after_free",
        "content_type_conformance"]
    server_error = findings[0]
    assert server_error["operation"] == "GET /books"
    assert server_error["severity"] == "high"
    assert server_error["status"] == 500
    assert server_error["count"] == 3 and server_error["cause"] == "500"
    assert server_error["reproduce"].startswith("curl -X GET '")
    assert server_error["request"]["url"].endswith("/books?limit=51")
    assert server_error["response"]["body"].startswith(SCRIPT_PAYLOAD)
    assert server_error["response"]["elapsed_ms"] > 0
    post = findings[1]
    assert post["request"]["body"] == '{"title": "Dune"}'
    assert ["content-type", "application/json"] in post["request"]["headers"]
    sequence = findings[2]
    assert [(s["method"], s["status"]) for s in sequence["steps"]] == [
        ("POST", 201), ("DELETE", 204)]
    assert sequence["steps"][0]["operation"] == "POST /books"


def test_credential_headers_are_redacted_even_when_not_registered(result):
    server_error = render_json(result, Secrets())["findings"][0]
    request_headers = dict(map(tuple, server_error["request"]["headers"]))
    response_headers = dict(map(tuple, server_error["response"]["headers"]))
    assert request_headers["x-api-key"] == "[REDACTED]"
    assert request_headers["cookie"] == "[REDACTED]"
    assert response_headers["set-cookie"] == "[REDACTED]"
    assert request_headers["user-agent"].startswith("python-httpx")
    text = json.dumps(render_json(result, Secrets()))
    assert "k3y-v4lue" not in text and "s3ss10nvalue" not in text


def test_non_utf8_body_is_text_with_replacement_characters(result, validator):
    report = render_json(result, Secrets())
    cover = report["findings"][3]["response"]
    assert cover["body_encoding"] == "utf-8-replaced"
    assert "\ufffd" in cover["body"] and cover["body"].endswith("binary")
    assert cover["body_size"] == len(BINARY_BODY)
    assert validator.is_valid(report)


def test_large_body_is_cut_at_64_kib_with_a_note():
    body = b"x" * (BODY_LIMIT + 1000)
    fields = body_fields(body, Secrets())
    assert fields["body_truncated"] is True
    assert fields["body_size"] == BODY_LIMIT + 1000
    shown, note = fields["body"].rsplit("\n", 1)
    assert shown == "x" * BODY_LIMIT
    assert "truncated at 64 KiB" in note and str(BODY_LIMIT + 1000) in note
    exact = body_fields(b"y" * BODY_LIMIT, Secrets())
    assert exact["body_truncated"] is False and exact["body"] == "y" * BODY_LIMIT


def test_a_secret_astride_the_limit_leaves_no_fragment():
    secrets = Secrets()
    secrets.add("SECRETVALUE1234567890", "ASSAY_TOKEN")
    body = b"a" * (BODY_LIMIT - 10) + b"SECRETVALUE1234567890" + b"b" * 100
    text = body_fields(body, secrets)["body"]
    assert "SECRETVALUE" not in text and "SECRET" not in text
    assert "[REDACTED]" in text


def test_credential_like_query_values_are_redacted():
    url = "http://h/items?api_key=abc&page=2&access_token=xyz&password=&q=token"
    assert redact_url(url, Secrets()) == (
        "http://h/items?api_key=[REDACTED]&page=2&access_token=[REDACTED]&password=&q=token")


def test_write_json_writes_the_rendered_report(result, tmp_path):
    path = tmp_path / "out" / "report.json"
    write_json(result, path, Secrets())
    written = json.loads(path.read_text("utf-8"))
    assert written == json.loads(json.dumps(render_json(result, Secrets())))


def test_unwritable_path_is_a_usage_error_naming_the_file(result, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError) as info:
        write_json(result, blocker / "report.json", Secrets())
    assert str(blocker / "report.json") in str(info.value)
    assert "JSON report" in str(info.value)


def test_tests_section_points_at_findings(result):
    tests = render_json(result, Secrets())["tests"]
    assert [t["name"] for t in tests][:2] == ["GET /books", "POST /books"]
    assert tests[2]["failures"][0]["finding"] == 2
    assert tests[2]["errors"] == ["connection reset after step 2"]
    assert tests[4]["failures"] == [] and tests[4]["cases"] == 3


def test_finding_without_exchange_renders_nulls(validator):
    finding = Finding("not_a_server_error", "GET /x", "info", "boom", None, "curl x")
    report = render_json(RunResult("test", None, Summary(findings=1), [finding]), Secrets())
    assert report["findings"][0]["request"] is None
    assert report["findings"][0]["response"] is None
    assert validator.is_valid(report)


def test_request_and_response_records_render_headers_in_order():
    request = Request("GET", "http://h/", [("a", "1"), ("A", "2"), ("Authorization", "x")])
    response = Response(200, [("x-token-id", "t")], b"{}", Timings(0.0125))
    finding = Finding("c", "GET /", "low", "m", 200, "curl", request=request, response=response)
    rendered = render_json(RunResult("test", None, Summary(), [finding]), Secrets())["findings"][0]
    assert rendered["request"]["headers"] == [["a", "1"], ["A", "2"], ["Authorization", "[REDACTED]"]]
    assert rendered["response"]["headers"] == [["x-token-id", "[REDACTED]"]]
    assert rendered["response"]["elapsed_ms"] == 12.5

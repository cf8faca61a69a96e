"""The JUnit XML report: parsed back, its counts and content checked."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from assay.core import events
from assay.core.events import RunResult, Summary
from assay.core.records import Finding
from assay.core.secrets import Secrets
from assay.reporting.junit import clean_xml, render_junit, write_junit
from servers import serve
from test_report_support import hostile_app, sample_result


@pytest.fixture(scope="module")
def result() -> RunResult:
    with serve(hostile_app()) as base_url:
        return sample_result(base_url)


@pytest.fixture(scope="module")
def root(result) -> ET.Element:
    return ET.fromstring(render_junit(result, Secrets()))


def _counts(element: ET.Element) -> dict[str, str]:
    return {k: element.get(k) for k in ("tests", "failures", "errors", "skipped", "time")}


def test_one_suite_named_assay_inside_testsuites(root):
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["assay"]
    assert suites[0].get("timestamp") == "2024-05-01T12:00:00"
    assert suites[0].get("hostname")


def test_counts_agree_on_suite_and_suites(root):
    # 6 test cases from the run + 1 for a run error no test case holds; one outcome each:
    # 3 failed, 2 errored, 1 skipped (no case ran), 1 passed.
    expected = {"tests": "7", "failures": "3", "errors": "2", "skipped": "1", "time": "2.500"}
    assert _counts(root) == expected
    assert _counts(root.find("testsuite")) == expected
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 7
    assert len([c for c in cases if c.find("skipped") is not None]) == 1


def test_testcases_take_name_classname_and_time(root):
    cases = root.findall("testsuite/testcase")
    assert [(c.get("classname"), c.get("name"), c.get("time")) for c in cases[:3]] == [
        ("api.books", "GET /books", "1.250"),
        ("api.books", "POST /books", "0.500"),
        ("api.books", "GET /books/{bookId}", "0.250"),
    ]
    assert cases[-1].get("name") == "run" and cases[-1].get("classname") == "assay.test"


def test_failure_holds_message_check_status_and_reproduction(root, result):
    failure = root.find("testsuite/testcase[@name='POST /books']/failure")
    assert failure.get("type") == "response_schema_conformance"
    assert failure.get("message") == result.findings[1].message
    body = failure.text
    assert "status: 201" in body and "severity: medium" in body
    assert result.findings[1].reproduce in body
    assert "POST " + result.findings[1].request.url in body
    assert '{"title": "Dune"}' in body and '"price": "12.5"' in body


def test_sequence_steps_and_errors_are_written(root):
    case = root.find("testsuite/testcase[@name='GET /books/{bookId}']")
    assert case.find("error").get("message") == "connection reset after step 2"
    assert "1. POST " in case.find("failure").text and "-> 204" in case.find("failure").text
    run = root.find("testsuite/testcase[@name='run']/error")
    assert run.text.startswith("suite step failed <script>")


def test_hostile_body_still_gives_well_formed_xml(root):
    failure = root.find("testsuite/testcase[@name='GET /books']/failure")
    # Parsed back by expat: ]]>, < and & survive as text, the control character is gone.
    assert "end]]>tag <b> & control" in failure.text
    assert "\x01" not in failure.text
    assert "<img src=x onerror=" in failure.get("message")


def test_control_characters_in_names_and_messages_are_stripped():
    finding = Finding("not_a_server_error", "GET /\x02x", "high", "bad\x00\x1b[31m]]>", 500,
                      "curl \x07")
    test = events.TestCaseResult("GET /\x02x", "api\x0b", cases=1, failures=[finding])
    run = RunResult("test", "http://h/\x1f", Summary(findings=1), [finding], [test])
    root = ET.fromstring(render_junit(run, Secrets()))
    case = root.find("testsuite/testcase")
    assert case.get("name") == "GET /x" and case.get("classname") == "api"
    assert case.find("failure").get("message") == "bad[31m]]>"
    assert clean_xml("a\ud800b\ufffe\U0001f600") == "ab\U0001f600"


def test_finding_outside_every_test_case_still_fails_the_suite():
    finding = Finding("not_a_server_error", "GET /x", "high", "Server error", 500, "curl")
    run = RunResult("test", None, Summary(findings=1), findings=[finding], tests=[])
    root = ET.fromstring(render_junit(run, Secrets()))
    assert root.get("tests") == "1" and root.get("failures") == "1"
    assert root.find("testsuite/testcase").get("name") == "GET /x"


def test_passing_run_has_no_failures():
    tests = [events.TestCaseResult("GET /a", "api", cases=3, duration_s=0.1)]
    run = RunResult("test", None, Summary(cases=3), tests=tests)
    root = ET.fromstring(render_junit(run, Secrets()))
    assert _counts(root) == {"tests": "1", "failures": "0", "errors": "0", "skipped": "0",
                             "time": "0.000"}
    assert root.find("testsuite/testcase/failure") is None


def test_write_junit_writes_utf8_file(result, tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(result, path, Secrets())
    raw = path.read_bytes()
    assert raw.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert ET.fromstring(raw).get("tests") == "7"


def test_several_findings_of_one_test_case_are_one_failure_element():
    findings = [Finding("status_code_conformance", "GET /x", "medium", "Undocumented 418", 418,
                        "curl -X GET 'http://h/x'", cause="418"),
                Finding("response_schema_conformance", "GET /x", "medium", "$.a: bad", 200,
                        "curl -X GET 'http://h/x'", cause="properties/a/type")]
    test = events.TestCaseResult("GET /x", "examples", cases=2, failures=findings)
    result = RunResult("test", "http://h", Summary(cases=2, findings=2),
                              findings=findings, tests=[test])
    root = ET.fromstring(render_junit(result, Secrets()))
    [failure] = root.findall("testsuite/testcase/failure")
    assert failure.get("message") == ("2 findings: response_schema_conformance, "
                                      "status_code_conformance")
    assert failure.get("type") == "multiple"
    assert "Undocumented 418" in failure.text and "$.a: bad" in failure.text
    assert root.get("failures") == "1"

"""The JUnit XML report, in the shape CI systems (Jenkins, GitLab, GitHub reporters) accept.

``<testsuites>`` holds one ``<testsuite name="assay">`` with one ``<testcase>`` per
``TestCaseResult``: its findings are one ``<failure type="CHECK">`` (listed in its text), its errors
an ``<error>``; a test case that ran no request is ``<skipped>``. Counts follow the JUnit
model, one outcome per test case: a test case with an error counts in ``errors``, else one
with a finding in ``failures``, so ``tests`` = passed + failures + errors + skipped.

ElementTree does the escaping; characters XML 1.0 forbids (control characters, lone
surrogates) are stripped from every text first, since no escape can carry them.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.core.events import RunResult, TestCaseResult
from assay.core.records import Finding
from assay.core.secrets import Secrets

from .json_report import redact_url, render_finding, write_report

# Bodies in a failure are excerpts: the JSON and HTML reports hold them in full (64 KiB).
EXCERPT_LIMIT = 4096
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit(result: RunResult, secrets: Secrets) -> str:
    """The JUnit XML report of ``result`` as text, every secret redacted."""
    suite = ET.Element("testsuite", name="assay")
    _add_properties(suite, result, secrets)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    tests = _load_cases(result, secrets) if result.load is not None else _test_cases(result)
    for test in tests:
        suite.append(_testcase(test, secrets, counts))
    if result.warnings:
        lines = [_warning_line(w.message, w.operation, secrets) for w in result.warnings]
        _sub(suite, "system-out", "\n".join(lines))
    duration = _seconds(result.summary.duration_s)
    _set_counts(suite, counts, duration)
    timestamp = _timestamp(result.started_at)
    if timestamp:
        suite.set("timestamp", timestamp)
    suite.set("hostname", clean_xml(socket.gethostname()) or "localhost")
    root = ET.Element("testsuites", name="assay")
    _set_counts(root, counts, duration)
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(result: RunResult, path: str | Path, secrets: Secrets) -> None:
    """Write the JUnit XML report of ``result`` to ``path`` (UTF-8)."""
    write_report(path, render_junit(result, secrets), "JUnit report")


def clean_xml(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters...).

    >>> clean_xml("a\\x01b\\x1bc\\n")
    'abc\\n'
    """
    return _ILLEGAL_XML.sub("", text)


def _test_cases(result: RunResult) -> list[TestCaseResult]:
    """The run's test cases, plus synthetic ones for what no test case holds.

    A finding or a run error outside every test case would otherwise vanish from the
    JUnit report and let a CI job pass on a failed run.
    """
    tests = list(result.tests)
    covered = {failure.key for test in tests for failure in test.failures}
    stray: dict[str, list[Finding]] = {}
    for finding in result.findings:
        if finding.key not in covered:
            stray.setdefault(finding.operation, []).append(finding)
    classname = f"assay.{result.command}"
    for operation, findings in stray.items():
        tests.append(TestCaseResult(operation, classname, cases=len(findings), failures=findings))
    known_errors = {error for test in tests for error in test.errors}
    loose = [_error_line(e.message, e.operation, e.kind) for e in result.errors
             if e.message not in known_errors]
    if loose:
        tests.append(TestCaseResult("run", classname, cases=0, errors=loose))
    return tests


def _load_cases(result: RunResult, secrets: Secrets) -> list[TestCaseResult]:
    """A load run's test cases: one per threshold (a crossed one fails, as it fails the
    run), and one ``checks`` case listing the checks that failed under load in its output
    (they are measured, as the ``checks`` rate, and do not fail the run themselves)."""
    tests = []
    for threshold in result.load.thresholds:
        failures = [] if threshold.ok else [Finding(
            check="threshold", operation=threshold.expr, severity="high",
            message=f"threshold crossed: {threshold.expr} (measured {threshold.value})",
            status=None, reproduce="", cause=threshold.expr)]
        tests.append(TestCaseResult(f"threshold {threshold.expr}", "assay.load.threshold",
                                    cases=1, failures=failures))
    lines = [f"{f.operation}: {f.check}: {secrets.redact(f.message)} ({f.count} times)"
             for f in result.findings]
    tests.append(TestCaseResult("checks", "assay.load", cases=max(result.load.requests, 1),
                                duration_s=result.load.duration_s, output="\n".join(lines)))
    known_errors = [_error_line(e.message, e.operation, e.kind) for e in result.errors]
    if known_errors:
        tests.append(TestCaseResult("run", "assay.load", cases=0, errors=known_errors))
    return tests


def _testcase(test: TestCaseResult, secrets: Secrets, counts: dict[str, int]) -> ET.Element:
    element = ET.Element("testcase", name=clean_xml(secrets.redact(test.name)),
                         classname=clean_xml(secrets.redact(test.classname)),
                         time=_seconds(test.duration_s))
    # One <error> and one <failure> at most per test case: the Ant schema that some CI
    # readers follow allows no more; several findings are listed in the one element's text.
    if test.errors:
        texts = [clean_xml(secrets.redact(error)) for error in test.errors]
        message = texts[0].splitlines()[0] if len(texts) == 1 and texts[0] else \
            f"{len(texts)} errors"
        _sub(element, "error", "\n\n".join(texts), message=message, type="error")
    new = [finding for finding in test.failures if not finding.known]
    known = [finding for finding in test.failures if finding.known]
    if new:
        rendered = [render_finding(finding, secrets) for finding in new]
        checks = sorted({finding.check for finding in new})
        message = rendered[0]["message"] if len(rendered) == 1 else \
            f"{len(rendered)} findings: {', '.join(checks)}"
        text = f"\n\n{'-' * 40}\n\n".join(_failure_text(data) for data in rendered)
        _sub(element, "failure", text, message=clean_xml(message),
             type=clean_xml(checks[0] if len(checks) == 1 else "multiple"))
    if known or test.output:
        # Listed in the --baseline file: shown, but they do not fail the test case.
        lines = [f"known finding (baseline): {f.check}: {secrets.redact(f.message)}"
                 for f in known]
        if test.output:
            lines.append(test.output)
        _sub(element, "system-out", clean_xml("\n".join(lines)))
    counts["tests"] += 1
    if test.errors:
        counts["errors"] += 1
    elif new:
        counts["failures"] += 1
    elif test.cases == 0:
        counts["skipped"] += 1
        ET.SubElement(element, "skipped", message="no request was sent for this test case")
    return element


def _failure_text(data: dict[str, Any]) -> str:
    """The body of a ``<failure>``: what failed, how to reproduce it, what was exchanged."""
    lines = [
        data["message"],
        "",
        f"check: {data['check']}    severity: {data['severity']}    "
        f"status: {data['status'] if data['status'] is not None else 'no response'}",
        f"operation: {data['operation']}",
    ]
    if data["cause"]:
        lines.append(f"cause: {data['cause']}")
    if data["count"] > 1:
        lines.append(f"seen {data['count']} times")
    lines += ["", "Reproduce:", f"  {data['reproduce']}"]
    if data["steps"]:
        lines += ["", "Steps before it:"]
        lines += [f"  {n}. {s['method']} {s['url']} -> {s['status']}"
                  for n, s in enumerate(data["steps"], 1)]
    if data["request"]:
        request = data["request"]
        lines += ["", "Request:", f"  {request['method']} {request['url']}"]
        lines += _exchange_lines(request)
    if data["response"]:
        response = data["response"]
        lines += ["", "Response:", f"  {response['status']} ({response['elapsed_ms']:.0f} ms)"]
        lines += _exchange_lines(response)
    return "\n".join(lines)


def _exchange_lines(part: dict[str, Any]) -> list[str]:
    lines = [f"  {name}: {value}" for name, value in part["headers"]]
    body = part["body"]
    if body:
        excerpt = body[:EXCERPT_LIMIT]
        lines += ["", *("  " + line for line in excerpt.splitlines())]
        if len(body) > EXCERPT_LIMIT:
            lines.append(f"  [... {len(body) - EXCERPT_LIMIT} more characters in the JSON "
                         "and HTML reports]")
    return lines


def _add_properties(suite: ET.Element, result: RunResult, secrets: Secrets) -> None:
    properties = ET.SubElement(suite, "properties")
    values = {
        "command": secrets.redact(result.command),
        "target": redact_url(result.target, secrets) or "",
        "seed": "" if result.summary.seed is None else str(result.summary.seed),
        "interrupted": str(result.interrupted).lower(),
    }
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=clean_xml(value))


def _sub(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = clean_xml(text)
    return element


def _set_counts(element: ET.Element, counts: dict[str, int], duration: str) -> None:
    for name, value in counts.items():
        element.set(name, str(value))
    element.set("time", duration)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _timestamp(started_at: str) -> str | None:
    """``started_at`` in UTC, in the XSD's form (``2024-05-01T12:00:00``, no zone), or None."""
    try:
        moment = datetime.fromisoformat(started_at)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _warning_line(message: str, operation: str | None, secrets: Secrets) -> str:
    text = secrets.redact(message)
    return f"warning: {operation}: {text}" if operation else f"warning: {text}"


def _error_line(message: str, operation: str | None, kind: str) -> str:
    where = f"{operation}: " if operation else ""
    return f"{where}{message} ({kind})"

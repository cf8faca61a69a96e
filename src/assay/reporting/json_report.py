"""The JSON report: the contract of DESIGN.md, documented by ``report.schema.json``.

``render_json`` turns a ``RunResult`` into plain JSON data with every secret removed; the
JUnit and HTML writers build on the same redacted pieces (``render_finding``,
``redact_headers``, ``body_fields``), so redaction is written once.

Bodies are always written as text, never base64: a person reads them and redaction can
only work on text. Bytes that are not UTF-8 become U+FFFD and ``body_encoding`` says
``"utf-8-replaced"``; a body over 64 KiB is cut there and ends with a note.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import assay
from assay.core.errors import UsageError
from assay.core.events import RunResult, TestCaseResult
from assay.core.records import Finding, Request, Response, Step
from assay.core.secrets import REDACTED, Secrets, is_sensitive_name

REPORT_VERSION = 1
BODY_LIMIT = 64 * 1024

# Headers that carry credentials whatever their value: written as [REDACTED] even when the
# value was never registered as a secret (a cookie set by the API, a key from a suite).
_QUERY_PAIR = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&;#]+)=(?P<value>[^&;#]*)")


def render_json(result: RunResult, secrets: Secrets) -> dict[str, Any]:
    """The JSON report of ``result`` as a dict, every secret redacted.

    >>> from assay.core.events import RunResult, Summary
    >>> render_json(RunResult("test", None, Summary()), Secrets())["report_version"]
    1
    """
    findings = [render_finding(finding, secrets) for finding in result.findings]
    positions = {finding.key: position for position, finding in enumerate(result.findings)}
    report: dict[str, Any] = {
        "tool": "assay",
        "version": assay.__version__,
        "report_version": REPORT_VERSION,
        "command": secrets.redact(result.command),
        "target": redact_url(result.target, secrets),
        "started_at": result.started_at or None,
        "interrupted": result.interrupted,
        "summary": _summary(result),
        "findings": findings,
        "errors": [
            {"message": secrets.redact(e.message), "operation": e.operation, "kind": e.kind}
            for e in result.errors
        ],
        "warnings": [
            {"message": secrets.redact(w.message), "operation": w.operation}
            for w in result.warnings
        ],
        "secrets": secret_names(result, secrets),
        "tests": [_test(test, positions, secrets) for test in result.tests],
    }
    if result.load is not None:
        report["load"] = render_load(result.load.to_dict(), secrets)
    return report


def render_load(section: dict[str, Any], secrets: Secrets) -> dict[str, Any]:
    """The ``load`` section (``LoadResult.to_dict()``) with every secret redacted.

    Step and endpoint names may be URLs with credentials in their query, settings may hold a
    cluster address, an abort reason may quote anything: every string is redacted.
    """
    redacted = _redact_tree(section, secrets)
    redacted["by_step"] = {redact_url(name, secrets): stats
                           for name, stats in redacted.get("by_step", {}).items()}
    return redacted


def write_json(result: RunResult, path: str | Path, secrets: Secrets) -> None:
    """Write the JSON report of ``result`` to ``path`` (UTF-8, indented)."""
    text = json.dumps(render_json(result, secrets), indent=2, ensure_ascii=False)
    write_report(path, text + "\n", "JSON report")


def report_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of the report, as shipped in the package."""
    text = resources.files("assay.reporting").joinpath("report.schema.json").read_text("utf-8")
    return json.loads(text)


def render_finding(finding: Finding, secrets: Secrets) -> dict[str, Any]:
    """One finding as written in the report, with its request and response redacted."""
    return {
        "check": finding.check,
        "operation": finding.operation,
        "severity": finding.severity,
        "message": secrets.redact(finding.message),
        "status": finding.status,
        # Already written with $ENV references; redacting again costs nothing and
        # guarantees that a value the engine missed is not printed.
        "reproduce": secrets.redact(finding.reproduce),
        "steps": [render_step(step, secrets) for step in finding.steps],
        "count": finding.count,
        "cause": secrets.redact(finding.cause),
        "phase": finding.phase,
        "reason": secrets.redact(finding.reason) if finding.reason else finding.reason,
        "known": finding.known,
        "seed": finding.seed,
        "request": render_request(finding.request, secrets),
        "response": render_response(finding.response, secrets),
    }


def render_step(step: Step, secrets: Secrets) -> dict[str, Any]:
    """An earlier request of a sequence: operation, method, redacted URL, status."""
    return {
        "operation": step.operation,
        "method": step.method,
        "url": redact_url(step.url, secrets),
        "status": step.status,
    }


def render_request(request: Request | None, secrets: Secrets) -> dict[str, Any] | None:
    """The request of a finding: method, redacted URL, headers and body."""
    if request is None:
        return None
    return {
        "method": request.method,
        "url": redact_url(request.url, secrets),
        "headers": redact_headers(request.headers, secrets),
        **body_fields(request.body, secrets),
    }


def render_response(response: Response | None, secrets: Secrets) -> dict[str, Any] | None:
    """The response of a finding: status, redacted headers and body, elapsed time."""
    if response is None:
        return None
    return {
        "status": response.status,
        "reason": response.reason or None,
        "http_version": response.http_version,
        "headers": redact_headers(response.headers, secrets),
        **body_fields(response.body, secrets),
        "elapsed_ms": round(response.timings.total * 1000, 3),
    }


def is_sensitive_header(name: str) -> bool:
    """True for headers whose values are always redacted (credentials, cookies, keys)."""
    return is_sensitive_name(name)


def redact_headers(headers: list[tuple[str, str]], secrets: Secrets) -> list[list[str]]:
    """Headers as ``[name, value]`` pairs, order and duplicates kept, credentials redacted."""
    return [
        [secrets.redact(name), REDACTED if is_sensitive_header(name) else secrets.redact(value)]
        for name, value in headers
    ]


def redact_url(url: str | None, secrets: Secrets) -> str | None:
    """``url`` with secrets redacted, and values of credential-like query parameters too.

    >>> redact_url("http://h/x?api_key=abc&q=1", Secrets())
    'http://h/x?api_key=[REDACTED]&q=1'
    """
    if not url:
        return url
    url = secrets.redact(url)
    if "?" not in url:
        return url

    def replace(match: re.Match[str]) -> str:
        if not is_sensitive_header(unquote(match["name"])) or not match["value"]:
            return match[0]
        return f"{match['lead']}{match['name']}={REDACTED}"

    base, _, rest = url.partition("?")
    return base + _QUERY_PAIR.sub(replace, "?" + rest)


def body_fields(body: bytes | None, secrets: Secrets) -> dict[str, Any]:
    """``body``, ``body_size``, ``body_encoding`` and ``body_truncated`` for a report.

    ``body`` is text (redacted, then cut at 64 KiB of UTF-8 with a note at the end);
    ``body_size`` is the size in bytes of the body as sent or received.
    """
    if body is None:
        return {"body": None, "body_size": 0, "body_encoding": "utf-8", "body_truncated": False}
    # The whole body is decoded and redacted before it is cut: cutting first could leave the
    # first half of a secret astride the limit, and redacting a window could pull a cut
    # secret into view when earlier replacements shorten the text.
    try:
        text = body.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="replace")
        encoding = "utf-8-replaced"
    text = secrets.redact(text)
    encoded = text.encode("utf-8")
    truncated = len(encoded) > BODY_LIMIT
    if truncated:
        text = encoded[:BODY_LIMIT].decode("utf-8", errors="ignore")
        text += f"\n[assay: body truncated at 64 KiB; the body had {len(body)} bytes]"
    return {
        "body": text,
        "body_size": len(body),
        "body_encoding": encoding,
        "body_truncated": truncated,
    }


def secret_names(result: RunResult, secrets: Secrets) -> dict[str, str]:
    """Environment variables that reproductions use -> what they hold (never values)."""
    names = dict(result.secrets_env)
    for env, description in secrets.env_names().items():
        names.setdefault(env, description)
    return names


def write_report(path: str | Path, text: str, what: str) -> None:
    """Write ``text`` to ``path``, creating its folder; an OS error becomes a UsageError."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot write the {what}: {reason}; expected a writable file path",
            source=str(target),
        ) from exc


def _redact_tree(value: Any, secrets: Secrets) -> Any:
    if isinstance(value, str):
        return secrets.redact(value)
    if isinstance(value, dict):
        return {_redact_tree(k, secrets): _redact_tree(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_tree(item, secrets) for item in value]
    return value


def _summary(result: RunResult) -> dict[str, Any]:
    summary = result.summary
    operations, cases = summary.operations, summary.cases
    if result.load is not None:
        # A load run counts its steps (or endpoints) and the requests it sent.
        operations = operations or len(result.load.by_step)
        cases = result.load.requests
    return {
        "operations": operations,
        "cases": cases,
        "findings": summary.findings,
        "duration_s": round(summary.duration_s, 3),
        "seed": summary.seed,
        "phases": dict(summary.phases),
    }


def _test(
    test: TestCaseResult, positions: dict[tuple[str, str, str], int], secrets: Secrets
) -> dict[str, Any]:
    return {
        "name": secrets.redact(test.name),
        "classname": secrets.redact(test.classname),
        "cases": test.cases,
        "duration_s": round(test.duration_s, 3),
        "failures": [
            {
                "check": failure.check,
                "severity": failure.severity,
                "message": secrets.redact(failure.message),
                "finding": positions.get(failure.key),
            }
            for failure in test.failures
        ],
        "errors": [secrets.redact(error) for error in test.errors],
    }

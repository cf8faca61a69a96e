"""The HTML report: one self-contained page (inline CSS and JS, no external resource).

The page is built from the redacted data of ``render_json``. Every text that comes from the
API or the user goes through ``html.escape(..., quote=True)``; the inline script only reads
``data-`` attributes and writes ``textContent``, never ``innerHTML``. A Content-Security-Policy
that allows only the hash of our own script is a second wall: a payload that slipped through
escaping still could not run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from assay.core.events import RunResult
from assay.core.records import SEVERITIES
from assay.core.secrets import Secrets

from .json_report import render_json, write_report

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_JSON_TOKEN = re.compile(
    r'(?P<key>"(?:\\.|[^"\\])*")(?=\s*:)|(?P<string>"(?:\\.|[^"\\])*")'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<literal>\btrue\b|\bfalse\b|\bnull\b)"
)


def render_html(result: RunResult, secrets: Secrets) -> str:
    """The HTML report of ``result`` as one self-contained page, every secret redacted."""
    data = render_json(result, secrets)
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    title = f"assay {data['command']}: {_verdict(data)}"
    body = "".join([
        _header(data),
        _findings_section(data),
        _errors_section(data["errors"]),
        _warnings_section(data["warnings"]),
        _tests_section(data["tests"]),
        _footer(data),
    ])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_e(policy)}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"color-scheme\" content=\"light dark\">\n"
        f"<title>{_e(title)}</title>\n<style>\n{_asset('report.css')}</style>\n</head>\n"
        f"<body>\n<main>\n{body}</main>\n<script>{script}</script>\n</body>\n</html>\n"
    )


def write_html(result: RunResult, path: str | Path, secrets: Secrets) -> None:
    """Write the HTML report of ``result`` to ``path`` (UTF-8)."""
    write_report(path, render_html(result, secrets), "HTML report")


def _e(value: Any) -> str:
    """Escape for HTML text and attribute values alike; control characters made visible."""
    text = escape("" if value is None else str(value), quote=True)
    return _CONTROL.sub(_control_picture, text)


def _control_picture(match: re.Match[str]) -> str:
    # U+2400..U+241F picture C0 controls (\x01 is shown as U+2401), U+2421 pictures DEL.
    code = ord(match[0])
    return chr(0x2421 if code == 0x7F else 0x2400 + code)


def _asset(name: str) -> str:
    return resources.files("assay.reporting").joinpath(name).read_text("utf-8")


def _verdict(data: dict[str, Any]) -> str:
    count = data["summary"]["findings"]
    if count:
        return f"{count} finding{'s' if count != 1 else ''}"
    return "errors" if data["errors"] else "passed"


def _header(data: dict[str, Any]) -> str:
    summary = data["summary"]
    state = "failed" if data["findings"] else ("error" if data["errors"] else "passed")
    pills = f'<span class="pill pill-{state}">{_e(_verdict(data))}</span>'
    if data["interrupted"]:
        pills += '<span class="pill pill-interrupted">interrupted</span>'
    meta = [("Target", data["target"] or "(none)"), ("Started", _when(data["started_at"]))]
    figures = [
        ("Operations", summary["operations"]),
        ("Cases", summary["cases"]),
        ("Findings", summary["findings"]),
        ("Duration", _duration(summary["duration_s"])),
        ("Seed", "(none)" if summary["seed"] is None else summary["seed"]),
    ]
    phases = ", ".join(f"{name} {count}" for name, count in summary.get("phases", {}).items())
    return (
        f'<header class="top"><div class="title"><h1><span class="brand">assay</span> '
        f'<code>{_e(data["command"])}</code></h1>{pills}</div>'
        '<dl class="meta">'
        + "".join(f"<div><dt>{k}</dt><dd>{_e(v)}</dd></div>" for k, v in meta)
        + (f"<div><dt>Phases</dt><dd>{_e(phases)}</dd></div>" if phases else "")
        + '</dl><div class="figures">'
        + "".join(
            f'<div class="figure"><span class="value">{_e(v)}</span>'
            f'<span class="label">{k}</span></div>' for k, v in figures)
        + "</div></header>\n"
    )


def _findings_section(data: dict[str, Any]) -> str:
    findings = data["findings"]
    if not findings:
        return ('<section class="panel"><h2>Findings</h2>'
                '<p class="empty">No findings: every check passed.</p></section>\n')
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for number, finding in enumerate(findings):
        groups.setdefault(finding["operation"], []).append((number, finding))
    rows = "".join(_group(n, op, items) for n, (op, items) in enumerate(groups.items()))
    return (
        f'<section class="panel" id="findings"><h2>Findings <span class="count">'
        f'{len(findings)}</span></h2>{_filters(findings)}'
        '<table class="findings"><colgroup><col class="c-toggle"><col class="c-sev">'
        '<col class="c-check"><col class="c-status"><col><col class="c-count"></colgroup>'
        "<thead><tr><th></th><th>Severity</th><th>Check</th><th>Status</th><th>Message</th>"
        f'<th class="num">Seen</th></tr></thead>{rows}</table>'
        '<p class="empty" id="no-match" hidden>No finding matches the filters.</p>'
        "</section>\n"
    )


def _filters(findings: list[dict[str, Any]]) -> str:
    counts = {level: 0 for level in SEVERITIES}
    for finding in findings:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    chips = "".join(
        f'<button type="button" class="chip sev-{_e(level)}" data-filter-severity="{_e(level)}"'
        f' aria-pressed="false">{_e(level)} <span class="n">{count}</span></button>'
        for level, count in counts.items() if count
    )
    checks = sorted({finding["check"] for finding in findings})
    options = "".join(f'<option value="{_e(c)}">{_e(c)}</option>' for c in checks)
    return (
        '<div class="filters" role="search">'
        f'<div class="chips" aria-label="Severity">{chips}</div>'
        '<label class="select">Check <select id="filter-check">'
        f'<option value="">all checks</option>{options}</select></label>'
        '<input id="filter-search" type="search" placeholder="Search findings\u2026" '
        'aria-label="Search findings" autocomplete="off">'
        f'<span id="filter-count" class="muted">{len(findings)} of {len(findings)} shown</span>'
        '<button type="button" class="link" id="expand-all">Expand all</button>'
        "</div>"
    )


def _group(number: int, operation: str, items: list[tuple[int, dict[str, Any]]]) -> str:
    """A heading row for ``operation``, then its findings (each a ``tbody`` of two rows)."""
    plural = "s" if len(items) != 1 else ""
    head = (f'<tbody class="group" id="op-{number}" data-group="{number}"><tr><th colspan="6">'
            f'<code>{_e(operation)}</code> <span class="muted">{len(items)} finding{plural}'
            "</span></th></tr></tbody>")
    return head + "".join(_finding(n, finding, number) for n, finding in items)


def _finding(number: int, finding: dict[str, Any], group: int) -> str:
    severity, status = finding["severity"], finding["status"]
    first_line = (finding["message"].splitlines() or [""])[0]
    return (
        f'<tbody class="finding" id="finding-{number}" data-severity="{_e(severity)}" '
        f'data-check="{_e(finding["check"])}" data-group="{group}"><tr class="row">'
        f'<td><button type="button" class="toggle" aria-expanded="false" '
        f'aria-controls="detail-{number}" aria-label="Show details">\u25b8</button></td>'
        f'<td><span class="badge sev-{_e(severity)}">{_e(severity)}</span></td>'
        f'<td><code>{_e(finding["check"])}</code></td>'
        f'<td><span class="status {_status_class(status)}">{_e(status if status is not None else "none")}'
        f'</span></td><td class="message">{_e(first_line)}</td>'
        f'<td class="num">{_e(finding["count"])}</td></tr>'
        f'<tr class="detail" id="detail-{number}" hidden><td colspan="6">'
        f"{_detail(number, finding)}</td></tr></tbody>"
    )


def _detail(number: int, finding: dict[str, Any]) -> str:
    facts = [("Check", finding["check"]), ("Operation", finding["operation"]),
             ("Cause", finding["cause"]), ("Phase", finding["phase"]),
             ("Reason", finding["reason"])]
    parts = [
        f'<pre class="text">{_e(finding["message"])}</pre>',
        '<dl class="facts">'
        + "".join(f"<dt>{k}</dt><dd>{_e(v)}</dd>" for k, v in facts if v)
        + "</dl>",
        '<h4>Reproduce</h4><div class="code">'
        f'<button type="button" class="copy" data-copy="repro-{number}">Copy</button>'
        f'<pre><code id="repro-{number}">{_e(finding["reproduce"])}</code></pre></div>',
    ]
    if finding["steps"]:
        steps = "".join(
            f'<li><span class="method">{_e(s["method"])}</span> <code>{_e(s["url"])}</code>'
            f' <span class="arrow">\u2192</span> <span class="status {_status_class(s["status"])}">'
            f'{_e(s["status"])}</span></li>' for s in finding["steps"])
        parts.append(f'<h4>Steps before it</h4><ol class="steps">{steps}</ol>')
    exchange = _request(finding["request"]) + _response(finding["response"])
    if exchange:
        parts.append(f'<div class="exchange">{exchange}</div>')
    return "".join(parts)


def _request(request: dict[str, Any] | None) -> str:
    if request is None:
        return ""
    line = f'<span class="method">{_e(request["method"])}</span> <code>{_e(request["url"])}</code>'
    return _message_panel("Request", line, request)


def _response(response: dict[str, Any] | None) -> str:
    if response is None:
        return '<div class="part"><h4>Response</h4><p class="muted">No response.</p></div>'
    status = response["status"]
    line = (f'<span class="status {_status_class(status)}">{_e(status)}</span> '
            f'{_e(response.get("reason") or "")} <span class="muted">'
            f'{_e(response.get("http_version", ""))} \u00b7 '
            f'{_e(_duration(response["elapsed_ms"] / 1000))}</span>')
    return _message_panel("Response", line, response)


def _message_panel(title: str, line: str, part: dict[str, Any]) -> str:
    headers = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in part["headers"])
    notes = [_size(part["body_size"])]
    if part["body_encoding"] != "utf-8":
        notes.append("not UTF-8: invalid bytes shown as \ufffd")
    if part["body_truncated"]:
        notes.append("truncated at 64 KiB")
    body = _body_html(part["body"], part["headers"], part["body_truncated"])
    return (
        f'<div class="part"><h4>{title}</h4><p class="line">{line}</p>'
        + (f'<table class="headers">{headers}</table>' if headers else "")
        + (f'<p class="muted small">Body \u00b7 {_e(", ".join(notes))}</p>'
           f'<pre class="body">{body}</pre>' if part["body"] else "")
        + "</div>"
    )


def _body_html(body: str | None, headers: list[list[str]], truncated: bool) -> str:
    """The body escaped, pretty-printed and coloured when it is JSON."""
    if not body:
        return ""
    media = next((v.lower() for k, v in headers if k.lower() == "content-type"), "")
    if not truncated and ("json" in media or body.lstrip()[:1] in ("{", "[")):
        try:
            pretty = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        except ValueError:
            return _e(body)
        return _highlight_json(pretty)
    return _e(body)


def _highlight_json(text: str) -> str:
    """``text`` (JSON) escaped, with spans around keys, strings, numbers and literals."""
    out, last = [], 0
    for match in _JSON_TOKEN.finditer(text):
        out.append(_e(text[last:match.start()]))
        out.append(f'<span class="j-{match.lastgroup}">{_e(match[0])}</span>')
        last = match.end()
    out.append(_e(text[last:]))
    return "".join(out)


def _errors_section(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return ""
    rows = "".join(
        f'<tr><td><span class="badge kind">{_e(e["kind"])}</span></td>'
        f'<td><code>{_e(e["operation"] or "")}</code></td>'
        f'<td class="message"><pre class="text">{_e(e["message"])}</pre></td></tr>'
        for e in errors)
    return (f'<section class="panel" id="errors"><h2>Errors <span class="count">{len(errors)}'
            '</span></h2><table class="plain"><thead><tr><th>Kind</th><th>Operation</th>'
            f"<th>Message</th></tr></thead><tbody>{rows}</tbody></table></section>\n")


def _warnings_section(warnings: list[dict[str, Any]]) -> str:
    if not warnings:
        return ""
    items = "".join(
        "<li>" + (f'<code>{_e(w["operation"])}</code> ' if w.get("operation") else "")
        + f'<span class="text">{_e(w["message"])}</span></li>' for w in warnings)
    return (f'<section class="panel" id="warnings"><h2>Warnings <span class="count">'
            f'{len(warnings)}</span></h2><ul class="warnings">{items}</ul></section>\n')


def _tests_section(tests: list[dict[str, Any]]) -> str:
    if not tests:
        return ""
    rows = "".join(
        f'<tr><td><span class="badge {_outcome(t)}">{_outcome(t)}</span></td>'
        f'<td><code>{_e(t["name"])}</code></td><td>{_e(t["classname"])}</td>'
        f'<td class="num">{_e(t["cases"])}</td><td class="num">{len(t["failures"])}</td>'
        f'<td class="num">{len(t["errors"])}</td>'
        f'<td class="num">{_e(_duration(t["duration_s"]))}</td></tr>' for t in tests)
    return (
        f'<section class="panel" id="tests"><details><summary><h2>Test cases <span '
        f'class="count">{len(tests)}</span></h2></summary><table class="plain"><thead><tr>'
        "<th>Outcome</th><th>Name</th><th>Class</th><th class=\"num\">Cases</th>"
        '<th class="num">Failures</th><th class="num">Errors</th><th class="num">Time</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></details></section>\n"
    )


def _outcome(test: dict[str, Any]) -> str:
    if test["errors"]:
        return "error"
    if test["failures"]:
        return "failed"
    return "passed" if test["cases"] else "skipped"


def _footer(data: dict[str, Any]) -> str:
    names = "".join(f"<li><code>${_e(env)}</code> \u2014 {_e(what)}</li>"
                    for env, what in data["secrets"].items())
    secrets = (f"<p>Reproductions read secrets from these environment variables:</p>"
               f'<ul class="env">{names}</ul>' if names else "")
    return (f'<footer>{secrets}<p class="muted">Written by assay {_e(data["version"])} '
            f'\u00b7 report version {_e(data["report_version"])}</p></footer>\n')


def _when(started_at: str | None) -> str:
    if not started_at:
        return "(unknown)"
    try:
        moment = datetime.fromisoformat(started_at)
    except ValueError:
        return started_at
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + (moment.tzname() or "")


def _status_class(status: int | None) -> str:
    """``s2``...``s5`` by status family (``s0`` without a response), for colours."""
    return f"s{status // 100}" if isinstance(status, int) and 100 <= status < 600 else "s0"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"

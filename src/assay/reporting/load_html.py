"""The HTML report of ``assay load``: one self-contained page of figures, tables and charts.

The page is built from the redacted data of ``render_json`` (its ``load`` section and its
findings), so redaction happens in one place; findings, errors and warnings are drawn by
the test report's own code (``assay.reporting.html``) and keep its escaping, its filters
and its Content-Security-Policy. Charts are inline SVG from ``svgcharts``: no JavaScript
library, nothing fetched.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from assay.core.events import RunResult
from assay.core.secrets import Secrets
from assay.load.results import LoadResult, Percentiles

from .html import _asset, _e, _errors_section, _findings_section, _footer, _warnings_section, _when
from .json_report import render_json, write_report
from .load_console import describe_run, format_count, format_percent, format_threshold_value
from .svgcharts import (
    Axis,
    Series,
    distribution_chart,
    format_ms,
    format_seconds,
    tick_count,
    tick_ms,
    time_chart,
)

_KEYS = ("p50", "p90", "p95", "p99", "p99.9", "max")
# A latency chart switches to a log axis when its values span more than this ratio: a
# 2-second max beside a 3 ms median would otherwise flatten every percentile but one.
LOG_RATIO = 50.0
# Settings shown in the "Run" line already; the others are listed as they are.
_DESCRIBED = {"model", "vus", "rate", "stages", "duration_s", "iterations", "workers", "cluster"}


def render_load_html(result: RunResult, secrets: Secrets) -> str:
    """The HTML report of a load run as one self-contained page, every secret redacted."""
    data = render_json(result, secrets)
    load = data.get("load") or _nothing_measured()
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    policy = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
    body = "".join([
        _header(data, load),
        _thresholds_section(load["thresholds"]),
        _charts_section(load),
        _steps_section(load),
        _error_kinds_section(load),
        _findings_section(data),
        _errors_section(data["errors"]),
        _warnings_section(data["warnings"]),
        _footer(data),
    ])
    style = _asset("report.css") + _asset("load_report.css")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_e(policy)}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"color-scheme\" content=\"light dark\">\n"
        f"<title>{_e(f'assay load: {_verdict_text(data, load)}')}</title>\n"
        f"<style>\n{style}</style>\n</head>\n"
        f"<body>\n<main class=\"load\">\n{body}</main>\n<script>{script}</script>\n"
        "</body>\n</html>\n"
    )


def write_load_html(result: RunResult, path: str | Path, secrets: Secrets) -> None:
    """Write the HTML report of a load run to ``path`` (UTF-8)."""
    write_report(path, render_load_html(result, secrets), "HTML report")


def _nothing_measured() -> dict[str, Any]:
    return LoadResult("closed", 0, 0.0, 0, Percentiles(), Percentiles()).to_dict()


# Header ----------------------------------------------------------------------------------

def _verdict_text(data: dict[str, Any], load: dict[str, Any]) -> str:
    crossed = sum(1 for t in load["thresholds"] if not t["ok"])
    new = sum(1 for f in data["findings"] if not f["known"])
    parts = []
    if crossed:
        parts.append(f"{crossed} of {len(load['thresholds'])} thresholds crossed")
    if new:
        parts.append(f"{new} finding{'s' if new != 1 else ''}")
    if data["errors"]:
        parts.append(f"{len(data['errors'])} error{'s' if len(data['errors']) != 1 else ''}")
    return ", ".join(parts) if parts else "passed"


def _header(data: dict[str, Any], load: dict[str, Any]) -> str:
    verdict = _verdict_text(data, load)
    state = "passed" if verdict == "passed" else "failed"
    pills = f'<span class="pill pill-{state}" id="verdict">{_e(verdict)}</span>'
    if load["thresholds"] and state == "passed":
        held = len(load["thresholds"])
        pills += (f'<span class="pill pill-passed">{held} threshold{"s" if held != 1 else ""} '
                  "held</span>")
    if load.get("aborted"):
        pills += f'<span class="pill pill-interrupted">stopped: {_e(load["aborted"])}</span>'
    elif data["interrupted"]:
        pills += '<span class="pill pill-interrupted">interrupted</span>'
    settings = load.get("settings") or {}
    meta = [("Target", data["target"] or "(none)"), ("Started", _when(data["started_at"])),
            ("Run", describe_run(settings, load.get("model", "closed"), load.get("workers", 1)))]
    extra = ", ".join(f"{k} {_setting(v)}" for k, v in settings.items() if k not in _DESCRIBED)
    if extra:
        meta.append(("Settings", extra))
    return (
        '<header class="top"><div class="title"><h1><span class="brand">assay</span> '
        f"<code>load</code></h1>{pills}</div>"
        '<dl class="meta">' + "".join(f"<div><dt>{k}</dt><dd>{_e(v)}</dd></div>" for k, v in meta)
        + "</dl>" + _figures(data, load) + _latency_table(load) + "</header>\n"
    )


def _setting(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " \u2192 ".join(str(v) for v in value)
    return str(value)


def _figures(data: dict[str, Any], load: dict[str, Any]) -> str:
    errors = load["errors"]
    figures = [
        ("Requests", format_count(load["requests"]), "", "requests"),
        ("Requests/s", f"{load['rps']:,.1f}", "", "rps"),
        ("Error rate", format_percent(load["error_rate"]),
         f"{format_count(errors)} failed", "error-rate bad" if errors else "error-rate"),
        ("p99 latency", format_ms(load["latency_ms"]["p99"]),
         f"service {format_ms(load['service_time_ms']['p99'])}", "p99"),
        ("Late starts", format_count(load["late_starts"]),
         f"backlog up to {format_count(load.get('max_backlog', 0))}"
         if load.get("max_backlog") else "", "late"),
        ("Duration", f"{load['duration_s']:.1f} s", "", "duration"),
    ]
    checks = load.get("checks") or {}
    if checks.get("rate") is not None:
        figures.append(("Checks passed", format_percent(checks["rate"]),
                        f"{format_count(checks['failed'])} failed", "checks"))
    figures.append(("Findings", str(data["summary"]["findings"]), "", "findings"))
    return '<div class="figures">' + "".join(
        f'<div class="figure {css}"><span class="value">{_e(value)}</span>'
        f'<span class="label">{_e(label)}</span>'
        + (f'<span class="note">{_e(note)}</span>' if note else "") + "</div>"
        for label, value, note, css in figures) + "</div>"


def _latency_table(load: dict[str, Any]) -> str:
    head = "".join(f'<th class="num">{k}</th>' for k in _KEYS)
    rows = "".join(
        f'<tr><th scope="row">{label} <span class="muted">{hint}</span></th>'
        + "".join(f'<td class="num">{_e(format_ms(load[key].get(k)))}</td>' for k in _KEYS)
        + "</tr>"
        for label, hint, key in (
            ("Latency", "from the intended send time", "latency_ms"),
            ("Service time", "from the moment the request was sent", "service_time_ms")))
    return ('<div class="scroll"><table class="plain latency" id="latency-table">'
            f"<thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table></div>")


# Sections --------------------------------------------------------------------------------

def _thresholds_section(thresholds: list[dict[str, Any]]) -> str:
    if not thresholds:
        return ""
    rows = "".join(_threshold_row(t) for t in thresholds)
    crossed = sum(1 for t in thresholds if not t["ok"])
    return (f'<section class="panel" id="thresholds"><h2>Thresholds <span class="count">'
            f'{crossed} of {len(thresholds)} crossed</span></h2><table class="plain">'
            '<thead><tr><th>Threshold</th><th class="num">Measured</th><th>Result</th></tr>'
            f"</thead><tbody>{rows}</tbody></table></section>\n")


def _threshold_row(threshold: dict[str, Any]) -> str:
    ok = threshold["ok"]
    state, badge, mark = ("held", "passed", "\u2713 held") if ok else (
        "crossed", "failed", "\u2717 crossed")
    value = format_threshold_value(threshold["expr"], threshold["value"])
    return (f'<tr class="{state}"><td><code>{_e(threshold["expr"])}</code></td>'
            f'<td class="num">{_e(value)}</td>'
            f'<td><span class="badge {badge}">{mark}</span></td></tr>')


def _charts_section(load: dict[str, Any]) -> str:
    points = _filled_timeline(load["timeline"])
    cards = [
        ("Requests and errors per second", "Completed requests per second; failed requests "
         "as bars on the right axis.", _throughput_chart(points)),
        ("Latency over time", "Percentiles of each second, measured from the intended send "
         "time; the max is the faint line.", _latency_chart(points)),
        ("Latency distribution", "Share of requests by latency (log scale), the cumulative "
         "share, and the run's percentiles.", _distribution(load)),
    ]
    if any(p["active"] or p["backlog"] or p["late"] for p in points):
        closed = load.get("model", "closed") != "open"
        cards.append(("Virtual users" if closed else "Concurrency",
                      ("Virtual users running" if closed else "Requests in flight")
                      + ", requests waiting for a connection, and late starts per second.",
                      _concurrency_chart(points, closed)))
    body = "".join(
        f'<figure class="chart-card"><figcaption><h3>{_e(title)}</h3>'
        f'<p class="muted">{_e(hint)}</p></figcaption><div class="chart-scroll">{svg}</div>'
        "</figure>" for title, hint, svg in cards)
    return (f'<section class="panel" id="charts"><h2>Charts</h2>'
            f'<div class="charts">{body}</div></section>\n')


def _filled_timeline(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline with a zero entry for each second in which nothing completed.

    Every timeline entry is one second; a second absent from it completed no request (a
    stall), which the charts must show as a drop, not bridge with a straight line.
    """
    by_second = {round(p["t"]): p for p in timeline}
    if not by_second or any(abs(p["t"] - round(p["t"])) > 1e-6 for p in timeline):
        return list(timeline)
    return [by_second.get(t) or {"t": float(t), "rps": 0.0, "requests": 0, "errors": 0,
                                 "p50": None, "p90": None, "p99": None, "max": None,
                                 "active": 0, "backlog": 0, "late": 0}
            for t in range(1, max(by_second) + 1)]


def _span(point: dict[str, Any]) -> str:
    return f"{format_seconds(point['t'] - 1)}\u2013{format_seconds(point['t'])}"


def _throughput_chart(points: list[dict[str, Any]]) -> str:
    slots = [p["t"] for p in points]
    hover = [f"{_span(p)}\n{p['rps']:,.0f} requests/s\n{format_count(p['errors'])} errors"
             for p in points]
    return time_chart(
        "Requests and errors per second", slots,
        [Series("requests/s", [p["rps"] for p in points], "c-rps", "area"),
         Series("errors/s", [p["errors"] for p in points], "c-err", "bars", axis="right")],
        left=Axis("requests/s", tick_count),
        right=Axis("errors/s", tick_count, css="c-err", integer=True),
        hover=hover, chart_id="chart-throughput")


def _latency_chart(points: list[dict[str, Any]]) -> str:
    keys = (("p50", "c-p50", "line"), ("p90", "c-p90", "line"), ("p99", "c-p99", "line"),
            ("max", "c-max", "faint"))
    values = [p.get(k) for p in points for k, _, _ in keys]
    positive = [v for v in values if v is not None and v > 0]
    log = bool(positive) and max(positive) / min(positive) > LOG_RATIO
    hover = [f"{_span(p)}\n" + "\n".join(f"{k} {format_ms(p.get(k))}" for k, _, _ in keys)
             for p in points]
    return time_chart(
        "Latency percentiles per second", [p["t"] for p in points],
        [Series(k, [p.get(k) for p in points], css, kind) for k, css, kind in keys],
        left=Axis("latency" + (" (log)" if log else ""), tick_ms, log=log),
        hover=hover, chart_id="chart-latency")


def _distribution(load: dict[str, Any]) -> str:
    buckets = [(b["le_ms"], b["count"]) for b in load.get("distribution", [])]
    latency = load["latency_ms"]
    markers = [(k, latency[k]) for k in ("p50", "p90", "p99", "p99.9") if latency.get(k)]
    return distribution_chart("Latency distribution", buckets, markers=markers,
                              chart_id="chart-distribution")


def _concurrency_chart(points: list[dict[str, Any]], closed: bool) -> str:
    label = "virtual users" if closed else "in flight"
    hover = [f"{_span(p)}\n{format_count(p['active'])} {label}\n"
             f"{format_count(p['backlog'])} waiting for a connection\n"
             f"{format_count(p['late'])} late starts" for p in points]
    return time_chart(
        "Concurrency per second", [p["t"] for p in points],
        [Series(label, [p["active"] for p in points], "c-active", "area"),
         Series("backlog", [p["backlog"] for p in points], "c-backlog", "line"),
         Series("late starts/s", [p["late"] for p in points], "c-late", "bars", axis="right")],
        left=Axis(label, tick_count, integer=True),
        right=Axis("late starts/s", tick_count, css="c-late", integer=True),
        hover=hover, chart_id="chart-concurrency")


def _steps_section(load: dict[str, Any]) -> str:
    steps = load["by_step"]
    if not steps:
        return ""
    duration = load["duration_s"]
    rows = "".join(_step_row(name, stats, duration) for name, stats in steps.items())
    head = "".join(f'<th class="num">{h}</th>' for h in
                   ("Requests", "Req/s", "Errors", "Error rate", "p50", "p95", "p99", "max",
                    "Checks"))
    return (f'<section class="panel" id="steps"><h2>By step <span class="count">{len(steps)}'
            '</span></h2><div class="scroll"><table class="plain steps"><thead><tr>'
            f"<th>Step or endpoint</th>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
            "</section>\n")


def _step_row(name: str, stats: dict[str, Any], duration: float) -> str:
    latency = stats["latency_ms"]
    requests, errors = stats["requests"], stats["errors"]
    rate = stats.get("error_rate", errors / requests if requests else 0.0)
    passed, failed = stats.get("checks_passed", 0), stats.get("checks_failed", 0)
    checks = (f'<span class="bad">{format_count(failed)} failed</span>' if failed
              else (f"{format_count(passed)} ok" if passed else "\u2013"))
    bad = ' class="num bad"' if errors else ' class="num"'
    rps = f"{requests / duration:,.1f}" if duration > 0 else "\u2013"
    return (f"<tr><td><code>{_e(name)}</code></td><td class=\"num\">{format_count(requests)}</td>"
            f'<td class="num">{rps}</td><td{bad}>{format_count(errors)}</td>'
            f"<td{bad}>{_e(format_percent(rate))}</td>"
            + "".join(f'<td class="num">{_e(format_ms(latency.get(k)))}</td>'
                      for k in ("p50", "p95", "p99", "max"))
            + f'<td class="num">{checks}</td></tr>')


def _error_kinds_section(load: dict[str, Any]) -> str:
    kinds = load.get("errors_by_kind") or {}
    if not kinds:
        return ""
    total_errors = sum(kinds.values()) or 1
    requests = load["requests"] or 1
    rows = "".join(
        f'<tr><td><span class="badge kind">{_e(kind)}</span></td>'
        f'<td class="num">{format_count(count)}</td>'
        f'<td class="num">{_e(format_percent(count / requests))}</td>'
        f'<td><div class="share"><span class="track"><span class="bar" '
        f'style="width:{count / total_errors * 100:.1f}%"></span></span><span class="muted">'
        f"{_e(format_percent(count / total_errors))} of errors</span></div></td></tr>"
        for kind, count in sorted(kinds.items(), key=lambda item: (-item[1], item[0])))
    return (f'<section class="panel" id="error-kinds"><h2>Errors by kind <span class="count">'
            f'{format_count(sum(kinds.values()))}</span></h2><div class="scroll">'
            '<table class="plain kinds"><thead><tr><th>Kind</th><th class="num">Requests</th>'
            '<th class="num">Of all requests</th><th>Share</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div></section>\n")


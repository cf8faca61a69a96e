"""The reports of ``assay load``: the JSON ``load`` section and its schema, the HTML page with
its SVG charts, the end-of-run console summary and the live progress display.

The load engine is written at the same time, so the ``LoadResult`` is built by hand with the
figures of a realistic 30-second run (a stall at seconds 13-14); the finding in it is a real
exchange over 127.0.0.1 whose URL carries a secret.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from html import unescape
from html.parser import HTMLParser
from io import StringIO

import jsonschema
import pytest
from rich.console import Console

from assay.core.events import RunResult, Summary
from assay.core.records import Finding
from assay.core.secrets import Secrets
from assay.load.results import (
    LoadResult,
    Percentiles,
    Progress,
    StepStats,
    ThresholdResult,
    TimelinePoint,
)
from assay.reporting.json_report import render_json, report_schema
from assay.reporting.load_console import LiveProgress, print_load_summary
from assay.reporting.load_html import render_load_html, write_load_html
from assay.reporting.svgcharts import Axis, Series, log_bins, tick_ms, time_chart
from servers import Canned, RecordingApp, serve
from test_report_support import exchange

SECRET = "s3cr3t-t0k3n-v4lue"
STALL = {13: (410, 37, 232.0, 251.0, 1204.6, 120), 14: (380, 52, 205.0, 243.0, 987.0, 95)}


def _timeline() -> tuple[TimelinePoint, ...]:
    points = []
    for second in range(1, 31):
        if second in STALL:
            requests, errors, p90, p99, top, late = STALL[second]
            p50 = 6.2
        else:
            requests = {1: 620, 2: 940}.get(second, 1000 + (second * 37) % 61)
            errors = 3 if second in (7, 21) else 0
            p50, p90, p99 = 4.0 + (second % 5) * 0.05, 9.1 + (second % 3) * 0.2, 21.0 + second % 4
            top, late = 48.0 + second, 0
        points.append(TimelinePoint(t=float(second), requests=requests, errors=errors, p50=p50,
                                    p90=p90, p99=p99, max=top, active=50, late=late))
    return tuple(points)


def _distribution(total: int) -> tuple[tuple[float, int], ...]:
    """97% around 4 ms (log-normal), 3% spread from 30 ms to 1.2 s; counts sum to ``total``."""
    bounds = [0.5 * 1.25 ** i for i in range(36)]

    def share(upper: float) -> float:
        fast = 0.5 * (1 + math.erf(math.log(upper / 4.1) / (0.6 * math.sqrt(2))))
        slow = min(1.0, max(0.0, math.log(upper / 30) / math.log(1200 / 30)))
        return 0.97 * fast + 0.03 * slow

    counts, previous = [], 0.0
    for upper in bounds:
        now = share(upper)
        counts.append(round((now - previous) * total))
        previous = now
    counts[bounds.index(min(bounds, key=lambda b: abs(b - 4.1)))] += total - sum(counts)
    return tuple((round(b, 3), c) for b, c in zip(bounds, counts, strict=True) if c)


def load_result(*, thresholds: tuple[ThresholdResult, ...] | None = None) -> LoadResult:
    """A closed-model run: 50 VUs for 30 s, three suite steps, two of three thresholds held."""
    timeline = _timeline()
    requests = sum(p.requests for p in timeline)
    errors = sum(p.errors for p in timeline)
    shares = {"login": 1, "list books": 2, "create book": 1}
    by_step, left = {}, requests
    for index, (name, weight) in enumerate(shares.items()):
        count = left if index == len(shares) - 1 else requests * weight // 4
        left -= count
        step_errors = {"login": 0, "list books": 89, "create book": 6}[name]
        by_step[name] = StepStats(
            name, count, step_errors,
            Percentiles(3.1 + index, 7.9 + index, 12.2 + index, 190.5 + index * 10, 940.0,
                        1204.6 - index * 100, 0.4, 6.5),
            Percentiles(2.5, 6.1, 8.8, 30.2, 240.0, 990.0),
            errors_by_kind={"timeout": 89} if step_errors == 89 else (
                {"http 503": 6} if step_errors else {}),
            checks_passed=count - (12 if name == "create book" else 0),
            checks_failed=12 if name == "create book" else 0)
    return LoadResult(
        model="closed", requests=requests, duration_s=30.02, errors=errors,
        latency=Percentiles(4.1, 9.3, 14.8, 212.4, 951.3, 1204.6, 0.41, 9.7),
        service_time=Percentiles(3.2, 7.1, 9.8, 31.5, 248.0, 1003.1, 0.35, 5.2),
        late_starts=215, errors_by_kind={"timeout": 89, "http 503": 6},
        checks_passed=requests - 12, checks_failed=12,
        thresholds=thresholds if thresholds is not None else (
            ThresholdResult("p95<300ms", True, 14.8),
            ThresholdResult("error_rate<0.1%", False, errors / requests),
            ThresholdResult("rps>500", True, requests / 30.02)),
        by_step=by_step, timeline=timeline, distribution=_distribution(requests),
        workers=2, settings={"model": "closed", "workers": 2, "max_connections": 1000,
                             "timeout_s": 10.0, "vus": 50, "duration_s": 30.0},
    )


def sample_load_run(base_url: str, load: LoadResult | None = None) -> RunResult:
    """The RunResult of ``assay load`` with one finding whose URL and message hold SECRET."""
    request, response = exchange(base_url, "GET", f"/books?token={SECRET}",
                                 operation="GET /books",
                                 headers={"authorization": f"Bearer {SECRET}"})
    finding = Finding("not_a_server_error", "GET /books", "high",
                      f"Server error 503 on {request.url}", 503,
                      f"curl -X GET '{base_url}/books?token=$ASSAY_TOKEN'", cause="503",
                      request=request, response=response, count=6, phase="load")
    load = load or load_result()
    return RunResult(
        command="load", target=base_url,
        summary=Summary(operations=3, cases=load.requests, findings=1,
                        duration_s=load.duration_s),
        findings=[finding], secrets_env={"ASSAY_TOKEN": "bearer token"},
        started_at="2024-05-01T12:00:00+00:00", load=load)


def _secrets() -> Secrets:
    secrets = Secrets()
    secrets.add(SECRET, "ASSAY_TOKEN", "bearer token")
    return secrets


def _api() -> RecordingApp:
    return RecordingApp({"GET /books": Canned(503, {"error": "overloaded"})})


@pytest.fixture(scope="module")
def run() -> RunResult:
    with serve(_api()) as base_url:
        return sample_load_run(base_url)


@pytest.fixture(scope="module")
def page(run) -> str:
    return render_load_html(run, _secrets())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


# JSON --------------------------------------------------------------------------------------

def test_load_report_is_valid_against_the_schema_and_exact(run, validator):
    report = render_json(run, _secrets())
    assert [e.message for e in validator.iter_errors(report)] == []
    load = report["load"]
    assert load["requests"] == run.load.requests == 29_134
    assert load["errors"] == 95 and load["error_rate"] == pytest.approx(95 / 29_134)
    assert load["rps"] == pytest.approx(29_134 / 30.02, abs=0.001)
    assert load["latency_ms"] == {"p50": 4.1, "p90": 9.3, "p95": 14.8, "p99": 212.4,
                                  "p99.9": 951.3, "max": 1204.6}
    assert load["service_time_ms"]["p99"] == 31.5
    assert load["late_starts"] == 215
    assert [(t["expr"], t["ok"]) for t in load["thresholds"]] == [
        ("p95<300ms", True), ("error_rate<0.1%", False), ("rps>500", True)]
    assert list(load["by_step"]) == ["login", "list books", "create book"]
    assert sum(s["requests"] for s in load["by_step"].values()) == load["requests"]
    assert len(load["timeline"]) == 30
    assert {k: load["timeline"][12][k] for k in ("t", "rps", "errors", "p99")} == {
        "t": 13.0, "rps": 410.0, "errors": 37, "p99": 251.0}
    assert sum(b["count"] for b in load["distribution"]) == load["requests"]
    assert report["summary"]["operations"] == 3 and report["summary"]["cases"] == 29_134


def test_summary_counts_steps_and_requests_when_the_engine_left_them_out(run, validator):
    bare = replace(run, summary=Summary())
    summary = render_json(bare, _secrets())["summary"]
    assert summary["operations"] == 3 and summary["cases"] == 29_134


def test_a_report_without_load_has_no_load_section(run):
    assert "load" not in render_json(replace(run, load=None), _secrets())


@pytest.mark.parametrize("path, value", [
    (("error_rate",), 1.5),
    (("error_rate",), -0.1),
    (("latency_ms", "p99"), "212 ms"),
    (("thresholds", 0, "ok"), "yes"),
    (("timeline", 0, "t"), None),
    (("by_step", "login", "requests"), -1),
])
def test_load_values_outside_the_contract_fail_validation(run, validator, path, value):
    report = render_json(run, _secrets())
    target = report["load"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert not validator.is_valid(report)


@pytest.mark.parametrize("key", ["requests", "error_rate", "latency_ms", "service_time_ms",
                                 "late_starts", "thresholds", "by_step", "timeline"])
def test_load_section_missing_a_required_key_fails_validation(run, validator, key):
    report = render_json(run, _secrets())
    del report["load"][key]
    assert not validator.is_valid(report)


def test_a_percentile_key_is_required(run, validator):
    report = render_json(run, _secrets())
    del report["load"]["by_step"]["login"]["latency_ms"]["p99.9"]
    assert not validator.is_valid(report)


# Secrets -----------------------------------------------------------------------------------

def test_no_secret_in_any_load_report(run):
    leaky = replace(run.load, by_step={f"GET /books?token={SECRET}": run.load.by_step["login"]},
                    settings={"cluster": f"tcp://{SECRET}@scheduler:8786"},
                    aborted=f"threshold crossed on GET /books?token={SECRET}")
    leaky_run = replace(run, load=leaky)
    report = render_json(leaky_run, _secrets())
    assert "GET /books?token=[REDACTED]" in report["load"]["by_step"]
    assert report["load"]["settings"]["cluster"] == "tcp://[REDACTED]@scheduler:8786"
    console = Console(record=True, width=140, file=StringIO())
    print_load_summary(console, leaky_run, _secrets())
    outputs = [json.dumps(report), render_load_html(leaky_run, _secrets()),
               console.export_text()]
    for text in outputs:
        assert SECRET not in text
        assert "[REDACTED]" in text


def test_request_url_is_redacted_even_without_registered_secrets(run):
    # The query parameter's name says it holds a credential: redacted with no Secrets.
    page = render_load_html(run, Secrets())
    assert re.search(r'<span class="method">GET</span> <code>http://127\.0\.0\.1:\d+'
                     r"/books\?token=\[REDACTED\]</code>", page)
    assert f"<code>{run.findings[0].request.url}</code>" not in page


# HTML --------------------------------------------------------------------------------------

class _Svg(HTMLParser):
    """Collects the SVG charts, their hover titles and every tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.charts: dict[str, list[str]] = {}
        self._chart: str | None = None
        self._title: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "svg":
            self._chart = attrs.get("id") or ""
            self.charts[self._chart] = []
        elif tag == "title" and self._chart is not None:
            self._title = []

    def handle_endtag(self, tag):
        if tag == "svg":
            self._chart = None
        elif tag == "title" and self._title is not None:
            self.charts[self._chart].append("".join(self._title))
            self._title = None

    def handle_data(self, data):
        if self._title is not None:
            self._title.append(data)


def _svg(page: str) -> _Svg:
    parser = _Svg()
    parser.feed(page)
    parser.close()
    return parser


def test_page_has_the_four_charts_with_exact_hover_values(page):
    charts = _svg(page).charts
    assert list(charts) == ["chart-throughput", "chart-latency", "chart-distribution",
                            "chart-concurrency"]
    throughput = charts["chart-throughput"]
    assert len(throughput) == 30
    assert throughput[12] == "12s\u201313s\n410 requests/s\n37 errors"
    assert "13s\u201314s\np50 6.2 ms\np90 205 ms\np99 243 ms\nmax 987 ms" in \
        charts["chart-latency"]
    assert charts["chart-concurrency"][13].endswith("50 virtual users\n"
                                                    "0 waiting for a connection\n95 late starts")


def test_distribution_bars_account_for_every_request(page, run):
    titles = _svg(page).charts["chart-distribution"]
    counts = [int(m[1].replace(",", "")) for t in titles
              if (m := re.search(r": ([\d,]+) requests", t))]
    assert sum(counts) == run.load.requests
    assert "p99: 212 ms" in titles and "p50: 4.1 ms" in titles


def test_charts_have_axes_with_labelled_ticks_and_legends(page):
    throughput = page[page.index('id="chart-throughput"'):page.index('id="chart-latency"')]
    assert ">requests/s</text>" in throughput and ">errors/s</text>" in throughput
    for tick in (">0s<", ">10s<", ">20s<", ">30s<", ">1k<"):
        assert tick in throughput
    latency = page[page.index('id="chart-latency"'):page.index('id="chart-distribution"')]
    # p50 around 4 ms and a max over a second: the latency axis is logarithmic.
    assert ">latency (log)</text>" in latency and ">3s<" in latency and ">3ms<" in latency
    for label in (">p50</text>", ">p90</text>", ">p99</text>", ">max</text>"):
        assert label in latency
    assert ">cumulative</text>" in page and ">100%<" in page


def test_header_figures_thresholds_steps_and_errors(page):
    assert "<title>assay load: 1 of 3 thresholds crossed, 1 finding</title>" in page
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))
    assert "closed model \u00b7 50 VUs \u00b7 30s \u00b7 2 workers" in text
    assert "29,134 Requests" in text and "970.5 Requests/s" in text
    assert "0.33% Error rate 95 failed" in text
    assert "212 ms p99 latency service 31.5 ms" in text
    assert "Latency from the intended send time 4.1 ms 9.3 ms 14.8 ms 212 ms 951 ms 1.2 s" in text
    assert "Service time from the moment the request was sent 3.2 ms" in text
    assert "error_rate<0.1% 0.33% \u2717 crossed" in text
    assert "p95<300ms 14.8 ms \u2713 held" in text and "rps>500 970.5/s \u2713 held" in text
    assert "list books 14,567 485.2 89 0.61% 4.1 ms 13.2 ms 200 ms 1.1 s 14,567 ok" in text
    assert "create book 7,284 242.6 6 0.08% 5.1 ms 14.2 ms 210 ms 1 s 12 failed" in text
    assert "timeout 89 0.31% 93.68% of errors" in text
    assert "not_a_server_error" in text and "Server error 503" in text


def test_page_is_self_contained_and_runs_only_its_own_script(page):
    tags = _svg(page).tags
    assert [t for t, _ in tags if t == "script"] == ["script"]
    for tag, attrs in tags:
        assert tag not in ("link", "img", "iframe")
        for name in ("src", "href", "action"):
            assert attrs.get(name) is None, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs)
    assert "Content-Security-Policy" in page and "url(" not in page


def test_a_passing_run_says_so(run):
    held = load_result(thresholds=(ThresholdResult("p95<300ms", True, 14.8),))
    passing = replace(run, load=held, findings=[])
    page = render_load_html(passing, _secrets())
    assert "<title>assay load: passed</title>" in page
    assert "1 threshold held" in page and "No findings" in page


def test_an_empty_run_still_renders(run):
    empty = LoadResult("open", 0, 0.0, 0, Percentiles(), Percentiles())
    page = render_load_html(replace(run, load=empty, findings=[]), _secrets())
    assert page.count("nothing measured") == 3
    assert 'id="chart-concurrency"' not in page


def test_open_model_shows_requests_in_flight_and_backlog(run):
    timeline = tuple(replace(p, active=120, backlog=30 if p.t in (13.0, 14.0) else 0)
                     for p in run.load.timeline)
    open_run = replace(run, load=replace(run.load, model="open", timeline=timeline,
                                         settings={"model": "open", "rate": 1000.0}))
    charts = _svg(render_load_html(open_run, _secrets())).charts
    assert "120 in flight\n30 waiting for a connection" in charts["chart-concurrency"][12]


def test_a_missing_second_shows_as_zero_not_as_a_bridge(run):
    gap = tuple(p for p in run.load.timeline if p.t != 20.0)
    page = render_load_html(replace(run, load=replace(run.load, timeline=gap)), _secrets())
    titles = _svg(page).charts["chart-throughput"]
    assert len(titles) == 30 and titles[19] == "19s\u201320s\n0 requests/s\n0 errors"
    latency = page[page.index('id="chart-latency"'):page.index('id="chart-distribution"')]
    # Each percentile line breaks at the gap: two polylines for each of the four series.
    assert latency.count("<polyline") == 8


def test_write_load_html_writes_the_page(run, tmp_path):
    target = tmp_path / "out" / "report.html"
    write_load_html(run, target, _secrets())
    assert target.read_text("utf-8") == render_load_html(run, _secrets())


# Charts ------------------------------------------------------------------------------------

def test_log_bins_keep_every_count_and_cover_the_range():
    buckets = [(0.0, 3), (0.8, 10), (1.0, 50), (3.3, 400), (120.0, 7), (2400.0, 1)]
    bins = log_bins(buckets)
    assert sum(c for _, _, c in bins) == 471
    assert bins[0][0] <= 0.001 and bins[-1][1] >= 2400.0
    assert all(low < high for low, high, _ in bins)


def test_a_time_chart_on_a_linear_axis_starts_at_zero():
    svg = time_chart("t", [1.0, 2.0, 3.0], [Series("a", [10.0, 20.0, 40.0], "c-a")],
                     left=Axis("ms", tick_ms), hover=["x", "y", "z"])
    assert ">0ms<" in svg and ">40ms<" in svg and svg.count("<title>") == 3


# Console -----------------------------------------------------------------------------------

def test_console_summary_reads_like_k6(run):
    console = Console(record=True, width=130, file=StringIO())
    print_load_summary(console, run, _secrets())
    text = console.export_text()
    assert "assay load \u2192 http://127.0.0.1:" in text
    assert "closed model \u00b7 50 VUs \u00b7 30s \u00b7 2 workers" in text
    assert re.search(r"requests\s+29,134\s+\(970\.5/s over 30\.0 s\)", text)
    assert re.search(r"errors\s+95\s+\(0\.33%\)\s+timeout 89, http 503 6", text)
    assert re.search(r"latency\s+4\.1\s+9\.3\s+14\.8\s+212\s+951\s+1\.2 s", text)
    assert re.search(r"service time\s+3\.2\s+7\.1\s+9\.8\s+31\.5\s+248\s+1 s", text)
    assert re.search(r"\u2713\s+p95<300ms\s+14\.8 ms", text)
    assert re.search(r"\u2717\s+error_rate<0\.1%\s+0\.33%", text)
    assert re.search(r"list books\s+14,567\s+89\s+0\.61%\s+4\.1\s+13\.2\s+200\s+1\.1 s\s+ok", text)
    assert re.search(r"create book\s+7,284\s+6\s+0\.08%.*12 failed", text)
    assert "findings: 1 (1 new)" in text and "not_a_server_error  GET /books \u00d76" in text
    assert "FAILED: 1 of 3 thresholds crossed, 1 new finding" in text
    assert SECRET not in text


def test_console_summary_of_a_passing_run(run):
    held = load_result(thresholds=(ThresholdResult("p95<300ms", True, 14.8),))
    console = Console(record=True, width=130, file=StringIO())
    print_load_summary(console, replace(run, load=held, findings=[]), _secrets())
    text = console.export_text()
    assert "findings: none" in text
    assert "PASSED: 1 threshold held, 29,134 requests, 970.5/s, p99 212 ms" in text


def _progress(elapsed: float, **changes) -> Progress:
    base = Progress(elapsed_s=elapsed, duration_s=30.0, requests=12_345, errors=12, rps=1021.0,
                    p50=4.21, p95=12.3, p99=45.6, errors_by_kind={"timeout": 10, "http 503": 2},
                    active=50, late_starts=7)
    return replace(base, **changes)


def test_live_progress_in_a_log_prints_a_line_every_ten_seconds():
    out = StringIO()
    with LiveProgress(Console(file=out, width=200)) as live:
        for second in range(1, 13):
            live.update(_progress(float(second), requests=1000 * second))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0] == ("[1s/30s] 1,000 requests \u00b7 1,021.0/s \u00b7 p50 4.21 ms p95 12.3 ms "
                        "p99 45.6 ms \u00b7 errors 12 (timeout 10, http 503 2) \u00b7 50 VUs "
                        "\u00b7 late starts 7")
    assert lines[1].startswith("[11s/30s] 11,000 requests")


def test_live_progress_on_a_terminal_draws_the_panel():
    out = StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    with LiveProgress(console) as live:
        live.update(_progress(12.0))
        live.update(_progress(13.0, model="open", active=80, backlog=9, requests=13_579))
    text = out.getvalue()
    for expected in ("assay load", "12s / 30s", "12,345", "1,021.0/s", "p50 4.21 ms",
                     "p95 12.3 ms", "p99 45.6 ms", "timeout 10 \u00b7 http 503 2",
                     "50 VUs", "late starts 7", "13,579", "80 in flight", "backlog 9"):
        assert expected in text


def test_quiet_live_progress_prints_nothing():
    out = StringIO()
    with LiveProgress(Console(file=out, force_terminal=True), quiet=True) as live:
        live.update(_progress(1.0))
    assert out.getvalue() == ""

"""The HTML report as markup: self-contained, escaped, complete. The browser test runs it."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from assay.core.events import RunResult, Summary
from assay.core.records import Finding, Request, Response, Timings
from assay.core.secrets import Secrets
from assay.reporting.html import render_html, write_html
from servers import serve
from test_report_support import IMG_PAYLOAD, SCRIPT_PAYLOAD, hostile_app, sample_result


class _Tags(HTMLParser):
    """Collects start tags with their attributes, and script contents."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


@pytest.fixture(scope="module")
def result() -> RunResult:
    with serve(hostile_app()) as base_url:
        return sample_result(base_url)


@pytest.fixture(scope="module")
def page(result) -> str:
    return render_html(result, Secrets())


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def test_payloads_never_become_markup(page):
    tags = _parse(page)
    assert [t for t, _ in tags.tags if t == "script"] == ["script"]
    assert not [t for t, _ in tags.tags if t in ("img", "iframe", "object", "embed", "b")]
    assert not any(name.startswith("on") for _, attrs in tags.tags for name in attrs)
    assert "&lt;script&gt;window.__pwned" in page
    assert "&lt;img src=x onerror=&quot;" in page
    assert SCRIPT_PAYLOAD not in page and IMG_PAYLOAD not in page


def test_page_is_self_contained(page):
    tags = _parse(page)
    for tag, attrs in tags.tags:
        assert tag != "link"
        for name in ("src", "href", "action"):
            assert attrs.get(name) is None, (tag, attrs)
    assert "url(" not in page.split("</style>")[0]
    assert "@import" not in page


def test_only_the_inline_script_may_run(page):
    tags = _parse(page)
    policy = next(a["content"] for t, a in tags.tags
                  if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    digest = base64.b64encode(hashlib.sha256(tags.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy
    assert not re.search(r"\.(innerHTML|outerHTML|insertAdjacentHTML)|document\.write",
                         tags.scripts[0])


def test_header_shows_command_target_date_and_figures(page, result):
    assert "<title>assay test: 4 findings</title>" in page
    assert result.target in page
    assert "2024-05-01 12:00:00 UTC" in page
    figures = dict(re.findall(
        r'<span class="value">([^<]*)</span><span class="label">([^<]*)</span>', page))
    assert figures == {"6": "Operations", "98": "Cases", "4": "Findings", "2.5 s": "Duration",
                       "1234": "Seed"}


def test_findings_are_grouped_by_operation_with_filter_data(page):
    groups = re.findall(r'<tbody class="group"[^>]*><tr><th colspan="6"><code>([^<]*)</code>',
                        page)
    assert groups == ["GET /books", "POST /books", "GET /books/{bookId}", "GET /covers/{id}"]
    rows = re.findall(r'<tbody class="finding" id="finding-\d" data-severity="(\w+)" '
                      r'data-check="(\w+)"', page)
    assert rows == [("high", "not_a_server_error"), ("medium", "response_schema_conformance"),
                    ("critical", "use_after_free"), ("low", "content_type_conformance")]
    chips = re.findall(r'data-filter-severity="(\w+)"', page)
    assert chips == ["critical", "high", "medium", "low"]
    assert '<option value="use_after_free">' in page


def test_each_finding_has_reproduction_with_copy_and_exchange(page, result):
    assert page.count('class="copy"') == 4
    assert 'data-copy="repro-0"' in page and 'id="repro-0"' in page
    assert "X-Api-Key: $ASSAY_KEY" in page.replace("&quot;", '"')
    assert "Steps before it" in page
    # JSON bodies are pretty-printed and coloured.
    assert '<span class="j-key">&quot;price&quot;</span>: <span class="j-string">' in page
    assert "not UTF-8" in page


def test_errors_warnings_and_secret_names_are_listed(page):
    assert 'id="errors"' in page and "connection_reset" in page
    assert 'id="warnings"' in page and "example skipped" in page
    assert "<code>$ASSAY_KEY</code> \u2014 API key" in page


def test_control_characters_are_shown_as_pictures(page):
    assert "\x01" not in page
    assert "\u2401control" in page


def test_passing_run_says_so(tmp_path):
    run = RunResult("test", "http://127.0.0.1:1", Summary(operations=1, cases=5))
    path = tmp_path / "report.html"
    write_html(run, path, Secrets())
    text = path.read_text("utf-8")
    assert "No findings: every check passed." in text
    assert 'class="pill pill-passed"' in text


def test_truncated_json_body_is_shown_raw():
    body = b'{"items": [' + b'"x",' * 20000 + b'"x"]}'
    response = Response(200, [("content-type", "application/json")], body, Timings(0.01))
    finding = Finding("c", "GET /big", "info", "m", 200, "curl",
                      request=Request("GET", "http://h/big"), response=response)
    text = render_html(RunResult("test", None, Summary(findings=1), [finding]), Secrets())
    assert "truncated at 64 KiB" in text
    assert '{&quot;items&quot;: [&quot;x&quot;,' in text

"""The load report in headless Chromium: the charts draw, hover titles hold exact values,
nothing runs that should not, and a narrow window still reads. Screenshots go to tmp_path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.reporting.load_html import render_load_html
from servers import Canned, RecordingApp, serve
from test_report_html_browser import _require_chromium, chromium
from test_report_load import _api, _secrets, sample_load_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHARTS = ["chart-throughput", "chart-latency", "chart-distribution", "chart-concurrency"]


@pytest.fixture(scope="module")
def report_url() -> Iterator[str]:
    _require_chromium()
    with serve(_api()) as api_url:
        result = sample_load_run(api_url)
    page = render_load_html(result, _secrets())
    app = RecordingApp({"GET /report.html": Canned(
        200, page, headers={"content-type": "text/html; charset=utf-8"})})
    with serve(app) as base_url:
        yield base_url + "/report.html"


@pytest.fixture(scope="module")
def browser(report_url):
    with chromium() as browser:
        yield browser


def _open(browser, url: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto(url)
    return context, page, errors


def test_charts_are_drawn_and_visible(browser, report_url, tmp_path):
    context, page, errors = _open(browser, report_url, 1280)
    try:
        assert page.eval_on_selector_all("svg.chart", "els => els.map(e => e.id)") == CHARTS
        for chart in CHARTS:
            box = page.locator(f"#{chart}").bounding_box()
            assert box is not None and box["width"] > 400 and box["height"] > 150, chart
        # Two charts side by side on a wide screen.
        first = page.locator("#chart-throughput").bounding_box()
        second = page.locator("#chart-latency").bounding_box()
        assert second["x"] > first["x"] + first["width"] and abs(second["y"] - first["y"]) < 2
        lines = page.locator("#chart-latency polyline")
        assert lines.count() == 4 and lines.first.bounding_box()["width"] > 300
        assert page.locator("#chart-distribution .bars rect").count() > 10
        assert errors == []  # the CSP let our script run and blocked nothing of ours
        page.screenshot(path=str(tmp_path / "load-report.png"), full_page=True)
        assert (tmp_path / "load-report.png").stat().st_size > 10_000
    finally:
        context.close()


def test_hovering_a_second_highlights_it_and_its_title_has_the_values(browser, report_url):
    context, page, _ = _open(browser, report_url, 1280)
    try:
        band = page.locator("#chart-throughput .hover rect").nth(12)
        before = band.evaluate("e => getComputedStyle(e).fill")
        band.hover()
        after = band.evaluate("e => getComputedStyle(e).fill")
        assert before != after  # the band under the pointer lights up
        assert band.locator("title").text_content() == "12s\u201313s\n410 requests/s\n37 errors"
        hovered = page.evaluate("document.querySelector('#chart-throughput .hover rect:hover')"
                                " === document.querySelectorAll('#chart-throughput .hover rect')"
                                "[12]")
        assert hovered
        bar = page.locator("#chart-distribution .bars rect").first
        assert "requests (" in bar.locator("title").text_content()
    finally:
        context.close()


def test_a_narrow_window_keeps_the_page_readable(browser, report_url, tmp_path):
    context, page, _ = _open(browser, report_url, 390)
    try:
        # The page itself never scrolls sideways; wide tables and charts scroll in place.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        boxes = [page.locator(f"#{chart}").bounding_box() for chart in CHARTS]
        assert all(box["width"] >= 400 for box in boxes)  # text stays a readable size
        assert boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"]  # stacked, not side by side
        page.screenshot(path=str(tmp_path / "load-report-narrow.png"), full_page=True)
    finally:
        context.close()

"""The HTML report in headless Chromium: hostile bodies stay text, filters and copy work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assay.core.secrets import Secrets
from assay.reporting.html import render_html
from servers import Canned, RecordingApp, serve
from test_report_support import hostile_app, sample_result

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _require_chromium() -> None:
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is missing (pip install playwright)"
    if missing is None:
        return
    if os.environ.get("ASSAY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"ASSAY_REQUIRE_SERVICES=1 but {missing}")
    pytest.skip(missing)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (``/usr/bin/chromium``) driven by Playwright, closed on exit.
    Playwright gives each launch a fresh ``--user-data-dir`` of its own."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def report_url() -> Iterator[str]:
    _require_chromium()
    with serve(hostile_app()) as api_url:
        result = sample_result(api_url)
    page = render_html(result, Secrets())
    app = RecordingApp({"GET /report.html": Canned(
        200, page, headers={"content-type": "text/html; charset=utf-8"})})
    with serve(app) as base_url:
        yield base_url + "/report.html"


@pytest.fixture(scope="module")
def browser(report_url):
    with chromium() as browser:
        yield browser


@pytest.fixture()
def browser_page(browser, report_url):
    context = browser.new_context()
    try:
        page = context.new_page()
        dialogs: list[str] = []
        errors: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(report_url)
        yield page, context, dialogs, errors
    finally:
        context.close()


def _visible_findings(page) -> list[str]:
    return page.eval_on_selector_all(
        "tbody.finding", "els => els.filter(e => !e.hidden).map(e => e.dataset.check)")


def test_payloads_do_not_run_and_show_as_text(browser_page):
    page, _, dialogs, errors = browser_page
    page.click("#finding-0 tr.row")
    body = page.locator("#detail-0 pre.body")
    assert body.is_visible()
    assert body.inner_text().startswith("<script>window.__pwned = 1; alert('script')</script>")
    assert "<img src=x onerror=" in body.inner_text()
    assert page.locator("text=suite step failed <script>window.__pwned").is_visible()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 1
    assert dialogs == [] and errors == []


def test_severity_filter_hides_other_findings(browser_page):
    page, *_ = browser_page
    assert len(_visible_findings(page)) == 4
    page.click("[data-filter-severity='critical']")
    assert _visible_findings(page) == ["use_after_free"]
    assert page.locator("#filter-count").inner_text() == "1 of 4 shown"
    assert not page.locator("#op-0").is_visible()
    page.click("[data-filter-severity='low']")
    assert _visible_findings(page) == ["use_after_free", "content_type_conformance"]
    page.click("[data-filter-severity='critical']")
    page.click("[data-filter-severity='low']")
    assert len(_visible_findings(page)) == 4


def test_check_filter_and_search_box(browser_page):
    page, *_ = browser_page
    page.select_option("#filter-check", "response_schema_conformance")
    assert _visible_findings(page) == ["response_schema_conformance"]
    page.select_option("#filter-check", "")
    page.fill("#filter-search", "undocumented content-type")
    assert _visible_findings(page) == ["content_type_conformance"]
    page.fill("#filter-search", "no finding has this text")
    assert _visible_findings(page) == []
    assert page.locator("#no-match").is_visible()
    page.fill("#filter-search", "")
    assert len(_visible_findings(page)) == 4


def test_copy_button_copies_the_reproduction(browser_page):
    page, context, *_ = browser_page
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#finding-2 tr.row")
    button = page.locator("#detail-2 button.copy")
    button.click()
    page.wait_for_function("document.querySelector('#detail-2 button.copy').textContent !== 'Copy'")
    assert button.inner_text() == "Copied"
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#repro-2").inner_text()
    assert copied.startswith("curl -X GET 'http://127.0.0.1:")

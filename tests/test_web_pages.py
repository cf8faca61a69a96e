"""The dashboard, a monitor's page and the status page in headless Chromium (Playwright):
what they show (states, uptimes, incidents, SLO budget, notifications and their delivery
errors), that hostile text stays text under
the CSP, that the page's own script runs, and that the pause button works.

Screenshots are saved under pytest's temporary directory; their paths are printed (``-s``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.web.app import create_app
from servers import serve
from test_report_html_browser import _require_chromium, chromium
from test_web_api import BAD_GATEWAY, HOSTILE, NOTIFICATIONS, REFUSED, TOKEN, web_view

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """The app with --auth-token over the seeded store: ``(base URL, view)``."""
    _require_chromium()
    view = web_view(tmp_path_factory.mktemp("web"))
    with serve(create_app(view, auth_token=TOKEN)) as url:
        yield url, view


@pytest.fixture(scope="module")
def browser(site):
    with chromium() as browser:
        yield browser


@pytest.fixture()
def page(browser, site):
    """A logged-in page (opened once with ?token=), collecting dialogs, errors and CSP
    reports from the console."""
    url, _ = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("dialog", lambda dialog: (problems.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" else None)
        page.goto(f"{url}/?token={TOKEN}")
        assert page.url == f"{url}/"
        page.problems = problems  # type: ignore[attr-defined]
        yield page
    finally:
        context.close()


def _screenshot(page, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    print(f"screenshot: {path}")


def _row(page, monitor: str):
    return page.locator(f"tr[data-monitor='{monitor}']")


def test_dashboard_shows_states_uptimes_and_sparklines(page, tmp_path):
    states = page.eval_on_selector_all(
        "tr[data-monitor]", "rows => rows.map(r => [r.dataset.monitor, r.dataset.state])")
    assert states == [["health", "up"], ["book flow", "firing"], ["nightly-backup", "unknown"],
                      ["cache port", "maintenance"]]
    health = _row(page, "health")
    assert health.locator(".uptime-24h").inner_text() == "97.91%"
    assert health.locator(".uptime-7d").inner_text() == "98.95%"
    assert health.locator(".uptime-30d").inner_text() == "98.95%"
    assert health.locator("svg.spark polyline").count() >= 1
    assert _row(page, "nightly-backup").locator(".uptime-24h").inner_text() == "no runs"
    book = _row(page, "book flow")
    assert book.locator(".reason").inner_text() == HOSTILE
    assert page.locator("#db-url").inner_text() == (
        "postgresql+psycopg://assay:***@127.0.0.1:5432/assay")
    # The page's own script ran (CSP nonce): times are shown in local time.
    assert page.locator("time[data-local='1']").count() >= 4
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 0
    assert page.problems == []
    _screenshot(page, tmp_path, "dashboard")


def _edge(row) -> str:
    """The colour of a table row's left edge (``none`` when it has none)."""
    return row.locator("td").first.evaluate("td => getComputedStyle(td).boxShadow")


def test_dashboard_shows_notifications_and_failed_deliveries_stand_out(page, tmp_path):
    rows = page.locator("#notifications tbody tr")
    shown = rows.evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText))")
    assert [(r[1], r[2], r[3], r[4].split("\n")[0]) for r in shown] == NOTIFICATIONS
    failed = page.locator("#notifications tr[data-status='failed']")
    assert failed.locator("td.error").inner_text() == BAD_GATEWAY
    assert failed.locator("td.num").inner_text() == "5"
    retrying = page.locator("#notifications tr.notification-pending.attention")
    assert retrying.count() == 1
    assert retrying.locator("td.error").inner_text() == REFUSED  # markup shown as text
    assert "retry" in retrying.locator(".muted").inner_text()
    delivered = page.locator("#notifications tr[data-status='delivered']")
    assert delivered.count() == 2
    # Given up and retrying deliveries stand out (the page's style applied under the CSP);
    # delivered ones and a fresh pending one do not.
    assert "none" not in _edge(failed) and "none" not in _edge(retrying)
    assert _edge(failed) != _edge(retrying)
    assert _edge(delivered.first) == "none"
    assert _edge(page.locator("#notifications tr.notification-pending:not(.attention)")) == "none"
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.problems == []
    page.locator("#notifications").screenshot(path=str(tmp_path / "notifications.png"))
    print(f"screenshot: {tmp_path / 'notifications.png'}")


def test_monitor_page_shows_incident_runs_chart_and_slo(page, site, tmp_path):
    url, _ = site
    page.click("tr[data-monitor='health'] a.name")
    assert page.url == f"{url}/monitors/health"
    assert page.locator("#monitor-state").inner_text() == "up"
    incident = page.locator("#incidents tr[data-incident]")
    assert incident.count() == 1
    assert incident.locator(".reason").inner_text() == "status 503, expected 200"
    assert incident.locator("td").nth(2).inner_text() == "30m"
    runs = page.locator("#runs tbody tr")
    assert runs.count() == 50
    assert page.locator("#runs tr.run-down").count() == 3
    assert page.locator("#latency svg.chart .c-p95 polyline").count() >= 1
    assert page.locator("#latency svg.chart .failures rect").count() >= 1
    availability = page.locator("#slo tr[data-objective='availability']")
    # 3 failed runs in 288, all fast: of the 1% availability budget 1 - (3/288)/0.01 is
    # left (overspent), of the 5% latency budget (failed runs are bad too) 1 - (3/288)/0.05.
    assert availability.locator(".budget").inner_text() == "-4.2%"
    assert "spent" in availability.locator(".budget").get_attribute("class")
    assert page.locator("#slo tr[data-objective='latency'] .budget").inner_text() == "79.2%"
    notifications = page.locator("#notifications tbody tr")
    assert notifications.evaluate_all("rows => rows.map(r => r.dataset.status)") == [
        "pending", "delivered", "delivered"]  # health's only, without a monitor column
    assert page.locator("#notifications th").all_inner_texts()[:2] == ["Queued", "Channel"]
    assert "timed out after 10s" in notifications.nth(1).inner_text()
    page.click(".ranges a:text('7d')")
    assert page.url.endswith("?range=7d")
    assert page.locator("#latency svg.chart .c-p50 polyline").count() >= 1
    assert page.problems == []
    _screenshot(page, tmp_path, "monitor")


def test_firing_monitor_page_shows_its_open_incident_as_text(page, site):
    url, _ = site
    page.goto(f"{url}/monitors/book%20flow")
    assert page.locator("#monitor-state").inner_text() == "firing"
    incident = page.locator("#incidents tr.open")
    assert incident.count() == 1
    assert incident.locator(".reason").inner_text() == HOSTILE
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.problems == []


def test_status_page_groups_components_and_lists_incidents(browser, site, tmp_path):
    url, _ = site
    context = browser.new_context()  # no token, no cookie: the status page is public
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{url}/status")
        assert page.locator("#overall").inner_text() == "Some systems are having an outage"
        groups = page.eval_on_selector_all("section.group", "s => s.map(g => g.dataset.group)")
        assert groups == ["API", "Jobs", "Infrastructure"]
        api = page.locator("section[data-group='API'] li[data-component]")
        assert api.locator(".state").all_inner_texts() == ["Operational", "Outage"]
        history = page.locator("#history li[data-incident]")
        assert history.locator(".name").all_inner_texts() == ["book flow", "health"]
        assert history.nth(0).locator(".state").inner_text() == "ongoing"
        assert "resolved after 30m" in history.nth(1).inner_text()
        assert "__pwned" not in page.content() and "503" not in page.content()
        assert page.locator("#notifications").count() == 0  # not for the public
        assert "Bad Gateway" not in page.content()
        assert errors == []
        _screenshot(page, tmp_path, "status")
    finally:
        context.close()


def test_pause_and_resume_buttons(page, site):
    url, view = site
    _row(page, "cache port").locator("form.pause button").click()
    page.wait_for_url(f"{url}/")
    assert _row(page, "cache port").get_attribute("data-state") == "paused"
    assert "cache port" in view.store.paused()
    _row(page, "cache port").locator("form.pause button").click()
    page.wait_for_url(f"{url}/")
    assert _row(page, "cache port").get_attribute("data-state") == "maintenance"
    assert view.store.paused() == set()
    assert page.problems == []

"""``/metrics`` over real HTTP, parsed with prometheus_client's own parser: the gauge, the
counters and the histogram per monitor and location, counted once per run since start."""

from __future__ import annotations

import httpx
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from assay.monitor.records import RunResult
from assay.storage.memory import MemoryStore
from assay.web.app import create_app
from assay.web.metrics import PAGE_SIZE, RunTally
from servers import serve
from test_web_api import NOW, TOKEN, web_view


def scrape(url: str) -> dict[str, dict[tuple, float]]:
    """``{sample name: {labels (sorted items): value}}`` of one scrape."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = (
                sample.value)
    return samples


def labels(monitor: str, location: str, **extra: str) -> tuple:
    return tuple(sorted({"monitor": monitor, "location": location, **extra}.items()))


@pytest.fixture()
def store() -> MemoryStore:
    """Runs from before the app started (not counted) and one failing at ``NOW``."""
    store = MemoryStore()
    store.add_result(RunResult("health", "eu-1", NOW - 60, NOW - 60, True, 200, 30.0))
    store.add_result(RunResult("book flow", "eu-1", NOW - 30, NOW - 30, False, 500, 80.0,
                               "status 500"))
    return store


def test_metrics_count_runs_since_start_by_monitor_and_location(tmp_path, store):
    view = web_view(tmp_path, store)
    with serve(create_app(view, auth_token=TOKEN)) as url:  # /metrics needs no token
        first = scrape(url)
        assert first["assay_monitor_up"] == {labels("health", "eu-1"): 1.0,
                                             labels("book flow", "eu-1"): 0.0}
        assert first.get("assay_monitor_runs_total", {}) == {}
        store.add_result(RunResult("health", "eu-1", NOW + 5, NOW + 5, True, 200, 40.0))
        store.add_result(RunResult("health", "eu-1", NOW + 15, NOW + 15, True, 200, 700.0))
        store.add_result(RunResult("health", "us-1", NOW + 20, NOW + 20, False, None, None,
                                   "connection refused"))
        second = scrape(url)
    assert second["assay_monitor_up"][labels("health", "us-1")] == 0.0
    assert second["assay_monitor_runs_total"] == {labels("health", "eu-1"): 2.0,
                                                  labels("health", "us-1"): 1.0}
    assert second["assay_monitor_failures_total"] == {labels("health", "eu-1"): 0.0,
                                                      labels("health", "us-1"): 1.0}
    buckets = second["assay_monitor_latency_seconds_bucket"]
    assert buckets[labels("health", "eu-1", le="0.025")] == 0.0
    assert buckets[labels("health", "eu-1", le="0.05")] == 1.0
    assert buckets[labels("health", "eu-1", le="0.5")] == 1.0
    assert buckets[labels("health", "eu-1", le="1.0")] == 2.0
    assert buckets[labels("health", "eu-1", le="+Inf")] == 2.0
    assert second["assay_monitor_latency_seconds_count"][labels("health", "eu-1")] == 2.0
    assert second["assay_monitor_latency_seconds_sum"][labels("health", "eu-1")] == (
        pytest.approx(0.74))
    # A run without a latency counts as a run, not as a latency.
    assert second["assay_monitor_latency_seconds_count"][labels("health", "us-1")] == 0.0


def test_counters_only_grow_and_count_late_stored_runs_once(tmp_path, store):
    view = web_view(tmp_path, store)
    with serve(create_app(view)) as url:
        store.add_result(RunResult("health", "eu-1", NOW + 100, NOW + 100, True, 200, 10.0))
        assert scrape(url)["assay_monitor_runs_total"][labels("health", "eu-1")] == 1.0
        # Stored after the scrape, but started before the newest run seen: still counted.
        store.add_result(RunResult("health", "eu-1", NOW + 90, NOW + 90, False, 503, 12.0))
        again = scrape(url)
        assert again["assay_monitor_runs_total"][labels("health", "eu-1")] == 2.0
        assert again["assay_monitor_failures_total"][labels("health", "eu-1")] == 1.0
        assert scrape(url)["assay_monitor_runs_total"][labels("health", "eu-1")] == 2.0


def test_each_app_has_its_own_registry(tmp_path, store):
    with serve(create_app(web_view(tmp_path, store))) as url:
        store.add_result(RunResult("health", "eu-1", NOW + 1, NOW + 1, True, 200, 10.0))
        assert scrape(url)["assay_monitor_runs_total"][labels("health", "eu-1")] == 1.0
    names = {metric.name for metric in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("assay_") for name in names)
    with serve(create_app(web_view(tmp_path, store))) as url:
        # A new app started at NOW counts the same run once, from its own zero.
        assert scrape(url)["assay_monitor_runs_total"][labels("health", "eu-1")] == 1.0


def test_a_scrape_reads_past_a_full_page_of_runs(tmp_path, store):
    with serve(create_app(web_view(tmp_path, store))) as url:
        for i in range(PAGE_SIZE + 7):
            store.add_result(RunResult("health", "eu-1", NOW + i * 0.01, NOW, i % 2 == 0, 200,
                                       10.0))
        counted = scrape(url)
    assert counted["assay_monitor_runs_total"][labels("health", "eu-1")] == PAGE_SIZE + 7
    assert counted["assay_monitor_failures_total"][labels("health", "eu-1")] == (
        (PAGE_SIZE + 7) // 2)


def test_tally_counts_each_run_once_and_looks_back():
    tally = RunTally(started_at=0.0)
    runs = [RunResult("m", "l", 5.0, 5.0, True, 200, 1.0, id=i) for i in range(3)]
    tally.add(runs, lookback_s=60.0)
    tally.add(runs[1:], lookback_s=60.0)
    assert tally.series[("m", "l")].runs == 3
    assert tally.next_since(60.0) == 0.0
    tally.add([RunResult("m", "l", 500.0, 500.0, True, 200, 1.0, id=9)], lookback_s=60.0)
    assert tally.next_since(60.0) == 440.0

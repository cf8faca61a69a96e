"""The ``Store`` contract: one suite, run against every backend (HOUSE_STYLE 12).

A test module subclasses ``StoreContract`` and provides a ``store`` fixture yielding an
empty store: ``test_storage_memory.py``, ``test_storage_sqlite.py``,
``test_storage_postgres.py``. Times are fixed epochs (the clock is an argument everywhere).
"""

from __future__ import annotations

import pytest

from assay.monitor.records import AlertEvent, RunResult

H0 = 472_222 * 3600.0  # an hour boundary (2023-11-14 22:00 UTC)
HOUR = 3600.0
DAY = 86400.0


def run(monitor: str = "health", at: float = H0, *, ok: bool = True,
        latency: float | None = 10.0, location: str = "local", status: int | None = 200,
        reason: str | None = None) -> RunResult:
    """A run result with sensible defaults."""
    return RunResult(monitor, location, at, at - 0.01, ok, status, latency,
                     reason if reason is not None or ok else "status 500", 1)


def event(key: str, channel: str = "ops", monitor: str = "health") -> AlertEvent:
    """An alert event whose dedup key is ``key``."""
    return AlertEvent("firing", monitor, channel, "local", H0, f"{monitor} is down", key)


def known_hour(store, hour: float, monitor: str = "health", location: str = "local") -> None:
    """Runs with latencies 1..100 ms and 10 failures, all within ``hour``."""
    for i in range(100):
        store.add_result(run(monitor, hour + i * 30, latency=float(i + 1), location=location))
    for i in range(10):
        store.add_result(run(monitor, hour + 3000 + i, ok=False, latency=5000.0,
                             location=location, status=500))


class StoreContract:
    """Every backend must pass these."""

    # -- results ---------------------------------------------------------------------
    def test_add_result_sets_the_id_and_reads_back_equal(self, store):
        result = run(ok=False, latency=12.5, reason="expected 200, got 500", status=500)
        result.attempts = 3
        ident = store.add_result(result)
        assert result.id == ident
        [back] = store.results()
        assert back == result

    def test_add_results_stores_a_batch_with_ids_in_order(self, store):
        batch = [run(at=H0 + i, location=loc, ok=i != 1)
                 for i, loc in enumerate(["eu", "us", "eu"])]
        store.add_results(batch)
        store.add_results([])
        assert [r.id for r in batch] == sorted({r.id for r in batch})
        assert store.results(newest_first=False) == batch
        latest = store.latest_by_location("health")
        assert latest["eu"] == batch[2] and latest["us"] == batch[1]

    def test_a_reason_is_kept_only_for_failed_runs(self, store):
        store.add_result(run(ok=True, reason="leftover"))
        store.add_result(run(at=H0 + 1, ok=False, reason="x" * 5000))
        ok, failed = store.results(newest_first=False)
        assert ok.reason is None
        assert failed.reason == "x" * 1000

    def test_results_filters(self, store):
        for i in range(5):
            store.add_result(run("a", H0 + i, location="eu"))
            store.add_result(run("b", H0 + i, location="us"))
        assert [r.at for r in store.results(monitor="a")] == [H0 + 4, H0 + 3, H0 + 2, H0 + 1, H0]
        assert [r.at for r in store.results(monitor="a", since=H0 + 1, until=H0 + 3)] == [
            H0 + 2, H0 + 1]  # since inclusive, until exclusive
        assert [r.at for r in store.results(monitor="a", limit=2, newest_first=False)] == [
            H0, H0 + 1]
        assert {r.monitor for r in store.results(location="us")} == {"b"}
        assert store.results(monitor="a", location="us") == []
        assert store.results(monitor="nobody") == []
        assert store.results(location="nowhere") == []
        assert len(store.results()) == 10

    def test_returned_records_are_copies(self, store):
        store.add_result(run())
        store.results()[0].ok = False
        assert store.results()[0].ok is True

    def test_latest_by_location(self, store):
        store.add_result(run(at=H0, location="eu"))
        store.add_result(run(at=H0 + 20, location="eu", ok=False))
        store.add_result(run(at=H0 + 10, location="eu"))
        store.add_result(run(at=H0 + 5, location="us"))
        store.add_result(run("other", at=H0 + 99, location="us"))
        latest = store.latest_by_location("health")
        assert {k: (v.at, v.ok) for k, v in latest.items()} == {
            "eu": (H0 + 20, False), "us": (H0 + 5, True)}
        assert store.latest_by_location("nobody") == {}

    def test_counts_and_slow_count_on_raw_results(self, store):
        store.add_result(run(at=H0, latency=100.0))
        store.add_result(run(at=H0 + 1, latency=300.0))
        store.add_result(run(at=H0 + 2, ok=False, latency=None, status=None))
        store.add_result(run(at=H0 + 3, latency=50.0, location="eu"))
        store.add_result(run(at=H0 + 10, latency=999.0))  # outside the range
        assert store.counts("health", H0, H0 + 10) == (4, 1)
        assert store.counts("health", H0, H0 + 10, location="eu") == (1, 0)
        assert store.slow_count("health", H0, H0 + 10, 200.0) == (4, 2)
        assert store.slow_count("health", H0, H0 + 10, 20.0) == (4, 4)
        assert store.counts("nobody", H0, H0 + 10) == (0, 0)
        assert store.slow_count("health", H0, H0 + 10, 1.0, location="nowhere") == (0, 0)

    def test_latency_buckets_on_raw_results(self, store):
        for i, latency in enumerate([10.0, 20.0, 30.0, 40.0]):
            store.add_result(run(at=H0 + i, latency=latency))
        store.add_result(run(at=H0 + 5, ok=False, latency=9000.0))
        store.add_result(run(at=H0 + 70, latency=7.0))
        rows = store.latency_buckets("health", H0, H0 + 180, 60.0)
        assert [(r["t"], r["count"], r["failures"]) for r in rows] == [
            (H0, 5, 1), (H0 + 60, 1, 0), (H0 + 120, 0, 0)]
        assert rows[0]["p50"] == pytest.approx(25.0)  # failures are not in the percentiles
        assert rows[0]["p95"] == pytest.approx(38.5)
        assert rows[1]["p99"] == pytest.approx(7.0)
        assert rows[2]["p50"] is None

    # -- retention -----------------------------------------------------------------
    def _three_hours(self, store) -> float:
        """Two complete hours of known data, a third hour partly past retention;
        returns the ``now`` at which the first two (only) are due for rollup."""
        known_hour(store, H0)
        known_hour(store, H0 + HOUR)
        known_hour(store, H0 + HOUR, location="eu")
        for i in range(6):
            store.add_result(run(at=H0 + 2 * HOUR + i * 600, latency=1000.0 + i))
        return H0 + 2 * HOUR + 1800 + DAY  # raw_keep_s = DAY: the cut is mid third hour

    def test_retention_rolls_complete_hours_and_deletes_them(self, store):
        now = self._three_hours(store)
        counts = store.apply_retention(now, DAY, 365 * DAY)
        assert counts["rolled_up"] == 3 and counts["deleted_results"] == 330
        assert counts["deleted_rollups"] == 0
        remaining = store.results(newest_first=False)
        # The third hour is not complete before the cut: all six stay raw, even those
        # older than raw_keep_s.
        assert [r.at for r in remaining] == [H0 + 2 * HOUR + i * 600 for i in range(6)]
        rollups = store.rollups()
        assert [(r.hour, r.location) for r in rollups] == [
            (H0, "local"), (H0 + HOUR, "eu"), (H0 + HOUR, "local")]
        first = rollups[0]
        assert (first.monitor, first.count, first.failures) == ("health", 110, 10)
        assert first.latency_p50 == pytest.approx(50.5)
        assert first.latency_p95 == pytest.approx(95.05)
        assert first.latency_p99 == pytest.approx(99.01)
        assert first.latency_max == pytest.approx(100.0)

    def test_latest_by_location_forgets_rolled_up_results(self, store):
        store.add_result(run(at=H0, location="gone"))
        store.add_result(run(at=H0 + 2 * DAY, location="live"))
        store.apply_retention(H0 + 2 * DAY, DAY, 365 * DAY)
        assert list(store.latest_by_location("health")) == ["live"]

    def test_retention_is_idempotent_and_merges_late_results(self, store):
        now = self._three_hours(store)
        store.apply_retention(now, DAY, 365 * DAY)
        again = store.apply_retention(now, DAY, 365 * DAY)
        assert (again["rolled_up"], again["deleted_results"]) == (0, 0)
        store.add_result(run(at=H0 + 10, latency=200.0))  # late, for a rolled hour
        store.apply_retention(now, DAY, 365 * DAY)
        [merged] = store.rollups(since=H0, until=H0 + 1)
        assert (merged.count, merged.failures, merged.latency_max) == (111, 10, 200.0)
        assert merged.latency_p50 == pytest.approx((50.5 * 100 + 200.0) / 101)

    def test_retention_deletes_old_rollups(self, store):
        now = self._three_hours(store)
        store.apply_retention(now, DAY, 365 * DAY)
        later = H0 + 30 * DAY + 1  # the first hour (only) is now older than 30 days
        counts = store.apply_retention(later, DAY, 30 * DAY)
        assert counts["deleted_rollups"] == 1
        assert [r.hour for r in store.rollups()] == [H0 + HOUR, H0 + HOUR, H0 + 2 * HOUR]

    def test_rollups_filters(self, store):
        known_hour(store, H0, "a")
        known_hour(store, H0 + HOUR, "b")
        store.apply_retention(H0 + 3 * HOUR + DAY, DAY, 365 * DAY)
        assert [r.monitor for r in store.rollups(monitor="b")] == ["b"]
        assert [r.monitor for r in store.rollups(since=H0 + 1)] == ["b"]
        assert [r.monitor for r in store.rollups(until=H0 + HOUR)] == ["a"]

    def test_counts_span_raw_results_and_rollups(self, store):
        now = self._three_hours(store)
        before = store.counts("health", H0, H0 + 3 * HOUR)
        store.apply_retention(now, DAY, 365 * DAY)
        assert before == (336, 30)
        assert store.counts("health", H0, H0 + 3 * HOUR) == (336, 30)
        assert store.counts("health", H0, H0 + 3 * HOUR, location="eu") == (110, 10)
        assert store.counts("health", H0 + HOUR, H0 + 3 * HOUR) == (226, 20)
        assert store.counts("health", H0 + 2 * HOUR, H0 + 3 * HOUR) == (6, 0)

    def test_latency_buckets_span_raw_results_and_rollups(self, store):
        now = self._three_hours(store)
        store.apply_retention(now, DAY, 365 * DAY)
        rows = store.latency_buckets("health", H0, H0 + 3 * HOUR, HOUR)
        assert [(r["t"], r["count"], r["failures"]) for r in rows] == [
            (H0, 110, 10), (H0 + HOUR, 220, 20), (H0 + 2 * HOUR, 6, 0)]
        assert rows[0]["p50"] == pytest.approx(50.5)
        assert rows[1]["p95"] == pytest.approx(95.05)  # two equal hours combined
        assert rows[2]["p50"] == pytest.approx(1002.5)  # raw: exact
        eu = store.latency_buckets("health", H0, H0 + 2 * HOUR, 2 * HOUR, location="eu")
        assert [(r["count"], r["failures"]) for r in eu] == [(110, 10)]

    def test_slow_count_spans_raw_results_and_rollups(self, store):
        now = self._three_hours(store)
        store.apply_retention(now, DAY, 365 * DAY)
        # Above every latency: only the failures (and none of the raw hour's runs).
        assert store.slow_count("health", H0, H0 + 3 * HOUR, 2000.0) == (336, 30)
        # At zero: everything.
        assert store.slow_count("health", H0, H0 + 3 * HOUR, 0.0) == (336, 336)
        # At p95 of a rolled hour: failures + 5% of its successful runs (estimated).
        assert store.slow_count("health", H0, H0 + HOUR, 95.05) == (110, 15)

    # -- alert state ---------------------------------------------------------------
    def test_state_blobs(self, store):
        assert store.load_states() == {}
        store.save_state("health|ops", {"state": "firing", "streak": (1, 2)})
        store.save_state("anomaly|health", {"window": [1.5, 2.5]})
        store.save_state("health|ops", {"state": "ok", "streak": [0, 0]})
        assert store.load_states() == {"health|ops": {"state": "ok", "streak": [0, 0]},
                                       "anomaly|health": {"window": [1.5, 2.5]}}
        store.save_states({"health|ops": {"state": "firing"}, "b|ops": {"n": 1}})
        store.save_states({})
        assert store.load_states() == {"health|ops": {"state": "firing"},
                                       "anomaly|health": {"window": [1.5, 2.5]},
                                       "b|ops": {"n": 1}}

    # -- outbox --------------------------------------------------------------------
    def test_enqueue_deduplicates(self, store):
        assert store.enqueue(event("k1"), {"event": "firing", "n": [1]}, H0) is True
        assert store.enqueue(event("k1"), {"event": "other"}, H0 + 5) is False
        [item] = store.outbox()
        assert (item.dedup_key, item.channel, item.payload) == ("k1", "ops",
                                                               {"event": "firing", "n": [1]})
        assert (item.created_at, item.next_attempt_at, item.attempts) == (H0, H0, 0)
        assert item.delivered_at is None and item.held is False and item.gave_up_at is None

    def test_claim_due_is_exclusive_until_the_lease_ends(self, store):
        for key in ("k1", "k2", "k3"):
            store.enqueue(event(key), {"key": key}, H0)
        assert store.claim_due(H0 - 1, "a") == []  # not due yet
        first = store.claim_due(H0, "a", lease_s=60, limit=2)
        assert [i.dedup_key for i in first] == ["k1", "k2"]
        assert [i.dedup_key for i in store.claim_due(H0 + 1, "b", lease_s=60)] == ["k3"]
        assert store.claim_due(H0 + 59, "c") == []  # a's and b's leases still run
        # The owner may claim its own items again (a retry after its own restart).
        assert [i.dedup_key for i in store.claim_due(H0 + 2, "a", limit=5)] == ["k1", "k2"]
        # a died: its lease (renewed at H0+2) ends at H0+62, then b gets the items.
        assert [i.dedup_key for i in store.claim_due(H0 + 62, "c")] == ["k1", "k2", "k3"]

    def test_delivered_items_are_not_claimed_again(self, store):
        store.enqueue(event("k1"), {}, H0)
        [item] = store.claim_due(H0, "a")
        store.mark_delivered(item.id, H0 + 1)
        assert store.claim_due(H0 + 1000, "b") == []
        [done] = store.outbox(delivered=True)
        assert (done.delivered_at, done.attempts) == (H0 + 1, 1)
        assert store.outbox(delivered=False) == []

    def test_mark_failed_retries_then_gives_up(self, store):
        store.enqueue(event("k1"), {}, H0)
        [item] = store.claim_due(H0, "a")
        store.mark_failed(item.id, H0 + 1, "connection refused", H0 + 31)
        assert store.claim_due(H0 + 30, "b") == []  # backing off
        [retry] = store.claim_due(H0 + 31, "b")
        assert (retry.attempts, retry.last_error, retry.next_attempt_at) == (
            1, "connection refused", H0 + 31)
        assert retry.gave_up_at is None  # retried, not given up
        store.mark_failed(retry.id, H0 + 32, "HTTP 500", None)
        assert store.claim_due(H0 + 10 * DAY, "c") == []  # given up
        [kept] = store.outbox(delivered=False)
        assert (kept.attempts, kept.last_error, kept.delivered_at) == (2, "HTTP 500", None)
        assert kept.gave_up_at == H0 + 32

    def test_gave_up_at_is_set_only_on_the_item_given_up(self, store):
        for key in ("retried", "abandoned", "delivered"):
            store.enqueue(event(key), {}, H0)
        retried, abandoned, delivered = store.claim_due(H0, "a")
        store.mark_failed(retried.id, H0 + 1, "timeout", H0 + 60)
        store.mark_failed(abandoned.id, H0 + 2, "HTTP 410", None)
        store.mark_delivered(delivered.id, H0 + 3)
        found = {i.dedup_key: (i.gave_up_at, i.delivered_at, i.attempts)
                 for i in store.outbox()}
        assert found == {"retried": (None, None, 1), "abandoned": (H0 + 2, None, 1),
                         "delivered": (None, H0 + 3, 1)}

    def test_held_items_wait_for_release(self, store):
        store.enqueue(event("k1", "ops"), {}, H0, held=True)
        store.enqueue(event("k2", "dev"), {}, H0, held=True)
        store.enqueue(event("k3", "ops"), {}, H0)
        assert [i.dedup_key for i in store.claim_due(H0 + 1, "a", lease_s=1000)] == ["k3"]
        assert store.release_held(H0 + 100, channel="nobody") == 0
        assert store.release_held(H0 + 100, channel="ops") == 1
        [released] = store.claim_due(H0 + 100, "b")  # k3 stays a's
        assert (released.dedup_key, released.held) == ("k1", False)
        assert store.release_held(H0 + 150) == 1
        assert [i.dedup_key for i in store.claim_due(H0 + 150, "c")] == ["k2"]

    def test_postpone_releases_the_claim_without_counting_an_attempt(self, store):
        store.enqueue(event("k1"), {}, H0)
        [item] = store.claim_due(H0, "a", lease_s=1000)
        store.postpone(item.id, H0 + 30)
        assert store.claim_due(H0 + 29, "b") == []
        [again] = store.claim_due(H0 + 30, "b")
        assert (again.id, again.attempts, again.last_error) == (item.id, 0, None)

    def test_release_held_by_dedup_key(self, store):
        for key in ("k1", "k2", "k3"):
            store.enqueue(event(key), {}, H0, held=True)
        assert store.release_held(H0 + 10, keys=[]) == 0
        assert store.release_held(H0 + 10, keys=["k2", "k3", "unknown"]) == 2
        assert sorted(i.dedup_key for i in store.claim_due(H0 + 10, "a")) == ["k2", "k3"]
        assert [i.held for i in store.outbox() if i.dedup_key == "k1"] == [True]

    def test_outbox_lists_newest_first(self, store):
        for key in ("k1", "k2", "k3"):
            store.enqueue(event(key), {}, H0)
        assert [i.dedup_key for i in store.outbox()] == ["k3", "k2", "k1"]
        assert [i.dedup_key for i in store.outbox(limit=1)] == ["k3"]

    def test_retention_prunes_settled_outbox_items(self, store):
        store.enqueue(event("done"), {}, H0)
        store.enqueue(event("gave-up"), {}, H0)
        store.enqueue(event("pending"), {}, H0)
        store.enqueue(event("recent"), {}, H0 + 2 * DAY)
        done, gave_up = store.claim_due(H0, "a", limit=2)
        store.mark_delivered(done.id, H0)
        store.mark_failed(gave_up.id, H0, "boom", None)
        counts = store.apply_retention(H0 + 2 * DAY, DAY, 365 * DAY)
        assert counts["deleted_outbox"] == 2
        assert {i.dedup_key for i in store.outbox()} == {"pending", "recent"}

    # -- incidents -----------------------------------------------------------------
    def test_incidents_open_and_resolve_idempotently(self, store):
        first = store.open_incident("health", H0, "status 500", "eu")
        assert store.open_incident("health", H0 + 60, "timeout") == first
        other = store.open_incident("api", H0 + 5, None)
        assert other != first
        assert store.resolve_incident("health", H0 + 120) == first
        assert store.resolve_incident("health", H0 + 130) is None
        second = store.open_incident("health", H0 + 200, "again")
        assert second not in (first, other)
        rows = store.incidents(monitor="health")
        assert [(i.id, i.started_at, i.resolved_at, i.reason, i.location) for i in rows] == [
            (second, H0 + 200, None, "again", None),
            (first, H0, H0 + 120, "status 500", "eu")]
        assert [i.id for i in store.incidents()] == [second, other, first]
        assert [i.id for i in store.incidents(limit=1)] == [second]

    def test_incidents_since_keeps_open_and_recent_ones(self, store):
        old = store.open_incident("a", H0, None)
        store.resolve_incident("a", H0 + 10)
        still_open = store.open_incident("b", H0, None)
        recent = store.open_incident("c", H0 + 100, None)
        store.resolve_incident("c", H0 + 110)
        assert {i.id for i in store.incidents(since=H0 + 50)} == {still_open, recent}
        assert old not in {i.id for i in store.incidents(since=H0 + 50)}

    # -- silences, pauses, heartbeats ----------------------------------------------
    def test_silences(self, store):
        a = store.add_silence("payments-*", H0, H0 + 100, "deploy", "ann")
        b = store.add_silence("*", H0 + 50, H0 + 60)
        assert (a.monitor, a.starts_at, a.ends_at, a.reason, a.created_by) == (
            "payments-*", H0, H0 + 100, "deploy", "ann")
        assert [s.id for s in store.silences()] == [a.id, b.id]
        assert [s.id for s in store.silences(active_at=H0 + 55)] == [a.id, b.id]
        assert [s.id for s in store.silences(active_at=H0 + 60)] == [a.id]  # ends_at excl.
        assert store.silences(active_at=H0 - 1) == []
        assert store.delete_silence(a.id) is True
        assert store.delete_silence(a.id) is False
        assert [s.id for s in store.silences()] == [b.id]

    def test_paused_monitors(self, store):
        assert store.paused() == set()
        store.set_paused("a", True)
        store.set_paused("a", True)
        store.set_paused("b", True)
        store.set_paused("c", False)
        assert store.paused() == {"a", "b"}
        store.set_paused("a", False)
        assert store.paused() == {"b"}

    def test_heartbeats(self, store):
        assert store.last_heartbeat("job") is None
        store.record_heartbeat("job", H0)
        store.record_heartbeat("job", H0 + 60)
        store.record_heartbeat("job", H0 + 30)  # a late ping does not go back in time
        store.record_heartbeat("other", H0 + 1)
        assert store.last_heartbeat("job") == H0 + 60
        assert store.last_heartbeat("other") == H0 + 1

"""SLO burn rates, multiwindow alerts, budget remaining and episode dedup, over synthetic
event streams counted in memory."""

from __future__ import annotations

import json
from bisect import bisect_left
from itertools import accumulate

import pytest

from assay.monitor.model import Slo
from assay.monitor.slo import (
    DEFAULT_RULES,
    BurnRule,
    SloAlerter,
    budget_remaining,
    burn_rate,
    evaluate,
    store_counts,
)

NOW = 1_700_000_000.0
HOUR = 3600.0
DAY = 86400.0
SLO = Slo(availability=0.999, latency_quantile=0.95, latency_ms=300.0, window_s=30 * DAY)


class Stream:
    """Runs at fixed times; counts ``(total, bad)`` in ``[since, until)`` by bisection."""

    def __init__(self, runs: list[tuple[float, bool, float]], threshold_ms: float = 300.0):
        runs = sorted(runs)
        self.times = [t for t, _, _ in runs]
        self.calls: list[tuple[str, float, float]] = []
        failed = [0 if ok else 1 for _, ok, _ in runs]
        slow = [1 if (not ok or ms > threshold_ms) else 0 for _, ok, ms in runs]
        self.prefix = {"availability": [0, *accumulate(failed)],
                       "latency": [0, *accumulate(slow)]}

    def counts_for(self, objective: str):
        prefix = self.prefix[objective]

        def counts(since: float, until: float) -> tuple[int, int]:
            self.calls.append((objective, since, until))
            lo, hi = bisect_left(self.times, since), bisect_left(self.times, until)
            return hi - lo, prefix[hi] - prefix[lo]

        return counts


def runs_every(step: float, start: float, end: float, failing=lambda i, t: False,
               latency=lambda i, t: 100.0) -> list[tuple[float, bool, float]]:
    """One run each ``step`` seconds in ``[start, end)``."""
    count = int(round((end - start) / step))
    times = [start + step * i for i in range(count)]
    return [(t, not failing(i, t), latency(i, t)) for i, t in enumerate(times)]


def fired(alerts) -> set[tuple[str, str]]:
    return {(a.objective, a.rule.name) for a in alerts}


# -- burn_rate ---------------------------------------------------------------------
def test_burn_rate_is_the_bad_fraction_over_the_budget():
    assert burn_rate(2, 100, 0.999) == pytest.approx(20.0)
    assert burn_rate(1, 1000, 0.999) == pytest.approx(1.0)
    assert burn_rate(5, 100, 0.95) == pytest.approx(1.0)
    assert burn_rate(0, 100, 0.999) == 0.0
    assert burn_rate(0, 0, 0.999) == 0.0


def test_burn_rate_rejects_an_objective_without_a_budget():
    with pytest.raises(ValueError, match="objective must be in"):
        burn_rate(1, 10, 1.0)


# -- evaluate ----------------------------------------------------------------------
def three_quiet_days(**kw) -> Stream:
    """A run every 6 s for 3 days (600 an hour), all ok unless told otherwise."""
    return Stream(runs_every(6.0, NOW - 3 * DAY, NOW, **kw))


def test_two_percent_failures_over_the_last_hour_pages_fast():
    # Every 50th run of the last hour fails: 12 of 600, one in each 5 minutes.
    stream = three_quiet_days(failing=lambda i, t: t >= NOW - HOUR and i % 50 == 49)
    alerts = evaluate(SLO, stream.counts_for, NOW)
    assert fired(alerts) == {("availability", "page-fast")}
    alert = alerts[0]
    assert alert.long_burn == pytest.approx(20.0)   # 2% / 0.1%
    assert alert.short_burn == pytest.approx(20.0)  # 1 of 50 in the last 5 minutes
    assert alert.rule.severity == "page"
    assert "20.0x over 1h" in alert.message and "99.9%" in alert.message
    # 12 failures in 6 hours (0.33%: 3.3x) and in 3 days (0.03x) stay below 6x and 1x.


def test_a_five_minute_spike_alone_does_not_page():
    # 5 of the last 50 runs fail: 100x over 5 minutes but 5/600 (8.3x) over the hour.
    stream = three_quiet_days(failing=lambda i, t: t >= NOW - 300 and i % 10 == 9)
    assert evaluate(SLO, stream.counts_for, NOW) == []


def test_an_hour_of_failures_that_stopped_does_not_page_fast():
    # 50x over the hour, but nothing failed in the last 5 minutes.
    stream = three_quiet_days(failing=lambda i, t: NOW - HOUR <= t < NOW - 300 and i % 20 == 0)
    alerts = evaluate(SLO, stream.counts_for, NOW)
    # The 30 minutes before now still burn 42x: the slower page holds.
    assert fired(alerts) == {("availability", "page-slow")}


def test_a_slow_steady_burn_pages_slow_not_fast():
    # 1% failures for the last 6 hours: 10x over 6h and 30m, 10x < 14.4 over 1h.
    stream = three_quiet_days(failing=lambda i, t: t >= NOW - 6 * HOUR and i % 100 == 99)
    alerts = evaluate(SLO, stream.counts_for, NOW)
    assert fired(alerts) == {("availability", "page-slow")}
    assert alerts[0].long_burn == pytest.approx(10.0)
    assert alerts[0].short_burn == pytest.approx(10.0)


def test_the_latency_objective_counts_slow_runs_against_its_own_budget():
    # 10% of runs over 300 ms for 3 days: 2x the 5% budget of p95, both ticket windows.
    stream = three_quiet_days(latency=lambda i, t: 900.0 if i % 10 == 0 else 120.0)
    alerts = evaluate(SLO, stream.counts_for, NOW)
    assert fired(alerts) == {("latency", "ticket")}
    assert alerts[0].long_burn == pytest.approx(2.0)
    assert "p95 < 300ms" in alerts[0].message


def test_only_configured_objectives_are_counted():
    stream = three_quiet_days(failing=lambda i, t: True)
    alerts = evaluate(Slo(availability=0.99), stream.counts_for, NOW)
    assert {o for o, _, _ in stream.calls} == {"availability"}
    assert fired(alerts) == {("availability", r.name) for r in DEFAULT_RULES}


def test_each_window_is_counted_once():
    stream = three_quiet_days()
    evaluate(SLO, stream.counts_for, NOW)
    # 1h, 5m, 6h, 30m, 3d (6h is shared by page-slow and ticket), per objective.
    assert len(stream.calls) == 10
    assert ("availability", NOW - 3 * DAY, NOW) in stream.calls


def test_custom_rules():
    rule = BurnRule("strict", "page", 2.0, HOUR, 300.0)
    # 6 failures in the last hour (10x), one in the last 5 minutes (20x).
    stream = three_quiet_days(failing=lambda i, t: t >= NOW - HOUR and i % 100 == 99)
    alerts = evaluate(Slo(availability=0.999), stream.counts_for, NOW, rules=[rule])
    assert [a.rule for a in alerts] == [rule]
    assert (alerts[0].long_burn, alerts[0].short_burn) == (pytest.approx(10.0),
                                                           pytest.approx(20.0))


# -- budget ------------------------------------------------------------------------
def test_budget_remaining_over_the_slo_window():
    # One run a minute for a day: 1440 runs; 99% allows 14.4 failures.
    slo = Slo(availability=0.99, latency_quantile=0.9, latency_ms=300.0, window_s=DAY)
    stream = Stream(runs_every(60.0, NOW - 2 * DAY, NOW,
                               failing=lambda i, t: t >= NOW - DAY and i % 288 == 0,
                               latency=lambda i, t: 400.0 if i % 4 == 0 else 100.0))
    left = budget_remaining(slo, stream.counts_for, NOW)
    # 5 failures: 1 - (5/1440)/0.01. Latency: 360 slow (the failures among them) of 1440
    # against a 10% budget: 2.5x, overspent.
    assert left["availability"] == pytest.approx(1 - (5 / 1440) / 0.01)
    assert left["latency"] == pytest.approx(1 - (360 / 1440) / 0.1)
    assert left["latency"] < 0


def test_budget_is_whole_without_events():
    left = budget_remaining(Slo(availability=0.999), Stream([]).counts_for, NOW)
    assert left == {"availability": 1.0}


# -- the alerter ---------------------------------------------------------------------
class Live:
    """A stream the test extends as time passes (a run every 6 s, 600 an hour); runs
    ``fail_every``-th fail (one in 500: 0.2%, 2x against 99.9%)."""

    def __init__(self, fail_every: int | None = None):
        self.runs: list[tuple[float, bool, float]] = []
        self.add(NOW - 3 * DAY, NOW, fail_every)

    def add(self, start: float, end: float, fail_every: int | None) -> None:
        self.runs += runs_every(6.0, start, end, failing=lambda i, t: (
            fail_every is not None and i % fail_every == fail_every - 1))

    def counts_for(self, objective: str):
        return Stream(self.runs).counts_for(objective)


PAGE_FAST = DEFAULT_RULES[0]


def test_an_episode_is_emitted_once_and_re_arms_when_the_short_window_recovers():
    live, alerter, slo = Live(), SloAlerter([PAGE_FAST]), Slo(availability=0.999)
    live.add(NOW, NOW + 600, fail_every=2)  # half of 10 minutes fails: 83x over the hour
    first = alerter.update(slo, live.counts_for, NOW + 600)
    assert fired(first) == {("availability", "page-fast")}
    live.add(NOW + 600, NOW + 660, fail_every=5)
    assert alerter.update(slo, live.counts_for, NOW + 660) == []  # still burning: quiet
    live.add(NOW + 660, NOW + 1020, fail_every=None)  # 6 clean minutes
    assert alerter.update(slo, live.counts_for, NOW + 1020) == []
    assert ("availability", "page-fast") not in alerter.open_episodes()  # re-armed
    live.add(NOW + 1020, NOW + 1320, fail_every=10)  # a new burst
    again = alerter.update(slo, live.counts_for, NOW + 1320)
    assert fired(again) == {("availability", "page-fast")}


def test_a_rule_of_the_same_severity_is_inhibited_while_a_page_is_open():
    live, alerter, slo = Live(), SloAlerter(), Slo(availability=0.999)
    live.add(NOW, NOW + HOUR, fail_every=10)  # 10% for an hour: 100x
    alerts = alerter.update(slo, live.counts_for, NOW + HOUR)
    # Every rule fires (6h: 16.7x, 3d: 1.4x); one page goes out, the others are inhibited.
    assert fired(alerts) == {("availability", "page-fast")}
    assert set(alerter.open_episodes()) == {("availability", "page-fast"),
                                            ("availability", "page-slow"),
                                            ("availability", "ticket")}
    live.add(NOW + HOUR, NOW + HOUR + 600, fail_every=None)  # the 5m window recovers
    assert alerter.update(slo, live.counts_for, NOW + HOUR + 600) == []
    assert ("availability", "page-slow") in alerter.open_episodes()
    assert ("availability", "page-fast") not in alerter.open_episodes()
    # A new burst while page-slow's 30 minutes still burn is the same incident: no page.
    live.add(NOW + HOUR + 600, NOW + HOUR + 900, fail_every=10)
    assert alerter.update(slo, live.counts_for, NOW + HOUR + 900) == []
    assert ("availability", "page-fast") in alerter.open_episodes()


def test_a_ticket_does_not_inhibit_a_page():
    live, alerter, slo = Live(fail_every=500), SloAlerter(), Slo(availability=0.999)
    assert fired(alerter.update(slo, live.counts_for, NOW)) == {("availability", "ticket")}
    live.add(NOW, NOW + HOUR, fail_every=20)  # 5%: 50x
    assert fired(alerter.update(slo, live.counts_for, NOW + HOUR)) == {
        ("availability", "page-fast")}


def test_alerter_state_round_trip():
    live, alerter, slo = Live(), SloAlerter(), Slo(availability=0.999)
    live.add(NOW, NOW + 600, fail_every=2)
    assert alerter.update(slo, live.counts_for, NOW + 600)
    state = json.loads(json.dumps(alerter.to_state()))
    restored = SloAlerter(state=state)
    assert restored.open_episodes() == alerter.open_episodes()
    assert restored.open_episodes()[("availability", "page-fast")] == NOW + 600
    live.add(NOW + 600, NOW + 660, fail_every=5)
    assert restored.update(slo, live.counts_for, NOW + 660) == []  # no repeat after restart
    assert fired(SloAlerter().update(slo, live.counts_for, NOW + 660))  # a fresh one would


def test_an_objective_removed_from_the_config_closes_its_episodes():
    live, alerter = Live(), SloAlerter()
    live.add(NOW, NOW + 600, fail_every=2)
    assert alerter.update(SLO, live.counts_for, NOW + 600)
    assert ("availability", "page-fast") in alerter.open_episodes()
    latency_only = Slo(latency_quantile=0.95, latency_ms=300.0)
    alerter.update(latency_only, live.counts_for, NOW + 660)
    assert all(objective == "latency" for objective, _ in alerter.open_episodes())


def test_alerter_drops_unknown_state():
    assert SloAlerter(state={"version": 7, "open": [["availability", "x", 1.0]]}
                      ).open_episodes() == {}
    kept = SloAlerter(state={"version": 1, "open": [["availability", "gone", 1.0],
                                                     ["latency", "ticket", 2.0]]})
    assert kept.open_episodes() == {("latency", "ticket"): 2.0}


# -- store-backed counts ---------------------------------------------------------------
class CountingStore:
    """Implements the two Store methods ``store_counts`` uses, and records the calls."""

    def __init__(self):
        self.calls: list[tuple] = []

    def counts(self, monitor, since, until, location=None):
        self.calls.append(("counts", monitor, since, until, location))
        return 1000, 3

    def slow_count(self, monitor, since, until, threshold_ms, location=None):
        self.calls.append(("slow_count", monitor, since, until, threshold_ms, location))
        return 1000, 80


def test_store_counts_routes_each_objective():
    store = CountingStore()
    left = budget_remaining(SLO, store_counts(store, "api", SLO), NOW)
    assert left["availability"] == pytest.approx(1 - 3.0)
    assert left["latency"] == pytest.approx(1 - 80 / 1000 / 0.05)
    assert ("counts", "api", NOW - SLO.window_s, NOW, None) in store.calls
    assert ("slow_count", "api", NOW - SLO.window_s, NOW, 300.0, None) in store.calls

"""Alert state machines (thresholds, flapping, reminders, restarts, dedup keys) and the
multi-location quorum: pure logic, fed with explicit slots and clocks."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.monitor.alerts import (
    AlertMachine,
    Transition,
    alert_event,
    dedup_key,
    format_duration,
)
from assay.monitor.model import AlertSettings
from assay.monitor.quorum import (
    QuorumPolicy,
    deadline_for,
    decide_slot,
    expected_locations,
    slot_outcome,
    slot_reports,
)
from assay.monitor.records import RunResult

T0 = 1_700_000_000.0
PERIOD = 10.0


def slot(i: int) -> float:
    return T0 + i * PERIOD


def feed(machine: AlertMachine, outcomes: str, *, start: int = 0, lag: float = 0.25,
         monitor: str = "api", channel: str = "ops") -> list[tuple[int, str, str]]:
    """Observe ``outcomes`` ('.' up, 'x' down) at consecutive slots from ``start``;
    returns (slot index, event, dedup key) of every transition."""
    out = []
    for k, char in enumerate(outcomes):
        i = start + k
        ok = char == "."
        result = RunResult(monitor, "eu", slot(i) + lag, slot(i), ok,
                           status=200 if ok else 500, latency_ms=12.0,
                           reason=None if ok else "expected status 200, got 500")
        for t in machine.observe(ok, slot(i), slot(i) + lag, result):
            out.append((i, t.event, dedup_key(monitor, channel, t)))
    return out


def events(transitions: list[tuple[int, str, str]]) -> list[str]:
    return [event for _, event, _ in transitions]


# -- thresholds ------------------------------------------------------------------------
def test_the_issue_scenario_fires_once_and_resolves_once():
    machine = AlertMachine(AlertSettings(failure_threshold=3, success_threshold=2))
    got = feed(machine, "....." + "x" * 12 + "......")
    assert got == [
        (7, "firing", f"api|ops|firing|{slot(5):.3f}"),
        (18, "resolved", f"api|ops|resolved|{slot(5):.3f}"),
    ]
    assert not machine.firing


@pytest.mark.parametrize("failures,successes", [(1, 1), (3, 2), (5, 3)])
def test_thresholds_count_consecutive_runs(failures, successes):
    machine = AlertMachine(AlertSettings(failure_threshold=failures,
                                         success_threshold=successes, flap_threshold=0))
    # One failure short of the threshold, twice, with a success between: nothing fires.
    almost = "x" * (failures - 1) + "."
    assert feed(machine, almost * 2) == []
    start = 2 * len(almost)
    got = feed(machine, "x" * failures + "." * successes, start=start)
    assert got == [
        (start + failures - 1, "firing", f"api|ops|firing|{slot(start):.3f}"),
        (start + failures + successes - 1, "resolved", f"api|ops|resolved|{slot(start):.3f}"),
    ]


def test_a_short_success_streak_keeps_the_same_incident_firing():
    machine = AlertMachine(AlertSettings(failure_threshold=3, success_threshold=3))
    got = feed(machine, "xxx" + "..x" + ".x" + "xxxx" + "...")
    assert events(got) == ["firing", "resolved"]
    # The incident keeps the identity of its first failed run.
    assert got[1][2] == f"api|ops|resolved|{slot(0):.3f}"
    assert got[1][0] == 14


def test_send_on_resolved_false_stays_quiet_but_resolves():
    machine = AlertMachine(AlertSettings(failure_threshold=2, success_threshold=2,
                                         send_on_resolved=False))
    got = feed(machine, "xx..")
    assert events(got) == ["firing"]
    assert not machine.firing
    # The next outage is a new incident that fires again, with its own key.
    again = feed(machine, "..xx", start=4)
    assert again == [(7, "firing", f"api|ops|firing|{slot(6):.3f}")]


def test_firing_message_names_the_failure_and_resolved_the_downtime():
    machine = AlertMachine(AlertSettings(failure_threshold=3, success_threshold=2))
    messages = []
    for i, char in enumerate("xxxxxx.."):
        ok = char == "."
        result = RunResult("api", "eu", slot(i), slot(i), ok, reason=None if ok else "timeout")
        messages += [t.message for t in machine.observe(ok, slot(i), slot(i), result)]
    assert messages == ["down: 3 failed runs in a row (last: timeout)",
                        "up again: 2 successful runs in a row after 1m 10s down"]


# -- flapping --------------------------------------------------------------------------
def test_alternating_results_give_one_flapping_notice_not_a_storm():
    # Thresholds of 1 would notify on every change: the storm flapping detection prevents.
    machine = AlertMachine(AlertSettings(failure_threshold=1, success_threshold=1,
                                         flap_window_s=600, flap_threshold=6))
    got = feed(machine, ".x" * 50)
    assert events(got).count("flapping") == 1
    # What went out before detection is bounded by the threshold, nothing after it.
    flap_index = events(got).index("flapping")
    assert flap_index < 6
    assert all(i <= got[flap_index][0] for i, _, _ in got)
    assert machine.flapping


def test_alternation_below_the_thresholds_is_still_reported_as_flapping():
    machine = AlertMachine(AlertSettings(failure_threshold=3, success_threshold=2,
                                         flap_window_s=600, flap_threshold=6))
    got = feed(machine, "..x.x.x.x.x.x.x.")
    # The first down is at slot 2; the 6th change (at slot 7) starts flapping, identified
    # by the first change of the window.
    assert got == [(7, "flapping", f"api|ops|flapping|{slot(2):.3f}")]


def test_flapping_ends_after_a_stable_window_with_the_truth_once():
    settings_ = AlertSettings(failure_threshold=1, success_threshold=1, flap_window_s=60,
                              flap_threshold=3)
    machine = AlertMachine(settings_)
    got = feed(machine, ".x.x")
    # The third change (down at slot 3) starts flapping: its firing is held.
    assert [(i, e) for i, e, _ in got] == [(1, "firing"), (2, "resolved"), (3, "flapping")]
    # Down for good: nothing while the window since the last change (slot 3) is open.
    assert feed(machine, "xxxxx", start=4) == []
    assert machine.firing and machine.flapping
    # 60 s after the last change (slot 9): it is stable, and the channel, last told
    # "resolved", hears "firing" once, for the incident that started at slot 3.
    later = feed(machine, "xxxx", start=9)
    assert later == [(9, "firing", f"api|ops|firing|{slot(3):.3f}")]
    assert not machine.flapping


def test_flapping_ends_quietly_when_the_truth_is_what_was_last_said():
    machine = AlertMachine(AlertSettings(failure_threshold=1, success_threshold=1,
                                         flap_window_s=60, flap_threshold=4))
    got = feed(machine, ".x.x.x.x")
    # firing, resolved, firing, then flapping (held: resolved, firing, resolved, firing).
    assert events(got) == ["firing", "resolved", "firing", "flapping"]
    # Down ever since: the channel was last told "firing", so the end says nothing.
    assert feed(machine, "x" * 10, start=8) == []
    assert not machine.flapping and machine.firing


def test_flapping_ends_on_a_tick_when_results_stop_coming():
    machine = AlertMachine(AlertSettings(failure_threshold=2, success_threshold=1,
                                         flap_window_s=60, flap_threshold=4))
    got = feed(machine, "xx" + ".x.x")
    assert events(got) == ["firing", "resolved", "flapping"]
    assert machine.tick(slot(5) + 59) == []
    # Last told "resolved", now down (one failure, under the threshold of 2): the truth is
    # "resolved", so nothing needs saying when the flapping ends.
    assert machine.tick(slot(5) + 60) == []
    assert not machine.flapping


def test_after_flapping_a_resolution_is_sent_when_the_channel_was_told_firing():
    machine = AlertMachine(AlertSettings(failure_threshold=2, success_threshold=2,
                                         flap_window_s=100, flap_threshold=4))
    # Fires at slot 1; single successes never resolve it; flapping from slot 6; the
    # successes at slots 7 and 8 resolve it while notices are held.
    got = feed(machine, "xx" + "x.x.x." + "..")
    assert events(got) == ["firing", "flapping"]
    assert not machine.firing
    ended = machine.tick(slot(7) + 100)
    assert [t.event for t in ended] == ["resolved"]
    assert ended[0].streak_started_at == slot(0)
    assert ended[0].message.endswith("(no longer flapping)")


def test_an_incident_keeps_its_identity_through_flapping():
    machine = AlertMachine(AlertSettings(failure_threshold=2, success_threshold=2,
                                         flap_window_s=100, flap_threshold=3))
    # Flapping from slot 3; fires (held) at slot 4 for the streak that began at slot 3; a
    # lone success at 6 does not resolve it, the failures go on from slot 7.
    assert events(feed(machine, ".x.x" + "x" + "x.x" + "x" * 9)) == ["flapping"]
    assert machine.incident_started_at == slot(3)
    ended = feed(machine, "x", start=17)  # 100 s after the last change (slot 7)
    resolved = feed(machine, "..", start=18)
    assert [k for _, _, k in ended + resolved] == [f"api|ops|firing|{slot(3):.3f}",
                                                   f"api|ops|resolved|{slot(3):.3f}"]


def test_send_on_resolved_false_is_honoured_when_flapping_ends():
    machine = AlertMachine(AlertSettings(failure_threshold=2, success_threshold=2,
                                         send_on_resolved=False, flap_window_s=100,
                                         flap_threshold=4))
    assert events(feed(machine, "xx" + "x.x.x." + "..")) == ["firing", "flapping"]
    assert machine.tick(slot(7) + 100) == []
    assert not machine.flapping and not machine.firing


# -- reminders -------------------------------------------------------------------------
def test_reminders_while_firing_one_per_interval_and_none_after_resolving():
    machine = AlertMachine(AlertSettings(failure_threshold=2, success_threshold=1,
                                         remind_every_s=60))
    got = feed(machine, "xx", lag=0.0)
    assert events(got) == ["firing"]
    fired_at = slot(1)
    assert machine.tick(fired_at + 59.9) == []
    first = machine.tick(fired_at + 60)
    assert [(t.event, t.number) for t in first] == [("reminder", 1)]
    assert dedup_key("api", "ops", first[0]) == f"api|ops|reminder|{slot(0):.3f}|1"
    assert machine.tick(fired_at + 61) == []
    # An agent asleep for 4 intervals sends one reminder, numbered by elapsed time.
    late = machine.tick(fired_at + 300)
    assert [(t.event, t.number) for t in late] == [("reminder", 5)]
    assert feed(machine, ".", start=40, lag=0.0)[0][1] == "resolved"
    assert machine.tick(fired_at + 10_000) == []


def test_no_reminders_without_remind_every():
    machine = AlertMachine(AlertSettings(failure_threshold=1))
    feed(machine, "x")
    assert machine.tick(slot(0) + 86400) == []


# -- restarts and dedup keys -----------------------------------------------------------
SCRIPT = "...xxxxx.x..xxxx" + ".x" * 6 + "x" * 12 + "...." + "xxx"


def run_with_restart(settings_: AlertSettings, split: int) -> list[tuple[int, str, str]]:
    """Observe SCRIPT with ticks between slots, "killing" the machine after ``split``."""
    machine = AlertMachine(settings_)
    out = []
    for i, char in enumerate(SCRIPT):
        if i == split:
            saved = json.loads(json.dumps(machine.to_state()))
            machine = AlertMachine(settings_, saved)
        out += [(i, e, k) for _, e, k in feed(machine, char, start=i)]
        out += [(i, t.event, dedup_key("api", "ops", t))
                for t in machine.tick(slot(i) + PERIOD / 2)]
    return out


@pytest.mark.parametrize("split", range(1, len(SCRIPT)))
def test_a_restart_anywhere_loses_and_repeats_nothing(split):
    settings_ = AlertSettings(failure_threshold=3, success_threshold=2, remind_every_s=30,
                              flap_window_s=60, flap_threshold=5)
    uninterrupted = run_with_restart(settings_, split=len(SCRIPT) + 1)
    # The script exercises every kind of transition.
    assert {"firing", "resolved", "reminder", "flapping"} <= set(events(uninterrupted))
    assert run_with_restart(settings_, split) == uninterrupted


def test_replaying_the_last_result_after_a_restart_is_ignored():
    machine = AlertMachine(AlertSettings(failure_threshold=2))
    assert feed(machine, "x") == []
    # Killed after saving the state but before noting that slot 0 was handled: the runner
    # feeds slot 0 again, which must not count as a second failure.
    restarted = AlertMachine(machine.settings, machine.to_state())
    assert feed(restarted, "x") == []
    assert not restarted.firing
    assert events(feed(restarted, "x", start=1)) == ["firing"]


def test_a_state_from_another_version_starts_fresh():
    machine = AlertMachine(AlertSettings(failure_threshold=1), {"v": 99, "firing": True})
    assert not machine.firing
    assert events(feed(machine, "x")) == ["firing"]


def test_two_agents_fed_the_same_slots_derive_the_same_keys():
    settings_ = AlertSettings(failure_threshold=3, success_threshold=2, remind_every_s=60,
                              flap_window_s=120, flap_threshold=6)
    outcomes = "..xxxxxxxx...." + ".x" * 8 + "xxxxx" + "..."
    a = feed(AlertMachine(settings_), outcomes, lag=0.1)
    b = feed(AlertMachine(settings_), outcomes, lag=3.7)  # another agent, later clock
    assert len(a) >= 3
    assert [k for _, _, k in a] == [k for _, _, k in b]
    assert len({k for _, _, k in a}) == len(a)  # distinct occurrences, distinct keys


def test_dedup_key_format_and_alert_event():
    t = Transition("reminder", "still down", 1700000010.0000001, number=3)
    assert dedup_key("health", "ops", t) == "health|ops|reminder|1700000010.000|3"
    result = RunResult("health", "eu-1", 5.0, 5.0, False, status=503)
    event = alert_event(t, monitor="health", channel="ops", location="eu-1", at=7.0,
                        result=result)
    assert event.dedup_key == "health|ops|reminder|1700000010.000|3"
    assert (event.event, event.monitor, event.channel, event.location, event.at) == (
        "reminder", "health", "ops", "eu-1", 7.0)
    assert event.last_result is result
    assert event.details == {"streak_started_at": 1700000010.0000001, "reminder": 3}


@settings(max_examples=150, deadline=None)
@given(outcomes=st.lists(st.booleans(), max_size=60),
       failures=st.integers(1, 4), successes=st.integers(1, 4),
       flap=st.integers(0, 8), split=st.integers(0, 60))
def test_firing_and_resolved_alternate_and_survive_a_restart(outcomes, failures, successes,
                                                             flap, split):
    settings_ = AlertSettings(failure_threshold=failures, success_threshold=successes,
                              flap_window_s=50, flap_threshold=flap)
    text = "".join("." if ok else "x" for ok in outcomes)
    whole = feed(AlertMachine(settings_), text)
    first = AlertMachine(settings_)
    head = feed(first, text[:split])
    resumed = AlertMachine(settings_, json.loads(json.dumps(first.to_state())))
    assert head + feed(resumed, text[split:], start=len(text[:split])) == whole
    told = [e for e in events(whole) if e in ("firing", "resolved")]
    assert told == ["firing", "resolved"] * (len(told) // 2) + ["firing"] * (len(told) % 2)
    assert events(whole).count("flapping") <= max(1, len(text) // max(1, flap))


def test_format_duration():
    assert [format_duration(s) for s in (0, 42, 70, 3723, 90061)] == [
        "0s", "42s", "1m 10s", "1h 2m", "1d 1h"]


# -- quorum ----------------------------------------------------------------------------
def r(location: str, ok: bool, i: int = 0, *, offset: float = 0.0) -> RunResult:
    return RunResult("api", location, slot(i) + offset + 0.2, slot(i) + offset, ok)


@pytest.mark.parametrize("reports,expected,final,outcome", [
    ({"eu": False, "us": False}, 3, False, False),       # two of three failed: down already
    ({"eu": False, "us": True}, 3, False, None),         # asia may still fail
    ({"eu": True, "us": True}, 3, False, True),          # asia alone cannot make it down
    ({"eu": False, "us": True, "asia": True}, 3, False, True),
    ({"eu": False, "us": True}, 3, True, True),          # deadline: asia never reported
    ({"eu": False}, 1, False, False),                    # one live agent: its failure counts
    ({"eu": False}, None, False, False),
    ({"eu": True}, None, False, True),
    ({}, 3, False, None),
    ({}, 3, True, None),                                 # nobody reported: skip the slot
])
def test_slot_outcome_with_a_quorum_of_two(reports, expected, final, outcome):
    results = {loc: r(loc, ok) for loc, ok in reports.items()}
    assert slot_outcome(results, 2, expected_locations=expected, final=final) is outcome


def test_a_single_location_quorum_is_any_failure():
    results = {"eu": r("eu", True), "us": r("us", False)}
    assert slot_outcome(results, 1, expected_locations=2) is False


def test_expected_locations_are_those_seen_in_the_last_slots():
    history = [r("eu", True, 7), r("us", True, 8), r("asia", True, 5), r("eu", True, 10)]
    # Slot 10: the three slots before it are 7, 8 and 9; asia last reported at slot 5.
    assert expected_locations(history, slot(10), PERIOD) == {"eu", "us"}
    assert expected_locations(history, slot(10), PERIOD, slots=5) == {"eu", "us", "asia"}


def test_slot_reports_match_the_slot_and_fall_back_at_the_deadline():
    history = [r("eu", False, 10, offset=0.003), r("us", True, 9), r("asia", False, 7),
               r("eu", True, 9)]
    assert set(slot_reports(history, slot(10), PERIOD)) == {"eu"}
    final = slot_reports(history, slot(10), PERIOD, final=True)
    # us votes with its previous slot's result; asia's (3 periods old) is too old.
    assert {loc: res.planned_at for loc, res in final.items()} == {
        "eu": slot(10) + 0.003, "us": slot(9)}


def test_decide_slot_waits_for_live_locations_until_the_deadline():
    policy = QuorumPolicy(locations_failing=2, period_s=PERIOD,
                          deadline_s=deadline_for(timeout_s=2.0, retries=1, slack_s=1.0))
    assert policy.deadline_s == 5.0
    history = [r(loc, True, i) for loc in ("eu", "us", "asia") for i in (7, 8, 9)]
    history.append(r("eu", False, 10))
    assert decide_slot(history, slot(10), slot(10) + 1, policy) is None
    # us fails too: down, without waiting for asia.
    assert decide_slot(history + [r("us", False, 10)], slot(10), slot(10) + 1,
                       policy) is False
    # Past the deadline, us and asia vote with their slot-9 results (up): up.
    assert decide_slot(history, slot(10), slot(10) + 5, policy) is True


def test_an_agent_that_stopped_reporting_no_longer_holds_the_quorum():
    policy = QuorumPolicy(locations_failing=2, period_s=PERIOD, deadline_s=5.0)
    # us stopped after slot 5; eu alone has been reporting since.
    history = [r("us", True, i) for i in range(0, 6)] + [r("eu", True, i) for i in range(10)]
    history.append(r("eu", False, 10))
    assert decide_slot(history, slot(10), slot(10) + 0.5, policy) is False


def test_agents_deciding_early_agree_with_agents_that_saw_every_report():
    policy = QuorumPolicy(locations_failing=2, period_s=PERIOD, deadline_s=5.0)
    base = [r(loc, True, i) for loc in ("eu", "us", "asia") for i in (7, 8, 9)]
    for outcomes in ("xx.", "x..", "...", "xxx", ".x."):
        reports = [r(loc, c == ".", 10) for loc, c in zip(("eu", "us", "asia"), outcomes,
                                                          strict=True)]
        complete = decide_slot(base + reports, slot(10), slot(10) + 1, policy)
        for n in range(1, 3):
            early = decide_slot(base + reports[:n], slot(10), slot(10) + 1, policy)
            assert early is None or early is complete
        assert complete is (outcomes.count("x") < 2)

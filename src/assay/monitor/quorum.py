"""Quorum across locations: is a monitor down for a slot when several agents probe it?

Several agents (``--location eu-1``, ``--location us-1``...) write their results to one
database. A monitor with ``locations_failing: N`` is down for the slot ``planned_at`` when at
least N locations failed it. Every agent evaluates the same shared results and feeds the
outcome to its ``AlertMachine``; the outbox's dedup keys make one notification go out.

Slots are the same instants on every agent (``schedule.py``), so a location's report *for*
a slot is its result whose ``planned_at`` lies within half a period of the slot.

How an agent knows enough locations reported:

- The *expected* locations are those that reported in any of the last ``slots`` (3) slots,
  plus any reporting for this one. A location whose agent stopped drops out after 3 slots.
- Before the slot's deadline, the outcome is decided as soon as the missing reports cannot
  change it: N failures already (down), or too few missing to reach N (up); otherwise it
  waits (``None``). Both decisions stay true whatever the missing reports say, so an agent
  that decides early agrees with one that saw every report.
- At the deadline, ``planned_at + timeout_s * (retries + 1) + slack_s`` (a run's longest
  duration plus room for lateness and the write), the slot is decided with what is there:
  a location without a report for the slot votes with its latest result if that is not
  older than 2 periods, and does not vote otherwise. A slot nobody reported is skipped
  (``None``): agents that are gone are not the API failing.
- N is capped at the number of expected locations: with ``locations_failing: 2`` and a
  single live agent, its failures count as down, because monitoring must not go blind when
  an agent stops (the price: while one of two agents is gone, one location's failure fires).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .records import RunResult


@dataclass(frozen=True, slots=True)
class QuorumPolicy:
    """How one monitor's slots are decided across locations.

    ``period_s``: the time between slots (``every``; for a cron, the gap before this slot);
    ``deadline_s``: how long after ``planned_at`` to wait for reports (``deadline_for``).
    """

    locations_failing: int
    period_s: float
    deadline_s: float
    slots: int = 3


def deadline_for(timeout_s: float, retries: int = 0, slack_s: float = 5.0) -> float:
    """Seconds after a slot's planned time by which every live location has reported:
    the longest a run can take (``timeout_s`` per attempt) plus ``slack_s``."""
    return timeout_s * (retries + 1) + slack_s


def slot_outcome(results: Mapping[str, RunResult], locations_failing: int, *,
                 expected_locations: int | None = None, final: bool = False) -> bool | None:
    """True (up), False (down) or None (not decidable yet) for one slot.

    ``results`` holds one result per location for the slot. ``expected_locations`` is how
    many locations are live (None: those in ``results``); ``final`` says no more reports
    will come (the deadline passed). The quorum is ``locations_failing`` capped at the live
    locations.

    >>> from assay.monitor.records import RunResult
    >>> down = RunResult("api", "eu", 0.0, 0.0, ok=False)
    >>> slot_outcome({"eu": down}, 2, expected_locations=3) is None  # waits for the others
    True
    """
    reported = len(results)
    if reported == 0:
        return None
    failed = sum(1 for r in results.values() if not r.ok)
    live = reported if expected_locations is None else max(expected_locations, reported)
    needed = max(1, min(locations_failing, live))
    if failed >= needed:
        return False
    missing = 0 if final else live - reported
    if failed + missing >= needed:
        return None
    return True


def slot_reports(history: Iterable[RunResult], planned_at: float, period_s: float, *,
                 final: bool = False) -> dict[str, RunResult]:
    """Each location's report for the slot ``planned_at`` (``planned_at`` within half a
    period); when ``final``, a location without one reports with its latest result not
    older than 2 periods."""
    half = period_s / 2
    current: dict[str, RunResult] = {}
    fallback: dict[str, RunResult] = {}
    for r in history:
        if abs(r.planned_at - planned_at) <= half:
            _keep_newest(current, r)
        elif final and planned_at - 2 * period_s <= r.planned_at < planned_at:
            _keep_newest(fallback, r)
    if final:
        for location, r in fallback.items():
            current.setdefault(location, r)
    return current


def expected_locations(history: Iterable[RunResult], planned_at: float, period_s: float, *,
                       slots: int = 3) -> frozenset[str]:
    """The locations that reported in any of the ``slots`` slots before ``planned_at``."""
    half = period_s / 2
    earliest = planned_at - slots * period_s - half
    return frozenset(r.location for r in history
                     if earliest <= r.planned_at < planned_at - half)


def decide_slot(history: Iterable[RunResult], planned_at: float, now: float,
                policy: QuorumPolicy) -> bool | None:
    """The outcome of the slot ``planned_at`` from the shared ``history`` of one monitor
    (every location's results since at least ``policy.slots + 2`` periods before the slot),
    as known at ``now``: True up, False down, None wait (or skip, past the deadline)."""
    results = list(history)
    final = now >= planned_at + policy.deadline_s
    reports = slot_reports(results, planned_at, policy.period_s, final=final)
    live = expected_locations(results, planned_at, policy.period_s, slots=policy.slots)
    return slot_outcome(reports, policy.locations_failing,
                        expected_locations=len(live | reports.keys()), final=final)


def _keep_newest(by_location: dict[str, RunResult], result: RunResult) -> None:
    kept = by_location.get(result.location)
    if kept is None or (result.planned_at, result.at) > (kept.planned_at, kept.at):
        by_location[result.location] = result

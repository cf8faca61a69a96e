"""RatePacer: the pacing decision with explicit times (no clock, no sleeping)."""

from __future__ import annotations

import asyncio

import pytest

from assay.http import RatePacer, pace


def delays(pacer: RatePacer, times: list[float]) -> list[float]:
    return [round(pacer.reserve(now), 9) for now in times]


def test_sends_at_the_same_instant_are_spaced_by_the_interval():
    assert delays(RatePacer(4.0), [0.0, 0.0, 0.0, 0.0]) == [0.0, 0.25, 0.5, 0.75]


def test_sends_already_spaced_wait_nothing():
    assert delays(RatePacer(2.0), [0.0, 0.5, 1.0, 7.0]) == [0.0, 0.0, 0.0, 0.0]


def test_a_send_slightly_early_waits_the_remainder():
    assert delays(RatePacer(2.0), [10.0, 10.2]) == [0.0, 0.3]


def test_burst_allows_that_many_at_once_then_paces():
    pacer = RatePacer(1.0, burst=3)
    assert delays(pacer, [0.0, 0.0, 0.0, 0.0, 0.0]) == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_idle_time_refills_the_burst_but_no_more():
    pacer = RatePacer(1.0, burst=2)
    delays(pacer, [0.0, 0.0])
    # After a long pause the bucket is full again: two free sends, then pacing.
    assert delays(pacer, [100.0, 100.0, 100.0]) == [0.0, 0.0, 1.0]


@pytest.mark.parametrize(("rate", "burst", "name"), [(0, 1, "rate"), (-1, 1, "rate"),
                                                     (1, 0, "burst"), (1, 1.5, "burst")])
def test_bad_arguments_are_named(rate, burst, name):
    with pytest.raises(ValueError, match=name):
        RatePacer(rate, burst)


def test_pace_sleeps_exactly_the_reserved_delay():
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    async def go():
        pacer = RatePacer(5.0)
        for _ in range(3):
            await pace(pacer, clock=lambda: 50.0, sleep=fake_sleep)
        await pace(None, clock=lambda: 50.0, sleep=fake_sleep)

    asyncio.run(go())
    assert [round(s, 9) for s in slept] == [0.2, 0.4]

"""The two load models of one worker: virtual users (closed) and arrivals (open).

Both drive a driver's ``iterate(lane, intended_ns)``; the pacing decisions come from the
pure logic of ``assay.load.schedule`` and this module only sleeps and starts coroutines.

**Closed**: each virtual user owns a lane (a connection) and starts its next iteration as
soon as the previous one ended; ramping stages add users or let surplus users finish their
iteration and leave (as k6's graceful ramp-down).

**Open**: arrivals come from an ``ArrivalSchedule`` whatever the server does. Lanes take the
next arrival when they are free, sleep until it is due and record latency from its planned
time, so a stall shows up in full (no coordinated omission). When every lane is busy and an
arrival is due, a supervisor opens another lane, up to ``max_connections``; beyond that the
arrivals wait (the backlog), and their wait counts in their latency.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import Any

from ..load.config import LoadConfig
from ..load.schedule import ArrivalSchedule, VuPlan, split_iterations, split_vus

NewLane = Callable[[], Awaitable[Any]]
# Sleeps shorter than this are not trusted to the loop's timers (uvloop's have millisecond
# resolution): the lane yields to the loop until the arrival is due instead.
_SPIN_NS = 1_500_000
# How far ahead arrivals are taken from the schedule.
_REFILL_S = 0.05
# The supervisor's period: how late a lane can be opened for a due arrival.
_SUPERVISE_S = 0.001


class Control:
    """Shared between the executor and the worker: the stop flag, and the gauges."""

    __slots__ = ("stopping", "active", "backlog", "start_ns", "end_ns")

    def __init__(self, start_ns: int, end_ns: int | None):
        self.stopping = False
        self.active = 0
        self.backlog = 0
        self.start_ns = start_ns
        self.end_ns = end_ns

    def over(self) -> bool:
        """True once the run should start nothing new."""
        if self.stopping:
            return True
        if self.end_ns is not None and perf_counter_ns() >= self.end_ns:
            self.stopping = True
        return self.stopping


class ClosedExecutor:
    """Virtual users: constant (``vus``), ramping (VU ``stages``) or a fixed number of
    iterations shared by the users."""

    def __init__(self, driver: Any, new_lane: NewLane, config: LoadConfig, share: tuple[int, int],
                 control: Control):
        self.driver = driver
        self.new_lane = new_lane
        self.config = config
        self.share = share
        self.control = control
        index, count = share
        self.left = (split_iterations(config.iterations, count)[index]
                     if config.iterations is not None else None)
        self.target = 0
        self.tasks: list[asyncio.Task] = []

    async def run(self) -> None:
        """Run until the duration, the stages or the iterations are over (or a stop)."""
        index, count = self.share
        if self.config.stages:
            plan = VuPlan(self.config.stages, count)
            await self._ramp(plan, index)
        else:
            self._scale_to(split_vus(self.config.vus, count)[index])
            await self._wait_end()
        self.control.stopping = True
        await _finish(self.tasks, self.config.timeout_s)

    async def _ramp(self, plan: VuPlan, index: int) -> None:
        while not self.control.over():
            elapsed = (perf_counter_ns() - self.control.start_ns) / 1e9
            self._scale_to(plan.vus_at(index, elapsed))
            await asyncio.sleep(0.1)

    async def _wait_end(self) -> None:
        while not self.control.over() and any(not t.done() for t in self.tasks):
            await asyncio.sleep(0.05)

    def _scale_to(self, target: int) -> None:
        self.target = target
        while len(self.tasks) < target:
            self.tasks.append(asyncio.ensure_future(self._user(len(self.tasks))))
        self.control.active = sum(1 for i, t in enumerate(self.tasks)
                                  if i < target and not t.done())

    async def _user(self, number: int) -> None:
        lane = await self.new_lane()
        iterate = self.driver.iterate
        control = self.control
        while not control.over():
            if number >= self.target:
                # Ramped down: the user waits (keeping its connection) until the target
                # grows again or the run ends.
                await asyncio.sleep(0.1)
                continue
            if self.left is not None:
                if self.left <= 0:
                    return
                self.left -= 1
            await iterate(lane, None)


class OpenExecutor:
    """Arrivals at a constant or ramping rate, measured from their planned times."""

    def __init__(self, driver: Any, new_lane: NewLane, config: LoadConfig, share: tuple[int, int],
                 control: Control, recorder_gauge: Callable[[int, int], None] | None = None):
        self.driver = driver
        self.new_lane = new_lane
        self.config = config
        self.control = control
        self.schedule = ArrivalSchedule(rate=config.rate, stages=config.stages, share=share)
        index, count = share
        self.left = (split_iterations(config.iterations, count)[index]
                     if config.iterations is not None else None)
        self.horizon_s = config.planned_duration_s
        self.arrivals: deque[int] = deque()
        self.exhausted = False
        self.lanes: list[asyncio.Task] = []
        self.busy = 0

    async def run(self) -> None:
        """Run until the schedule ends (or a stop), then let in-flight requests finish."""
        for _ in range(min(4, self.config.max_connections)):
            self._open_lane()
        # Arrivals still waiting when the run ends get a request timeout to start; after
        # that they are counted as dropped (an error), never silently forgotten.
        deadline = None
        if self.control.end_ns is not None:
            deadline = self.control.end_ns + int(self.config.timeout_s * 1e9)
        while not self.exhausted or self.arrivals:
            if self.control.stopping:
                break
            if deadline is not None and perf_counter_ns() > deadline:
                break
            self._supervise()
            await asyncio.sleep(_SUPERVISE_S)
        self.control.stopping = True
        now = perf_counter_ns()
        while self.arrivals and self.arrivals[0] <= now:
            self.driver.drop(self.arrivals.popleft())
        await _finish(self.lanes, self.config.timeout_s)

    def _supervise(self) -> None:
        now = perf_counter_ns()
        self._refill(now)
        due = 0
        for planned in self.arrivals:
            if planned > now:
                break
            due += 1
        room = self.config.max_connections - len(self.lanes)
        for _ in range(min(due, room)):
            self._open_lane()
        self.control.active = self.busy
        self.control.backlog = max(0, due - room) if due > room else 0

    def _refill(self, now: int) -> None:
        if self.exhausted:
            return
        start = self.control.start_ns
        until_s = (now - start) / 1e9 + _REFILL_S
        if self.horizon_s is not None:
            until_s = min(until_s, self.horizon_s)
        if self.arrivals and self.arrivals[-1] >= start + int(until_s * 1e9):
            return
        batch = self.schedule.next_batch(until_s)
        if self.left is not None:
            batch = batch[:self.left]
            self.left -= len(batch)
        self.arrivals.extend(start + int(offset * 1e9) for offset in batch)
        if ((self.horizon_s is not None and until_s >= self.horizon_s)
                or (self.left is not None and self.left <= 0)):
            self.exhausted = True

    def _open_lane(self) -> None:
        self.lanes.append(asyncio.ensure_future(self._lane()))

    async def _lane(self) -> None:
        lane = await self.new_lane()
        iterate = self.driver.iterate
        arrivals = self.arrivals
        control = self.control
        sleep = asyncio.sleep
        while not control.stopping:
            if not arrivals:
                self._refill(perf_counter_ns())
                if not arrivals:
                    if self.exhausted:
                        return
                    await sleep(_SUPERVISE_S)
                    continue
            planned = arrivals.popleft()
            wait = planned - perf_counter_ns()
            if wait > _SPIN_NS:
                await sleep((wait - _SPIN_NS) / 1e9)
            while planned > perf_counter_ns():
                await sleep(0)
            self.busy += 1
            try:
                await iterate(lane, planned)
            finally:
                self.busy -= 1


async def _finish(tasks: list[asyncio.Task], timeout_s: float) -> None:
    """Wait for in-flight iterations (at most a request timeout), then cancel the rest."""
    pending = [t for t in tasks if not t.done()]
    if pending:
        _, still = await asyncio.wait(pending, timeout=timeout_s + 1.0)
        for task in still:
            task.cancel()
        if still:
            await asyncio.gather(*still, return_exceptions=True)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()

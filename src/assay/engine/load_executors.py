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

from ..http.fastclient import FastHttpError
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
# A new lane opens when an arrival has waited this long for a free one, at most this many
# per tick (8000 a second: a 250 ms stall at 1000/s needs 250 within 250 ms).
_GROW_AFTER_NS = 1_000_000
_GROW_PER_TICK = 8


class Control:
    """Shared between the executor and the worker: the stop flag, and the gauges."""

    __slots__ = ("stopping", "active", "backlog", "start_ns", "end_ns")

    def __init__(self, start_ns: int, end_ns: int | None):
        self.stopping = False
        self.active = 0
        self.backlog = 0
        self.start_ns = start_ns
        self.end_ns = end_ns

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Set ``stopping`` at the end of the run, by a timer."""
        if self.end_ns is not None:
            loop.call_later(max(self.end_ns - perf_counter_ns(), 0) / 1e9, self.stop)

    def stop(self) -> None:
        """Start nothing new from now on."""
        self.stopping = True

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
        self.control.arm(asyncio.get_running_loop())
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
        control = self.control

        def may_continue() -> bool:
            # Called once per iteration, from the hot path: no clock here (a timer sets
            # ``stopping`` at the end of the run).
            if control.stopping or number >= self.target:
                return False
            if self.left is not None:
                if self.left <= 0:
                    return False
                self.left -= 1
            return True

        while not control.over():
            if self.left is not None and self.left <= 0:
                return
            if number >= self.target:
                # Ramped down: the user waits (keeping its connection) until the target
                # grows again or the run ends.
                await asyncio.sleep(0.1)
                continue
            await self.driver.run_user(lane, may_continue)


class OpenExecutor:
    """Arrivals at a constant or ramping rate, measured from their planned times.

    One dispatcher owns the clock: it takes arrivals from the schedule, hands each due one
    to an idle lane, and opens a lane when an arrival is due and none is idle (up to
    ``max_connections``). A lane that finishes a request takes the next due arrival itself,
    so under load no timer runs per request; with a fixed plan the lane even sends from
    the previous response's callback (``CallbackLane``).
    """

    def __init__(self, driver: Any, new_lane: NewLane, config: LoadConfig, share: tuple[int, int],
                 control: Control):
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
        self.lanes: list[Any] = []
        self.idle: list[Any] = []
        self.opening = 0
        self.tasks: set[asyncio.Task] = set()
        self.callbacks = hasattr(driver, "raws")

    async def run(self) -> None:
        """Run until the schedule ends (or a stop), then let in-flight requests finish."""
        # Arrivals still waiting when the run ends get a request timeout to start; after
        # that they are counted as dropped (an error), never silently forgotten.
        deadline = None
        if self.control.end_ns is not None:
            deadline = self.control.end_ns + int(self.config.timeout_s * 1e9)
        while (not self.exhausted or self.arrivals) and not self.control.stopping:
            now = perf_counter_ns()
            if deadline is not None and now > deadline:
                break
            self._dispatch(now)
            await self._pause(now)
        self.control.stopping = True
        now = perf_counter_ns()
        while self.arrivals and self.arrivals[0] <= now:
            self.driver.drop(self.arrivals.popleft())
        self.arrivals.clear()
        await _finish(list(self.tasks), self.config.timeout_s)
        await self._drain()

    def _dispatch(self, now: int) -> None:
        self._refill(now)
        arrivals = self.arrivals
        while arrivals and arrivals[0] <= now and self.idle:
            self.idle.pop().assign(arrivals.popleft())
        due = 0
        for planned in arrivals:
            if planned > now:
                break
            due += 1
        room = self.config.max_connections - len(self.lanes) - self.opening
        if due and now - arrivals[0] > _GROW_AFTER_NS:
            # Grow by a few lanes per tick: a hiccup of a few milliseconds must not turn
            # into a storm of new connections, whose cost would stall the loop further.
            for _ in range(max(0, min(due - self.opening, room, _GROW_PER_TICK))):
                self._open_lane()
        self.control.active = len(self.lanes) - len(self.idle)
        self.control.backlog = due

    async def _pause(self, now: int) -> None:
        """Sleep until the next arrival is due (or a millisecond while some wait)."""
        arrivals = self.arrivals
        if not arrivals or arrivals[0] <= now or not self.idle:
            await asyncio.sleep(_SUPERVISE_S)
            return
        wait = arrivals[0] - now
        # The loop's timers have millisecond resolution: sleep most of the way, then yield
        # until the arrival is due.
        await asyncio.sleep((wait - _SPIN_NS) / 1e9 if wait > _SPIN_NS else 0)

    def take_due(self) -> int | None:
        """The oldest arrival if it is due now (a lane that just finished asks)."""
        arrivals = self.arrivals
        if arrivals and arrivals[0] <= perf_counter_ns():
            return arrivals.popleft()
        return None

    def park(self, lane: Any) -> None:
        """``lane`` has nothing to do until the dispatcher gives it an arrival."""
        self.idle.append(lane)

    def spawn(self, coroutine: Any) -> None:
        """Run ``coroutine`` as a task the executor waits for at the end."""
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

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
        self.opening += 1
        self.spawn(self._start_lane())

    async def warm_up(self, count: int) -> None:
        """Open ``count`` lanes and connect them, before the run starts: connecting at the
        first arrivals would make them late and open more lanes than the rate needs."""
        lanes = await asyncio.gather(*(self._new_lane() for _ in range(count)))
        self.idle.extend(lanes)

    async def _new_lane(self) -> Any:
        connection = await self.new_lane()
        if self.callbacks:
            try:
                await connection.connect()
            except FastHttpError:
                pass  # the lane's first request fails and is recorded; it retries
        lane = (CallbackLane if self.callbacks else CoroutineLane)(self, self.driver, connection)
        self.lanes.append(lane)
        return lane

    async def _start_lane(self) -> None:
        try:
            lane = await self._new_lane()
        finally:
            self.opening -= 1
        planned = self.take_due()
        if planned is None:
            self.park(lane)
        else:
            lane.assign(planned)

    async def _drain(self) -> None:
        """Wait for requests still in flight on callback lanes (bounded by the timeout)."""
        deadline = perf_counter_ns() + int((self.config.timeout_s + 1.0) * 1e9)
        while len(self.idle) < len(self.lanes) and perf_counter_ns() < deadline:
            if self.tasks:
                await _finish(list(self.tasks), self.config.timeout_s)
            else:
                await asyncio.sleep(_SUPERVISE_S)


class CoroutineLane:
    """A lane for drivers without a callback path (suite scenarios): a task per arrival."""

    __slots__ = ("executor", "driver", "connection")

    def __init__(self, executor: OpenExecutor, driver: Any, connection: Any):
        self.executor = executor
        self.driver = driver
        self.connection = connection

    def assign(self, planned: int) -> None:
        """Start the iteration planned at ``planned``."""
        self.executor.spawn(self._run(planned))

    async def _run(self, planned: int | None) -> None:
        executor = self.executor
        while planned is not None:
            await self.driver.iterate(self.connection, planned)
            planned = None if executor.control.stopping else executor.take_due()
        executor.park(self)


class CallbackLane:
    """A lane for fixed plans: sends from the previous response's callback (see
    ``load_callbacks``), and takes the ordinary path only when it must."""

    __slots__ = ("executor", "driver", "connection", "key", "variant", "sent", "planned",
                 "send", "raws", "pick")

    def __init__(self, executor: OpenExecutor, driver: Any, connection: Any):
        self.executor = executor
        self.driver = driver
        self.connection = connection
        self.send = connection.send_nowait
        self.raws = driver.raws
        self.pick = driver.pick
        self.key = self.variant = self.sent = self.planned = 0

    def assign(self, planned: int) -> None:
        """Send the request planned at ``planned`` now."""
        pick = self.pick()
        key, variant, sampled = pick
        if not sampled:
            self.key, self.variant, self.planned = key, variant, planned
            self.sent = perf_counter_ns()
            if self.send(self.raws[key][variant], self):
                return
        self.executor.spawn(self._slow(planned, pick))

    async def _slow(self, planned: int, pick: tuple[int, int, bool]) -> None:
        await self.driver.iterate(self.connection, planned, pick)
        self._next()

    def _next(self) -> None:
        executor = self.executor
        planned = None if executor.control.stopping else executor.take_due()
        if planned is None:
            executor.park(self)
        else:
            self.assign(planned)

    # The waiter protocol of fastproto.Wire.

    def done(self) -> bool:
        """Never "done" while a request of this lane is outstanding."""
        return False

    def set_result(self, response: Any) -> None:
        """The response: record it from its planned time, then take the next due arrival."""
        self.driver.record(self.key, self.variant, self.planned, self.sent, response)
        if response.keep_alive:
            self._next()
        else:
            self.executor.spawn(self._reopen())

    def set_exception(self, error: BaseException) -> None:
        """No response: record the failure; the next request reconnects."""
        self.driver.record_error(self.key, self.planned, self.sent, error)
        self.executor.spawn(self._reopen())

    async def _reopen(self) -> None:
        # Leave the protocol's callback before touching the connection again.
        await asyncio.sleep(0)
        self._next()


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

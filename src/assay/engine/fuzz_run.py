"""The ``fuzz`` phase: property-based cases from hypothesis, shrunk when they fail.

Each operation gets its own hypothesis run, in a worker thread (hypothesis's engine is
synchronous; requests are sent on the run's event loop). ``workers`` operations are fuzzed
at once. An operation's seed is derived from the run's ``--seed`` and its label, so the same
cases are generated whatever the number of workers or the order operations finish in.

Two stages per operation, for speed without losing shrinking:

1. **Explore**: hypothesis generates ``--max-examples`` cases; each is sent without waiting
   for its answer (``IN_FLIGHT`` at a time), so generating the next case overlaps with the
   server's work and the check of the previous ones. Every distinct case is sent once.
2. **Shrink**, only when exploring found failures: hypothesis runs again with the same
   seed, so it generates the same cases, answered from the cache without sending. It raises
   on the first failure (check and cause) not shrunk yet, and shrinks it: each smaller
   candidate is sent (at most ``shrink_budget`` more requests). Each round shrinks new
   failures until all are done (hypothesis stops generating soon after a first failure, so
   one round rarely reaches them all).

The report keeps, per finding, the smallest failing case: the one shrinking ended with.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from ..core.events import Event, RunWarning
from ..core.records import Case
from ..generation.cases import case_key, case_strategy
from ..generation.minimal import CannotGenerate
from ..specs.model import Operation
from .executor import Executor

_FINISHED = object()
IN_FLIGHT = 4
"""Requests one operation keeps in flight while exploring."""
POLL_S = 0.2
"""How often a worker thread blocked on the loop looks whether the run was stopped."""
MAX_SHRINK_ROUNDS = 8
"""At most this many distinct failures of one operation are shrunk."""


class _NewFailure(Exception):
    """Raised inside a hypothesis test for a failure not seen before (one subclass per key,
    so that hypothesis tracks and shrinks each distinct failure separately)."""


class _Stop(Exception):
    """Raised inside a hypothesis test once the run is out of time or asked to stop."""


def derived_seed(run_seed: int, label: str, round_: int) -> int:
    """The seed of one hypothesis run: stable across processes and worker counts."""
    digest = hashlib.sha256(f"{run_seed}:{label}:{round_}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(slots=True)
class FuzzControl:
    """What every operation's fuzzing shares: the deadline, the stop flag, the seed."""

    seed: int
    max_examples: int
    deadline: float | None = None
    known_ids: dict[str, dict] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    failure_classes: dict[tuple[str, str], type[_NewFailure]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def shrink_budget(self) -> int:
        """Requests shrinking may add to an operation's ``max_examples``."""
        return max(20, self.max_examples // 4)

    def out_of_time(self) -> bool:
        """True once asked to stop or past ``--max-time``."""
        return self.stop.is_set() or (
            self.deadline is not None and time.monotonic() >= self.deadline)

    def failure_class(self, key: tuple[str, str]) -> type[_NewFailure]:
        """The exception class standing for failure ``key`` (check, cause)."""
        with self.lock:
            if key not in self.failure_classes:
                name = f"NewFailure{len(self.failure_classes)}"
                self.failure_classes[key] = type(name, (_NewFailure,), {})
            return self.failure_classes[key]


class OperationFuzzer:
    """Fuzzes one operation in a worker thread; ``emit`` hands events to the event loop."""

    def __init__(self, executor: Executor, operation: Operation, control: FuzzControl,
                 loop: asyncio.AbstractEventLoop, emit: Callable[[Event], None]):
        self.executor, self.operation, self.control = executor, operation, control
        self.loop, self.emit = loop, emit
        self.sent = 0
        self.results: dict[str, frozenset[tuple[str, str]]] = {}
        self.in_flight = threading.BoundedSemaphore(IN_FLIGHT)
        self.pending: list[concurrent.futures.Future] = []
        self.calls = 0
        self.first_call: dict[tuple[str, str], int] = {}

    def run(self, known_ids: dict) -> None:
        """Explore, then shrink what exploring found (call in a worker thread)."""
        try:
            strategy = case_strategy(self.operation, self.executor.spec.registry,
                                     known=known_ids)
        except CannotGenerate as exc:
            self.emit(RunWarning(f"{self.operation.label}: fuzz skipped: {exc}",
                                 self.operation.label))
            return
        self._hypothesis(strategy, self._explore, shrink=False)
        self._settle()
        shrunk: set[tuple[str, str]] = set()
        for _ in range(MAX_SHRINK_ROUNDS):
            waiting = sorted((call, key) for key, call in self.first_call.items()
                             if key not in shrunk)
            if not waiting or self.control.out_of_time():
                break
            # Generate no further than the call that first met this failure: the cases
            # before it come from the cache, so the round costs only their generation.
            before = set(shrunk)
            self._hypothesis(strategy, functools.partial(self._replay, known=before,
                                                         shrunk=shrunk),
                             shrink=True, examples=waiting[0][0])
            if shrunk == before:
                break

    def _hypothesis(self, strategy, body: Callable[[Case], None], *, shrink: bool,
                    examples: int | None = None) -> None:
        phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]

        @settings(max_examples=examples or self.control.max_examples, database=None,
                  deadline=None,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=True,
                  phases=phases)
        @seed(derived_seed(self.control.seed, self.operation.label, 0))
        @given(strategy)
        def fuzz(case: Case) -> None:
            body(case)

        try:
            fuzz()
        except (_NewFailure, _Stop):
            pass
        except BaseExceptionGroup as group:
            _, rest = group.split((_NewFailure, _Stop))
            if rest is not None:
                self._warn(rest)
        except Exception as exc:  # hypothesis's own errors (Unsatisfiable, Flaky...)
            self._warn(exc)

    def _explore(self, case: Case) -> None:
        """Send without waiting for the answer (a few requests in flight), so that
        generating the next case overlaps with the server's work on this one."""
        if self.control.out_of_time():
            raise _Stop()
        self.calls += 1
        key = case_key(case)
        if key in self.results:
            return
        self.results[key] = frozenset()
        while not self.in_flight.acquire(timeout=POLL_S):
            if self.control.stop.is_set():
                raise _Stop()
        self.sent += 1
        future = asyncio.run_coroutine_threadsafe(
            self.executor.run(self.operation, case), self.loop)
        call = self.calls
        future.add_done_callback(lambda done: self._explored(key, call, done))
        self.pending.append(future)

    def _explored(self, key: str, call: int, future: concurrent.futures.Future) -> None:
        self.in_flight.release()
        if future.cancelled() or future.exception() is not None:
            return
        event = future.result()
        failures = frozenset((f.check, f.cause) for f in event.failures)
        self.results[key] = failures
        with self.control.lock:
            for failure in failures:
                self.first_call[failure] = min(self.first_call.get(failure, call), call)
        self.emit(event)

    def _replay(self, case: Case, known: set, shrunk: set) -> None:
        """Replay exploring's cases from the cache (same seed, same cases) and shrink the
        first failures not shrunk yet: hypothesis sends the smaller candidates."""
        key = case_key(case)
        failures = self.results.get(key)
        if failures is None:
            if self.control.out_of_time():
                raise _Stop()
            if self.sent >= self.control.max_examples + self.control.shrink_budget:
                return  # budget spent: shrinking goes no further
            event = self._await(asyncio.run_coroutine_threadsafe(
                self.executor.run(self.operation, case), self.loop))
            self.sent += 1
            self.emit(event)
            failures = frozenset((f.check, f.cause) for f in event.failures)
            self.results[key] = failures
        new = sorted(failures - known)
        if new:
            shrunk.update(new)
            raise self.control.failure_class(new[0])()

    def _settle(self) -> None:
        """Wait for every request still in flight (all of them cancelled on a stop)."""
        while True:
            _, waiting = concurrent.futures.wait(self.pending, timeout=POLL_S)
            if not waiting:
                return
            if self.control.stop.is_set():
                for future in waiting:
                    future.cancel()
                return

    def _await(self, future: concurrent.futures.Future) -> Any:
        """The result of a request sent on the loop; ``_Stop`` if the run stops meanwhile
        (the loop may be gone: never wait on it forever)."""
        while True:
            try:
                return future.result(timeout=POLL_S)
            except concurrent.futures.TimeoutError:
                if self.control.stop.is_set():
                    future.cancel()
                    raise _Stop() from None

    def _warn(self, exc: BaseException) -> None:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.emit(RunWarning(f"{self.operation.label}: fuzzing stopped early: {message}",
                             self.operation.label))


async def fuzz_events(executor: Executor, operation: Operation, control: FuzzControl
                      ) -> AsyncIterator[Event]:
    """The events of fuzzing one operation, streamed while its thread runs."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def emit(event: object) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    fuzzer = OperationFuzzer(executor, operation, control, loop, emit)

    def work() -> None:
        try:
            fuzzer.run(control.known_ids.get(operation.label, {}))
        finally:
            emit(_FINISHED)

    thread = asyncio.create_task(asyncio.to_thread(work))
    try:
        while True:
            event = await queue.get()
            if event is _FINISHED:
                break
            yield event
        await thread
    finally:
        if not thread.done():
            control.stop.set()  # the consumer went away: let the thread end soon

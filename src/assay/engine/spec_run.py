"""The phases of a spec-driven run, in order: examples, coverage, fuzz, stateful.

Every phase sends its cases through one ``Executor`` (send, check, keep real ids) and
reports ``PhaseStarted``, one ``CaseFinished`` per request, then ``PhaseFinished``.
Operations run in document order, except that DELETE operations run last: deleting the
documented example resource first would turn every later read of it into a 404 and hide
what those reads would have shown. ``--workers`` operations run at once in the coverage and
fuzz phases; the examples phase keeps document order.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from ..checks.registry import CheckRegistry
from ..core.events import CaseFinished, Event, PhaseFinished, PhaseStarted, RunWarning
from ..core.secrets import Secrets
from ..generation.examples import example_cases
from ..generation.links import find_links
from ..specs.model import ApiSpec, Operation
from .config import TestConfig
from .coverage_run import coverage_events
from .executor import Executor
from .fuzz_run import FuzzControl, fuzz_events
from .identifiers import IdentifierPool
from .parallel import merged, run_groups
from .processes import FuzzJob, can_fork, fuzz_in_processes
from .replay import FailureStore, case_from_json
from .session import Session
from .stateful_run import stateful_events

GENERATED_PHASES = ("coverage", "fuzz")


class FailureBudget:
    """Counts distinct failures for ``--max-failures``."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.seen: set[tuple[str, str, str]] = set()

    def add(self, event: CaseFinished) -> None:
        """Record the failures of one case."""
        for failure in event.failures:
            self.seen.add((event.operation, failure.check, failure.cause))
        if event.exchange.failure is not None:
            self.seen.add((event.operation, "transport", event.exchange.failure.kind))

    @property
    def exhausted(self) -> bool:
        """True once ``limit`` distinct failures were seen."""
        return self.limit is not None and len(self.seen) >= self.limit


async def phase(name: str, events: AsyncIterator[Event], budget: FailureBudget,
                total: int = 0) -> AsyncIterator[Event]:
    """Frame a phase's events with ``PhaseStarted``/``PhaseFinished``; stop at the budget."""
    yield PhaseStarted(name, total=total)
    cases = failures = 0
    try:
        async for event in events:
            if isinstance(event, CaseFinished):
                cases += 1
                failures += len(event.failures)
                budget.add(event)
            yield event
            if budget.exhausted:
                break
    finally:
        await events.aclose()
    yield PhaseFinished(name, cases, failures)


async def examples_events(executor: Executor, operation: Operation) -> AsyncIterator[Event]:
    """The ``examples`` phase of one operation."""
    plan = example_cases(operation, executor.spec.registry)
    for warning in plan.warnings:
        yield RunWarning(f"{operation.label}: {warning}", operation.label)
    for case in plan.cases:
        yield await executor.run(operation, case)


async def replay_events(executor: Executor, store: FailureStore, operations: list[Operation],
                        replayed: set) -> AsyncIterator[Event]:
    """Send again the stored failing cases of the selected operations."""
    by_label = {op.label: op for op in operations}
    for (label, _check, _cause), text in store.load(set(by_label)).items():
        replayed.add((label, _check, _cause))
        case = case_from_json(text, "fuzz")
        target = None if case.probe == "unsupported_method" else by_label[label]
        yield await executor.run(target, case)


async def spec_events(spec: ApiSpec, operations: list[Operation], config: TestConfig,
                      session: Session, checks: CheckRegistry, base_url: str,
                      budget: FailureBudget, seed: int, secrets: Secrets) -> AsyncIterator[Event]:
    """Every phase the config selects, in the canonical order."""
    links = find_links(spec.operations, registry=spec.registry)
    executor = Executor(spec, config, session, checks, base_url, IdentifierPool(links),
                        secrets)
    deadline = time.monotonic() + config.max_time if config.max_time else None
    store = FailureStore(config.failures_db, spec.title) if config.replay else None
    replayed: set = set()
    streams: dict[str, Callable[[], AsyncIterator[Event]]] = {
        "examples": lambda: merged(operations, 1, lambda op: examples_events(executor, op)),
        "coverage": lambda: _coverage(executor, operations, config),
        "fuzz": lambda: _fuzz(executor, operations, config, seed, deadline, store, replayed),
        "stateful": lambda: stateful_events(executor, operations, links),
    }
    try:
        for name in ("examples", "coverage", "fuzz", "stateful"):
            if name not in config.phases:
                continue
            if name != "examples" and deadline is not None and time.monotonic() >= deadline:
                yield RunWarning(f"phase {name} skipped: --max-time reached")
                continue
            totals = len(operations) * config.max_examples if name == "fuzz" else 0
            async for event in phase(name, streams[name](), budget, totals):
                yield event
            if budget.exhausted:
                break
    finally:
        if store is not None and "fuzz" in config.phases and not config.dry_run:
            _store_failures(executor, store, replayed)


def _coverage(executor: Executor, operations: list[Operation],
              config: TestConfig) -> AsyncIterator[Event]:
    probe_paths: set[str] = set()
    return merged(operations, config.workers,
                  lambda op: coverage_events(executor, op, probe_paths))


async def _fuzz(executor: Executor, operations: list[Operation], config: TestConfig, seed: int,
                deadline: float | None, store: FailureStore | None,
                replayed: set) -> AsyncIterator[Event]:
    if store is not None:
        async for event in replay_events(executor, store, operations, replayed):
            yield event
    # Real ids as the earlier phases left them: taken once, before any operation is fuzzed,
    # so that what an operation generates does not depend on which others ran first.
    known = {op.label: executor.pool.snapshot(op) for op in operations}
    control = FuzzControl(seed, config.max_examples, deadline, known)
    if config.workers > 1 and not config.app and not config.dry_run and can_fork():
        job = FuzzJob(executor.spec, config, executor.base_url, executor.secrets, control)
        stream = _in_processes(job, operations, config.workers, executor)
    else:
        stream = merged(operations, config.workers,
                        lambda op: fuzz_events(executor, op, control))
    try:
        async for event in stream:
            yield event
    finally:
        control.stop.set()
        await stream.aclose()


async def _in_processes(job: FuzzJob, operations: list[Operation], workers: int,
                        executor: Executor) -> AsyncIterator[Event]:
    for group in run_groups(operations):
        stream = fuzz_in_processes(job, group, workers)
        try:
            async for event in stream:
                if isinstance(event, CaseFinished):
                    executor.remember(event)
                yield event
        finally:
            await stream.aclose()


def _store_failures(executor: Executor, store: FailureStore, replayed: set) -> None:
    found = {key: case for key, (_, case) in executor.smallest.items()
             if case.phase in GENERATED_PHASES}
    gone = {key for key in replayed if key not in executor.smallest}
    store.save(found, gone)

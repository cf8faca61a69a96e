"""The ``examples`` phase of a spec-driven run: every operation's examples, else one minimal
valid request, each response checked by every selected conformance check.

Operations run in document order, except that DELETE operations run last: deleting the
documented example resource first would turn every later read of it into a 404 and hide what
those reads would have shown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..checks.registry import CheckContext, CheckRegistry
from ..core.events import CaseFinished, Event, PhaseFinished, PhaseStarted, RunWarning
from ..core.records import Exchange
from ..generation.examples import example_cases
from ..http.build import build_request
from ..specs.model import ApiSpec, Operation
from .config import TestConfig
from .session import Session, accepted_schemes, needs_credentials


def run_order(operations: list[Operation]) -> list[Operation]:
    """Operations in document order, DELETEs last (stable)."""
    return sorted(operations, key=lambda op: op.method == "DELETE")


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


async def run_examples(spec: ApiSpec, operations: list[Operation], config: TestConfig,
                       session: Session, checks: CheckRegistry, base_url: str,
                       budget: FailureBudget) -> AsyncIterator[Event]:
    """Yield the events of the ``examples`` phase."""
    plans = [(op, example_cases(op, spec.registry)) for op in run_order(operations)]
    yield PhaseStarted("examples", total=sum(len(plan.cases) for _, plan in plans))
    cases = failures = 0
    for operation, plan in plans:
        for warning in plan.warnings:
            yield RunWarning(f"{operation.label}: {warning}", operation.label)
        ctx = CheckContext(operation, spec.registry, config.max_response_time)
        authenticate = needs_credentials(spec, operation)
        schemes = accepted_schemes(operation)
        for case in plan.cases:
            request = build_request(case, operation, base_url)
            if config.dry_run:
                event = CaseFinished("examples", operation.label, Exchange(request), case=case)
            else:
                exchange = await session.send(request, authenticate=authenticate,
                                              schemes=schemes)
                found = checks.run(ctx, exchange.response, case) if exchange.response else []
                event = CaseFinished("examples", operation.label, exchange, tuple(found), case)
            cases += 1
            failures += len(event.failures)
            budget.add(event)
            yield event
            if budget.exhausted:
                yield PhaseFinished("examples", cases, failures)
                return
    yield PhaseFinished("examples", cases, failures)

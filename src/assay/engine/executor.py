"""Sends one case and checks its response: what every phase of a spec run does per request.

The executor also feeds the identifier pool (real ids the API returned, reused by later
cases) and remembers, per finding key, the smallest failing case (stored for replay).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..checks.registry import CheckContext, CheckRegistry
from ..core.events import CaseFinished
from ..core.records import Case, Exchange
from ..core.secrets import Secrets
from ..http.build import build_request
from ..specs.model import ApiSpec, Operation
from .collector import example_size
from .config import TestConfig
from .identifiers import IdentifierPool
from .session import Session, accepted_schemes, needs_credentials

ANONYMOUS_PROBES = ("no_credentials", "invalid_credentials")


@dataclass(slots=True)
class Executor:
    """Per-run sender of cases; ``run`` is safe to call from concurrent tasks."""

    spec: ApiSpec
    config: TestConfig
    session: Session
    checks: CheckRegistry
    base_url: str
    pool: IdentifierPool
    secrets: Secrets = field(default_factory=Secrets)
    contexts: dict[str, CheckContext] = field(default_factory=dict)
    smallest: dict[tuple[str, str, str], tuple[tuple, Case]] = field(default_factory=dict)

    def context(self, operation: Operation | None) -> CheckContext:
        """The check context of ``operation`` (compiled validators are cached in it)."""
        label = operation.label if operation is not None else ""
        if label not in self.contexts:
            self.contexts[label] = CheckContext(operation, self.spec.registry,
                                                self.config.max_response_time)
        return self.contexts[label]

    async def run(self, operation: Operation | None, case: Case,
                  previous: Sequence[Exchange] = ()) -> CaseFinished:
        """Send ``case`` (``operation`` is None for an undeclared-method probe), check it."""
        request = build_request(case, operation, self.base_url)
        label = operation.label if operation is not None else case.operation
        if self.config.dry_run:
            return CaseFinished(case.phase, label, Exchange(request), case=case,
                                previous=tuple(previous))
        exchange = await self._send(operation, case, request)
        failures = ()
        if exchange.response is not None:
            failures = tuple(self.checks.run(self.context(operation), exchange.response, case))
            if operation is not None and case.probe is None:
                self.pool.record(operation, case, exchange)
        event = CaseFinished(case.phase, label, exchange, failures, case,
                             previous=tuple(previous))
        self.remember(event)
        return event

    async def _send(self, operation: Operation | None, case: Case, request) -> Exchange:
        if case.probe in ANONYMOUS_PROBES:
            return await self.session.send(request, anonymous=True)
        if operation is None:
            return await self.session.send(request)
        return await self.session.send(
            request, authenticate=needs_credentials(self.spec, operation),
            schemes=accepted_schemes(operation))

    def remember(self, event: CaseFinished) -> None:
        """Keep, per failure key, the smallest failing case (for the failure database);
        events from worker processes come through here too."""
        request, case = event.exchange.request, event.case
        if case is None:
            return
        size = example_size(request)
        for failure in event.failures:
            key = (event.operation, failure.check, failure.cause)
            known = self.smallest.get(key)
            if known is None or size < known[0]:
                self.smallest[key] = (size, case)

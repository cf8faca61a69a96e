"""Turns the engine's events into a ``RunResult``: deduplicated findings, per-test results,
errors and warnings. Every reporter reads that result; the console also reads the events live.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.events import (
    CaseFinished,
    Event,
    PhaseFinished,
    RunError,
    RunResult,
    RunStarted,
    RunWarning,
    Summary,
    TestCaseResult,
)
from ..core.records import Exchange, Failure, Finding, Request, Step
from ..core.secrets import Secrets
from ..http.curl import to_curl


@dataclass(slots=True)
class ResultCollector:
    """Accumulates events of one run. ``handle`` each event, then call ``result``."""

    secrets: Secrets
    command: str = "test"
    target: str | None = None
    started_at: str = ""
    summary: Summary = field(default_factory=Summary)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    tests: dict[tuple[str, str], TestCaseResult] = field(default_factory=dict)
    errors: dict[tuple[str | None, str, str], RunError] = field(default_factory=dict)
    warnings: list[RunWarning] = field(default_factory=list)
    seed: int | None = None

    def handle(self, event: Event) -> None:
        """Take one event into account."""
        if isinstance(event, RunStarted):
            self.command, self.target = event.command, event.target
            self.seed = event.seed
            self.summary.operations, self.summary.seed = event.operations, event.seed
        elif isinstance(event, CaseFinished):
            self._case(event)
        elif isinstance(event, RunWarning):
            if event not in self.warnings:
                self.warnings.append(event)
        elif isinstance(event, RunError):
            self._error(event, None)
        elif isinstance(event, PhaseFinished):
            self.summary.phases[event.phase] = event.cases

    def result(self, duration_s: float, *, interrupted: bool = False) -> RunResult:
        """The run's result; findings sorted by operation, check and cause."""
        self.summary.duration_s = round(duration_s, 3)
        self.summary.findings = len(self.findings)
        findings = sorted(self.findings.values(), key=lambda f: f.key)
        return RunResult(
            command=self.command,
            target=self.target,
            summary=self.summary,
            findings=findings,
            tests=list(self.tests.values()),
            errors=list(self.errors.values()),
            warnings=list(self.warnings),
            secrets_env=self.secrets.env_names(),
            started_at=self.started_at,
            interrupted=interrupted,
        )

    def _test(self, event: CaseFinished) -> TestCaseResult:
        name = event.group or event.operation
        classname = "scenario" if event.group else event.phase
        key = (classname, name)
        if key not in self.tests:
            self.tests[key] = TestCaseResult(name=name, classname=classname)
        return self.tests[key]

    def _case(self, event: CaseFinished) -> None:
        self.summary.cases += 1
        test = self._test(event)
        test.cases += 1
        response = event.exchange.response
        if response is not None:
            test.duration_s += response.timings.total
        if event.exchange.failure is not None:
            failure = event.exchange.failure
            error = RunError(f"{failure.kind}: {failure.message}", event.operation, failure.kind)
            self._error(error, test)
        for failure in event.failures:
            self._finding(event, failure, test)

    def _error(self, error: RunError, test: TestCaseResult | None) -> None:
        key = (error.operation, error.kind, error.message)
        if key not in self.errors:
            self.errors[key] = error
            if test is not None:
                test.errors.append(error.message)

    def _finding(self, event: CaseFinished, failure: Failure, test: TestCaseResult) -> None:
        key = (event.operation, failure.check, failure.cause)
        existing = self.findings.get(key)
        if existing is not None:
            existing.count += 1
            smaller = example_size(event.exchange.request, len(event.previous)) < \
                example_size(existing.request, len(existing.steps))
            if event.phase == existing.phase and smaller:
                # Keep the phase's smallest example: the one shrinking ends with, and the
                # same one whatever order concurrent workers delivered the cases in.
                replacement = self._new_finding(event, failure)
                replacement.count = existing.count
                self.findings[key] = replacement
                if existing in test.failures:
                    test.failures[test.failures.index(existing)] = replacement
            return
        finding = self._new_finding(event, failure)
        self.findings[key] = finding
        test.failures.append(finding)

    def _new_finding(self, event: CaseFinished, failure: Failure) -> Finding:
        exchange = event.exchange
        finding = Finding(
            check=failure.check,
            operation=event.operation,
            severity=failure.severity,
            message=failure.message,
            status=exchange.response.status if exchange.response else None,
            reproduce=reproduce(event.previous, exchange, self.secrets),
            cause=failure.cause,
            steps=[_step(e) for e in event.previous],
            phase=event.phase,
            reason=failure.reason,
            request=exchange.request,
            response=exchange.response,
            seed=self.seed if event.phase in ("coverage", "fuzz", "stateful") else None,
        )
        return finding


def example_size(request: Request | None, steps: int = 0) -> tuple:
    """How big a failing example is: fewer earlier steps, then a shorter URL and body, then
    lexicographic order, so that the choice of the smallest never depends on arrival order."""
    if request is None:
        return (steps, 0, "", b"")
    body = request.body or b""
    return (steps, len(request.url) + len(body), request.url, body)


def reproduce(previous: tuple[Exchange, ...], exchange: Exchange, secrets: Secrets) -> str:
    """Curl commands for every request of the sequence, oldest first, one per line."""
    return "\n".join(to_curl(e.request, secrets) for e in (*previous, exchange))


def _step(exchange: Exchange) -> Step:
    request = exchange.request
    status = exchange.response.status if exchange.response else None
    return Step(request.operation, request.method, request.url, status)

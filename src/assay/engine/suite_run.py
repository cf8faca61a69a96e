"""Runs a YAML suite: setup scenarios, every scenario (once per data row), teardown.

A scenario stops at its first step whose request fails, whose expectations fail or whose
captures find nothing (later steps depend on earlier ones); conformance failures against the
suite's spec are reported without stopping it. Teardown runs whatever happened before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..checks.capture import apply_captures
from ..checks.expect import check_expect
from ..checks.registry import CheckContext, CheckRegistry
from ..core.events import CaseFinished, Event, PhaseFinished, PhaseStarted, RunError
from ..core.records import Exchange, Failure, Request, Response
from ..http.build import build_raw_request
from ..specs.model import ApiSpec
from ..suites import (
    FilePart,
    RequestTemplate,
    Scenario,
    Step,
    Suite,
    TemplateError,
    render_request,
)
from .matching import OperationMatcher
from .session import Session
from .spec_run import FailureBudget


@dataclass(slots=True)
class SuiteRunner:
    """Everything a suite run shares between scenarios."""

    suite: Suite
    session: Session
    checks: CheckRegistry
    base_url: str
    variables: dict[str, Any]
    budget: FailureBudget
    spec: ApiSpec | None = None
    max_response_time: float | None = None
    dry_run: bool = False
    matcher: OperationMatcher | None = None
    stopped: bool = False
    cases: int = 0
    failed_checks: int = 0

    def __post_init__(self) -> None:
        if self.spec is not None:
            self.matcher = OperationMatcher(self.spec)

    async def events(self) -> AsyncIterator[Event]:
        """Yield the events of the whole suite."""
        total = sum(len(s.steps) * max(len(s.rows), 1) for s in self._all_scenarios())
        yield PhaseStarted("scenarios", total)
        for scenario in self.suite.setup:
            async for event in self._scenario(scenario, "setup"):
                yield event
        for scenario in self.suite.scenarios:
            if self.stopped:
                break
            async for event in self._scenario(scenario, ""):
                yield event
        self.stopped = False  # teardown always runs
        for scenario in self.suite.teardown:
            async for event in self._scenario(scenario, "teardown"):
                yield event
        yield PhaseFinished("scenarios", self.cases, self.failed_checks)

    def _all_scenarios(self) -> tuple[Scenario, ...]:
        return (*self.suite.setup, *self.suite.scenarios, *self.suite.teardown)

    async def _scenario(self, scenario: Scenario, kind: str) -> AsyncIterator[Event]:
        for run_name, row in scenario.runs():
            name = f"{kind}: {run_name}" if kind else run_name
            variables = {**self.variables, **row}
            previous: list[Exchange] = []
            for step in scenario.steps:
                event = await self._step(step, name, variables, tuple(previous))
                yield event
                if isinstance(event, RunError):
                    break
                self.cases += 1
                self.failed_checks += len(event.failures)
                previous.append(event.exchange)
                self.budget.add(event)
                if self.budget.exhausted:
                    self.stopped = True
                    return
                if _blocks(event):
                    break
            if kind == "setup":
                # Captures of setup scenarios are visible to every later scenario.
                self.variables.update({k: v for k, v in variables.items() if k not in row})

    async def _step(self, step: Step, group: str, variables: dict[str, Any],
                    previous: tuple[Exchange, ...]) -> CaseFinished | RunError:
        label = step.label
        try:
            template = render_request(step.request, variables)
        except TemplateError as exc:
            if not self.dry_run:
                where = f"scenario {group!r}, step {step.name!r} (line {step.line})"
                return RunError(f"{where}: {exc}", label, "suite")
            template = step.request  # captures are unknown before a real run: list as written
        request, path = self._request(template)
        operation = self.matcher.match(template.method, path) if self.matcher else None
        label = operation.label if operation else label
        request.operation = label
        if self.dry_run:
            return CaseFinished("scenarios", label, Exchange(request), group=group,
                                name=step.name, previous=previous)
        exchange = await send_with_retry(self.session, step, request, variables,
                                         template.timeout or self.suite.timeout)
        failures: list[Failure] = []
        if exchange.response is not None:
            failures.extend(check_step(step, exchange.response, variables))
            if operation is not None:
                ctx = CheckContext(operation, self.spec.registry, self.max_response_time)
                failures.extend(self.checks.run(ctx, exchange.response, None))
        return CaseFinished("scenarios", label, exchange, tuple(failures), group=group,
                            name=step.name, previous=previous)

    def _request(self, t: RequestTemplate) -> tuple[Request, str]:
        return step_request(t, self.base_url, self.suite.source)


async def send_with_retry(session: Session, step: Step, request: Request,
                          variables: dict[str, Any], timeout: float | None) -> Exchange:
    """Send a step's request, repeating it as its ``retry:`` says (shared by ``assay test``
    and ``assay monitor``)."""
    retry = step.retry
    attempts = 1 + (retry.times if retry else 0)
    exchange = await session.send(request, timeout=timeout)
    for _ in range(attempts - 1):
        if not _should_retry(step, exchange, variables):
            break
        await asyncio.sleep(retry.delay_s)
        exchange = await session.send(request, timeout=timeout)
    return exchange


def check_step(step: Step, response: Response, variables: dict[str, Any]) -> list[Failure]:
    """The failures of a step's ``expect`` and ``capture`` on ``response``; captured values
    go into ``variables`` for later steps. Raises ``TemplateError`` when an expectation
    names an undefined variable."""
    failures: list[Failure] = []
    if step.expect is not None:
        failures.extend(check_expect(step.expect, response, variables))
    captured, capture_failures = apply_captures(step.capture, response)
    variables.update(captured)
    failures.extend(capture_failures)
    return failures


def step_request(t: RequestTemplate, base_url: str, suite_source: str) -> tuple[Request, str]:
    """The ``Request`` of a rendered step and the path it names (to match a spec operation);
    multipart file paths are relative to the suite's folder."""
    target = t.url or t.path or "/"
    multipart = None
    if t.multipart is not None:
        multipart = {name: _part(value) for name, value in t.multipart.items()}
    request = build_raw_request(
        t.method, target, base_url, query=t.query, headers=t.headers, json=t.json,
        form=t.form, multipart=multipart, body=t.body,
        base_dir=str(Path(suite_source).parent),
    )
    path = urlsplit(target).path if t.url else target.split("?", 1)[0]
    return request, path


def _part(value: str | FilePart) -> Any:
    if not isinstance(value, FilePart):
        return value
    fields = {"file": value.path, "content": value.content, "filename": value.filename,
              "content_type": value.content_type}
    return {key: item for key, item in fields.items() if item is not None}


def _should_retry(step: Step, exchange: Exchange, variables: dict[str, Any]) -> bool:
    """Retry while the request fails or the ``until`` expectations (else the step's own
    ``expect``) do not hold yet."""
    if exchange.response is None:
        return True
    until = step.retry.until if step.retry and step.retry.until else step.expect
    if until is None:
        return exchange.response.status >= 500
    return bool(check_expect(until, exchange.response, variables))


_BLOCKING = {"expected_status", "expected_headers", "expected_json", "expected_body",
             "expected_schema", "capture"}


def _blocks(event: CaseFinished) -> bool:
    if event.exchange.failure is not None:
        return True
    return any(f.check in _BLOCKING for f in event.failures)

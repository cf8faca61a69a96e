"""What one iteration of a load run does: send one fixed request, or run one scenario.

A driver's ``iterate(lane, intended_ns)`` is awaited by the executors (closed: one per
virtual user; open: one per arrival). ``intended_ns`` is when the iteration was planned to
start (``time.perf_counter_ns`` clock); ``None`` means "now" (a virtual user that is free
sends at once). Every request is recorded: key, planned start, actual send, completion and
an error index (0 for success).

The fixed driver is the hot path (tens of thousands of requests per second on one core):
requests are encoded to bytes once, the only per-request work is a write, a parse, the
recorder's appends and a status lookup. Scenario iterations render templates, build
``Request`` objects and run the suite's checks: slower by nature, and complete.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

from ..checks.capture import apply_captures
from ..checks.expect import check_expect
from ..checks.registry import CheckContext, CheckRegistry
from ..checks.status import not_a_server_error, status_code_conformance
from ..core.events import CaseFinished
from ..core.records import Exchange, Failure, Request, Response, Timings
from ..http.fastclient import FastHttpError, Origin, encode_request
from ..load.plan import FixedPlan, ScenarioPlan, step_keys
from ..load.recorder import Recorder
from ..specs.model import ApiSpec, Operation
from ..suites import Step, TemplateError, render_request
from .load_callbacks import CallbackUser
from .matching import OperationMatcher
from .session import Session
from .suite_run import step_request

# One response in this many per spec operation (the first included) gets every conformance
# check (schemas, content types, headers); the others get the status checks, which cost a
# dictionary lookup.
SAMPLE_EVERY = 100
# Sequence length of the weighted endpoint order: fine-grained enough for weights like
# 1:3:7, short enough to build at once.
_ORDER_LENGTH = 1000
# Responses kept as examples per finding key; the rest are counted.
_BLOCKING = {"expected_status", "expected_headers", "expected_json", "expected_body",
             "expected_schema", "capture"}


@dataclass(slots=True)
class Findings:
    """Failed checks seen by one worker: the first example of each (operation, check,
    cause) and how often each happened. ``fresh`` are examples not yet sent to the parent."""

    examples: dict[tuple[str, str, str], CaseFinished] = field(default_factory=dict)
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    fresh: list[CaseFinished] = field(default_factory=list)

    def add(self, operation: str, failures: Sequence[Failure], make_event: Any) -> None:
        """Count ``failures``; keep an example (``make_event()``) for keys seen first."""
        for failure in failures:
            key = (operation, failure.check, failure.cause)
            count = self.counts.get(key, 0)
            self.counts[key] = count + 1
            if count == 0:
                event = make_event()
                self.examples[key] = event
                self.fresh.append(event)

    def take_fresh(self) -> list[CaseFinished]:
        """Examples not sent yet (and forget that they were not)."""
        fresh, self.fresh = self.fresh, []
        return fresh


def weighted_order(weights: Sequence[float], seed: int) -> list[int]:
    """Endpoint indices in a shuffled order whose frequencies follow ``weights``."""
    total = sum(weights)
    order: list[int] = []
    for index, weight in enumerate(weights):
        order.extend([index] * max(1, round(_ORDER_LENGTH * weight / total)))
    random.Random(seed).shuffle(order)
    return order


class FixedDriver:
    """Sends the plan's pre-encoded requests on the lane's connection.

    Checks on every response: ``not_a_server_error``, and for spec operations
    ``status_code_conformance`` (the status is documented); for spec operations, one
    response in ``SAMPLE_EVERY`` goes through ``transport`` with its headers kept and gets
    every conformance check of ``checks``. A status of 400 or more counts as an error
    (``"http 503"``), as do transport failures (by kind).
    """

    def __init__(self, plan: FixedPlan, recorder: Recorder, findings: Findings,
                 spec: ApiSpec | None, seed: int, *, transport: Any = None,
                 checks: CheckRegistry | None = None):
        self.plan = plan
        self.spec = spec
        self.transport = transport
        self.checks = checks
        self.recorder = recorder
        self.findings = findings
        self.origin = Origin.from_url(plan.base_url)
        self.raws = [[encode_request(r.method, r.target, self.origin, r.headers, r.body)
                      for r in endpoint.requests] for endpoint in plan.endpoints]
        self.turns = [0] * len(self.raws)
        self.order = weighted_order([e.weight for e in plan.endpoints], seed)
        self.position = seed % len(self.order)
        self.operations: list[Operation | None] = [
            _operation(spec, e.operation) for e in plan.endpoints]
        self.documented: dict[tuple[int, int], bool] = {}
        self.passed = [0] * len(self.raws)
        self.failed = [0] * len(self.raws)
        self._status_errors: dict[int, int] = {}
        self.contexts = [CheckContext(op, spec.registry) if op is not None and spec else None
                         for op in self.operations]
        self.bare_context = CheckContext(None)
        # Spec operations get every conformance check on a sample of their responses.
        self.sample_every = SAMPLE_EVERY if transport is not None and checks else 0
        if len(self.raws) == 1 and len(self.raws[0]) == 1 and not self.contexts[0]:
            self.pick = _single  # one request, always: nothing to choose

    def pick(self) -> tuple[int, int, bool]:
        """The next request: (endpoint key, variant, whether it is a sampled one)."""
        self.position += 1
        key = self.order[self.position % len(self.order)]
        turn = self.turns[key]
        self.turns[key] = turn + 1
        sampled = bool(self.sample_every and turn % self.sample_every == 0
                       and self.contexts[key])
        return key, turn % len(self.raws[key]), sampled

    async def iterate(self, connection: Any, intended_ns: int | None,
                      pick: tuple[int, int, bool] | None = None) -> None:
        """Send one request (``pick``, else the next in the weighted order) and record it."""
        key, variant, sampled = pick or self.pick()
        if sampled:
            await self._sampled(key, variant, intended_ns)
            return
        sent = perf_counter_ns()
        intended = sent if intended_ns is None else intended_ns
        try:
            response = await connection.request(self.raws[key][variant])
        except FastHttpError as exc:
            self.record_error(key, intended, sent, exc)
            return
        self.record(key, variant, intended, sent, response)

    def record(self, key: int, variant: int, intended: int, sent: int, response: Any) -> None:
        """Record a response and run the per-response checks on it."""
        status = response.status
        if status < 400:
            self.recorder.add(key, intended, sent, response.done_ns, 0)
            if self.operations[key] is None:
                self.passed[key] += 1
                return
        else:
            error = self._status_errors.get(status) or self._status_error(status)
            self.recorder.add(key, intended, sent, response.done_ns, error)
        self._check(key, status, response, variant, sent)

    def record_error(self, key: int, intended: int, sent: int, exc: FastHttpError) -> None:
        """Record a request that got no response."""
        self.recorder.add(key, intended, sent, perf_counter_ns(),
                          self.recorder.error_index(exc.kind))

    async def run_user(self, connection: Any, may_continue: Any) -> None:
        """A virtual user's loop while ``may_continue()``: requests go out from the
        previous response's callback (``CallbackUser``), the way wrk drives its
        connections; a request that cannot (connecting, a sampled or HEAD request, an
        error) goes the ordinary way, then the callbacks take over again."""
        user = CallbackUser(self, connection, may_continue)
        pick: Any = None
        while True:
            if pick is None:
                if not may_continue():
                    return
                pick = self.pick()
            await self.iterate(connection, None, pick)
            pick = await user.run()
            if pick is False:
                return


    async def _sampled(self, key: int, variant: int, intended_ns: int | None) -> None:
        """Send one request with headers kept and run every conformance check on it."""
        endpoint = self.plan.endpoints[key]
        request = endpoint.requests[variant].to_request(endpoint.name)
        sent = perf_counter_ns()
        intended = sent if intended_ns is None else intended_ns
        exchange = await self.transport.send(request)
        done = perf_counter_ns()
        response = exchange.response
        if response is None:
            kind = exchange.failure.kind if exchange.failure else "connection"
            self.recorder.add(key, intended, sent, done, self.recorder.error_index(kind))
            return
        status = response.status
        error = 0 if status < 400 else (self._status_errors.get(status)
                                         or self._status_error(status))
        self.recorder.add(key, intended, sent, done, error)
        failures = self.checks.run(self.contexts[key], response, None)
        if not failures:
            self.passed[key] += 1
            return
        self.failed[key] += 1
        self.findings.add(endpoint.name, failures, lambda: CaseFinished(
            "load", endpoint.name, exchange, tuple(failures)))

    def drop(self, intended_ns: int) -> None:
        """Count an arrival that never got a connection before the run ended."""
        self.position += 1
        key = self.order[self.position % len(self.order)]
        now = perf_counter_ns()
        self.recorder.add(key, intended_ns, now, now, self.recorder.error_index("dropped"))

    def _status_error(self, status: int) -> int:
        index = self.recorder.error_index(f"http {status}")
        self._status_errors[status] = index
        return index

    def _check(self, key: int, status: int, raw: Any, variant: int, sent: int) -> None:
        operation = self.operations[key]
        if status < 500 and operation is not None:
            documented = self.documented.get((key, status))
            if documented is None:
                documented = operation.response_for(status) is not None
                self.documented[(key, status)] = documented
            if documented:
                self.passed[key] += 1
                return
        # The same check functions as ``assay test``, so a defect found under load has the
        # same cause (and is the same finding) as in a test run.
        ctx = self.contexts[key] or self.bare_context
        response = Response(status, _text_headers(raw.headers), raw.body,
                            Timings((raw.done_ns - sent) / 1e9))
        failures = not_a_server_error(ctx, response, None)
        if not failures and operation is not None:
            failures = status_code_conformance(ctx, response, None)
        if not failures:
            self.passed[key] += 1
            return
        self.failed[key] += 1
        endpoint = self.plan.endpoints[key]
        request = endpoint.requests[variant]
        self.findings.add(endpoint.name, failures, lambda: CaseFinished(
            "load", endpoint.name, Exchange(request.to_request(endpoint.name), response),
            tuple(failures)))

    def flush_checks(self) -> None:
        """Hand the check counts gathered since the last call to the recorder."""
        for key in range(len(self.passed)):
            if self.passed[key] or self.failed[key]:
                self.recorder.check(key, self.passed[key], self.failed[key])
                self.passed[key] = self.failed[key] = 0


def _single() -> tuple[int, int, bool]:
    return _ONLY


_ONLY = (0, 0, False)


def _operation(spec: ApiSpec | None, label: str | None) -> Operation | None:
    if spec is None or label is None:
        return None
    method, _, path = label.partition(" ")
    return spec.operation(method, path)


def _text_headers(headers: Any) -> list[tuple[str, str]]:
    if not headers:
        return []
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


class ScenarioDriver:
    """Runs one scenario per iteration, as ``assay test`` runs it: templates rendered with
    the row and earlier captures, ``expect`` checked, conformance against the suite's spec
    checked, think time between steps. A step whose request fails or whose expectations
    fail ends the iteration (later steps depend on it)."""

    def __init__(self, plan: ScenarioPlan, recorder: Recorder, findings: Findings,
                 session: Session, checks: CheckRegistry, spec: ApiSpec | None, seed: int,
                 timeout_s: float):
        self.plan = plan
        self.recorder = recorder
        self.findings = findings
        self.session = session
        self.checks = checks
        self.spec = spec
        self.matcher = OperationMatcher(spec) if spec is not None else None
        self.timeout_s = plan.suite.timeout or timeout_s
        self.random = random.Random(seed)
        self.runs = [scenario.runs() for scenario in plan.scenarios]
        self.turns = [0] * len(plan.scenarios)
        self.order = weighted_order([s.weight for s in plan.scenarios], seed)
        self.position = seed % len(self.order)
        keys = step_keys(plan.scenarios)
        positions, offset = [], 0
        for scenario in plan.scenarios:
            positions.append(offset)
            offset += len(scenario.steps)
        self.first_key = positions
        self.keys = keys
        self.template_errors: list[str] = []

    def flush_checks(self) -> None:
        """Check counts go to the recorder as they happen; nothing is pending."""

    async def run_user(self, lane: Any, may_continue: Any) -> None:
        """A virtual user's loop: one scenario after the other while ``may_continue()``."""
        while may_continue():
            await self.iterate(lane, None)

    def drop(self, intended_ns: int) -> None:
        """Count an arrival that never started before the run ended (on the first step of
        the scenario it would have run)."""
        self.position += 1
        index = self.order[self.position % len(self.order)]
        now = perf_counter_ns()
        self.recorder.add(self.first_key[index], intended_ns, now, now,
                          self.recorder.error_index("dropped"))

    async def iterate(self, lane: Any, intended_ns: int | None) -> None:
        """Run the next scenario of the weighted order once, with its next data row."""
        self.position += 1
        index = self.order[self.position % len(self.order)]
        scenario = self.plan.scenarios[index]
        runs = self.runs[index]
        run_name, row = runs[self.turns[index] % len(runs)]
        self.turns[index] += 1
        variables = {**self.plan.suite.variables, **row}
        intended = perf_counter_ns() if intended_ns is None else intended_ns
        previous: list[Exchange] = []
        for position, step in enumerate(scenario.steps):
            key = self.first_key[index] + position
            exchange = await self._step(key, step, run_name, variables, intended, previous)
            if exchange is None:
                return
            previous.append(exchange)
            pause = step.think or scenario.think
            if pause is not None and position < len(scenario.steps) - 1:
                await asyncio.sleep(self.random.uniform(*pause))
            intended = perf_counter_ns()

    async def _step(self, key: int, step: Step, group: str, variables: dict[str, Any],
                    intended: int, previous: list[Exchange]) -> Exchange | None:
        try:
            template = render_request(step.request, variables)
            request = self._request(template)
        except TemplateError as exc:
            self._template_error(step, group, exc)
            self.recorder.add(key, intended, intended, perf_counter_ns(),
                              self.recorder.error_index("template"))
            return None
        sent = perf_counter_ns()
        exchange = await self.session.send(request, timeout=template.timeout or self.timeout_s)
        done = perf_counter_ns()
        if exchange.response is None:
            kind = exchange.failure.kind if exchange.failure else "connection"
            self.recorder.add(key, intended, sent, done, self.recorder.error_index(kind))
            return None
        response = exchange.response
        failures = self._checks(step, response, variables, request.operation)
        expected = step.expect is not None and step.expect.status and not any(
            f.check == "expected_status" for f in failures)
        error = 0
        if response.status >= 400 and not expected:
            error = self.recorder.error_index(f"http {response.status}")
        self.recorder.add(key, intended, sent, done, error)
        self.recorder.check(key, 0 if failures else 1, 1 if failures else 0)
        if failures:
            label = request.operation or step.label
            prior = tuple(previous)
            self.findings.add(label, failures, lambda: CaseFinished(
                "load", label, exchange, tuple(failures), group=group, name=step.name,
                previous=prior))
            if any(f.check in _BLOCKING for f in failures):
                return None
        return exchange

    def _checks(self, step: Step, response: Response, variables: dict[str, Any],
                label: str | None) -> list[Failure]:
        failures: list[Failure] = []
        if step.expect is not None:
            failures.extend(check_expect(step.expect, response, variables))
        captured, capture_failures = apply_captures(step.capture, response)
        variables.update(captured)
        failures.extend(capture_failures)
        if self.matcher is not None and label is not None:
            method, _, path = label.partition(" ")
            operation = self.spec.operation(method, path) if self.spec else None
            if operation is not None:
                ctx = CheckContext(operation, self.spec.registry)
                failures.extend(self.checks.run(ctx, response, None))
        return failures

    def _request(self, template: Any) -> Request:
        request, path = step_request(template, self.plan.base_url, self.plan.suite.source)
        operation = self.matcher.match(template.method, path) if self.matcher else None
        if operation is not None:
            request.operation = operation.label
        return request

    def _template_error(self, step: Step, group: str, exc: TemplateError) -> None:
        message = f"scenario {group!r}, step {step.name!r} (line {step.line}): {exc}"
        if message not in self.template_errors:
            self.template_errors.append(message)

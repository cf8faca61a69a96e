"""The mock's request handler: admin routes, CORS, faults, then the mode's answer.

One ``MockApp`` serves one of three modes, chosen by what it is given:

- **spec** (``spec`` without ``upstream`` or ``replayer``): route to an operation, validate
  the request, answer from the spec (examples, ``Prefer``, generated bodies) or, with
  ``stateful``, from the resources stored so far;
- **proxy** (``upstream``): forward to the real API; with ``validate`` check the request and
  the answer against the spec (``X-Assay-Violations``; ``strict``: a 502 instead); with a
  ``recorder`` save every exchange to a cassette;
- **replay** (``replayer``): answer from a cassette.

Every mode goes through the same steps first: ``/__assay/`` admin routes, CORS preflight,
and the fault rules (latency added, errors and broken connections injected). The handler
answers synchronously whenever it can: the server then writes the answer without a task
per request, the difference between tens of thousands of requests per second and a few.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.secrets import Secrets
from ..http.serving import Answer, ConnectionFault, ServerRequest, ServerResponse
from ..specs.model import ApiSpec, Operation
from ..specs.validators import schema_validator
from .admin import Admin
from .cassette import Cassette, interaction_from
from .faults import Decision, FaultInjector
from .journal import Journal
from .proxy import ResponseChecker, Upstream, bad_gateway, violations_header
from .replay import Replayer
from .responses import Choice, ResponseBook, parse_prefer
from .router import NoRoute, Route, Router
from .state import StateStore
from .validation import RequestValidator, Validated, problem_response

LOG = logging.getLogger("assay.mock")
_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class MockOptions:
    """How the mock behaves (the CLI's flags)."""

    validate: bool = True
    stateful: bool = False
    strict: bool = False
    seed: int = 0
    journal_size: int = 1000
    cors: bool = True
    log_requests: bool = False


@dataclass(slots=True)
class Recorder:
    """Where a recording proxy saves what it sees."""

    cassette: Cassette
    path: Path
    secrets: Secrets


class MockApp:
    """The handler ``http.fastserver.FastServer`` calls for every request."""

    def __init__(self, *, spec: ApiSpec | None, options: MockOptions,
                 faults: FaultInjector, upstream: Upstream | None = None,
                 recorder: Recorder | None = None, replayer: Replayer | None = None):
        self.spec = spec
        self.options = options
        self.faults = faults
        self.upstream = upstream
        self.recorder = recorder
        self.replayer = replayer
        self.journal = Journal(options.journal_size)
        self.router = Router(spec) if spec is not None else None
        self.book = ResponseBook(spec, seed=options.seed) if spec is not None else None
        self.validator = RequestValidator(spec) if spec is not None else None
        self.state = (StateStore(spec, seed=options.seed)
                      if spec is not None and options.stateful else None)
        self.checker = (ResponseChecker(spec.registry)
                        if spec is not None and upstream is not None and options.validate
                        else None)
        self.admin = Admin(self)
        self._validators: dict[int, Any] = {}

    @property
    def prefix(self) -> str:
        """The path operations are served under (the spec's first server's path)."""
        return self.router.prefix if self.router is not None else ""

    @property
    def warnings(self) -> list[str]:
        """What to tell the user at start (examples that are not served, ...)."""
        return list(self.book.warnings) if self.book is not None else []

    def handle(self, request: ServerRequest) -> Answer | Awaitable[Answer]:
        """Answer ``request`` (synchronously when no delay or upstream is involved)."""
        if request.path.startswith("/__assay/") or request.path == "/__assay":
            return self.admin.handle(request)
        route = (self.router.match(request.method, request.path, request.query)
                 if self.router else None)
        if self.options.cors and request.method == "OPTIONS":
            preflight = self._options(request, route)
            if preflight is not None:
                return preflight
        operation = route.operation if isinstance(route, Route) else None
        relative = (self.router.relative(request.path) if self.router else None) or request.path
        decision = self.faults.decide(request.method, relative, operation.label
                                      if operation else None)
        if decision.delay > 0:
            return self._later(decision.delay, lambda: self._decided(request, route, decision))
        return self._decided(request, route, decision)

    async def close(self) -> None:
        """Release the upstream's connections."""
        if self.upstream is not None:
            await self.upstream.close()

    # -- the steps ---------------------------------------------------------------------

    def _decided(self, request: ServerRequest, route: Route | NoRoute | None,
                 decision: Decision) -> Answer | Awaitable[Answer]:
        label = route.operation.label if isinstance(route, Route) else None
        if decision.fault is not None:
            self._log(request, label, None, fault=decision.fault.kind)
            return decision.fault
        if decision.response is not None:
            self._log(request, label, decision.response.status, fault="error")
            return self._cors(request, decision.response)
        if self.replayer is not None:
            return self._finish(request, label, self.replayer.respond(request))
        if self.upstream is not None:
            return self._proxied(request, route)
        assert isinstance(route, Route | NoRoute)
        return self._from_spec(request, route)

    def _from_spec(self, request: ServerRequest, route: Route | NoRoute) -> ServerResponse:
        if isinstance(route, NoRoute):
            return self._finish(request, None, _no_route(route, self.prefix))
        assert self.book is not None and self.validator is not None
        operation = route.operation
        validated: Validated | None = None
        if self.options.validate:
            validated = self.validator.validate(operation, request, route.path_params)
            if validated.status != 200:
                answer = self._invalid(operation, request, validated)
                problems = [{"location": p.location, "message": p.message}
                            for p in validated.problems]
                return self._finish(request, operation.label, answer, problems)
        choice = parse_prefer(request)
        if self.state is not None and self.state.kind(operation) is not None:
            body = validated.body if validated is not None else _json_body(request)
            answer = self._stateful(operation, request, body, choice)
        else:
            answer = self.book.respond(operation, choice)
        return self._finish(request, operation.label, answer)

    def _invalid(self, operation: Operation, request: ServerRequest,
                 validated: Validated) -> ServerResponse:
        """The answer to an invalid request: a problem document, made to fit what the
        operation documents for that status.

        Undocumented, or documented without a schema: the problem document as is. A
        documented JSON schema that accepts it (perhaps without its ``errors`` list, which
        a spec may shape differently): that, under the documented media type. Otherwise
        the documented body for the status (its example, else a generated one), as a
        client coded against the spec expects, with the problems in ``X-Assay-Problems``.
        """
        problem = problem_response(validated.status, validated.problems)
        documented = operation.response_for(validated.status)
        if documented is None or not documented.content:
            return problem
        body = json.loads(problem.body)
        for name, media in documented.content.items():
            if media.schema is None or "json" not in name:
                continue
            validator = self._validators.get(id(media.schema))
            if validator is None:
                validator = schema_validator(media.schema, self.spec.registry,
                                             direction="response")
                self._validators[id(media.schema)] = validator
            lean = {key: value for key, value in body.items() if key != "errors"}
            for candidate in (body, lean):
                if validator.is_valid(candidate):
                    headers = [(n, v) for n, v in problem.headers if n.lower() != "content-type"]
                    return ServerResponse(problem.status, [("Content-Type", name), *headers],
                                          json.dumps(candidate).encode())
        assert self.book is not None
        planned = self.book.plan(operation, Choice(code=validated.status,
                                                   accept=request.header("accept")))
        if isinstance(planned, ServerResponse):
            return problem
        answer = self.book.render(planned)
        extra = [("X-Assay-Problems", violations_header([str(p) for p in validated.problems]))]
        extra += [(n, v) for n, v in problem.headers if n.lower() == "www-authenticate"]
        return ServerResponse(answer.status, [*answer.headers, *extra], answer.body)

    def _stateful(self, operation: Operation, request: ServerRequest, body: Any,
                  choice: Choice) -> ServerResponse:
        assert self.book is not None and self.state is not None and self.router is not None
        if choice.code is None and self.state.kind(operation) == "create" \
                and "201" in operation.responses:
            choice.code = 201
        planned = self.book.plan(operation, choice)
        if isinstance(planned, ServerResponse):
            return planned
        relative = self.router.relative(request.path) or request.path
        outcome = self.state.apply(operation, relative, body, planned.body, planned.status)
        if outcome is None:
            return self.book.render(planned)
        if not outcome.found:
            if operation.response_for(404) is not None:
                missing = self.book.plan(operation, Choice(code=404, accept=choice.accept))
                if not isinstance(missing, ServerResponse):
                    return self.book.render(missing)
            return problem_response(404, [], detail=f"{request.path} does not exist (it was "
                                    "never created, or was deleted)")
        planned.status = outcome.status
        planned.body = outcome.body
        if outcome.headers:
            # The stored resource's own Location replaces the documented example's.
            names = {name.lower() for name, _ in outcome.headers}
            kept = [(n, v) for n, v in planned.headers if n.lower() not in names]
            planned.headers = [*kept, *((n, self.prefix + v) for n, v in outcome.headers)]
        return self.book.render(planned)

    async def _proxied(self, request: ServerRequest,
                       route: Route | NoRoute | None) -> ServerResponse:
        assert self.upstream is not None
        violations: list[str] = []
        operation = route.operation if isinstance(route, Route) else None
        if self.checker is not None:
            violations.extend(self._request_violations(request, route))
        answer = await self.upstream.forward(request)
        if self.checker is not None and operation is not None and answer.status != 502:
            violations.extend(f"response: {line}"
                              for line in self.checker.violations(operation, answer))
        if self.recorder is not None and answer.status != 502:
            self.recorder.cassette.append(
                interaction_from(request, answer, secrets=self.recorder.secrets))
            self.recorder.cassette.save(self.recorder.path)
        if violations:
            LOG.warning("%s %s: %s", request.method, request.target, "; ".join(violations))
            if self.options.strict:
                answer = bad_gateway("the exchange does not conform to the spec", violations)
            else:
                answer = ServerResponse(answer.status, [
                    *answer.headers, ("X-Assay-Violations", violations_header(violations))],
                    answer.body)
        return self._finish(request, operation.label if operation else None, answer)

    def _request_violations(self, request: ServerRequest,
                            route: Route | NoRoute | None) -> list[str]:
        assert self.validator is not None
        if not isinstance(route, Route):
            return [f"request: no operation of the spec matches {request.method} "
                    f"{request.path}"]
        validated = self.validator.validate(route.operation, request, route.path_params)
        return [f"request: {p.location}: {p.message}" for p in validated.problems] \
            if validated.status != 200 else []

    def _options(self, request: ServerRequest,
                 route: Route | NoRoute | None) -> ServerResponse | None:
        if isinstance(route, Route) and route.operation.method == "OPTIONS":
            return None  # the spec documents OPTIONS itself
        if self.router is not None:
            relative = self.router.relative(request.path)
            allowed = self.router.allowed(relative) if relative is not None else []
            if not allowed:
                return None
        else:
            allowed = []
        methods = ", ".join([*allowed, "OPTIONS"]) if allowed else \
            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
        headers = [("Allow", methods)]
        origin = request.header("origin")
        if origin is not None and request.header("access-control-request-method"):
            headers += [("Access-Control-Allow-Origin", origin),
                        ("Access-Control-Allow-Methods", methods),
                        ("Access-Control-Allow-Credentials", "true"),
                        ("Access-Control-Max-Age", "600"), ("Vary", "Origin")]
            wanted = request.header("access-control-request-headers")
            if wanted:
                headers.append(("Access-Control-Allow-Headers", wanted))
        answer = ServerResponse(204, headers)
        self._log(request, None, 204)
        return answer

    def _finish(self, request: ServerRequest, label: str | None, answer: ServerResponse,
                problems: list[dict[str, str]] | None = None) -> ServerResponse:
        self._log(request, label, answer.status, problems=problems)
        return self._cors(request, answer)

    def _cors(self, request: ServerRequest, answer: ServerResponse) -> ServerResponse:
        if not self.options.cors:
            return answer
        origin = request.header("origin")
        if origin is None:
            return answer
        # Answers may be cached and shared: add headers to a copy.
        return ServerResponse(answer.status, [
            *answer.headers, ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Expose-Headers", "*"), ("Vary", "Origin")], answer.body)

    def _log(self, request: ServerRequest, label: str | None, status: int | None, *,
             fault: str | None = None, problems: list[dict[str, str]] | None = None) -> None:
        self.journal.record(request, operation=label, status=status, fault=fault,
                            problems=problems)
        if self.options.log_requests:
            LOG.info("%s %s -> %s%s", request.method, request.target,
                     status if status is not None else "-", f" ({fault})" if fault else "")

    @staticmethod
    async def _later(delay: float, then: Callable[[], Answer | Awaitable[Answer]]) -> Answer:
        await asyncio.sleep(delay)
        answer = then()
        if isinstance(answer, ServerResponse | ConnectionFault):
            return answer
        return await answer


def _no_route(route: NoRoute, prefix: str) -> ServerResponse:
    if route.allowed:
        return problem_response(405, [], detail=f"{route.path} allows "
                                f"{', '.join(route.allowed)}",
                                headers=[("Allow", ", ".join(route.allowed))])
    where = f" (operations are served under {prefix}/)" if prefix else ""
    return problem_response(404, [], detail=f"no operation of the spec matches "
                            f"{route.path}{where}")


def _json_body(request: ServerRequest) -> Any:
    if not request.body:
        return None
    try:
        return json.loads(request.body)
    except ValueError:
        return None

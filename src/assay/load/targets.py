"""Plans from what the user named: a URL (``-X``, ``-d``, ``-H``), a spec, or a suite.

Credentials are applied later, by the engine's session (which may have to log in first);
these functions only decide which requests and scenarios a run sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..core.errors import UsageError
from ..generation.examples import example_cases
from ..http.build import build_raw_request, build_request
from ..specs.model import ApiSpec, Operation
from ..suites.model import Scenario, Suite
from .plan import Endpoint, FixedPlan, RequestSpec, ScenarioPlan, SpecText

SAFE_METHODS = ("GET", "HEAD")
# Requests per spec operation: enough variety to avoid one cached answer, few enough that
# the plan stays small when pickled to every worker.
MAX_VARIANTS = 20


def url_plan(url: str, *, method: str = "GET", data: str | None = None,
             headers: Sequence[tuple[str, str]] = ()) -> FixedPlan:
    """One endpoint: ``method url`` with the body ``data`` (sent as given) and ``headers``."""
    body = data.encode("utf-8") if data is not None else None
    request = build_raw_request(method, url, url, headers=list(headers), body=body)
    path = RequestSpec.from_request(request).target.split("?", 1)[0]
    name = f"{method.upper()} {path}"
    return FixedPlan(url, (Endpoint(name, 1.0, (RequestSpec.from_request(request),)),))


def spec_plan(spec: ApiSpec, spec_text: SpecText, base_url: str, *,
              methods: Sequence[str] = SAFE_METHODS, weights: Mapping[str, float] | None = None,
              operations: Sequence[Operation] | None = None) -> FixedPlan:
    """One endpoint per operation whose method is in ``methods``, weighted by ``weights``
    (operationId or ``"METHOD /path"`` -> weight; others weigh 1); its requests come from
    the spec's examples, else from minimal valid values.

    Raises ``UsageError`` when no operation is left or a weight names no operation.
    """
    wanted = {m.upper() for m in methods}
    chosen = [op for op in (operations if operations is not None else spec.operations)
              if op.method.upper() in wanted]
    weights = dict(weights or {})
    _check_weights(weights, chosen)
    endpoints = []
    for op in chosen:
        weight = weights.get(op.operation_id or "", weights.get(op.label, 1.0))
        if weight <= 0:
            continue
        requests = _operation_requests(op, spec, base_url)
        if requests:
            endpoints.append(Endpoint(op.label, weight, requests, op.label))
    if not endpoints:
        raise UsageError(f"no operation of the document can be sent with methods "
                         f"{', '.join(sorted(wanted))}; name others with --methods",
                         location="--methods")
    return FixedPlan(base_url, tuple(endpoints), spec_text)


def scenario_plan(suite: Suite, base_url: str, names: Sequence[str] = (),
                  spec_text: SpecText | None = None) -> ScenarioPlan:
    """The suite's scenarios named by ``--scenario`` (all when none is named)."""
    scenarios = _select(suite.scenarios, names)
    return ScenarioPlan(base_url, suite, scenarios, spec_text)


def _select(scenarios: tuple[Scenario, ...], names: Sequence[str]) -> tuple[Scenario, ...]:
    if not scenarios:
        raise UsageError("the suite has no scenarios to run", location="--scenario")
    if not names:
        return scenarios
    by_name = {s.name: s for s in scenarios}
    missing = [n for n in names if n not in by_name]
    if missing:
        known = ", ".join(repr(s.name) for s in scenarios)
        raise UsageError(f"no scenario named {missing[0]!r}; the suite has: {known}",
                         location="--scenario")
    return tuple(by_name[n] for n in dict.fromkeys(names))


def _check_weights(weights: Mapping[str, float], operations: Sequence[Operation]) -> None:
    known = {op.operation_id for op in operations if op.operation_id} | {
        op.label for op in operations}
    for name, weight in weights.items():
        if name not in known:
            raise UsageError(f"no operation {name!r} among those sent (operationId or "
                             f"'METHOD /path'; check --methods)", location="--weight")
        if weight < 0:
            raise UsageError(f"expected a weight >= 0 for {name!r}", location="--weight")


def _operation_requests(op: Operation, spec: ApiSpec, base_url: str) -> tuple[RequestSpec, ...]:
    plan = example_cases(op, spec.registry)
    requests = []
    for case in plan.cases[:MAX_VARIANTS]:
        request = build_request(case, op, base_url)
        requests.append(RequestSpec.from_request(request))
    return tuple(dict.fromkeys(requests))


def parse_weights(values: Sequence[str]) -> dict[str, float]:
    """``--weight listBooks=3`` flags as a mapping."""
    weights = {}
    for raw in values:
        name, sep, number = raw.rpartition("=")
        try:
            weights[name] = float(number)
        except ValueError:
            name = ""
        if not sep or not name:
            raise UsageError(f"expected OPERATION=WEIGHT such as listBooks=3, found {raw!r}",
                             location="--weight")
    return weights

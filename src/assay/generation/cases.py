"""Whole test cases for the generated phases, built from per-schema values.

``coverage_cases`` is deterministic: starting from one valid base case (the operation's
first example, else its minimal request), it changes one thing at a time: each boundary
value of each parameter and of the body (valid, expected to be accepted), then each named
negative value, each required parameter or body left out, and a malformed JSON body
(invalid, expected to be rejected). ``case_strategy`` is the fuzz phase's hypothesis
strategy for the same two kinds of cases, with random values.

Every negative case carries a ``Negative`` saying what is wrong with it; the per-schema
builders only return values they verified to be invalid, so a case is never labelled
negative while it is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st
from referencing import Registry

from ..core.records import NOT_SET, PARAMETER_FIELDS, Case, Negative
from ..http.body import is_json_media_type
from ..specs.model import MediaType, Operation, Parameter
from .coverage import boundary_values
from .examples import choose_media_type, example_cases, ignored_parameter
from .filtering import keep
from .minimal import CannotGenerate
from .negative import negative_value_strategy, negative_values
from .strategies import StrategyFactory

MALFORMED_JSON = b'{"unterminated": '
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def base_case(operation: Operation, registry: Registry, phase: str) -> Case:
    """The operation's first example case (else its minimal request), for ``phase``.

    Raises ``CannotGenerate`` when no valid request can be built.
    """
    plan = example_cases(operation, registry)
    if not plan.cases:
        reason = plan.warnings[-1] if plan.warnings else "no valid request could be built"
        raise CannotGenerate(reason)
    return replace(plan.cases[0], phase=phase)


def parameters(operation: Operation) -> list[Parameter]:
    """The parameters a generated case sets (OpenAPI's ignored headers left out)."""
    return [p for p in operation.parameters if not ignored_parameter(p)]


def with_parameter(case: Case, param: Parameter, value: Any, **changes: Any) -> Case:
    """A copy of ``case`` with ``param`` set to ``value`` (``NOT_SET`` removes it)."""
    slot = PARAMETER_FIELDS[param.location]
    values = dict(getattr(case, slot))
    if value is NOT_SET:
        values.pop(param.name, None)
    else:
        values[param.name] = value
    return replace(case, **{slot: values}, **changes)


def coverage_cases(operation: Operation, registry: Registry, base: Case) -> list[Case]:
    """Deterministic cases: boundary values first, then negative ones, one change each."""
    cases: list[Case] = []
    media = choose_media_type(operation)
    for param in parameters(operation):
        for boundary in boundary_values(param.schema, registry, location=param.location):
            source = f"{param.location} {param.name}: {boundary.label}"
            cases.append(with_parameter(base, param, boundary.value, source=source))
    if media is not None and media.schema is not None:
        for boundary in boundary_values(media.schema, registry, location=body_location(media)):
            cases.append(replace(base, body=boundary.value, media_type=media.media_type,
                                 source=f"body: {boundary.label}"))
    cases.extend(negative_cases(operation, registry, base, media))
    return _unique(cases)


def negative_cases(operation: Operation, registry: Registry, base: Case,
                   media: MediaType | None) -> list[Case]:
    """Each named way of breaking one parameter or the body, applied to ``base``."""
    cases: list[Case] = []
    for param in parameters(operation):
        if param.required:
            cases.append(with_parameter(base, param, NOT_SET, negative=missing(param),
                                        source=f"{param.location} {param.name} missing"))
        for bad in negative_values(param.schema, registry, location=param.location):
            negative = Negative(bad.kind, param.location, param.name,
                                f"{param.location} parameter {param.name!r}: {bad.message}")
            cases.append(with_parameter(base, param, bad.value, negative=negative,
                                        source=f"{param.location} {param.name}: {bad.kind}"))
    if media is None:
        return cases
    body = operation.request_body
    if body is not None and body.required:
        negative = Negative("missing_required", "body", "", "the required body is missing")
        cases.append(replace(base, body=NOT_SET, media_type=None, negative=negative,
                             source="body missing"))
    if is_json_media_type(media.media_type):
        negative = Negative("malformed_body", "body", "", "the body is not valid JSON")
        cases.append(replace(base, body=MALFORMED_JSON, media_type=media.media_type,
                             negative=negative, source="malformed JSON body"))
    if media.schema is not None:
        for bad in negative_values(media.schema, registry, location=body_location(media)):
            cases.append(replace(base, body=bad.value, media_type=media.media_type,
                                 negative=body_negative(bad), source=f"body: {bad.kind}"))
    return cases


def body_location(media: MediaType) -> str:
    """``form`` for bodies whose fields travel as text (forms), else ``body``."""
    name = media.media_type.split(";")[0].strip().lower()
    return "form" if name in FORM_MEDIA_TYPES else "body"


def missing(param: Parameter) -> Negative:
    """The ``Negative`` of a required parameter left out."""
    return Negative("missing_required", param.location, param.name,
                    f"required {param.location} parameter {param.name!r} is missing")


def body_negative(bad: Any) -> Negative:
    """The ``Negative`` of a body broken at ``bad.pointer``."""
    where = f" at {bad.pointer}" if bad.pointer else ""
    return Negative(bad.kind, "body", bad.pointer, f"body{where}: {bad.message}")


def _unique(cases: list[Case]) -> list[Case]:
    seen: set[str] = set()
    result = []
    for case in cases:
        key = case_key(case)
        if key not in seen:
            seen.add(key)
            result.append(case)
    return result


def case_key(case: Case) -> str:
    """A stable text key for what ``case`` sends (equal keys, equal requests)."""
    body = case.body
    if isinstance(body, bytes):
        body = {"$bytes": body.hex()}
    elif body is NOT_SET:
        body = {"$unset": True}
    return repr((case.method, case.path, sorted(case.path_params.items()),
                 sorted(case.query.items()), sorted(case.headers.items()),
                 sorted(case.cookies.items()), body, case.media_type, case.probe))


@dataclass(frozen=True, slots=True)
class _Slot:
    """One thing a negative fuzz case may break: a parameter or the body."""

    param: Parameter | None
    strategy: Any
    media_type: str | None = None


def case_strategy(operation: Operation, registry: Registry, *,
                  known: Mapping[tuple[str, str], list[Any]] | None = None,
                  phase: str = "fuzz") -> st.SearchStrategy[Case]:
    """Random cases for ``operation``: about two in three valid, the rest negative.

    ``known`` maps ``(location, name)`` to real values the API returned (identifiers), which
    path parameters use half of the time so that fuzzing reaches code behind 404s. Raises
    ``CannotGenerate`` when not even a valid case can be generated.
    """
    factory = StrategyFactory(registry, extra_properties=False)
    positive = positive_strategy(operation, factory, known or {}, phase)
    slots = _negative_slots(operation, registry)
    if not slots:
        return positive
    # One static strategy per slot (no flatmap: a strategy built per draw costs hypothesis
    # a fresh analysis every time, measured at about a millisecond per case).
    negative = st.one_of(*(st.tuples(positive, slot.strategy).map(_breaker(slot))
                           for slot in slots))
    return st.one_of(positive, positive, negative)


def positive_strategy(operation: Operation, factory: StrategyFactory,
                      known: Mapping[tuple[str, str], list[Any]], phase: str
                      ) -> st.SearchStrategy[Case]:
    """Valid cases: required parameters always, optional ones sometimes, a valid body.

    Properties that ``additionalProperties`` merely allows are not invented
    (``extra_properties=False`` in the caller's factory): servers that reject unknown fields
    are common, and such a rejection is not worth a false alarm.
    """
    parts: dict[str, st.SearchStrategy] = {}
    for param in parameters(operation):
        values = factory.parameter(param.schema, param.location)
        if param.location == "query":
            # "?q=" reads as "no q" to many servers; an empty value is not what a user means.
            values = keep(values, lambda value: value != "")
        real = known.get((param.location, param.name))
        if real:
            values = st.one_of(st.sampled_from(list(real)), values)
        if not param.required:
            values = st.one_of(st.just(NOT_SET), values)
        parts[f"{param.location}\0{param.name}"] = values
    media = choose_media_type(operation)
    body_strategy: st.SearchStrategy = st.just(NOT_SET)
    if media is not None:
        schema = media.schema if media.schema is not None else True
        body_strategy = factory.from_schema(schema)
        if operation.request_body is not None and not operation.request_body.required:
            body_strategy = st.one_of(body_strategy, st.just(NOT_SET))
    media_type = media.media_type if media is not None else None
    by_key = {f"{p.location}\0{p.name}": p for p in parameters(operation)}

    def build(drawn: tuple[dict[str, Any], Any]) -> Case:
        values, body = drawn
        case = Case(operation.label, operation.method, operation.path, phase=phase,
                    source="generated")
        for key, value in values.items():
            if value is not NOT_SET:
                case = with_parameter(case, by_key[key], value)
        if body is not NOT_SET:
            case.body, case.media_type = body, media_type
        return case

    return st.tuples(st.fixed_dictionaries(parts), body_strategy).map(build)


def _negative_slots(operation: Operation, registry: Registry) -> list[_Slot]:
    slots = []
    for param in parameters(operation):
        strategy = negative_value_strategy(param.schema, registry, location=param.location)
        if param.required:
            strategy = st.just(None) if strategy is None else st.one_of(st.just(None), strategy)
        if strategy is not None:
            slots.append(_Slot(param, strategy))
    media = choose_media_type(operation)
    if media is not None and media.schema is not None:
        strategy = negative_value_strategy(media.schema, registry,
                                           location=body_location(media))
        if strategy is not None:
            slots.append(_Slot(None, strategy, media.media_type))
    return slots


def _breaker(slot: _Slot):
    """The function that breaks a valid case at ``slot`` with a drawn negative value."""
    param = slot.param

    def apply(drawn: tuple[Case, Any]) -> Case:
        case, bad = drawn
        if param is None:
            return replace(case, body=bad.value, media_type=slot.media_type,
                           negative=body_negative(bad), source=f"body: {bad.kind}")
        if bad is None:
            return with_parameter(case, param, NOT_SET, negative=missing(param),
                                  source=f"{param.location} {param.name} missing")
        negative = Negative(bad.kind, param.location, param.name,
                            f"{param.location} parameter {param.name!r}: {bad.message}")
        return with_parameter(case, param, bad.value, negative=negative,
                              source=f"{param.location} {param.name}: {bad.kind}")

    return apply

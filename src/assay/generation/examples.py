"""Cases for the ``examples`` phase: the spec's own examples, else one minimal valid request.

Examples come from parameters (``example``/``examples``), media types (``example``/
``examples``), and schemas (``examples``, which holds 3.0's translated ``example``, and
``default``); an object body with no example of its own is also assembled from the examples
of its properties. Every example is validated against its schema first: one that does not
validate is skipped with a warning (a wrong example is a bug in the document, and sending it
could only produce false alarms). With several examples, case *i* takes the *i*-th example
of each parameter and of the body (cycling the shorter lists), so every example is sent once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from referencing import Registry

from ..core.records import NOT_SET, PARAMETER_FIELDS, Case
from ..specs.model import MediaType, Operation, Parameter
from ..specs.resolve import deref
from ..specs.validators import schema_validator
from .minimal import CannotGenerate, minimal_value

# OpenAPI: header parameters with these names are ignored (they are set by other means).
_IGNORED_HEADERS = {"accept", "content-type", "authorization"}
_BODY_PREFERENCE = ("application/json", "application/x-www-form-urlencoded",
                    "multipart/form-data")


@dataclass(slots=True)
class Candidate:
    """One example value and the label shown for the case (``example 'dune'``)."""

    value: Any
    label: str


@dataclass(slots=True)
class ExamplePlan:
    """The cases of one operation, and warnings about examples that were skipped."""

    cases: list[Case] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def example_cases(operation: Operation, registry: Registry) -> ExamplePlan:
    """The ``examples`` phase cases for ``operation`` (at least one unless it cannot be built)."""
    plan = ExamplePlan()
    params = [p for p in operation.parameters if not ignored_parameter(p)]
    per_param = {id(p): _parameter_candidates(p, registry, plan.warnings) for p in params}
    media = choose_media_type(operation)
    body = _body_candidates(media, registry, plan.warnings) if media else []
    count = max([len(c) for c in per_param.values()] + [len(body), 1])
    for index in range(count):
        try:
            plan.cases.append(_case(operation, params, per_param, media, body, index, registry))
        except CannotGenerate as exc:
            plan.warnings.append(f"no valid request could be built: {exc}; operation skipped")
            plan.cases.clear()
            break
    return plan


def choose_media_type(operation: Operation) -> MediaType | None:
    """The request media type to use: JSON first, then forms, then the first documented."""
    body = operation.request_body
    if body is None or not body.content:
        return None
    for wanted in _BODY_PREFERENCE:
        for name, media in body.content.items():
            if name.split(";")[0].strip().lower() == wanted:
                return media
    for name, media in body.content.items():
        if name.lower().endswith("+json"):
            return media
    return next(iter(body.content.values()))


def ignored_parameter(param: Parameter) -> bool:
    """Header parameters OpenAPI says to ignore: Accept, Content-Type, Authorization."""
    return param.location == "header" and param.name.lower() in _IGNORED_HEADERS


def _case(operation: Operation, params: list[Parameter], per_param: dict[int, list[Candidate]],
          media: MediaType | None, body: list[Candidate], index: int, registry: Registry) -> Case:
    case = Case(operation=operation.label, method=operation.method, path=operation.path,
                phase="examples")
    labels: list[str] = []
    for param in params:
        candidates = per_param[id(param)]
        if candidates:
            chosen = candidates[index % len(candidates)]
            labels.append(chosen.label)
            value = chosen.value
        elif param.required:
            value = _minimal(_non_empty(param), registry, f"parameter {param.name!r}")
        else:
            continue
        _place(case, param, value)
    if media is not None:
        required = operation.request_body is not None and operation.request_body.required
        if body:
            chosen = body[index % len(body)]
            labels.append(chosen.label)
            case.body, case.media_type = chosen.value, media.media_type
        elif required or media.schema not in (None, True, {}):
            schema = media.schema if media.schema is not None else True
            case.body = _minimal(schema, registry, "the request body")
            case.media_type = media.media_type
    case.source = ", ".join(dict.fromkeys(labels)) or "minimal valid request"
    return case


def _non_empty(param: Parameter) -> Any:
    """Path, header and cookie values must not be empty: ``/items/{id}`` with an empty id
    is another route (``/items/``), and an empty header or cookie is rarely what a server
    means by "required"."""
    if param.location == "query" or not isinstance(param.schema, dict):
        return param.schema
    return {"allOf": [param.schema, {"minLength": 1}]}


def _minimal(schema: Any, registry: Registry, what: str) -> Any:
    """A minimal value, validated; built again without the schemas' own examples when
    those make it invalid (documents often carry wrong examples deep inside)."""
    validator = schema_validator(schema, registry, direction="request")
    error = None
    for use_examples in (True, False):
        value = minimal_value(schema, registry, use_examples=use_examples)
        error = next(iter(validator.iter_errors(value)), None)
        if error is None:
            return value
    raise CannotGenerate(f"the minimal value built for {what} is invalid ({error.message})")


def _place(case: Case, param: Parameter, value: Any) -> None:
    getattr(case, PARAMETER_FIELDS[param.location])[param.name] = value


def _parameter_candidates(param: Parameter, registry: Registry,
                          warnings: list[str]) -> list[Candidate]:
    raw = [(e.value, e.name) for e in param.examples]
    raw.extend(_schema_examples(param.schema, registry))
    where = f"parameter {param.name!r} (in {param.location})"
    return _valid(raw, param.schema, registry, where, warnings)


def _body_candidates(media: MediaType, registry: Registry,
                     warnings: list[str]) -> list[Candidate]:
    raw = [(e.value, e.name) for e in media.examples]
    schema = media.schema if media.schema is not None else True
    raw.extend(_schema_examples(schema, registry))
    if not raw:
        composed = _from_property_examples(schema, registry)
        if composed is not NOT_SET:
            raw.append((composed, "property examples"))
    return _valid(raw, schema, registry, f"request body ({media.media_type})", warnings)


def _schema_examples(schema: Any, registry: Registry) -> list[tuple[Any, str | None]]:
    schema = deref(schema, registry)
    if not isinstance(schema, dict):
        return []
    found: list[tuple[Any, str | None]] = []
    examples = schema.get("examples")
    if isinstance(examples, list):
        found.extend((value, None) for value in examples)
    if "default" in schema:
        found.append((schema["default"], "default"))
    return found


def _from_property_examples(schema: Any, registry: Registry) -> Any:
    schema = deref(schema, registry)
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return NOT_SET
    try:
        value = minimal_value(schema, registry)
    except CannotGenerate:
        return NOT_SET
    if not isinstance(value, dict):
        return NOT_SET
    found = False
    for name, sub in schema["properties"].items():
        sub = deref(sub, registry)
        if not isinstance(sub, dict) or sub.get("readOnly") is True:
            continue
        examples = sub.get("examples")
        if isinstance(examples, list) and examples:
            value[name], found = examples[0], True
    return value if found else NOT_SET


def _valid(raw: Iterable[tuple[Any, str | None]], schema: Any, registry: Registry, where: str,
           warnings: list[str]) -> list[Candidate]:
    validator = schema_validator(schema, registry, direction="request")
    result: list[Candidate] = []
    seen: list[Any] = []
    for value, name in raw:
        if value in seen:
            continue
        seen.append(value)
        error = next(iter(validator.iter_errors(value)), None)
        label = f"example {name!r}" if name else "example"
        if error is not None:
            warnings.append(f"{label} of {where} does not validate against its schema "
                            f"({error.message}); skipped")
            continue
        result.append(Candidate(value, label))
    return result

"""Turning a step's validated ``expect:``, ``capture:`` and ``retry:`` into model records.

The schema has already checked shapes; here the values are checked for meaning (a JSONPath
that compiles, a regular expression that compiles, a JSON Schema that is one) so that a
broken suite fails when it is loaded, with its line, not halfway through a run.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ..core.units import parse_duration
from .model import Capture, Expect, Matcher, Matchers, Retry
from .paths import compile_jsonpath
from .template import has_template
from .yamlio import KeyPath, SourceMap

_LATENCY = re.compile(r"\s*(<=?)?\s*(.+?)\s*")


def build_expect(data: dict[str, Any], path: KeyPath, where: SourceMap) -> Expect:
    """The ``Expect`` of an ``expect:`` (or ``retry.until:``) mapping."""
    body_contains = data.get("body_contains", ())
    if isinstance(body_contains, str):
        body_contains = (body_contains,)
    schema = data.get("schema")
    if schema is not None:
        _check_schema(schema, (*path, "schema"), where)
    return Expect(
        status=_status(data.get("status")),
        latency=_latency(data.get("latency"), (*path, "latency"), where),
        headers=tuple(
            (name, _matchers(value, (*path, "headers", name), where, scalar_as_text=True))
            for name, value in data.get("headers", {}).items()
        ),
        json=tuple(
            (expression, _json_matchers(expression, value, (*path, "json", expression), where))
            for expression, value in data.get("json", {}).items()
        ),
        body_contains=tuple(body_contains),
        schema=schema,
    )


def build_captures(data: dict[str, Any], path: KeyPath, where: SourceMap) -> tuple[Capture, ...]:
    """The ``Capture`` records of a ``capture:`` mapping, in the order written."""
    captures = []
    for name, spec in data.items():
        here = (*path, name)
        if isinstance(spec, str):
            spec = {"json": spec}
        if "json" in spec:
            _check_jsonpath(spec["json"], here, where)
            captures.append(Capture(name, "json", spec["json"], "body"))
        elif "header" in spec:
            captures.append(Capture(name, "header", spec["header"], "headers"))
        elif "regex" in spec:
            _check_regex(spec["regex"], (*here, "regex"), where)
            captures.append(Capture(name, "regex", spec["regex"], spec.get("from", "body")))
        else:
            captures.append(Capture(name, "status", "status", "status"))
    return tuple(captures)


def build_retry(data: dict[str, Any], path: KeyPath, where: SourceMap) -> Retry:
    """The ``Retry`` of a ``retry:`` mapping (``delay`` defaults to 1s)."""
    until = data.get("until")
    return Retry(
        times=data["times"],
        delay_s=parse_duration(data.get("delay", 1)),
        until=None if until is None else build_expect(until, (*path, "until"), where),
    )


def _status(value: Any) -> tuple[str | int, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    # "201" written as a string means the code; "2XX" is normalized to "2xx".
    return tuple(
        int(item) if isinstance(item, str) and item.isdigit() else
        item.lower() if isinstance(item, str) else item
        for item in items
    )


def _latency(value: Any, path: KeyPath, where: SourceMap) -> tuple[str, float] | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return ("<=", float(value))
    match = _LATENCY.fullmatch(value)
    try:
        return (match.group(1) or "<=", parse_duration(match.group(2)))
    except (AttributeError, ValueError) as exc:
        raise where.error(path, f"expected a limit such as '< 500ms', found {value!r}") from exc


def _json_matchers(expression: str, value: Any, path: KeyPath, where: SourceMap) -> Matchers:
    _check_jsonpath(expression, path, where)
    return _matchers(value, path, where, scalar_as_text=False)


def _matchers(value: Any, path: KeyPath, where: SourceMap, *, scalar_as_text: bool) -> Matchers:
    """A plain value means ``==``; a mapping lists operators, all of which must hold."""
    if not isinstance(value, dict):
        # Header values are text on the wire: `Content-Length: 12` means the text "12".
        if scalar_as_text and not isinstance(value, str):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        return (Matcher("==", value),)
    matchers = []
    for op, expected in value.items():
        here = (*path, op)
        if op == "length":
            expected = _length(expected, here, where)
        elif op == "type":
            expected = (expected,) if isinstance(expected, str) else tuple(expected)
        elif op == "matches":
            _check_regex(expected, here, where)
        matchers.append(Matcher(op, expected))
    return tuple(matchers)


def _length(value: Any, path: KeyPath, where: SourceMap) -> Matchers:
    if not isinstance(value, dict):
        return (Matcher("==", value),)
    return tuple(Matcher(op, expected) for op, expected in value.items())


def _check_jsonpath(expression: str, path: KeyPath, where: SourceMap) -> None:
    try:
        compile_jsonpath(expression)
    except ValueError as exc:
        raise where.error(path, str(exc)) from exc


def _check_regex(pattern: str, path: KeyPath, where: SourceMap) -> None:
    if has_template(pattern):
        return  # compiled when rendered, at run time
    try:
        re.compile(pattern)
    except re.error as exc:
        raise where.error(path, f"invalid regular expression {pattern!r}: {exc}") from exc


def _check_schema(schema: Any, path: KeyPath, where: SourceMap) -> None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        message = f"invalid JSON Schema: {exc.message}"
        raise where.error((*path, *exc.absolute_path), message) from exc

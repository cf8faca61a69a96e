"""A minimal valid value for a JSON Schema, built deterministically.

The examples phase sends one such request for every operation that has no example. The value
is the smallest one that satisfies the schema's constraints: required properties only,
``minItems`` items, ``minLength`` characters, the lower numeric bound. The caller validates
the result; where a schema is too intricate (contradictory ``allOf``, exotic patterns) this
raises ``CannotGenerate`` and the operation is skipped with a warning rather than sent with
data that might be invalid (which could only produce false alarms).
"""

from __future__ import annotations

import math
from typing import Any

from referencing import Registry

from ..specs.resolve import deref
from .regex import RegexTooHard, minimal_match

MAX_DEPTH = 12

FORMAT_VALUES = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "byte": "",
    "binary": "",
    "password": "password",
    "duration": "P1D",
    "json-pointer": "",
    "regex": ".*",
}


class CannotGenerate(ValueError):
    """No minimal value could be built for a schema; the message says why."""


def minimal_value(schema: Any, registry: Registry, *, direction: str = "request",
                  use_examples: bool = True) -> Any:
    """The minimal valid value of ``schema`` for ``direction`` (``request`` leaves
    readOnly properties out, ``response`` writeOnly ones). ``use_examples=False`` ignores
    the schemas' own ``examples`` and ``default`` (for documents whose examples are wrong).

    >>> minimal_value({"type": "object", "required": ["n"],
    ...                "properties": {"n": {"type": "integer", "minimum": 3}}}, Registry())
    {'n': 3}
    """
    return _Builder(registry, direction, use_examples).value(schema, 0)


class _Builder:
    def __init__(self, registry: Registry, direction: str, use_examples: bool):
        self.registry = registry
        self.skip = "readOnly" if direction == "request" else "writeOnly"
        self.use_examples = use_examples

    def resolve(self, schema: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CannotGenerate("schema nests too deep")
        resolved = deref(schema, self.registry, max_hops=MAX_DEPTH - depth)
        if resolved is None:
            raise CannotGenerate(f"unresolvable $ref {schema['$ref']!r}")
        return resolved

    def value(self, schema: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CannotGenerate("schema nests too deep")
        schema = self.resolve(schema, depth)
        if schema is True or schema == {} or schema is None:
            return {}
        if schema is False:
            raise CannotGenerate("schema 'false' allows no value")
        for keyword in ("const",):
            if keyword in schema:
                return schema[keyword]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        if "allOf" in schema:
            return self.value(self.merge_all_of(schema, depth), depth + 1)
        for keyword in ("oneOf", "anyOf"):
            if isinstance(schema.get(keyword), list) and schema[keyword]:
                return self.value(_with_branch(schema, keyword), depth + 1)
        if self.use_examples:
            if isinstance(schema.get("examples"), list) and schema["examples"]:
                return schema["examples"][0]
            if "default" in schema:
                return schema["default"]
        return self.by_type(schema, _first_type(schema), depth)

    def merge_all_of(self, schema: dict, depth: int) -> dict:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = self.resolve(part, depth + 1)
            if not isinstance(part, dict):
                continue
            if "allOf" in part:
                part = self.merge_all_of(part, depth + 1)
            merged = merge_schemas(merged, part)
        return merged

    def by_type(self, schema: dict, kind: str, depth: int) -> Any:
        if kind == "object":
            return self.object_value(schema, depth)
        if kind == "array":
            return self.array_value(schema, depth)
        if kind == "string":
            return _string_value(schema)
        if kind in ("integer", "number"):
            return _number_value(schema, kind)
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        raise CannotGenerate(f"unknown type {kind!r}")

    def object_value(self, schema: dict, depth: int) -> dict:
        properties = schema.get("properties") or {}
        result = {}
        for name in schema.get("required") or []:
            sub = properties.get(name, True)
            resolved = self.resolve(sub, depth + 1)
            if isinstance(resolved, dict) and resolved.get(self.skip) is True:
                continue
            result[name] = self.value(sub, depth + 1)
        wanted = schema.get("minProperties", 0)
        for name, sub in properties.items():
            if len(result) >= wanted:
                break
            resolved = self.resolve(sub, depth + 1)
            if name not in result and not (
                isinstance(resolved, dict) and resolved.get(self.skip) is True
            ):
                result[name] = self.value(sub, depth + 1)
        if len(result) < wanted:
            raise CannotGenerate("minProperties needs more properties than the schema names")
        return result

    def array_value(self, schema: dict, depth: int) -> list:
        count = int(schema.get("minItems", 0))
        prefix = schema.get("prefixItems") or []
        items = [self.value(sub, depth + 1) for sub in prefix[:count]]
        if len(items) < count:
            item = self.value(schema.get("items", True), depth + 1)
            if schema.get("uniqueItems") and count - len(items) > 1:
                raise CannotGenerate("uniqueItems with minItems > 1 needs distinct values")
            items.extend([item] * (count - len(items)))
        return items


_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def merge_schemas(first: dict, second: dict) -> dict:
    """One schema that demands what both demand, as far as a simple merge can say:
    properties met in both are combined with ``allOf``, ``required`` is the union,
    ``enum`` and ``type`` the intersection, bounds the tighter one. Keywords it cannot
    combine keep the first value (the caller validates the result)."""
    merged = dict(first)
    for key, value in second.items():
        if key not in merged:
            merged[key] = value
        elif key == "properties" and isinstance(value, dict):
            props = dict(merged[key])
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            merged[key] = props
        elif key == "required" and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        elif key == "enum" and isinstance(value, list):
            merged[key] = [item for item in merged[key] if item in value]
        elif key == "type":
            merged[key] = _intersect_types(merged[key], value)
        elif key in _LOWER_BOUNDS and _numbers(merged[key], value):
            merged[key] = max(merged[key], value)
        elif key in _UPPER_BOUNDS and _numbers(merged[key], value):
            merged[key] = min(merged[key], value)
    return merged


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _intersect_types(first: Any, second: Any) -> Any:
    a = [first] if isinstance(first, str) else list(first or [])
    b = [second] if isinstance(second, str) else list(second or [])
    common = [t for t in a if t in b or (t == "integer" and "number" in b)]
    common += [t for t in b if t == "integer" and "number" in a and t not in common]
    if not common:
        return first
    return common[0] if len(common) == 1 else common


def _with_branch(schema: dict, keyword: str) -> dict:
    rest = {k: v for k, v in schema.items() if k != keyword}
    branch = schema[keyword][0]
    if isinstance(branch, dict) and "$ref" not in branch:
        return {**rest, **branch}
    return {"allOf": [rest, branch]} if rest else branch


def _first_type(schema: dict) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        non_null = [t for t in declared if t != "null"]
        return non_null[0] if non_null else "null"
    if isinstance(declared, str):
        return declared
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
        return "number"
    return "object"


def _string_value(schema: dict) -> str:
    min_length = int(schema.get("minLength", 0))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            return minimal_match(pattern, min_length=min_length)
        except RegexTooHard as exc:
            raise CannotGenerate(str(exc)) from exc
    value = FORMAT_VALUES.get(schema.get("format"), "")
    if len(value) < min_length:
        value += "a" * (min_length - len(value))
    return value


def _number_value(schema: dict, kind: str) -> int | float:
    low = schema.get("minimum")
    exclusive_low = schema.get("exclusiveMinimum")
    high = schema.get("maximum")
    step = schema.get("multipleOf")
    value: float = 0
    if isinstance(low, int | float):
        value = max(value, low) if high is None or low <= 0 <= high else low
        if low > 0 or (high is not None and high < 0):
            value = low
    if isinstance(exclusive_low, int | float) and value <= exclusive_low:
        value = exclusive_low + (1 if kind == "integer" else 0.5)
    if isinstance(high, int | float) and value > high:
        value = high
    if isinstance(step, int | float) and step > 0:
        value = math.ceil(value / step) * step
    if kind == "integer":
        return int(math.ceil(value))
    return value

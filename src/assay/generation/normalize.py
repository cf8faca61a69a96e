"""Schemas in the shape generators want: ``$ref`` followed, ``allOf`` merged into one dict.

``merge`` combines two schemas into one that demands exactly what both demand, keyword by
keyword (the tighter bound, the union of ``required``, the intersection of ``type`` and
``enum``...). Where two values cannot be combined exactly (two different ``pattern``s, two
``anyOf`` lists), the second is kept in the result's ``allOf`` list, which generators read
as "also check the value against these". So the merged schema always means the same as
the parts together, and a contradiction (no common type, disjoint enums) raises
``CannotGenerate`` instead of producing values that fail.

Unlike ``minimal.merge_schemas`` (first value wins, the caller validates), this merge is
exact, because strategies must not produce invalid values that a validator then rejects.
"""

from __future__ import annotations

import math
import re
import warnings
from fractions import Fraction
from typing import Any

from referencing import Registry
from referencing.exceptions import Unresolvable

from .minimal import CannotGenerate

MAX_HOPS = 24
ANNOTATIONS = frozenset((
    "title", "description", "default", "examples", "example", "deprecated", "externalDocs",
    "xml", "discriminator", "$comment", "contentMediaType", "contentEncoding", "$id",
    "$schema", "$anchor", "$dynamicAnchor", "$defs", "definitions",
))
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties",
          "minContains")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties",
          "maxContains")
_COMBINED = ("items", "propertyNames", "unevaluatedItems", "unevaluatedProperties",
             "additionalProperties")
_CONDITIONAL = ("if", "then", "else")


def json_key(value: Any) -> Any:
    """A hashable key under which two JSON values are equal exactly when JSON Schema says
    so: ``1`` and ``1.0`` are equal, ``true`` and ``1`` are not."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("l", tuple(json_key(item) for item in value))
    if isinstance(value, dict):
        return ("d", frozenset((key, json_key(item)) for key, item in value.items()))
    return ("z", None) if value is None else ("o", repr(value))


def matches_key(pattern: str, key: str) -> bool:
    """``re.search`` as the validator runs it on ``patternProperties`` (quietly: Python
    warns about some class syntax, and a pattern it cannot read matches nothing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return re.search(pattern, key) is not None
        except re.error:
            return False


def lookup(ref: str, registry: Registry) -> Any:
    """The schema a ``$ref`` URI names; ``CannotGenerate`` if the registry lacks it."""
    try:
        return registry.resolver().lookup(ref).contents
    except Unresolvable as exc:
        raise CannotGenerate(f"unresolvable $ref {ref!r}") from exc


def normalize(schema: Any, registry: Registry, hops: int = 0) -> dict | bool:
    """``schema`` with its ``$ref`` followed and its ``allOf`` parts merged in.

    Returns ``schema`` itself when there is nothing to do (so callers may cache by
    identity), ``True``/``False`` for boolean schemas. Subschemas (properties, items...)
    are left as they are. Raises ``CannotGenerate`` on contradictions or a chain that
    does not end.

    >>> normalize({"allOf": [{"type": "integer"}, {"minimum": 1}]}, Registry())
    {'type': 'integer', 'minimum': 1}
    """
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        raise CannotGenerate(f"not a schema: {schema!r}")
    if hops > MAX_HOPS:
        raise CannotGenerate("a $ref/allOf chain does not end")
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = normalize(lookup(ref, registry), registry, hops + 1)
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        if not any(k not in ANNOTATIONS and not k.startswith("x-") for k in rest):
            return target
        return merge(normalize(rest, registry, hops + 1), target)
    parts = schema.get("allOf")
    if not (isinstance(parts, list) and parts):
        return schema
    merged: dict | bool = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        merged = merge(merged, normalize(part, registry, hops + 1))
    return merged


def merge(first: dict | bool, second: dict | bool) -> dict | bool:
    """One schema meaning ``allOf: [first, second]`` (both already normalized)."""
    if first is False or second is False:
        raise CannotGenerate("allOf includes the schema 'false'")
    if first is True:
        return second
    if second is True:
        return first
    merged = dict(first)
    residual = list(first.get("allOf", ()))
    for key, value in second.items():
        if key == "allOf":
            residual.extend(value)
        elif key in _CONDITIONAL:
            continue
        elif key not in merged:
            merged[key] = value
        elif key in ANNOTATIONS or key.startswith("x-") or _same(merged[key], value):
            continue
        elif not _merge_keyword(merged, key, value):
            residual.append({key: value})
    _conditional(merged, first, second, residual)
    _prefix_items(merged, first, second)
    _prefix_items(merged, second, first)
    _additional_properties(merged, first, second, residual)
    _additional_properties(merged, second, first, residual)
    if residual:
        merged["allOf"] = residual
    return merged


def _conditional(merged: dict, first: dict, second: dict, residual: list) -> None:
    group = {k: second[k] for k in _CONDITIONAL if k in second}
    if "if" not in group:
        return
    if "if" in first:
        residual.append(group)  # if/then/else only make sense together
    else:
        merged.update(group)


def _prefix_items(merged: dict, owner: dict, other: dict) -> None:
    """``other``'s ``items`` (without its own ``prefixItems``) applies to every position,
    also those that ``owner``'s ``prefixItems`` describe."""
    prefix = owner.get("prefixItems")
    if not isinstance(prefix, list) or "prefixItems" in other or "items" not in other:
        return
    merged["prefixItems"] = [_both(sub, other["items"]) for sub in prefix]


def _merge_keyword(merged: dict, key: str, value: Any) -> bool:
    """Combine ``value`` into ``merged[key]``; False when it cannot be done exactly."""
    current = merged[key]
    if key == "type":
        merged[key] = _common_types(current, value)
    elif key == "enum":
        merged[key] = _common_values(current, value)
    elif key == "const":
        raise CannotGenerate(f"allOf demands two constants {current!r} and {value!r}")
    elif key in _LOWER and _numbers(current, value):
        merged[key] = max(current, value)
    elif key in _UPPER and _numbers(current, value):
        merged[key] = min(current, value)
    elif key == "multipleOf" and _numbers(current, value):
        step = _common_multiple(current, value)
        if step is None:
            return False
        merged[key] = step
    elif key == "required" and isinstance(value, list) and isinstance(current, list):
        merged[key] = list(dict.fromkeys([*current, *value]))
    elif key in ("properties", "patternProperties", "dependentSchemas"):
        merged[key] = _merge_maps(current, value)
    elif key == "dependentRequired" and isinstance(value, dict):
        merged[key] = {name: list(dict.fromkeys([*current.get(name, ()), *deps]))
                       for name, deps in {**current, **value}.items()}
    elif key in _COMBINED:
        merged[key] = _both(current, value)
    elif key in ("uniqueItems", "readOnly", "writeOnly"):
        merged[key] = bool(current) or bool(value)
    elif key == "not":
        merged[key] = {"anyOf": [current, value]}
    else:
        return False
    return True


def _additional_properties(merged: dict, owner: dict, other: dict, residual: list) -> None:
    """Properties named only by ``other`` are "additional" for ``owner``: they must
    also satisfy ``owner``'s ``additionalProperties``."""
    extra = owner.get("additionalProperties", True)
    if extra is True or extra == {}:
        return
    own_names = owner.get("properties") or {}
    own_patterns = owner.get("patternProperties") or {}
    if other.get("patternProperties"):
        # Keys matching the other's patterns may be additional for the owner: too
        # intricate to merge, so the owner's rule is checked on its own.
        residual.append({"properties": {name: True for name in own_names},
                         "patternProperties": {p: True for p in own_patterns},
                         "additionalProperties": extra})
    properties = dict(merged.get("properties") or {})
    for name in other.get("properties") or {}:
        if name in own_names or any(matches_key(p, name) for p in own_patterns):
            continue
        properties[name] = False if extra is False else _both(properties[name], extra)
    if properties:
        merged["properties"] = properties


def _both(first: Any, second: Any) -> Any:
    if first is True or first == {}:
        return second
    if second is True or second == {}:
        return first
    if first is False or second is False:
        return False
    return {"allOf": [first, second]}


def _merge_maps(first: Any, second: Any) -> dict:
    out = dict(first) if isinstance(first, dict) else {}
    for name, sub in (second.items() if isinstance(second, dict) else ()):
        out[name] = _both(out[name], sub) if name in out else sub
    return out


def _same(first: Any, second: Any) -> bool:
    return type(first) is type(second) and first == second


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool)
               and (isinstance(v, int) or math.isfinite(v)) for v in values)


def _common_types(first: Any, second: Any) -> Any:
    a = [first] if isinstance(first, str) else list(first)
    b = [second] if isinstance(second, str) else list(second)
    common = [t for t in a if t in b]
    if "integer" in a and "number" in b and "integer" not in common:
        common.append("integer")
    if "integer" in b and "number" in a and "integer" not in common:
        common.append("integer")
    if not common:
        raise CannotGenerate(f"allOf parts have no type in common ({first!r}, {second!r})")
    return common[0] if len(common) == 1 else common


def _common_values(first: Any, second: Any) -> list:
    keys = {json_key(v) for v in second}
    common = [v for v in first if json_key(v) in keys]
    if not common:
        raise CannotGenerate("allOf parts have no enum value in common")
    return common


def _common_multiple(first: int | float, second: int | float) -> int | float | None:
    if isinstance(first, int) and isinstance(second, int):
        return math.lcm(first, second)
    a, b = Fraction(first), Fraction(second)
    if (a / b).denominator == 1:
        return first
    if (b / a).denominator == 1:
        return second
    return None

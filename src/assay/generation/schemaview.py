"""A schema seen the way the coverage and negative builders read it: one flat dict.

``flatten`` follows ``$ref``s and merges ``allOf`` (with ``minimal.merge_schemas``) so that
builders can read keywords directly. What they build from the flat view is always validated
against the real schema afterwards, so a merge that says too little or too much can only
cost a value, never let a wrong one through.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable

from ..core.records import NOT_SET
from ..specs.resolve import deref
from .minimal import CannotGenerate, merge_schemas, minimal_value

ALL_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
_MAX_HOPS = 16
_INFERRED = (
    ("object", ("properties", "required", "additionalProperties", "patternProperties",
                "minProperties", "maxProperties")),
    ("array", ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")),
    ("string", ("minLength", "maxLength", "pattern", "format")),
    ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
)


def flatten(schema: Any, registry: Registry, depth: int = 0) -> dict | None:
    """``schema`` as one dict: its ``$ref`` and ``allOf`` parts merged in. ``{}`` for
    ``true``; ``None`` for ``false``, an unresolvable ref or a chain that does not end.

    >>> flatten({"allOf": [{"type": "integer"}, {"minimum": 1}]}, Registry())
    {'type': 'integer', 'minimum': 1}
    """
    if depth > _MAX_HOPS:
        return None
    if schema is True:
        return {}
    if not isinstance(schema, dict):
        return None
    flat = {k: v for k, v in schema.items() if k not in ("$ref", "allOf")}
    parts = [{"$ref": schema["$ref"]}] if isinstance(schema.get("$ref"), str) else []
    if isinstance(schema.get("allOf"), list):
        parts.extend(schema["allOf"])
    for part in parts:
        target = deref(part, registry)
        if target is None:
            return None
        merged = flatten(target, registry, depth + 1)
        if merged is None:
            return None
        flat = merge_schemas(flat, merged)
    return flat


def value_types(flat: dict) -> list[str]:
    """The JSON types ``flat`` allows: its ``type``, else those its keywords imply, else
    ``[]`` (any type)."""
    declared = flat.get("type")
    if isinstance(declared, str):
        return [declared] if declared in ALL_TYPES else []
    if isinstance(declared, list):
        return [t for t in declared if t in ALL_TYPES]
    return [kind for kind, keywords in _INFERRED if any(k in flat for k in keywords)]


def is_type(value: Any, kind: str) -> bool:
    """Whether ``value`` is of JSON type ``kind`` (``1.0`` is an integer, ``True`` is not)."""
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, {"object": dict, "array": list, "string": str,
                              "number": int | float}.get(kind, type(None)))


def skipped_annotation(direction: str) -> str:
    """The annotation of properties left out in ``direction`` (readOnly for requests)."""
    return "readOnly" if direction == "request" else "writeOnly"


def is_skipped(schema: Any, registry: Registry, direction: str) -> bool:
    """Whether a property schema is readOnly (for requests) or writeOnly (for responses):
    such a property is neither built nor mutated, since a server ignores it."""
    flat = flatten(schema, registry)
    return flat is not None and flat.get(skipped_annotation(direction)) is True


def valid_minimal(schema: Any, registry: Registry, validator: Any, direction: str) -> Any:
    """The minimal value of ``schema`` that ``validator`` accepts; ``NOT_SET`` if none is.

    Built without the schema's own examples first: an example of a whole object may hold
    readOnly properties, which a request must not send. The examples are the fallback
    (for a pattern too hard to build a match for)."""
    for use_examples in (False, True):
        try:
            value = minimal_value(schema, registry, direction=direction,
                                  use_examples=use_examples)
        except (CannotGenerate, RecursionError):
            continue
        if errors_of(validator, value) == []:
            return value
    return NOT_SET


def errors_of(validator: Any, value: Any) -> list[ValidationError] | None:
    """Every validation error of ``value``; ``None`` when validation itself fails (an
    unresolvable ref, a pattern Python cannot compile): such a value proves nothing."""
    try:
        return list(validator.iter_errors(value))
    except (Unresolvable, re.error, RecursionError):
        return None


def size_keyword(value: Any) -> int | None:
    """A length or count keyword's value (``minLength``, ``maxItems``...) if it is a
    non-negative integer, else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def pointer(parts: Any) -> str:
    """A JSON pointer (RFC 6901) from path parts: ``["a/b", 0]`` gives ``"/a~1b/0"``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def value_key(value: Any) -> str:
    """A text key telling values apart, ``1``, ``1.0`` and ``True`` included."""
    return repr(_tagged(value))


def _tagged(value: Any) -> Any:
    if isinstance(value, dict):
        return ("d", tuple(sorted((str(k), _tagged(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("l", tuple(_tagged(v) for v in value))
    return (type(value).__name__, value)

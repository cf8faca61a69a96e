"""Turning header (and other string-serialized) values into the JSON types their schema names.

A header travels as text; ``X-Total-Count: 3`` is valid against ``{type: integer}``. We only
convert when the text parses cleanly as the type, so that ``X-Total-Count: three`` still
fails validation instead of being silently accepted.
"""

from __future__ import annotations

from typing import Any

from referencing import Registry

from .resolve import deref


def schema_types(schema: Any, registry: Registry) -> list[str]:
    """The ``type``s a schema allows (refs followed), in the order it gives them."""
    schema = deref(schema, registry)  # an unresolvable ref is the validator's to report
    if not isinstance(schema, dict):
        return []
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def coerce_text(text: str, schema: Any, registry: Registry) -> Any:
    """``text`` converted to the first type of ``schema`` it parses as, else unchanged."""
    for kind in schema_types(schema, registry):
        converted = _convert(text, kind, schema, registry)
        if converted is not _FAIL:
            return converted
    return text


_FAIL = object()


def _convert(text: str, kind: str, schema: Any, registry: Registry) -> Any:
    stripped = text.strip()
    if kind == "string":
        return text
    if kind == "integer":
        try:
            return int(stripped)
        except ValueError:
            return _FAIL
    if kind == "number":
        try:
            number = float(stripped)
        except ValueError:
            return _FAIL
        return int(number) if number.is_integer() and "." not in stripped else number
    if kind == "boolean":
        return {"true": True, "false": False}.get(stripped.lower(), _FAIL)
    if kind == "null":
        return None if stripped in ("", "null") else _FAIL
    if kind == "array":
        items = schema.get("items", {}) if isinstance(schema, dict) else {}
        return [coerce_text(part.strip(), items, registry) for part in text.split(",")]
    return _FAIL

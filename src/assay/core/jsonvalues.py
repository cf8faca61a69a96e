"""JSON type names of parsed values, shared by suite expectations and negative data."""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    """The JSON type name of a parsed JSON value (``integer`` for ints, ``number`` for
    floats: ``1.0`` is a number); a value JSON cannot hold gets its Python type name.

    >>> json_type(True), json_type(1), json_type(1.0), json_type([])
    ('boolean', 'integer', 'number', 'array')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__

"""JSON Schema validators for the schemas of an ``ApiSpec``, aware of request/response direction.

OpenAPI marks properties ``readOnly`` (sent by the server only) and ``writeOnly`` (sent by
the client only). A property that is both required and ``readOnly`` must not be demanded of
a request, and a required ``writeOnly`` one must not be demanded of a response: plain JSON
Schema validation would report both as false positives. We extend draft 2020-12's
``required`` keyword to skip them for the given direction, following ``$ref``s through the
spec's registry, and add the OpenAPI integer formats ``int32`` and ``int64``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend
from referencing import Registry

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _format_checker() -> FormatChecker:
    # Draft 2020-12's own format checks: FormatChecker() would also register the older
    # drafts' "time", which rejects "12:00:00Z" and accepts "12:00:00" (the opposite).
    checker = FormatChecker(())
    checker.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)
    for name, (low, high) in _INT_RANGES.items():
        checker.checks(name)(_int_range_check(low, high))
    return checker


def _int_range_check(low: int, high: int):
    def check(value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return True
        return low <= value <= high

    return check


def _skip_annotation(direction: str) -> str:
    return "readOnly" if direction == "request" else "writeOnly"


def _required_for(direction: str):
    skipped = _skip_annotation(direction)

    def required(validator: Any, required: list[str], instance: Any, schema: dict) -> Iterator:
        if not validator.is_type(instance, "object"):
            return
        properties = schema.get("properties", {})
        for name in required:
            if name in instance:
                continue
            if _has_annotation(validator, properties.get(name), skipped):
                continue
            yield ValidationError(f"{name!r} is a required property")

    return required


def _has_annotation(validator: Any, subschema: Any, annotation: str, depth: int = 0) -> bool:
    if not isinstance(subschema, dict) or depth > 8:
        return False
    if subschema.get(annotation) is True:
        return True
    ref = subschema.get("$ref")
    if isinstance(ref, str):
        try:
            resolved = validator._resolver.lookup(ref).contents
        except Exception:  # an unresolvable ref is reported by the $ref keyword itself
            return False
        return _has_annotation(validator, resolved, annotation, depth + 1)
    return any(
        _has_annotation(validator, part, annotation, depth + 1)
        for part in subschema.get("allOf", ())
    )


_REQUEST = extend(Draft202012Validator, {"required": _required_for("request")})
_RESPONSE = extend(Draft202012Validator, {"required": _required_for("response")})
_FORMATS = _format_checker()


def schema_validator(schema: Any, registry: Registry, *, direction: str = "response") -> Any:
    """A validator for ``schema`` (refs resolved through ``registry``) for one direction.

    ``direction`` is ``"request"`` (readOnly properties are not required) or
    ``"response"`` (writeOnly properties are not required). Formats are checked.

    >>> v = schema_validator({"type": "integer", "format": "int32"}, Registry())
    >>> v.is_valid(2**40)
    False
    """
    if direction not in ("request", "response"):
        raise ValueError(f"direction must be 'request' or 'response', not {direction!r}")
    cls = _REQUEST if direction == "request" else _RESPONSE
    return cls(schema, registry=registry, format_checker=_FORMATS)

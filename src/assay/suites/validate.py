"""Validation of a parsed suite against ``suite.schema.json``, with messages a person reads.

jsonschema's best error is turned into one ``SuiteError`` that names the line, the key path,
what was expected and what was found. Schemas of the suite format may carry an
``x-expected`` annotation: the phrase used for "expected ..." when a value fits none of a
keyword's alternatives (jsonschema's own message would list the alternatives' internals).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .yamlio import KeyPath, SourceMap

_TYPE_NAMES = {
    "object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "true or false", "null": "null",
}


def suite_schema() -> dict[str, Any]:
    """The JSON Schema of the suite format, as shipped in the package."""
    text = resources.files("assay.suites").joinpath("suite.schema.json").read_text("utf-8")
    return json.loads(text)


def validate_suite(data: Any, where: SourceMap) -> None:
    """Raise ``SuiteError`` for the most relevant way ``data`` breaks the suite format."""
    if not isinstance(data, dict):
        raise where.error((), f"a suite must be a mapping with 'scenarios', found {describe(data)}")
    if "scenarios" not in data:
        raise where.error((), "no 'scenarios' in the suite (expected a list of scenarios, "
                              "each with a name and steps)")
    validator = Draft202012Validator(suite_schema())
    error = best_match(validator.iter_errors(data))
    if error is not None:
        path, message = explain(error)
        raise where.error(path, message)


def explain(error: ValidationError) -> tuple[KeyPath, str]:
    """(key path, "what was expected, what was found") for one validation error."""
    path: KeyPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        return _unknown_key(error, path)
    if "propertyNames" in error.absolute_schema_path:
        path = (*path, error.instance)
        phrase = error.schema.get("x-expected", f"a key matching {error.schema.get('pattern')}")
        return path, f"invalid key {error.instance!r} (expected {phrase})"
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        phrase = _expected_phrase(error)
        if phrase:
            return path, f"expected {phrase}, found {describe(error.instance)}"
        required = ", ".join(error.validator_value)
        return path, f"missing key '{missing[0]}' (required keys here: {required})"
    phrase = _expected_phrase(error)
    if phrase:
        return path, f"expected {phrase}, found {describe(error.instance)}"
    return path, _generic(error)


def describe(value: Any) -> str:
    """How a found value is named in a message: ``a string ('abc')``, ``a list``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"a string ({_short(repr(value))})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        keys = ", ".join(str(key) for key in value)
        return f"a mapping with keys: {_short(keys)}" if value else "an empty mapping"
    return type(value).__name__


def _unknown_key(error: ValidationError, path: KeyPath) -> tuple[KeyPath, str]:
    known = list(error.schema.get("properties", {}))
    unknown = [key for key in error.instance if key not in known]
    key = unknown[0] if unknown else "?"
    return (*path, key), f"unknown key {key!r} (expected one of: {', '.join(known)})"


def _expected_phrase(error: ValidationError) -> str | None:
    """The ``x-expected`` of the innermost schema, at the same place, that has one."""
    here = list(error.absolute_path)
    current: ValidationError | None = error
    while current is not None:
        if list(current.absolute_path) != here:
            return None
        if isinstance(current.schema, dict) and "x-expected" in current.schema:
            return current.schema["x-expected"]
        current = current.parent
    return None


def _generic(error: ValidationError) -> str:
    found = describe(error.instance)
    value = error.validator_value
    if error.validator == "type":
        names = [value] if isinstance(value, str) else list(value)
        wanted = " or ".join(_TYPE_NAMES.get(name, name) for name in names)
        return f"expected {wanted}, found {found}"
    if error.validator == "enum":
        return f"expected one of: {', '.join(map(str, value))}, found {found}"
    if error.validator == "const":
        return f"expected {json.dumps(value)}, found {found}"
    if error.validator == "minItems":
        return f"expected at least {value} item{'s' if value != 1 else ''}, found {found}"
    if error.validator == "maxItems":
        return f"expected at most {value} items, found {found}"
    if error.validator == "minProperties":
        return f"expected at least {value} key{'s' if value != 1 else ''}, found {found}"
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=",
                "exclusiveMaximum": "<"}[error.validator]
        return f"expected a number {sign} {value}, found {found}"
    if error.validator == "pattern":
        return f"expected a string matching {value!r}, found {found}"
    if error.validator == "dependentRequired":
        return f"{error.message} (expected these keys together)"
    return f"{error.message} (found {found})"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."

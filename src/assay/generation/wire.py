"""What a server receives for a value: the value itself in a JSON body, text elsewhere.

Parameters (and the fields of a form body) travel as text (``http.params``); the server turns
the text back into the type its schema names. So a value is judged by what arrives: the
integer ``5`` sent for a ``type: string`` query parameter arrives as the valid string
``"5"``. ``received`` serializes a value the way ``http.params.scalar_text`` does and
coerces it back with ``specs.coerce.coerce_text``; it raises ``Unsendable`` for a value that
cannot travel unchanged (an empty text, a path segment with ``/``, a header with a line
break or non-ASCII text, an empty array, a float that JSON cannot carry).
"""

from __future__ import annotations

import json
from typing import Any

from referencing import Registry

from ..http.params import scalar_text, serialize_cookie
from ..specs.coerce import coerce_text
from .schemaview import flatten, value_types

PARAMETER_LOCATIONS = ("path", "query", "header", "cookie")
LOCATIONS = ("body", "form", *PARAMETER_LOCATIONS)
_PATH_FORBIDDEN = frozenset("/?#%")
# Characters that separate items or keys from values in every style's text form.
_SEPARATORS = frozenset(",=&[]")


class Unsendable(ValueError):
    """The value cannot be sent in this location so that the server sees it unchanged."""


def check_location(location: str) -> None:
    """Raise ``ValueError`` naming ``location`` unless it is one the builders know."""
    if location not in LOCATIONS:
        raise ValueError(f"location must be one of {', '.join(LOCATIONS)}; got {location!r}")


def received(value: Any, schema: Any, registry: Registry, location: str) -> Any:
    """``value`` as the server sees it when sent in ``location`` (``body``: unchanged;
    ``form``: an object whose fields are text; else a parameter). Raises ``Unsendable``.

    >>> received(5, {"type": "string"}, Registry(), "query")
    '5'
    """
    _check_json(value)
    if location == "body":
        return value
    flat = flatten(schema, registry) or {}
    if location == "form":
        if not isinstance(value, dict):
            raise Unsendable("a form body is an object")
        # A form writes an empty list as no field at all.
        return {key: _form_field(item, _property(flat, key, registry), registry)
                for key, item in value.items() if item != []}
    return _parameter(value, flat, registry, location)


def _parameter(value: Any, flat: dict, registry: Registry, location: str) -> Any:
    # An array or object travels as several pieces or a joined text that only a schema of
    # that type reads back: sent for another type, what the server sees is anyone's guess
    # (an exploded object even becomes other parameters).
    types = value_types(flat)
    if isinstance(value, list) and "array" not in types:
        raise Unsendable("an array only travels as a parameter of type array")
    if isinstance(value, dict) and "object" not in types:
        raise Unsendable("an object only travels as a parameter of type object")
    if isinstance(value, list):
        if not value:
            raise Unsendable("an empty array has no unambiguous text form")
        items = flatten(flat.get("items", True), registry) or {}
        return [_scalar(item, items, registry, location, nested=True) for item in value]
    if isinstance(value, dict):
        if not value:
            raise Unsendable("an empty object has no unambiguous text form")
        for key in value:
            _check_text(str(key), location, nested=True)
        return {key: _scalar(item, _property(flat, key, registry), registry, location,
                             nested=True)
                for key, item in value.items()}
    return _scalar(value, flat, registry, location, nested=False)


def _form_field(value: Any, flat: dict, registry: Registry) -> Any:
    if isinstance(value, dict):
        return value  # written as JSON text, which the server parses back
    if isinstance(value, list):
        items = flatten(flat.get("items", True), registry) or {}
        return [_scalar(item, items, registry, "query", nested=False) for item in value]
    return _scalar(value, flat, registry, "query", nested=False)


def _scalar(value: Any, flat: dict, registry: Registry, location: str, *, nested: bool) -> Any:
    if value is None:
        raise Unsendable("null has no agreed text form in a parameter or form field")
    if isinstance(value, list | dict):
        raise Unsendable("nested arrays and objects have no standard text form")
    text = scalar_text(value)
    _check_text(text, location, nested=nested)
    return coerce_text(text, flat, registry)


def _property(flat: dict, key: str, registry: Registry) -> dict:
    properties = flat.get("properties")
    sub: Any = True
    if isinstance(properties, dict) and key in properties:
        sub = properties[key]
    elif isinstance(flat.get("additionalProperties"), dict):
        sub = flat["additionalProperties"]
    return flatten(sub, registry) or {}


def _check_text(text: str, location: str, *, nested: bool) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Unsendable("lone surrogates cannot be sent as text") from exc
    if not text:
        # OpenAPI forbids empty query values unless allowEmptyValue, and an empty path
        # segment, header or cookie is read as missing by many servers.
        raise Unsendable("an empty parameter value may be read as no value at all")
    if nested and _SEPARATORS.intersection(text):
        raise Unsendable("an item's text holds a separator")
    if not text.isprintable():
        raise Unsendable("control characters do not survive as parameter text")
    if location == "path" and (text in (".", "..")
                               or _PATH_FORBIDDEN.intersection(text)):
        raise Unsendable("a path segment holds no / ? # % and is not . or ..")
    if location in ("header", "cookie"):
        if text != text.strip() or not text.isascii():
            raise Unsendable("header values are printable ASCII without surrounding spaces")
        if location == "cookie" and serialize_cookie("c", text, explode=False) != [f"c={text}"]:
            raise Unsendable("a cookie value only holds cookie-safe characters")


def _check_json(value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:  # NaN, infinity, a YAML date left unquoted
        raise Unsendable(f"not a JSON value: {exc}") from exc

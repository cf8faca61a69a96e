"""Parameter text back to values: the inverse of ``http.params``, for the mock's validation.

A parameter arrives as text laid out by its ``style`` and ``explode`` (the table in
``assay.http.params``). These functions split that text into its pieces and coerce each
piece to the type its schema names, exactly as ``generation.wire.received`` predicts what a
server sees: the schema is flattened (``$ref`` and ``allOf`` merged), then each piece goes
through ``specs.coerce.coerce_text``. So a value the tester sends as valid reads back as a
valid value here, and one it sends as invalid reads back invalid.

Text that does not follow the style at all (``R,100,G`` for an object) raises ``Malformed``.
A parameter that is not there reads as ``MISSING``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from referencing import Registry

from ..generation.schemaview import flatten, value_types
from ..specs.coerce import coerce_text
from ..specs.model import Parameter

# Item separators of non-exploded arrays and objects in a query string (form is ",").
_DELIMITERS = {"spaceDelimited": " ", "pipeDelimited": "|"}


class _Missing:
    """Marks a parameter the request does not carry."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Malformed(ValueError):
    """Text that cannot be read as its style or media type says; ``pointer`` is a JSON
    pointer below the value (``"/author"`` in a body), ``""`` for the value itself."""

    def __init__(self, message: str, pointer: str = ""):
        super().__init__(message)
        self.message = message
        self.pointer = pointer


@dataclass(slots=True)
class Shape:
    """How values of one schema travel as text: ``kind`` is ``scalar``, ``array`` or
    ``object``; ``flat`` the flattened schema, ``items`` that of an array's items."""

    kind: str
    flat: dict
    items: dict
    registry: Registry
    _properties: dict[str, Shape] = field(default_factory=dict)

    def scalar(self, text: str) -> Any:
        """``text`` as the schema's type when it parses as one, else unchanged."""
        return coerce_text(text, self.flat, self.registry)

    def item(self, text: str) -> Any:
        """``text`` as the type of the array's items."""
        return coerce_text(text, self.items, self.registry)

    def property(self, name: str) -> Shape:
        """The shape of property ``name`` (``additionalProperties`` when not declared)."""
        found = self._properties.get(name)
        if found is None:
            properties = self.flat.get("properties")
            sub: Any = True
            if isinstance(properties, dict) and name in properties:
                sub = properties[name]
            elif isinstance(self.flat.get("additionalProperties"), dict):
                sub = self.flat["additionalProperties"]
            found = self._properties[name] = shape_of(sub, self.registry)
        return found

    def texts(self, values: list[str]) -> Any:
        """Repeated texts for one name (``?a=1&a=2``, form fields): a list for an array
        schema, else one value (a list when repeated, which the schema then rejects)."""
        if self.kind == "array":
            return [self.item(v) for v in values]
        if len(values) == 1:
            return self.scalar(values[0])
        return [self.scalar(v) for v in values]


def shape_of(schema: Any, registry: Registry) -> Shape:
    """The ``Shape`` of ``schema``; a schema allowing arrays reads as an array first."""
    flat = flatten(schema, registry) or {}
    types = value_types(flat)
    kind = "array" if "array" in types else "object" if "object" in types else "scalar"
    items = (flatten(flat.get("items", True), registry) or {}) if kind == "array" else {}
    return Shape(kind, flat, items, registry)


def group_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Decoded ``(name, value)`` pairs grouped by name, values in order."""
    groups: dict[str, list[str]] = {}
    for name, value in pairs:
        found = groups.get(name)
        if found is None:
            groups[name] = [value]
        else:
            found.append(value)
    return groups


def parse_cookies(headers: Iterable[str]) -> dict[str, list[str]]:
    """The cookies of ``Cookie`` header values, by name, percent-decoded."""
    pairs = []
    for header in headers:
        for piece in header.split(";"):
            name, sep, value = piece.strip().partition("=")
            if sep and name:
                pairs.append((name, unquote(value.strip().strip('"'))))
    return group_pairs(pairs)


def read_content(text: str, media_type: str) -> Any:
    """A parameter given with ``content``: JSON text parsed, other media types as text."""
    if "json" not in media_type:
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Malformed(f"not valid JSON: {exc}") from exc


def read_path(param: Parameter, shape: Shape, text: str) -> Any:
    """A path parameter's decoded text (``simple``, ``label`` or ``matrix`` style)."""
    if param.style == "label":
        if not text.startswith("."):
            raise Malformed(f"expected a label value starting with '.'; got {text!r}")
        return _joined(text[1:], shape, "." if param.explode else ",", param.explode)
    if param.style == "matrix":
        return _matrix(param, shape, text)
    return _joined(text, shape, ",", param.explode)


def read_header(param: Parameter, shape: Shape, values: list[str]) -> Any:
    """A header parameter (style ``simple``) from all the lines of that header."""
    if not values:
        return MISSING
    if shape.kind == "scalar":
        return shape.scalar(values[0].strip())
    return _joined(",".join(values), shape, ",", param.explode)


def read_query(param: Parameter, shape: Shape, groups: dict[str, list[str]],
               claimed: frozenset[str]) -> Any:
    """A query (or cookie, or form field) parameter from the grouped pairs.

    ``claimed`` names the pairs other parameters own: an exploded object takes its
    properties from the remaining ones.
    """
    if shape.kind == "object" and (param.style == "deepObject"
                                   or (param.explode and param.style == "form")):
        whole = groups.get(param.name)
        if whole is not None and param.name not in _declared(shape):
            return shape.texts(whole)  # a plain value where an object belongs: invalid
        if param.style == "deepObject":
            return _deep_object(param.name, shape, groups)
        return _exploded_object(shape, groups, claimed)
    values = groups.get(param.name)
    if values is None:
        return MISSING
    if shape.kind == "array":
        if all(v == "" for v in values):
            return []  # how an empty array is written
        if param.explode:
            return [shape.item(v) for v in values]
        sep = _DELIMITERS.get(param.style, ",")
        return [shape.item(t) for v in values for t in v.split(sep)]
    if shape.kind == "object":
        return _pairs(values[0], shape, _DELIMITERS.get(param.style, ","))
    return shape.texts(values)


def _joined(text: str, shape: Shape, sep: str, explode: bool) -> Any:
    """Text of the ``simple`` and ``label`` styles: items or pairs joined by ``sep``."""
    if shape.kind == "scalar":
        return shape.scalar(text)
    if shape.kind == "array":
        return [shape.item(t) for t in text.split(sep)] if text else []
    if not text:
        return {}
    if explode:
        return _assignments(text.split(sep), shape)
    return _pairs(text, shape, ",")


def _matrix(param: Parameter, shape: Shape, text: str) -> Any:
    if not text.startswith(";"):
        raise Malformed(f"expected a matrix value starting with ';'; got {text!r}")
    segments = text[1:].split(";")
    if param.explode and shape.kind == "object":
        # ";name" alone is how an empty object is written.
        return {} if segments == [param.name] else _assignments(segments, shape)
    values = []
    for segment in segments:
        name, sep, value = segment.partition("=")
        if name != param.name:
            raise Malformed(f"expected ';{param.name}=...'; got {text!r}")
        values.append(value)
    if param.explode and shape.kind == "array":
        return [shape.item(v) for v in values] if values != [""] else []
    if len(values) != 1:
        raise Malformed(f"expected one ';{param.name}=...'; got {text!r}")
    return _joined(values[0], shape, ",", False)


def _pairs(text: str, shape: Shape, sep: str) -> dict[str, Any]:
    """A non-exploded object: ``R,100,G,200``."""
    if not text:
        return {}
    parts = text.split(sep)
    if len(parts) % 2:
        raise Malformed(f"expected name{sep}value pairs; got {text!r}")
    return {parts[i]: shape.property(parts[i]).scalar(parts[i + 1])
            for i in range(0, len(parts), 2)}


def _assignments(pieces: list[str], shape: Shape) -> dict[str, Any]:
    """An exploded object: ``R=100``, ``G=200``."""
    result: dict[str, Any] = {}
    for piece in pieces:
        name, sep, value = piece.partition("=")
        if not sep:
            raise Malformed(f"expected name=value; got {piece!r}")
        result[name] = shape.property(name).scalar(value)
    return result


def _exploded_object(shape: Shape, groups: dict[str, list[str]],
                     claimed: frozenset[str]) -> Any:
    """An exploded form object: its properties are pairs of their own (``R=100&G=200``).

    Pairs the document does not name are taken only when the schema says what they are
    (``additionalProperties`` a schema), or, when it forbids them, once a declared
    property shows that the object is there (so an extra one is reported); otherwise they
    are the unknown parameters OpenAPI allows.
    """
    declared = _declared(shape)
    extra = shape.flat.get("additionalProperties", True)
    # "filter[color]" belongs to the deepObject parameter "filter" when that is claimed.
    names = [name for name in groups
             if name not in claimed and name.partition("[")[0] not in claimed]
    known = [name for name in names if name in declared]
    if isinstance(extra, dict) or (extra is False and known):
        taken = names
    else:
        taken = known
    if not taken:
        return MISSING
    return {name: shape.property(name).texts(groups[name]) for name in taken}


def _declared(shape: Shape) -> dict[str, Any]:
    properties = shape.flat.get("properties")
    return properties if isinstance(properties, dict) else {}


def _deep_object(name: str, shape: Shape, groups: dict[str, list[str]]) -> Any:
    """``color[R]=100&color[G]=200`` (nested brackets for nested objects)."""
    tree: dict[str, Any] = {}
    prefix = name + "["
    for key, values in groups.items():
        if key.startswith(prefix):
            _plant(tree, _brackets(key, len(name)), values)
    return _grow(tree, shape) if tree else MISSING


def _brackets(key: str, start: int) -> list[str]:
    path = []
    rest = key[start:]
    while rest:
        close = rest.find("]")
        if not rest.startswith("[") or close < 0:
            raise Malformed(f"expected name[property]=value; got {key!r}")
        path.append(rest[1:close])
        rest = rest[close + 1:]
    return path


def _plant(tree: dict[str, Any], path: list[str], values: list[str]) -> None:
    node = tree
    for step in path[:-1]:
        child = node.setdefault(step, {})
        if not isinstance(child, dict):
            raise Malformed(f"property {step!r} is given both as a value and an object")
        node = child
    if isinstance(node.get(path[-1]), dict):
        raise Malformed(f"property {path[-1]!r} is given both as a value and an object")
    node.setdefault(path[-1], []).extend(values)


def _grow(tree: dict[str, Any], shape: Shape) -> dict[str, Any]:
    result = {}
    for key, node in tree.items():
        sub = shape.property(key)
        result[key] = _grow(node, sub) if isinstance(node, dict) else sub.texts(node)
    return result

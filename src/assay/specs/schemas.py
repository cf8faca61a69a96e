"""Schemas into JSON Schema 2020-12, with every ``$ref`` rewritten to an absolute URI.

OpenAPI 3.0 and Swagger 2.0 schemas are translated once, at load time:

- ``nullable: true`` / ``x-nullable: true`` -> ``"null"`` added to ``type`` (and to ``enum``);
  ``$ref`` + nullable -> ``anyOf: [{$ref}, {type: null}]``; other ``$ref`` siblings dropped
  (the 3.0 and 2.0 specifications ignore them);
- boolean ``exclusiveMinimum``/``exclusiveMaximum`` -> the numeric form;
- ``example`` -> ``examples: [example]``; ``type: file`` -> ``{type: string, format: binary}``;
- ``$schema`` and ``$id`` dropped (they are not keywords of those dialects).

OpenAPI 3.1 schemas are already 2020-12: only their refs are rewritten (``$id`` changes the
base URI as JSON Schema says). In every dialect, values that would make ``jsonschema`` crash
rather than report a validation error are repaired or dropped: unknown ``type`` names
(``int`` -> ``integer``, unknown ones dropped), non-numeric bounds, a non-list ``required`` or
``enum``, regular expressions Python cannot compile, subschemas that are not schemas.

Translation never follows a ``$ref``, so recursive schemas stay finite; each ref target is
reported so the caller can load, translate and register it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from .documents import RefError, ref_uri, resolve_ref

SWAGGER2 = "swagger2"
OPENAPI30 = "openapi30"
OPENAPI31 = "openapi31"

RefTarget = tuple[str, str]
"""``(document URI, JSON pointer)`` of a ``$ref`` target."""

_MAP, _ONE, _LIST, _ITEMS, _NUMBER, _POSITIVE, _TYPE, _REQUIRED, _ENUM, _PATTERN = range(10)
_REF, _ID, _DISCRIMINATOR, _LEGACY_ONLY = range(10, 14)

_KINDS: dict[str, int] = {
    **dict.fromkeys(("properties", "patternProperties", "$defs", "definitions",
                     "dependentSchemas"), _MAP),
    **dict.fromkeys(("additionalProperties", "not", "contains", "propertyNames", "if", "then",
                     "else", "unevaluatedItems", "unevaluatedProperties", "contentSchema"),
                    _ONE),
    **dict.fromkeys(("allOf", "anyOf", "oneOf", "prefixItems"), _LIST),
    "items": _ITEMS,
    **dict.fromkeys(("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
                     "maxLength", "minItems", "maxItems", "minProperties", "maxProperties",
                     "minContains", "maxContains"), _NUMBER),
    "multipleOf": _POSITIVE,
    "type": _TYPE,
    "required": _REQUIRED,
    "enum": _ENUM,
    "pattern": _PATTERN,
    "$ref": _REF,
    "$id": _ID,
    "discriminator": _DISCRIMINATOR,
    "$schema": _LEGACY_ONLY,
}

_TYPES = frozenset(("null", "boolean", "object", "array", "number", "string", "integer"))
_TYPE_ALIASES = {
    "int": "integer", "int32": "integer", "int64": "integer", "long": "integer",
    "short": "integer", "float": "number", "double": "number", "decimal": "number",
    "bool": "boolean", "str": "string", "text": "string", "date": "string",
    "datetime": "string", "date-time": "string", "file": "string", "dict": "object",
    "map": "object", "list": "array",
}


@dataclass(slots=True)
class Translated:
    """A translated schema, the ref targets it names, and the refs that cannot be followed."""

    schema: dict[str, Any] | bool | None
    refs: dict[RefTarget, str] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)


class SchemaTranslator:
    """Translates the schemas of one load (one dialect) into JSON Schema 2020-12.

    ``embedded`` collects OpenAPI 3.1 subschemas with an ``$id``: they are resources of
    their own in the registry. ``dropped_patterns`` counts regular expressions dropped
    because Python's ``re`` cannot compile them (ECMA-262 ``\\p{L}``, for example).
    """

    def __init__(self, dialect: str):
        self.dialect = dialect
        self.legacy = dialect != OPENAPI31
        self.embedded: dict[str, dict[str, Any]] = {}
        self.dropped_patterns = 0
        self._patterns: dict[str, bool] = {}

    def translate(self, schema: Any, base: str) -> Translated:
        """Translate ``schema`` written in a document at URI ``base``.

        ``Translated.schema`` is ``None`` when ``schema`` is not a schema at all (neither a
        mapping nor a boolean).
        """
        result = Translated(None)
        result.schema = self._schema(schema, base, result)
        return result

    def _schema(self, value: Any, base: str, result: Translated) -> Any:
        if isinstance(value, bool):
            return value
        if not isinstance(value, dict):
            return None
        if self.legacy:
            return self._legacy(value, base, result)
        embedded = None
        identifier = value.get("$id")
        if isinstance(identifier, str):
            joined = urldefrag(urljoin(base, identifier)).url
            if urlsplit(joined).scheme:
                base = embedded = joined
        out = self._keywords(value, base, result)
        if embedded is not None:
            self.embedded[embedded] = out
        # Draft-4 boolean bounds are invalid in 2020-12 but common in hand-written 3.1.
        _exclusive_bound(out, "exclusiveMinimum", "minimum")
        _exclusive_bound(out, "exclusiveMaximum", "maximum")
        return out

    def _legacy(self, schema: dict[str, Any], base: str, result: Translated) -> Any:
        nullable = schema.get("nullable") is True or schema.get("x-nullable") is True
        ref = schema.get("$ref")
        if isinstance(ref, str):
            out: dict[str, Any] = {"$ref": self._ref(ref, base, result)}
            return {"anyOf": [out, {"type": "null"}]} if nullable else out
        out = self._keywords(schema, base, result)
        out.pop("nullable", None)
        if nullable:
            _add_null(out)
        _exclusive_bound(out, "exclusiveMinimum", "minimum")
        _exclusive_bound(out, "exclusiveMaximum", "maximum")
        if "example" in out:
            example = out.pop("example")
            more = out.get("examples")
            out["examples"] = [example, *(more if isinstance(more, list) else [])]
        return out

    def _keywords(self, schema: dict[str, Any], base: str, result: Translated) -> dict:
        out: dict[str, Any] = {}
        for key, value in schema.items():
            kind = _KINDS.get(key)
            if kind is None:
                out[key] = value
            elif kind == _MAP:
                self._map(out, key, value, base, result)
            elif kind == _ONE:
                sub = self._schema(value, base, result)
                if sub is not None:
                    out[key] = sub
            elif kind == _LIST:
                if isinstance(value, list):
                    out[key] = [self._sub(item, base, result) for item in value]
            elif kind == _ITEMS:
                self._items(out, schema, value, base, result)
            else:
                self._scalar(out, kind, key, value, base, result)
        return out

    def _scalar(self, out: dict, kind: int, key: str, value: Any, base: str,
                result: Translated) -> None:
        if kind == _NUMBER or kind == _POSITIVE:
            number = _number(value)
            if number is not None and (kind == _NUMBER or number > 0):
                out[key] = number
            elif isinstance(value, bool) and kind == _NUMBER and key.startswith("exclusive"):
                out[key] = value  # the OpenAPI 3.0 boolean form, translated by the caller
        elif kind == _TYPE:
            _set_type(out, value)
        elif kind == _REQUIRED:
            if isinstance(value, list):
                out[key] = [name for name in value if isinstance(name, str)]
        elif kind == _ENUM:
            if isinstance(value, list):
                out[key] = value
        elif kind == _PATTERN:
            if isinstance(value, str) and self._compiles(value):
                out[key] = value
        elif kind == _REF:
            if isinstance(value, str):
                out[key] = self._ref(value, base, result)
        elif kind == _DISCRIMINATOR:
            out[key] = _discriminator(value, base)
        elif not self.legacy:  # $id and $schema are 2020-12 keywords
            if isinstance(value, str):
                out[key] = value

    def _sub(self, value: Any, base: str, result: Translated) -> Any:
        sub = self._schema(value, base, result)
        # Inside a list or map a broken subschema becomes "anything", which keeps
        # property names (and additionalProperties: false) meaningful.
        return True if sub is None else sub

    def _map(self, out: dict, key: str, value: Any, base: str, result: Translated) -> None:
        if not isinstance(value, dict):
            return
        check = key == "patternProperties"
        out[key] = {
            name: self._sub(sub, base, result)
            for name, sub in value.items()
            if not check or self._compiles(name)
        }

    def _items(self, out: dict, schema: dict, value: Any, base: str,
               result: Translated) -> None:
        if isinstance(value, list):
            # Draft-4 tuple form: items[] -> prefixItems, additionalItems -> items.
            out["prefixItems"] = [self._sub(item, base, result) for item in value]
            rest = self._schema(schema.get("additionalItems"), base, result)
            if rest is not None:
                out["items"] = rest
            return
        sub = self._schema(value, base, result)
        if sub is not None:
            out["items"] = sub

    def _ref(self, ref: str, base: str, result: Translated) -> str:
        try:
            document, pointer = resolve_ref(ref, base)
        except RefError as exc:
            result.invalid[ref] = str(exc)
            return ref
        result.refs.setdefault((document, pointer), ref)
        return ref_uri(document, pointer)

    def _compiles(self, pattern: str) -> bool:
        known = self._patterns.get(pattern)
        if known is None:
            try:
                re.compile(pattern)
                known = True
            except (re.error, RecursionError, OverflowError):
                known = False
                self.dropped_patterns += 1
            self._patterns[pattern] = known
        return known


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        for convert in (int, float):
            try:
                return convert(value.strip())
            except ValueError:
                continue
    return None


def _set_type(out: dict, value: Any) -> None:
    names = value if isinstance(value, list) else [value]
    types: list[str] = []
    for name in names:
        if not isinstance(name, str):
            continue
        lowered = name.strip().lower()
        canonical = lowered if lowered in _TYPES else _TYPE_ALIASES.get(lowered)
        if canonical is None or canonical in types:
            continue
        types.append(canonical)
        if lowered == "file":
            out.setdefault("format", "binary")
        elif lowered in ("date", "datetime", "date-time"):
            out.setdefault("format", "date" if lowered == "date" else "date-time")
    if types:
        out["type"] = types if isinstance(value, list) else types[0]


def _add_null(out: dict) -> None:
    kind = out.get("type")
    if isinstance(kind, str) and kind != "null":
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    enum = out.get("enum")
    if isinstance(enum, list) and None not in enum:
        out["enum"] = [*enum, None]


def _exclusive_bound(out: dict, exclusive: str, inclusive: str) -> None:
    flag = out.get(exclusive)
    if not isinstance(flag, bool):
        return
    del out[exclusive]
    if flag and inclusive in out:
        out[exclusive] = out.pop(inclusive)


def _discriminator(value: Any, base: str) -> Any:
    """A discriminator with mapping values that are refs made absolute (names unchanged)."""
    if not isinstance(value, dict) or not isinstance(value.get("mapping"), dict):
        return value
    mapping = {}
    for name, target in value["mapping"].items():
        if isinstance(target, str) and ("/" in target or "#" in target):
            try:
                target = ref_uri(*resolve_ref(target, base))
            except RefError:
                pass
        mapping[name] = target
    return {**value, "mapping": mapping}

"""The values the mock serves when the document gives none, and the bytes it sends.

``ValueMaker`` builds, for one spec and one run seed: bodies generated from a schema (drawn
with hypothesis, the same for the same seed and purpose, validated, with ``minimal_value``
as the fallback), header values, and bodies assembled from the examples of properties and
items. ``encode`` turns a body into bytes and a ``Content-Type``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from xml.etree import ElementTree

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from referencing import Registry

from ..core.records import NOT_SET
from ..generation.minimal import CannotGenerate, minimal_value
from ..generation.strategies import StrategyFactory
from ..http.body import is_json_media_type
from ..http.params import serialize_header
from ..specs.coerce import coerce_text
from ..specs.resolve import deref
from ..specs.validators import schema_validator

DRAWS = 8
"""Values hypothesis draws per generated value; the richest valid one is served."""
_MAX_ASSEMBLY_DEPTH = 8
# Characters XML 1.0 cannot hold, even escaped.
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def derived_seed(run_seed: int, *parts: object) -> int:
    """A seed for one generated value, stable across processes: the run's seed mixed with
    what the value is for (operation, status, media type or header name)."""
    text = ":".join(str(part) for part in (run_seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class ValueMaker:
    """Generated and assembled values for the schemas of one spec (not thread-safe)."""

    def __init__(self, registry: Registry, *, seed: int = 0):
        self.registry = registry
        self.seed = seed
        # No extra properties: a mock's bodies show what the document describes.
        self._factory = StrategyFactory(registry, direction="response", extra_properties=False)
        self._validators: dict[int, tuple[Any, Any]] = {}

    def validator(self, schema: Any) -> Any:
        """A response-direction validator for ``schema``, compiled once."""
        hit = self._validators.get(id(schema))
        if hit is None or hit[0] is not schema:
            hit = (schema, schema_validator(schema, self.registry, direction="response"))
            self._validators[id(schema)] = hit
        return hit[1]

    def body(self, schema: Any, *purpose: object) -> tuple[Any, str] | None:
        """``(value, source)`` valid against ``schema``, or ``None`` when none can be built.
        ``purpose`` (operation, status, media type) seeds the draw."""
        validator = self.validator(schema)
        if schema is not True and schema != {}:
            drawn = self._draw_body(schema, purpose)
            valid = [value for value in drawn if validator.is_valid(value)]
            if valid:
                # The first draw is hypothesis's simplest; later ones look like data.
                return max(reversed(valid[1:] or valid), key=_richness), "generated"
        for value in self._minimal(schema):
            if validator.is_valid(value):
                return value, "generated (minimal)"
        return None

    def header_text(self, schema: Any, *purpose: object) -> str | None:
        """A header value (as sent) valid against ``schema``, or ``None``."""
        candidates: list[Any] = []
        try:
            strategy = self._factory.parameter(schema, "header")
            candidates = draw(strategy, derived_seed(self.seed, *purpose))[1:]
        except CannotGenerate:
            pass
        for value in [*candidates, *self._minimal(schema)]:
            text = serialize_header(value)
            if text and self.header_valid(text, schema):
                return text
        return None

    def header_valid(self, text: str, schema: Any) -> bool:
        """Whether ``text`` can be sent as a header and is valid against ``schema`` the way
        ``response_headers_conformance`` reads it."""
        if "\r" in text or "\n" in text or not text.isascii():
            return False
        return self.validator(schema).is_valid(coerce_text(text, schema, self.registry))

    def schema_examples(self, schema: Any) -> list[Any]:
        """A schema's own ``examples`` and ``default`` (refs followed)."""
        resolved = deref(schema, self.registry)
        if not isinstance(resolved, dict):
            return []
        found = list(resolved["examples"]) if isinstance(resolved.get("examples"), list) else []
        return found + ([resolved["default"]] if "default" in resolved else [])

    def assembled(self, schema: Any, depth: int = 0) -> Any:
        """A value built from the examples of an object's properties and an array's items
        (recursively) over a minimal one; ``NOT_SET`` when it holds no example."""
        resolved = deref(schema, self.registry)
        if not isinstance(resolved, dict) or depth > _MAX_ASSEMBLY_DEPTH:
            return NOT_SET
        if depth and isinstance(resolved.get("examples"), list) and resolved["examples"]:
            return resolved["examples"][0]
        if isinstance(resolved.get("properties"), dict):
            return self._assembled_object(resolved, depth)
        items = resolved.get("items")
        if items is None or resolved.get("maxItems", 1) < 1:
            return NOT_SET
        item = self.assembled(items, depth + 1)
        count = max(1, int(resolved.get("minItems", 1)))
        if item is NOT_SET or (count > 1 and resolved.get("uniqueItems")):
            return NOT_SET
        return [item] * count

    def _assembled_object(self, schema: dict, depth: int) -> Any:
        try:
            value = minimal_value(schema, self.registry, direction="response")
        except CannotGenerate:
            return NOT_SET
        if not isinstance(value, dict):
            return NOT_SET
        found = False
        for name, sub in schema["properties"].items():
            resolved = deref(sub, self.registry)
            if isinstance(resolved, dict) and resolved.get("writeOnly") is True:
                continue
            part = self.assembled(sub, depth + 1)
            if part is not NOT_SET:
                value[name], found = part, True
        return value if found else NOT_SET

    def _draw_body(self, schema: Any, purpose: tuple) -> list[Any]:
        try:
            strategy = self._factory.from_schema(schema)
        except CannotGenerate:
            return []
        return draw(strategy, derived_seed(self.seed, *purpose))

    def _minimal(self, schema: Any) -> list[Any]:
        """Minimal values, then the same ignoring the schemas' examples (often wrong)."""
        values = []
        for use_examples in (True, False):
            try:
                values.append(minimal_value(schema, self.registry, direction="response",
                                            use_examples=use_examples))
            except CannotGenerate:
                continue
        return values


def draw(strategy: st.SearchStrategy, value_seed: int) -> list[Any]:
    """``DRAWS`` values of ``strategy``, the same ones for the same seed, simplest first.
    Nothing is printed or stored; when hypothesis gives up on a strategy (too much
    filtering), what it drew before is returned."""
    drawn: list[Any] = []

    @seed(value_seed)
    @settings(database=None, max_examples=DRAWS, phases=[Phase.generate], deadline=None,
              derandomize=False, suppress_health_check=list(HealthCheck),
              verbosity=Verbosity.quiet)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    try:
        collect()
    except Exception:  # hypothesis's own (Unsatisfiable...): the draws so far still count
        pass
    return drawn


def _richness(value: Any) -> int:
    """How much a value shows: its number of members and items, nested."""
    if isinstance(value, dict):
        return len(value) + sum(_richness(v) for v in value.values())
    if isinstance(value, list):
        return len(value) + sum(_richness(v) for v in value)
    return 0


def encode(value: Any, media_type: str) -> tuple[bytes, str]:
    """``(body, Content-Type)`` for a body sent as ``media_type``: bytes as they are, JSON
    for JSON media types, XML for XML ones (``to_xml``), JSON for other non-text values,
    text as UTF-8 (``text/*`` gets ``; charset=utf-8`` unless the document names one)."""
    if isinstance(value, bytes):
        return value, media_type
    base = media_type.split(";", 1)[0].strip().lower()
    if (base.endswith("/xml") or base.endswith("+xml")) and not isinstance(value, str):
        value = to_xml(value)
    if is_json_media_type(base) or not isinstance(value, str):
        try:
            data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:  # a lone surrogate in a document's example: escape it
            data = json.dumps(value, separators=(",", ":")).encode()
    else:
        data = value.encode(errors="replace")
    if base.startswith("text/") and "charset" not in media_type.lower():
        media_type += "; charset=utf-8"
    return data, media_type


def to_xml(value: Any, name: str = "root") -> str:
    """A JSON value as an XML document: object members become child elements (names made
    valid), array items ``<item>`` elements, scalars text (``true``, ``1.5``), ``null``
    an empty element. The document's ``xml`` hints are not followed."""
    element = ElementTree.Element(name)
    _fill(element, value)
    return ElementTree.tostring(element, encoding="unicode")


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, _xml_name(str(key))), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ElementTree.SubElement(element, "item"), item)
    elif value is not None:
        text = value if isinstance(value, str) else json.dumps(value)
        element.text = _XML_INVALID.sub("", text)


def _xml_name(key: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
    return name if re.match(r"[A-Za-z_]", name) else "_" + name

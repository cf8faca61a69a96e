"""Deterministic valid values at the edges of a schema, for the ``coverage`` phase.

``boundary_values`` lists, without randomness, the values a careful tester would try: every
enum value, each numeric bound (just inside exclusive ones, on a ``multipleOf`` step), the
shortest and longest strings and arrays, empty values, one value of each type of a union,
the minimal object and each optional property present, and the boundary values of each
property placed into a minimal object. Every value is validated against the schema (and,
for a parameter, against what the server will receive after the trip through text), so a
value this module returns is valid: an API that rejects it has a bug.

Sizes are bounded so that a case stays sendable: strings up to 100,000 characters in a
body and 1,024 in a parameter, arrays up to 1,000 and 50 items; bounds beyond that are left
out rather than approximated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from referencing import Registry

from ..core.records import NOT_SET
from ..specs.validators import schema_validator
from .minimal import FORMAT_VALUES, merge_schemas
from .numbers import INT_FORMATS, as_json_number, inside, lower_bound, step_of, upper_bound
from .regex import RegexTooHard, minimal_match
from .schemaview import (
    errors_of,
    flatten,
    is_skipped,
    pointer,
    size_keyword,
    valid_minimal,
    value_key,
    value_types,
)
from .wire import Unsendable, check_location, received

MAX_BOUNDARIES = 30
MAX_DEPTH = 4
# Subschemas looked at per call: bounds the work on huge documents, deterministically.
NODE_BUDGET = 300
TEXT_LIMIT = {"body": 100_000, "param": 1024}
ITEMS_LIMIT = {"body": 1000, "param": 50}
_CHILD_LIMIT = 10
# Valid values a naive parser may still trip on; each is validated before use.
FORMAT_EDGES = {
    "date": "2024-02-29",
    "date-time": "2024-12-31T23:59:59.999+01:00",
    "time": "23:59:59Z",
    "email": "first.last+tag@example.com",
    "uuid": "ffffffff-ffff-4fff-bfff-ffffffffffff",
    "uri": "https://example.com/a/b?c=d#e",
    "hostname": "a-b.example.com",
    "ipv4": "255.255.255.255",
    "ipv6": "2001:db8::ff00:42:8329",
}
# Formats whose content the API does not parse: plain strings, lengths apply as usual.
_TEXT_FORMATS = frozenset(("password", "binary"))


@dataclass(frozen=True, slots=True)
class Boundary:
    """A valid edge value and what makes it one (``"maximum 100"``, ``"enum value 'b'"``)."""

    value: Any
    label: str


def boundary_values(schema: Any, registry: Registry, *, direction: str = "request",
                    location: str = "body") -> list[Boundary]:
    """Valid edge values of ``schema``, deterministic and all different, at most
    ``MAX_BOUNDARIES``. ``location`` other than ``"body"`` means a parameter (or ``"form"``,
    the fields of a form body): values must then arrive valid after the trip through text
    and be sendable (no empty text, no ``/`` in a path segment, header values printable
    ASCII without surrounding spaces, no null).

    >>> [b.value for b in boundary_values({"type": "integer", "minimum": 1, "maximum": 9},
    ...                                   Registry())]
    [1, 9]
    """
    check_location(location)
    if schema is None:  # a media type without a schema: nothing to say about its values
        return []
    validator = schema_validator(schema, registry, direction=direction)
    builder = _Builder(registry, direction, "body" if location == "body" else "param")
    result: list[Boundary] = []
    for boundary in builder.candidates(schema, 0, limit=None):
        try:
            arrived = received(boundary.value, schema, registry, location)
        except Unsendable:
            continue
        if location != "body" and errors_of(validator, arrived) != []:
            continue
        result.append(boundary)
        if len(result) >= MAX_BOUNDARIES:
            break
    return result


def nested_label(name: Any, label: str) -> str:
    """A child's label under its parent: ``/title maxLength 200``, ``/tags/0 minLength 1``."""
    prefix = pointer([name])
    return prefix + label if label.startswith("/") else f"{prefix} {label}"


def show(value: Any, width: int = 40) -> str:
    """A short printable form of a value for labels and messages (strings quoted)."""
    if isinstance(value, str):
        text = f"'{value}'"
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


class _Builder:
    """Builds the candidates of each subschema; one per ``boundary_values`` call."""

    def __init__(self, registry: Registry, direction: str, size: str):
        self.registry = registry
        self.direction = direction
        self.text_limit = TEXT_LIMIT[size]
        self.items_limit = ITEMS_LIMIT[size]
        self.nodes = 0

    def candidates(self, schema: Any, depth: int, limit: int | None) -> Iterator[Boundary]:
        """Valid, distinct boundary values of ``schema`` (lazily, so callers stop early)."""
        self.nodes += 1
        flat = flatten(schema, self.registry)
        if flat is None:
            return
        validator = schema_validator(schema, self.registry, direction=self.direction)
        if depth > MAX_DEPTH or self.nodes > NODE_BUDGET:
            raw: Iterable[Boundary] = self.minimal_only(schema, validator)
        else:
            raw = self.raw(flat, validator, depth)
        seen: set[str] = set()
        count = 0
        for boundary in raw:
            key = value_key(boundary.value)
            if key in seen or errors_of(validator, boundary.value) != []:
                continue
            seen.add(key)
            yield boundary
            count += 1
            if limit is not None and count >= limit:
                return

    def minimal(self, schema: Any) -> Any:
        validator = schema_validator(schema, self.registry, direction=self.direction)
        return valid_minimal(schema, self.registry, validator, self.direction)

    def minimal_only(self, schema: Any, validator: Any) -> Iterator[Boundary]:
        value = valid_minimal(schema, self.registry, validator, self.direction)
        if value is not NOT_SET:
            yield Boundary(value, "minimal value")

    def raw(self, flat: dict, validator: Any, depth: int) -> Iterator[Boundary]:
        if "const" in flat:
            yield Boundary(flat["const"], "const value")
            return
        if isinstance(flat.get("enum"), list) and flat["enum"]:
            yield from (Boundary(v, f"enum value {show(v)}") for v in flat["enum"])
            return
        for keyword in ("oneOf", "anyOf"):
            if isinstance(flat.get(keyword), list) and flat[keyword]:
                yield from self.branches(flat, keyword, depth)
                return
        types = value_types(flat)
        for kind in types:
            sub = flat if len(types) == 1 else {**flat, "type": kind}
            yield from self.by_type(sub, kind, depth)
            if len(types) > 1:  # one value of each type, when its edges gave none
                value = self.minimal(sub)
                if value is not NOT_SET:
                    yield Boundary(value, f"type {kind}")
        yield from self.minimal_only(flat, validator)

    def branches(self, flat: dict, keyword: str, depth: int) -> Iterator[Boundary]:
        rest = {k: v for k, v in flat.items() if k != keyword}
        streams = []
        for index, branch in enumerate(flat[keyword]):
            target = flatten(branch, self.registry)
            if target is not None:
                merged = merge_schemas(rest, target)
                streams.append(self.labelled(merged, depth, f"{keyword}[{index}] "))
        yield from round_robin(streams)

    def labelled(self, schema: Any, depth: int, prefix: str) -> Iterator[Boundary]:
        for boundary in self.candidates(schema, depth + 1, _CHILD_LIMIT):
            yield Boundary(boundary.value, prefix + boundary.label)

    def by_type(self, flat: dict, kind: str, depth: int) -> Iterator[Boundary]:
        if kind in ("integer", "number"):
            yield from _numbers(flat, kind)
        elif kind == "string":
            yield from self.strings(flat)
        elif kind == "boolean":
            yield from (Boundary(False, "false"), Boundary(True, "true"))
        elif kind == "null":
            yield Boundary(None, "type null")
        elif kind == "array":
            yield from self.arrays(flat, depth)
        elif kind == "object":
            yield from self.objects(flat, depth)

    def strings(self, flat: dict) -> Iterator[Boundary]:
        low = size_keyword(flat.get("minLength")) or 0
        high = size_keyword(flat.get("maxLength"))
        fmt = flat.get("format")
        pattern = flat.get("pattern")
        if isinstance(pattern, str):
            yield from self.pattern_strings(pattern, low, high)
            return
        if isinstance(fmt, str) and fmt not in _TEXT_FORMATS:
            if fmt in FORMAT_VALUES:
                yield Boundary(FORMAT_VALUES[fmt], f"format {fmt}")
            if fmt in FORMAT_EDGES:
                yield Boundary(FORMAT_EDGES[fmt], f"format {fmt} (edge)")
            return  # an unknown format may carry rules we cannot see: minimal value only
        if low <= self.text_limit:
            yield Boundary("a" * low, f"minLength {low}" if low else "empty string")
            if not low:
                yield Boundary("a", "one character")  # what a header can carry
        if high is not None and high <= self.text_limit:
            yield Boundary("a" * high, f"maxLength {high}")
            yield Boundary("é" * high, f"maxLength {high} (non-ASCII)")
        elif high is None:
            yield Boundary("é" * max(low, 1), "non-ASCII text")

    def pattern_strings(self, pattern: str, low: int, high: int | None) -> Iterator[Boundary]:
        wanted = [(low, f"minLength {low}" if low else "shortest match of the pattern")]
        if high is not None and high <= self.text_limit:
            wanted.append((high, f"maxLength {high}"))
        for length, label in wanted:
            try:
                yield Boundary(minimal_match(pattern, min_length=length), label)
            except RegexTooHard:
                return

    def arrays(self, flat: dict, depth: int) -> Iterator[Boundary]:
        low = size_keyword(flat.get("minItems")) or 0
        high = size_keyword(flat.get("maxItems"))
        items = flat.get("items", True)
        unique = flat.get("uniqueItems") is True
        base = self.minimal(flat)
        if not isinstance(base, list) and not flat.get("prefixItems"):
            # minimal_value gives up on uniqueItems with minItems > 1; distinct items do it.
            base = self.fill(items, low, unique, depth)
        if not isinstance(base, list):
            return
        yield Boundary(base, f"minItems {low}" if base else "empty array")
        if base:
            yield Boundary([], "empty array")
        if high is not None and high <= self.items_limit and not flat.get("prefixItems"):
            filled = self.fill(items, high, unique, depth)
            if filled is not None:
                yield Boundary(filled, f"maxItems {high}")
        if flat.get("prefixItems"):
            return
        for child in self.candidates(items, depth + 1, _CHILD_LIMIT):
            yield Boundary([child.value, *base[1:]], nested_label(0, child.label))

    def fill(self, items: Any, count: int, unique: bool, depth: int) -> list | None:
        """``count`` valid items, all different when ``unique``; ``None`` if not possible."""
        first = self.minimal(items)
        if first is NOT_SET:
            return None
        if not unique:
            return [first] * count
        return distinct_values(items, count, self.registry, self.direction,
                               [first, *(b.value for b in self.candidates(items, depth + 1,
                                                                            count))])

    def objects(self, flat: dict, depth: int) -> Iterator[Boundary]:
        base = self.minimal(flat)
        if not isinstance(base, dict):
            return
        yield Boundary(base, "minimal object" if base else "empty object")
        if base:
            yield Boundary({}, "empty object")
        properties = flat.get("properties") if isinstance(flat.get("properties"), dict) else {}
        present = {name: sub for name, sub in properties.items()
                   if not is_skipped(sub, self.registry, self.direction)}
        everything = dict(base)
        for name, sub in present.items():
            if name not in everything:
                value = self.minimal(sub)
                if value is not NOT_SET:
                    everything[name] = value
        yield Boundary(everything, "all properties present")
        extra = flat.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            value = self.minimal(extra)
            if value is not NOT_SET:
                yield Boundary({**base, "extra": value}, "additional property present")
        yield from round_robin(self.property_values(base, name, sub, depth)
                                for name, sub in present.items())

    def property_values(self, base: dict, name: str, sub: Any, depth: int
                        ) -> Iterator[Boundary]:
        if name not in base:
            value = self.minimal(sub)
            if value is not NOT_SET:
                yield Boundary({**base, name: value}, f"optional {name!r} present")
        for child in self.candidates(sub, depth + 1, _CHILD_LIMIT):
            yield Boundary({**base, name: child.value}, nested_label(name, child.label))


def distinct_values(items: Any, count: int, registry: Registry, direction: str,
                    pool: Iterable[Any]) -> list | None:
    """``count`` different valid values of ``items``: from ``pool`` first, then variants of
    its first value (numbers counted up, strings suffixed); ``None`` if there are not enough."""
    validator = schema_validator(items, registry, direction=direction)
    chosen: dict[str, Any] = {}
    pool = list(pool)
    for value in [*pool, *_variants(pool[0] if pool else None, count * 2)]:
        key = value_key(value)
        if key not in chosen and errors_of(validator, value) == []:
            chosen[key] = value
            if len(chosen) == count:
                return list(chosen.values())
    return None


def _variants(seed: Any, count: int) -> Iterator[Any]:
    for index in range(1, count + 1):
        if isinstance(seed, bool) or seed is None:
            return
        if isinstance(seed, int | float):
            yield seed + index
        elif isinstance(seed, str):
            yield f"{seed}{index}"
            yield f"{index}{seed}"


def _numbers(flat: dict, kind: str) -> Iterator[Boundary]:
    step = step_of(flat)
    span = INT_FORMATS.get(flat.get("format")) if kind == "integer" else None
    for bound, upward in ((lower_bound(flat), True), (upper_bound(flat), False)):
        if bound is not None:
            value = as_json_number(inside(bound, kind, step, upward=upward), kind)
            if bound.exclusive:
                side = "above" if upward else "below"
                label = f"just {side} {bound.keyword} {show(bound.value)}"
            else:
                label = f"{bound.keyword} {show(bound.value)}"
        elif span is not None:
            edge = span[0] if upward else span[1]
            value = edge if step is None else None
            label = f"{flat['format']} {'minimum' if upward else 'maximum'}"
        else:
            continue
        if value is not None:
            yield Boundary(value, label)
    yield Boundary(0, "zero")


def round_robin(streams: Iterable[Iterator[Any]]) -> Iterator[Any]:
    """One value from each stream in turn, so every property gets its first value early."""
    active = [iter(s) for s in streams]
    while active:
        still = []
        for stream in active:
            value = next(stream, NOT_SET)
            if value is not NOT_SET:
                yield value
                still.append(stream)
        active = still

"""Leaf mutations: candidate invalid values of one schema, each broken in one named way.

A wrong type, a number just past a bound (kept on its ``multipleOf`` step), a string one
character too short or too long (still matching its pattern), a pattern or format miss, an
enum or const miss. ``mutator.Mutator`` adds the structural ones (properties, items) and
``negative.negative_values`` keeps only those the validator really rejects, for the named
reason, at the named place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..core.jsonvalues import json_type
from ..core.records import NOT_SET
from .coverage import show
from .numbers import (
    INT_FORMATS,
    Bound,
    as_json_number,
    exact,
    inside,
    lower_bound,
    outside,
    step_of,
    upper_bound,
)
from .regex import RegexTooHard, minimal_match
from .schemaview import pointer, size_keyword

TEXT_LIMIT = 100_000
# Strings the format checker rejects (checked again by the caller's validator).
FORMAT_INVALID = {
    "date": "not-a-date",
    "date-time": "not-a-date-time",
    "time": "not-a-time",
    "email": "not-an-email",
    "idn-email": "not-an-email",
    "uuid": "not-a-uuid",
    "uri": "not-a-uri",
    "uri-reference": "not a uri",
    "hostname": "not_a_hostname!",
    "idn-hostname": "not_a_hostname!",
    "ipv4": "999.999.999.999",
    "ipv6": "not-an-ipv6",
    "duration": "not-a-duration",
    "json-pointer": "not-a-json-pointer",
    "regex": "(unclosed",
    "uri-template": "{unclosed",
}
# A value of a clearly different type for each type; the first not allowed is used.
_WRONG = {
    "integer": "not-a-number",
    "number": "not-a-number",
    "boolean": "not-a-boolean",
    "string": 12345,
    "array": {"not": "an array"},
    "object": "not-an-object",
    "null": "not-null",
}
_FALLBACK_WRONG = ("not-a-number", 12345, {"not": "an array"}, ["not", "an object"], True)
_FILLERS = "~!-a0A_ "


@dataclass(frozen=True, slots=True)
class Mutation:
    """A candidate invalid value: how it is broken (``kind``), where (a JSON pointer into
    the value) and a message saying so. Unverified until ``negative`` checks it."""

    value: Any
    kind: str
    pointer: str
    message: str

    def inside(self, name: Any, base: Any) -> Mutation:
        """This mutation placed as ``base[name]`` (its pointer prefixed accordingly)."""
        container = list(base) if isinstance(base, list) else dict(base)
        container[name] = self.value
        return Mutation(container, self.kind, pointer([name]) + self.pointer, self.message)


def wrong_type_value(types: list[str]) -> Any:
    """A value of none of ``types`` (``integer`` counts as allowed under ``number``)."""
    allowed = set(types) | ({"integer"} if "number" in types else set())
    for value in (_WRONG.get(types[0]), *_FALLBACK_WRONG):
        if json_type(value) not in allowed:
            return value
    return NOT_SET


def pattern_miss(pattern: str, low: int, high: int | None) -> str | None:
    """A string of an allowed length that ``pattern`` does not match, if a simple one does."""
    length = max(low, 1) if high is None else min(max(low, 1), high)
    for filler in _FILLERS:
        text = filler * length
        try:
            if re.search(pattern, text) is None:
                return text
        except re.error:
            return None
    return None


def string_mutations(flat: dict) -> Iterator[Mutation]:
    """One character too short or too long (still matching the pattern), a pattern miss,
    a format miss."""
    low = size_keyword(flat.get("minLength")) or 0
    high = size_keyword(flat.get("maxLength"))
    pattern = flat.get("pattern") if isinstance(flat.get("pattern"), str) else None
    if low > 0:
        text = _short(pattern, low)
        if text is not None:
            yield Mutation(text, "too_short", "", f"a string of {len(text)} characters is "
                                                  f"shorter than the minLength {low}")
    if high is not None and high + 1 <= TEXT_LIMIT:
        text = _long(pattern, high + 1)
        if text is not None:
            yield Mutation(text, "too_long", "", f"a string of {len(text)} characters is "
                                                 f"longer than the maxLength {high}")
    if pattern is not None:
        text = pattern_miss(pattern, low, high)
        if text is not None:
            yield Mutation(text, "pattern", "",
                           f"{show(text)} does not match the pattern {show(pattern)}")
    fmt = flat.get("format")
    if fmt in FORMAT_INVALID:
        text = FORMAT_INVALID[fmt].ljust(low, "x")[: high if high is not None else None]
        yield Mutation(text, "format", "", f"{show(text)} is not a valid {fmt}")


def _short(pattern: str | None, low: int) -> str | None:
    if pattern is None:
        return "a" * (low - 1)
    try:
        text = minimal_match(pattern)
    except RegexTooHard:
        return None
    return text if len(text) < low else None


def _long(pattern: str | None, length: int) -> str | None:
    if pattern is None:
        return "a" * length
    try:
        return minimal_match(pattern, min_length=length)
    except RegexTooHard:
        return None


def const_mutations(value: Any) -> Iterator[Mutation]:
    """A value of the same type that is not the constant."""
    other = _different(value, [value])
    if other is not NOT_SET:
        yield Mutation(other, "const", "", f"{show(other)} is not the constant {show(value)}")


def enum_mutations(values: list) -> Iterator[Mutation]:
    """A value of the first value's type that is in none of the enum."""
    other = _different(values[0], values)
    if other is not NOT_SET:
        yield Mutation(other, "enum", "", f"{show(other)} is not one of the enum values")


def _different(like: Any, excluded: list) -> Any:
    """A value of the same type as ``like`` that is none of ``excluded``."""
    if isinstance(like, bool):
        candidates: Iterable[Any] = (not like,)
    elif isinstance(like, int | float):
        numbers = [v for v in excluded if isinstance(v, int | float) and not isinstance(v, bool)]
        candidates = (max(numbers) + 1,)
    elif isinstance(like, str):
        candidates = ("not-in-enum", "not-in-enum-2", "not-in-enum-3")
    else:
        candidates = ("not-in-enum",)
    for candidate in candidates:
        if candidate not in excluded:
            return candidate
    return NOT_SET


def _fraction(flat: dict) -> float:
    """Half past a valid integer: in range, yet not an integer."""
    low, high = lower_bound(flat), upper_bound(flat)
    anchor = Decimal(0)  # zero when in range, else the nearest bound
    lowest = inside(low, "integer", None, upward=True) if low is not None else None
    highest = inside(high, "integer", None, upward=False) if high is not None else None
    if lowest is not None:
        anchor = max(anchor, lowest)
    if highest is not None:
        anchor = min(anchor, highest)
    value = anchor + Decimal("0.5")
    if high is not None and value > exact(high.value):
        value = anchor - Decimal("0.5")
    return float(value)


def _off_step(flat: dict, kind: str, step: Decimal, low: Bound | None,
              high: Bound | None) -> int | float | None:
    anchor = inside(low, kind, step, upward=True) if low else None
    if anchor is None and high is not None:
        anchor = inside(high, kind, step, upward=False)
    anchor = anchor if anchor is not None else Decimal(0)
    whole = step == step.to_integral_value()
    if kind == "integer" and whole and step > 1:
        value = anchor + 1
    elif kind == "integer":
        return None
    else:
        value = anchor + step / 2
    if high is not None and value > exact(high.value):
        value = anchor - (1 if kind == "integer" else step / 2)
    return as_json_number(value, kind)


def _range_message(value: Any, bound: Bound) -> str:
    limit = show(bound.value)
    return {
        "minimum": f"{value} is below the minimum {limit}",
        "exclusiveMinimum": f"{value} is not above the exclusive minimum {limit}",
        "maximum": f"{value} is above the maximum {limit}",
        "exclusiveMaximum": f"{value} is not below the exclusive maximum {limit}",
    }[bound.keyword]


def wrong_type_mutations(flat: dict, types: list[str], location: str) -> Iterator[Mutation]:
    """A clearly different type, a fraction for an integer, null in a body (unless allowed)."""
    if not types:
        return
    shown = " or ".join(types)
    value = wrong_type_value(types)
    if value is not NOT_SET:
        yield Mutation(value, "wrong_type", "", f"{show(value)} is not of type {shown}")
    if "integer" in types and "number" not in types:
        fraction = _fraction(flat)
        what = "an integer" if types == ["integer"] else f"of type {shown}"
        yield Mutation(fraction, "wrong_type", "", f"{fraction} is not {what}")
    if "null" not in types and location == "body":
        yield Mutation(None, "wrong_type", "", f"null is not allowed (type {shown})")


def number_mutations(flat: dict, kind: str) -> Iterator[Mutation]:
    """Just past each bound (on the step), past an int32/int64 range, off the step."""
    step = step_of(flat)
    low, high = lower_bound(flat), upper_bound(flat)
    for bound, upward in ((low, False), (high, True)):
        if bound is not None:
            value = as_json_number(outside(bound, kind, step, upward=upward), kind)
            if value is not None:
                yield Mutation(value, "out_of_range", "", _range_message(value, bound))
    span = INT_FORMATS.get(flat.get("format")) if kind == "integer" else None
    if span is not None:
        name = flat["format"]
        if low is None:
            yield Mutation(span[0] - 1, "format", "", f"{span[0] - 1} is below the {name} range")
        if high is None:
            yield Mutation(span[1] + 1, "format", "", f"{span[1] + 1} is above the {name} range")
    if step is not None:
        value = _off_step(flat, kind, step, low, high)
        if value is not None:
            yield Mutation(value, "multiple_of", "",
                           f"{value} is not a multiple of {flat['multipleOf']}")

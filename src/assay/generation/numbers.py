"""Numbers at and just past the bounds of a numeric schema, computed exactly.

Arithmetic is done in ``Decimal`` on the bounds as written (``0.1`` is one tenth, not the
nearest double), so that ``maximum: 2.5`` gives ``2.499`` inside and ``2.501`` outside, and a
multiple of ``multipleOf: 0.01`` is written as such. Floats are nudged by a visible amount
(two decimal places finer than the bound, e.g. ``0.01`` next to ``0`` or ``100``) rather than
by one unit in the last place: a server that parses numbers as decimals or single-precision
floats must still see a different number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

INT_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True, slots=True)
class Bound:
    """One side of a numeric range: the bound as written and whether it is exclusive."""

    value: int | float
    exclusive: bool
    keyword: str


def is_number(value: Any) -> bool:
    """True for finite ints and floats (``bool`` is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def lower_bound(schema: dict) -> Bound | None:
    """The tighter of ``minimum`` and ``exclusiveMinimum`` (numbers only), if any."""
    return _tighter(schema, "minimum", "exclusiveMinimum", max)


def upper_bound(schema: dict) -> Bound | None:
    """The tighter of ``maximum`` and ``exclusiveMaximum`` (numbers only), if any."""
    return _tighter(schema, "maximum", "exclusiveMaximum", min)


def _tighter(schema: dict, inclusive: str, exclusive: str, pick) -> Bound | None:
    bounds = []
    if is_number(schema.get(inclusive)):
        bounds.append(Bound(schema[inclusive], False, inclusive))
    if is_number(schema.get(exclusive)):
        bounds.append(Bound(schema[exclusive], True, exclusive))
    if not bounds:
        return None
    best = pick(b.value for b in bounds)
    # At equal values the exclusive bound is the tighter one.
    return sorted((b for b in bounds if b.value == best), key=lambda b: not b.exclusive)[0]


def step_of(schema: dict) -> Decimal | None:
    """``multipleOf`` as a positive ``Decimal``, or ``None``."""
    step = schema.get("multipleOf")
    if not is_number(step) or step <= 0:
        return None
    return exact(step)


def exact(value: int | float) -> Decimal:
    """The number as written: ``exact(0.1) == Decimal("0.1")``."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def fine_step(bound: int | float) -> Decimal:
    """A nudge two decimal places finer than ``bound`` (``0.01`` for ``0`` or ``2100``)."""
    exponent = exact(bound).normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        return Decimal("0.01")
    return Decimal(1).scaleb(min(exponent, 0) - 2)


def inside(bound: Bound, kind: str, step: Decimal | None, *, upward: bool) -> Decimal | None:
    """The valid number closest to ``bound`` (``upward``: the bound is a lower one)."""
    value = exact(bound.value)
    unit = step or (Decimal(1) if kind == "integer" else None)
    if unit is None:
        return value + fine_step(bound.value) * (1 if upward else -1) if bound.exclusive else value
    return _multiple(value, unit, upward=upward, strict=bound.exclusive)


def outside(bound: Bound, kind: str, step: Decimal | None, *, upward: bool) -> Decimal | None:
    """The invalid number closest to ``bound``: past it, yet of the right kind and step
    (``upward``: the bound is an upper one, so the number lies above it)."""
    value = exact(bound.value)
    unit = step or (Decimal(1) if kind == "integer" else None)
    if unit is None:
        return value if bound.exclusive else value + fine_step(bound.value) * (1 if upward else -1)
    return _multiple(value, unit, upward=upward, strict=not bound.exclusive)


def _multiple(value: Decimal, unit: Decimal, *, upward: bool, strict: bool) -> Decimal | None:
    """The first multiple of ``unit`` at or past ``value`` (past it when ``strict``)."""
    try:
        count = (value / unit).to_integral_value(ROUND_CEILING if upward else ROUND_FLOOR)
        if strict and count * unit == value:
            count += 1 if upward else -1
        return count * unit
    except InvalidOperation:
        return None


def as_json_number(value: Decimal | None, kind: str) -> int | float | None:
    """``value`` as the int or float a JSON document carries; ``None`` when it is not one
    (not finite as a float, or not whole for an integer)."""
    if value is None or not value.is_finite():
        return None
    if value == value.to_integral_value():
        return int(value)
    if kind == "integer":
        return None
    number = float(value)
    return number if math.isfinite(number) else None

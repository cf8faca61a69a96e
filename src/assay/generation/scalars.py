"""Strategies for numbers and strings of one schema (already normalized).

Numbers are finite (JSON cannot carry NaN or infinity) and respect ``minimum``,
``maximum``, their exclusive forms, the integer formats (``int32``, ``int64``, ``uint32``...)
and ``multipleOf``, which is met by construction: a drawn integer times the step. For a
fractional step the value is checked the way the validator checks it (``value / step`` is
integral in floating point), since ``0.1 * 3`` is not a multiple of ``0.1`` to a computer.

Strings respect ``minLength``/``maxLength`` (in code points), ``pattern``, ``format`` and the
location's alphabet; unconstrained ones stay short (at most 20 characters more than
``minLength``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .alphabets import Alphabet
from .filtering import keep
from .formats import format_samples, format_strategy, natural_lengths
from .minimal import FORMAT_VALUES, CannotGenerate
from .patterns import CompiledPattern, compiled_strategy
from .regex import RegexTooHard

TEXT_SLACK = 20  # characters an unconstrained string may have beyond minLength
INT_FORMATS = {
    "int8": (-(2**7), 2**7 - 1), "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
_FLOAT32_MAX = 3.4028234663852886e38
_STEP_SEARCH = 1000
_TRIALS = 20  # seeded pattern walks that decide how a pattern and a format combine

FormatCheck = Callable[[str], bool]
_TIME_TAIL = re.compile(r"(Z|[+-]\d\d:\d\d)$")
_FRACTION = re.compile(r"\.\d+$")


def _number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def integer_bounds(schema: dict) -> tuple[int | None, int | None]:
    """The smallest and largest integer ``schema`` allows (``None``: unbounded)."""
    low: int | None = None
    high: int | None = None
    if _number(schema.get("minimum")):
        low = math.ceil(schema["minimum"])
    if _number(schema.get("exclusiveMinimum")):
        edge = math.floor(schema["exclusiveMinimum"]) + 1
        low = edge if low is None else max(low, edge)
    if _number(schema.get("maximum")):
        high = math.floor(schema["maximum"])
    if _number(schema.get("exclusiveMaximum")):
        edge = math.ceil(schema["exclusiveMaximum"]) - 1
        high = edge if high is None else min(high, edge)
    span = INT_FORMATS.get(schema.get("format"))
    if span is not None:
        low = span[0] if low is None else max(low, span[0])
        high = span[1] if high is None else min(high, span[1])
    return low, high


def is_multiple(value: int | float, step: int | float) -> bool:
    """``value`` is a multiple of ``step`` as the validator (jsonschema) computes it."""
    if isinstance(step, float):
        quotient = value / step
        try:
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(value) / Fraction(step)).denominator == 1
    return value % step == 0


def integer_strategy(schema: dict) -> st.SearchStrategy[int]:
    """Integers valid for ``schema``; raises ``CannotGenerate`` when there are none."""
    low, high = integer_bounds(schema)
    if low is not None and high is not None and low > high:
        raise CannotGenerate(f"no integer between {low} and {high}")
    step = schema.get("multipleOf")
    if not _number(step) or step <= 0:
        return st.integers(low, high)
    unit = _integer_unit(step)
    first = None if low is None else -(-low // unit)
    last = None if high is None else high // unit
    if first is not None and last is not None and first > last:
        raise CannotGenerate(f"no multiple of {step} between {low} and {high}")
    values = st.integers(first, last).map(lambda k: k * unit)
    return values if isinstance(step, int) else keep(values, lambda v: is_multiple(v, step))


def _integer_unit(step: int | float) -> int:
    """The smallest positive integer that is a multiple of ``step``."""
    if isinstance(step, int):
        return step
    for candidate in range(1, _STEP_SEARCH + 1):
        if is_multiple(candidate, step):
            return candidate
    raise CannotGenerate(f"no small integer is a multiple of {step}")


def number_strategy(schema: dict) -> st.SearchStrategy[int | float]:
    """Finite numbers (ints and floats) valid for ``schema``."""
    low, low_open = _float_bound(schema, "minimum", "exclusiveMinimum", max)
    high, high_open = _float_bound(schema, "maximum", "exclusiveMaximum", min)
    if schema.get("format") == "float":
        low = -_FLOAT32_MAX if low is None else max(low, -_FLOAT32_MAX)
        high = _FLOAT32_MAX if high is None else min(high, _FLOAT32_MAX)
    step = schema.get("multipleOf")
    if _number(step) and step > 0:
        return _multiples(step, low, low_open, high, high_open)
    options = []
    try:
        options.append(integer_strategy(schema))
    except CannotGenerate:
        pass
    floats = st.floats(low, high, allow_nan=False, allow_infinity=False,
                       exclude_min=low_open and low is not None,
                       exclude_max=high_open and high is not None)
    try:
        floats.validate()
        options.append(floats)
    except InvalidArgument:
        pass
    if not options:
        raise CannotGenerate(f"no number between {low} and {high}")
    return st.one_of(options)


def _float_bound(schema: dict, inclusive: str, exclusive: str,
                 tighter: Callable) -> tuple[float | None, bool]:
    bounds = []
    for keyword, is_open in ((inclusive, False), (exclusive, True)):
        if _number(schema.get(keyword)):
            try:
                bounds.append((float(schema[keyword]), is_open))
            except OverflowError as exc:  # an integer bound beyond any float
                raise CannotGenerate(f"{keyword} {schema[keyword]} is beyond floating "
                                     "point range") from exc
    if not bounds:
        return None, False
    value = tighter(b[0] for b in bounds)
    return value, any(b == (value, True) for b in bounds)


def _multiples(step: int | float, low: float | None, low_open: bool, high: float | None,
               high_open: bool) -> st.SearchStrategy[int | float]:
    first = None if low is None else math.ceil(low / step)
    last = None if high is None else math.floor(high / step)
    if first is not None and last is not None and first > last:
        raise CannotGenerate(f"no multiple of {step} between {low} and {high}")
    places = _decimal_places(step)

    def value(k: int) -> int | float | None:
        # k * 0.1 may be off by one ulp; rounding to the step's decimals often fixes it.
        candidates = [k * step, round(k * step, places)]
        for candidate in candidates:
            if not math.isfinite(candidate) or not is_multiple(candidate, step):
                continue
            if low is not None and (candidate < low or (low_open and candidate == low)):
                continue
            if high is not None and (candidate > high or (high_open and candidate == high)):
                continue
            return candidate
        return None

    return keep(st.integers(first, last).map(value), lambda v: v is not None)


def _decimal_places(step: int | float) -> int:
    mantissa, _, exponent = repr(float(step)).partition("e")
    places = len(mantissa.split(".")[1].rstrip("0")) if "." in mantissa else 0
    return max(0, places - int(exponent or 0))


def string_strategy(schema: dict, alphabet: Alphabet, *,
                    compile_pattern: Callable[[str], CompiledPattern],
                    format_check: Callable[[str], FormatCheck | None]) -> st.SearchStrategy[str]:
    """Strings valid for ``schema`` that survive in ``alphabet``'s location.

    ``compile_pattern`` turns a pattern into a ``CompiledPattern`` for this alphabet (the
    caller caches them); ``format_check`` gives the validator's test for a format, or
    ``None`` when the validator does not check it.
    """
    low = max(int(schema.get("minLength", 0)), alphabet.min_size)
    high = schema.get("maxLength")
    high = int(high) if _number(high) else None
    if high is not None and high < low:
        raise CannotGenerate(f"no string is at least {low} and at most {high} long")
    fmt = schema.get("format") if isinstance(schema.get("format"), str) else None
    check = format_check(fmt) if fmt else None
    pattern = schema.get("pattern")
    try:
        if isinstance(pattern, str):
            return _patterned(compile_pattern(pattern), fmt, check, alphabet, low, high)
    except RegexTooHard as exc:
        raise CannotGenerate(str(exc)) from exc
    if fmt is not None:
        formatted = _formatted(fmt, check, alphabet, low, high)
        if formatted is not None:
            return formatted
    most = high if high is not None and high <= low + TEXT_SLACK else low + TEXT_SLACK
    text = st.text(alphabet.characters(), min_size=low, max_size=most)
    if alphabet.has_string_rules:
        text = keep(text, alphabet.accepts)
    # A format the validator checks but we build nothing for (int32 on a string): the
    # check decides.
    return text if check is None else keep(text, check)


def _patterned(compiled: CompiledPattern, fmt: str | None, check: FormatCheck | None,
               alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    """Strings matching the pattern, and the format when the validator checks it.

    With both, one generates and the other filters. A few seeded dry runs decide which:
    the pattern first when its strings often pass the format check; else the format first
    (letter case adapted to the pattern, as in an upper-case UUID pattern) when typical
    format values match the pattern; else ``CannotGenerate`` rather than a strategy that
    would reject every draw.
    """
    by_pattern = compiled_strategy(compiled, min_size=low, max_size=high)
    if check is None or fmt is None:
        return by_pattern
    trials = compiled.samples(low, math.inf if high is None else high, _TRIALS)
    passing = sum(1 for text in trials if check(text))
    if passing * 4 >= len(trials) > 0:
        return keep(by_pattern, check)
    formatted = format_strategy(fmt, alphabet, min_size=low, max_size=high)
    samples = [*format_samples(fmt), FORMAT_VALUES.get(fmt, "")]
    if formatted is not None and any(compiled.matches(_cased(s, compiled)) for s in samples):
        cased = formatted.map(lambda s: _cased(s, compiled))
        return keep(cased, lambda s: compiled.matches(s) and check(s))
    if passing:
        return keep(by_pattern, check)
    raise CannotGenerate(f"no string seen matches both pattern {compiled.pattern!r} and "
                         f"format {fmt!r}")


def _cased(text: str, compiled: CompiledPattern) -> str:
    """``text`` or the first variant of it (other letter case; for date-times also without
    fraction, with ``Z`` or ``+00:00`` as offset) that matches the pattern."""
    if compiled.matches(text):
        return text
    plain = _TIME_TAIL.sub("", text) if _TIME_TAIL.search(text) else None
    variants = [text.upper(), text.lower()]
    if plain is not None:
        bare = _FRACTION.sub("", plain)
        variants += [plain + "Z", bare + "Z", plain + "+00:00", bare + "+00:00", bare,
                     text.replace("Z", "+00:00")]
    for variant in variants:
        if compiled.matches(variant):
            return variant
    return text


def _formatted(fmt: str, check: FormatCheck | None, alphabet: Alphabet, low: int,
               high: int | None) -> st.SearchStrategy[str] | None:
    lengths = natural_lengths(fmt)
    if lengths is None:
        return None  # no builder for this format: plain text (checked by the caller)
    fits = (lengths[0] <= (math.inf if high is None else high)
            and (lengths[1] is None or lengths[1] >= low))
    formatted = format_strategy(fmt, alphabet, min_size=low, max_size=high) if fits else None
    if formatted is None:
        if check is not None:
            raise CannotGenerate(
                f"no {fmt!r} value is {low}..{high} characters long in this location")
        return None  # an unchecked format: plain text of the right length is valid
    # The validator's own check is the last word (its "time" differs between drafts).
    return formatted if check is None else keep(formatted, check)

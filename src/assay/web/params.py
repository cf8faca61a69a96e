"""Reading what clients send to the API, rule for rule as ``openapi.yaml`` states it.

The rules follow the validator assay itself uses (Python's jsonschema), so that the API and
``assay test`` agree on every input: a query integer is whatever ``int()`` reads after
stripping (as ``specs.coerce`` reads parameters), a date-time is what ``rfc3339_validator``
accepts, a ``pattern`` is searched with ``re.search`` (the very patterns of the document),
``true`` is not a number, and JSON has no ``NaN``.

Times are RFC 3339 date-times or epoch seconds; both become epoch seconds, clamped to the
years 1 to 9999 (``jsonview.clamp_time``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from rfc3339_validator import validate_rfc3339

from .jsonview import MAX_TIME, clamp_time
from .problems import ApiError, FieldError, bad_parameter

# The patterns of openapi.yaml (tests/test_web_openapi.py checks that they agree).
EPOCH_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
DURATION_PATTERN = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h|d)?$"
# No control characters in a silence's monitor, no NUL in its reason (PostgreSQL text
# cannot hold NUL).
MONITOR_PATTERN = r"^[^\u0000-\u001F\u007F]*$"
REASON_PATTERN = r"^[^\u0000]*$"
_EPOCH = re.compile(EPOCH_PATTERN)
_DURATION = re.compile(DURATION_PATTERN)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                      r"(Z|[+-]\d{2}:\d{2})$", re.ASCII)
TIME_HINT = "expected an RFC 3339 date-time (2024-05-01T12:00:00Z) or epoch seconds"
MONITOR_MAX_LENGTH = 200
REASON_MAX_LENGTH = 500
_DIGITS_PER_CHUNK = 4000  # below int()'s default limit of 4300 digits


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to the given proleptic Gregorian date (any year).

    >>> days_from_civil(2000, 3, 1)
    11017
    """
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def rfc3339_seconds(text: str) -> float | None:
    """Epoch seconds of an RFC 3339 date-time, or None when ``text`` is not one."""
    upper = text.upper()
    if not validate_rfc3339(upper):
        return None
    match = _RFC3339.match(upper)
    if match is None:  # the validator and this pattern agree; kept for safety
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = float("0" + match.group(7)) if match.group(7) else 0.0
    zone = match.group(8)
    offset = 0 if zone == "Z" else (int(zone[1:3]) * 60 + int(zone[4:6])) * 60
    if zone.startswith("-"):
        offset = -offset
    days = days_from_civil(year, month, day)
    return days * 86400.0 + hour * 3600 + minute * 60 + second + fraction - offset


def parse_time_text(text: str) -> float | None:
    """A time parameter (date-time or epoch seconds) as clamped epoch seconds, or None."""
    seconds = rfc3339_seconds(text)
    if seconds is None and _EPOCH.search(text):
        seconds = float(text)  # float() reads the trailing newline `$` lets through
    return None if seconds is None else clamp_time(seconds)


def query_time(query: Mapping[str, str], name: str) -> float | None:
    """The optional time parameter ``name``; a 400 naming it when it is not a time."""
    text = query.get(name)
    if text is None:
        return None
    seconds = parse_time_text(text)
    if seconds is None:
        raise bad_parameter(name, f"{TIME_HINT}, found {text[:80]!r}")
    return seconds


def query_int(query: Mapping[str, str], name: str, *, default: int, minimum: int,
              maximum: int) -> int:
    """The optional integer parameter ``name`` within bounds; a 400 naming it otherwise."""
    text = query.get(name)
    if text is None:
        return default
    value = text_int(text)
    if value is None:
        raise bad_parameter(name, f"expected an integer, found {text[:80]!r}")
    if not minimum <= value <= maximum:
        raise bad_parameter(name, f"expected an integer from {minimum} to {maximum}, "
                                  f"found {value if abs(value) < 10**20 else 'a huge number'}")
    return value


def text_int(text: str) -> int | None:
    """``text`` as an integer the way parameters are read back (``int`` of the stripped
    text), or None."""
    try:
        return int(text.strip())
    except ValueError:  # not an integer, or more digits than int() reads
        return None


def parse_json(raw: bytes) -> Any:
    """The request body as JSON, or a 400 when it is not JSON (``NaN`` is not JSON)."""
    try:
        return json.loads(raw, parse_int=big_int, parse_constant=_not_a_number)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ApiError(400, f"The body is not valid JSON: {exc}",
                       FieldError("body", "expected a JSON document")) from exc


def big_int(text: str) -> int:
    """The JSON integer ``text``, however many digits (``int()`` stops at 4300).

    >>> big_int("-12")
    -12
    """
    digits = text.removeprefix("-")
    value = 0
    for start in range(0, len(digits), _DIGITS_PER_CHUNK):
        chunk = digits[start:start + _DIGITS_PER_CHUNK]
        value = value * 10 ** len(chunk) + int(chunk)
    return -value if text.startswith("-") else value


def _not_a_number(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


@dataclass(frozen=True, slots=True)
class NewSilence:
    """A valid ``NewSilence`` body: times in epoch seconds."""

    monitor: str
    starts_at: float
    ends_at: float
    reason: str


def new_silence(body: Any, now: float) -> NewSilence:
    """The silence a ``POST /api/silences`` body asks for, or a 422 listing every broken
    rule. ``starts_at`` defaults to ``now``; exactly one of ``ends_at`` and ``duration``."""
    if not isinstance(body, dict):
        raise ApiError(422, "The body must be a JSON object.",
                       FieldError("body", "expected a JSON object"))
    errors: list[FieldError] = []
    monitor = _text_field(body, "monitor", errors, required=True, min_length=1,
                          max_length=MONITOR_MAX_LENGTH, pattern=MONITOR_PATTERN)
    reason = _text_field(body, "reason", errors, max_length=REASON_MAX_LENGTH,
                         pattern=REASON_PATTERN)
    starts_at = _time_field(body, "starts_at", errors)
    ends_at = _time_field(body, "ends_at", errors)
    duration = _duration_field(body, errors)
    if ("ends_at" in body) == ("duration" in body):
        errors.append(FieldError("ends_at", "give exactly one of ends_at and duration"))
    if errors:
        raise ApiError(422, "The body breaks the rules of NewSilence.", *errors)
    start = now if starts_at is None else starts_at
    end = ends_at if ends_at is not None else clamp_time(start + (duration or 0.0))
    return NewSilence(monitor or "", start, end, reason or "")


def _text_field(body: dict[str, Any], name: str, errors: list[FieldError], *,
                required: bool = False, min_length: int = 0, max_length: int,
                pattern: str) -> str | None:
    if name not in body:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    value = body[name]
    if not isinstance(value, str):
        errors.append(FieldError(name, "expected a string"))
    elif not min_length <= len(value) <= max_length:
        errors.append(FieldError(name, f"expected {min_length} to {max_length} characters"))
    elif not re.search(pattern, value):
        errors.append(FieldError(name, "expected no control characters"))
    else:
        return value
    return None


def _number(value: Any) -> float | None:
    """A JSON number at or above 0 as a float (huge ones clamped), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond the float range: far in the future anyway
        return MAX_TIME * 2


def _time_field(body: dict[str, Any], name: str, errors: list[FieldError]) -> float | None:
    if name not in body:
        return None
    value = body[name]
    seconds = _number(value)
    if seconds is None and isinstance(value, str):
        seconds = rfc3339_seconds(value)
    if seconds is None:
        errors.append(FieldError(name, f"{TIME_HINT} (0 or more)"))
        return None
    return clamp_time(seconds)


def _duration_field(body: dict[str, Any], errors: list[FieldError]) -> float | None:
    if "duration" not in body:
        return None
    value = body["duration"]
    seconds = _number(value)
    if seconds is None and isinstance(value, str):
        match = _DURATION.search(value)
        if match is not None:
            number = match.group(0).removesuffix(match.group(2) or "")
            seconds = float(number) * _DURATION_UNITS[match.group(2)]
    if seconds is None:
        errors.append(FieldError("duration", "expected seconds (a number, 0 or more) or a "
                                             "duration such as 90s, 15m, 2h or 1d"))
    return seconds

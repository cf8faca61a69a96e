"""Checking what clients send, written out by hand as a small real service would.

The rules mirror openapi.yaml, constraint by constraint, and add none of their own: no
trimming, no limits the document does not state. Where JSON Schema leaves room, they follow
Python's jsonschema, the validator assay uses, so that the fixed app and assay agree on every
input: ``1965.0`` is an integer, ``true`` is not, string lengths count code points, and a
``pattern`` is searched with ``re.search``. Integers may have any number of digits (Python's
``int()`` refuses more than 4300 by default), and JSON's non-numbers (``NaN``,
``Infinity``) are not JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from .problems import FieldError, InvalidRequest, MalformedBody

ISBN = re.compile(r"^[0-9-]{10,17}$")
EDIT_REASON = re.compile(r"^[!-~]+( [!-~]+)*$")
LATEST_YEAR = 2100
TITLE_MAX_LENGTH = 200
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_DIGITS_PER_CHUNK = 4000  # below int()'s default limit of 4300 digits


def parse_json(raw: bytes) -> Any:
    """The request body as JSON, or ``MalformedBody`` (400)."""
    try:
        return json.loads(raw, parse_int=big_int, parse_constant=_not_a_number)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise MalformedBody(f"The body is not valid JSON: {exc}") from exc


def big_int(text: str) -> int:
    """The integer ``text`` spells (an optional ``-`` and ASCII digits), however long.

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
    # Python's json reads NaN and Infinity, which RFC 8259 does not allow.
    raise ValueError(f"{name} is not a JSON value")


def integer_param(name: str, text: str | None, *, default: int | None = None,
                  minimum: int | None = None, maximum: int | None = None) -> int:
    """A path or query parameter as an integer within bounds, or ``InvalidRequest`` (422).

    ``text`` is ``None`` when the parameter is absent; then ``default`` is used (a parameter
    without a default is required).
    """
    if text is None:
        if default is None:
            raise InvalidRequest(FieldError(name, "is required"))
        return default
    value = _parse_int(text)
    if value is None:
        raise InvalidRequest(FieldError(name, "must be an integer"))
    _check_range(name, value, minimum, maximum)
    return value


def text_param(name: str, text: str | None, *, min_length: int = 0,
               max_length: int | None = None, pattern: re.Pattern[str] | None = None) -> str:
    """A required string parameter within its lengths and matching ``pattern``, or
    ``InvalidRequest`` (422). ``text`` is ``None`` when the parameter is absent."""
    if text is None:
        raise InvalidRequest(FieldError(name, "is required"))
    if len(text) < min_length:
        raise InvalidRequest(FieldError(name, f"must have at least {min_length} character(s)"))
    if max_length is not None and len(text) > max_length:
        raise InvalidRequest(FieldError(name, f"must have at most {max_length} characters"))
    if pattern is not None and not pattern.search(text):
        raise InvalidRequest(FieldError(name, f"must match {pattern.pattern}"))
    return text


def new_book(body: Any, *, latest_year: int | None = LATEST_YEAR,
             title_max_length: int = TITLE_MAX_LENGTH) -> dict[str, Any]:
    """The fields of a NewBook body, or ``InvalidRequest`` listing every broken rule.

    Unknown fields are ignored, as the schema allows them. ``latest_year=None`` lifts the
    upper bound on ``published``, and a ``title_max_length`` below 200 rejects titles the
    document allows (both seeded defects).
    """
    if not isinstance(body, dict):
        raise InvalidRequest(FieldError("body", "must be a JSON object"))
    errors: list[FieldError] = []
    fields = {
        "title": _string(body, "title", errors, required=True, min_length=1,
                         max_length=title_max_length),
        "author": _string(body, "author", errors, required=True, min_length=1, max_length=100),
        "published": _year(body, errors, latest_year),
        "isbn": _string(body, "isbn", errors, pattern=ISBN),
        "tags": _tags(body, errors),
    }
    if errors:
        raise InvalidRequest(*errors)
    return {name: value for name, value in fields.items() if value is not None}


def _parse_int(text: str) -> int | None:
    """The integer that ``text`` spells in ASCII digits (``int()`` would also take "1_0",
    " 1" or Unicode digits, which are no integers in a URL)."""
    return big_int(text) if _INTEGER_TEXT.fullmatch(text) else None


def _json_integer(value: Any) -> int | None:
    """``value`` as an int if JSON Schema calls it an integer (``1965.0`` included)."""
    if isinstance(value, bool):  # bool is an int subclass in Python, not in JSON
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _check_range(name: str, value: int, minimum: int | None, maximum: int | None) -> None:
    if minimum is not None and value < minimum:
        raise InvalidRequest(FieldError(name, f"must be at least {minimum}"))
    if maximum is not None and value > maximum:
        raise InvalidRequest(FieldError(name, f"must be at most {maximum}"))


def _string(body: dict[str, Any], name: str, errors: list[FieldError], *, required: bool = False,
            min_length: int = 0, max_length: int | None = None,
            pattern: re.Pattern[str] | None = None) -> str | None:
    if name not in body:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    value = body[name]
    if not isinstance(value, str):
        errors.append(FieldError(name, "must be a string"))
    elif len(value) < min_length or (max_length is not None and len(value) > max_length):
        errors.append(FieldError(name, f"must have {min_length} to {max_length} characters"))
    elif pattern is not None and not pattern.search(value):
        errors.append(FieldError(name, f"must match {pattern.pattern}"))
    else:
        return value
    return None


def _year(body: dict[str, Any], errors: list[FieldError], latest: int | None) -> int | None:
    if "published" not in body:
        return None
    value = body["published"]
    year = _json_integer(value)
    if year is None:
        errors.append(FieldError("published", "must be an integer"))
        return None
    try:
        _check_range("published", year, 0, latest)
    except InvalidRequest as exc:
        errors.extend(exc.errors)
        return None
    return year


def _tags(body: dict[str, Any], errors: list[FieldError]) -> list[str] | None:
    if "tags" not in body:
        return None
    tags = body["tags"]
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        errors.append(FieldError("tags", "must be an array of strings"))
    elif len(tags) > 10:
        errors.append(FieldError("tags", "must have at most 10 items"))
    else:
        return tags
    return None

"""What a suite's matchers mean: ``{">": 0}``, ``{type: integer}``, ``{contains: x}``...

Pure functions over JSON-like values, shared by the checks that apply expectations to
responses (``assay.checks.expect``) and by anything else that needs the same semantics.

- Equality is JSON equality: ``1 == 1.0``, but ``true != 1`` and ``"1" != 1``.
- ``<``, ``<=``, ``>``, ``>=`` compare two numbers or two strings; anything else fails.
- ``matches`` is ``re.search`` on a string (anchor with ``^`` and ``$``).
- ``contains``: a substring of a string, a member of an array (JSON equality), and for an
  object either a key (a string) or a sub-mapping (``{id: 1}``: every key present and equal).
- ``type`` follows JSON Schema: ``integer`` accepts ``1.0``, ``number`` accepts integers,
  booleans are never numbers.
- ``length`` is the length of a string, array or object.
- Several values (a JSONPath with several matches) pass a matcher only when every value
  does; no value at all fails every matcher except ``exists: false``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.jsonvalues import json_type
from .model import Matcher, Matchers
from .template import TemplateError, render

Located = tuple[str | None, Any]


def render_matchers(matchers: Matchers, variables: Mapping[str, Any]) -> Matchers:
    """The matchers with templates in their values rendered."""
    rendered = []
    for matcher in matchers:
        if matcher.op == "length":
            rendered.append(Matcher("length", render_matchers(matcher.value, variables)))
        elif matcher.op == "type":
            rendered.append(matcher)
        else:
            rendered.append(Matcher(matcher.op, render(matcher.value, variables)))
    return tuple(rendered)


def mismatches(matchers: Matchers, values: Sequence[Located], *,
               text_values: bool = False) -> list[tuple[str, str]]:
    """(operator, why) for each matcher that ``values`` fail; empty when all hold.

    ``values`` are (location, value) pairs, the location shown when there are several
    (a normalized JSONPath). ``text_values`` is for headers: a number or boolean expected
    is compared with the text as that number or ``true``/``false``.
    """
    if not values:
        if all(m.op == "exists" and m.value is False for m in matchers):
            return []
        return [("exists", "no match")]
    failures = []
    for matcher in matchers:
        if matcher.op == "exists":
            if matcher.value is False:
                failures.append(("exists", f"expected no match, got {_list(values)}"))
            continue
        failing = [(where, why) for where, value in values
                   if (why := explain(matcher, value, text_values=text_values)) is not None]
        if failing:
            failures.append((matcher.op, _several(failing, len(values))))
    return failures


def explain(matcher: Matcher, actual: Any, *, text_values: bool = False) -> str | None:
    """Why ``actual`` fails ``matcher``, or ``None`` when it passes."""
    op, expected = matcher.op, matcher.value
    if text_values and isinstance(actual, str):
        actual = _as_expected_type(actual, expected)
    if op in ("==", "!="):
        if json_equal(actual, expected) == (op == "=="):
            return None
        return f"expected {op} {show(expected)}, got {show(actual)}"
    if op in ("<", "<=", ">", ">="):
        return _compare(op, actual, expected)
    if op == "matches":
        return _matches(actual, expected)
    if op == "contains":
        return None if contains(actual, expected) else (
            f"expected to contain {show(expected)}, got {show(actual)}")
    if op == "type":
        if any(type_matches(actual, name) for name in expected):
            return None
        return f"expected type {' or '.join(expected)}, got {json_type(actual)} ({show(actual)})"
    if op == "length":
        return _length(actual, expected)
    if op == "exists":
        return None if expected else f"expected no match, got {show(actual)}"
    raise ValueError(f"unknown operator {op!r}")


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON means it: ``1 == 1.0``, ``true != 1``, containers compared deeply."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if _is_number(left) and _is_number(right):
        return left == right
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(v, right[k]) for k, v in left.items())
    return type(left) is type(right) and left == right


def contains(actual: Any, expected: Any) -> bool:
    """``contains`` as documented in the module docstring."""
    if isinstance(actual, str):
        return (expected if isinstance(expected, str) else show(expected)) in actual
    if isinstance(actual, list):
        return any(json_equal(item, expected) for item in actual)
    if isinstance(actual, dict):
        if isinstance(expected, dict):
            return all(k in actual and json_equal(actual[k], v) for k, v in expected.items())
        return isinstance(expected, str) and expected in actual
    return False


def type_matches(value: Any, name: str) -> bool:
    """True when ``value`` is of JSON type ``name`` (JSON Schema's rules)."""
    actual = json_type(value)
    if name == "number":
        return actual in ("integer", "number")
    if name == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    return actual == name


def show(value: Any, limit: int = 80) -> str:
    """A value in a message: strings quoted, everything else as JSON (``null``, ``true``)."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _compare(op: str, actual: Any, expected: Any) -> str | None:
    comparable = (_is_number(actual) and _is_number(expected)) or (
        isinstance(actual, str) and isinstance(expected, str))
    if not comparable:
        return f"expected {op} {show(expected)}, got {json_type(actual)} ({show(actual)})"
    passed = {"<": actual < expected, "<=": actual <= expected,
              ">": actual > expected, ">=": actual >= expected}[op]
    return None if passed else f"expected {op} {show(expected)}, got {show(actual)}"


def _matches(actual: Any, pattern: Any) -> str | None:
    if not isinstance(actual, str):
        return f"expected a string matching {pattern!r}, got {json_type(actual)} ({show(actual)})"
    try:
        found = re.search(str(pattern), actual)
    except re.error as exc:
        # Only a rendered template can get here: literal patterns are checked at load time.
        raise TemplateError(f"invalid regular expression {pattern!r}: {exc}") from exc
    return None if found else f"expected to match {pattern!r}, got {show(actual)}"


def _length(actual: Any, comparisons: Matchers) -> str | None:
    if not isinstance(actual, str | list | tuple | dict):
        wanted = " and ".join(f"{m.op} {show(m.value)}" for m in comparisons)
        return f"expected length {wanted}, got {json_type(actual)} ({show(actual)})"
    size = len(actual)
    for comparison in comparisons:
        expected = comparison.value
        if isinstance(expected, str) and expected.strip().isdigit():
            expected = int(expected)  # a rendered template such as "{{ count }}" from a CSV row
        if explain(Matcher(comparison.op, expected), size) is not None:
            return f"expected length {comparison.op} {show(expected)}, got length {size}"
    return None


def _as_expected_type(text: str, expected: Any) -> Any:
    """A header's text as the number or boolean a matcher expects, when it reads as one."""
    if isinstance(expected, bool):
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    if _is_number(expected):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and "." not in text else number
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _several(failing: list[tuple[str | None, str]], total: int) -> str:
    where, why = failing[0]
    if total == 1:
        return why
    return f"{why} at {where} ({len(failing)} of {total} matches fail)"


def _list(values: Sequence[Located]) -> str:
    if len(values) == 1:
        return show(values[0][1])
    return f"{len(values)} matches"

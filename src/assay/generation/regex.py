"""The shortest string that a regular expression matches, built deterministically.

Used for minimal valid values of ``pattern`` strings. We walk Python's own regex parse tree
(``re._parser``) instead of sampling with hypothesis's ``from_regex``: that one is random and,
outside a test, warns; the examples phase must send the same request on every run.
"""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11+
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

_CATEGORY_CHAR = {
    sre_constants.CATEGORY_DIGIT: "0",
    sre_constants.CATEGORY_NOT_DIGIT: "a",
    sre_constants.CATEGORY_WORD: "a",
    sre_constants.CATEGORY_NOT_WORD: "-",
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_SPACE: "a",
}


class RegexTooHard(ValueError):
    """The pattern uses a construct this builder does not handle (lookarounds, backrefs)."""


def minimal_match(pattern: str, *, min_length: int = 0) -> str:
    """A short string that ``re.search(pattern, s)`` matches, at least ``min_length`` long
    when padding keeps it matching. Raises ``RegexTooHard`` when none can be built.

    >>> minimal_match(r"^[A-Z]{2}-\\d{3}$")
    'AA-000'
    """
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        raise RegexTooHard(f"invalid pattern {pattern!r}: {exc}") from exc
    text = _build(list(parsed))
    if min_length > len(text):
        text = _pad(pattern, text, min_length)
    if re.search(pattern, text) is None:
        raise RegexTooHard(f"could not build a string matching {pattern!r}")
    return text


def _pad(pattern: str, text: str, min_length: int) -> str:
    for filler in ("a", "0", "A", " "):
        for candidate in (text + filler * (min_length - len(text)),
                          filler * (min_length - len(text)) + text):
            if re.search(pattern, candidate):
                return candidate
    return text


def _build(items: list[tuple[Any, Any]]) -> str:
    return "".join(_one(op, av) for op, av in items)


def _one(op: Any, av: Any) -> str:
    if op is sre_constants.LITERAL:
        return chr(av)
    if op is sre_constants.NOT_LITERAL:
        return "a" if av != ord("a") else "b"
    if op is sre_constants.ANY:
        return "a"
    if op is sre_constants.IN:
        return _from_set(av)
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
              getattr(sre_constants, "POSSESSIVE_REPEAT", None)):
        low, _high, sub = av
        return _build(list(sub)) * low
    if op is sre_constants.SUBPATTERN:
        return _build(list(av[-1]))
    if op is getattr(sre_constants, "ATOMIC_GROUP", None):
        return _build(list(av))
    if op is sre_constants.BRANCH:
        return _build(list(av[1][0]))
    if op in (sre_constants.AT,):
        return ""
    raise RegexTooHard(f"unsupported regex construct {op}")


def _from_set(items: list[tuple[Any, Any]]) -> str:
    negated = bool(items) and items[0][0] is sre_constants.NEGATE
    if negated:
        excluded = _excluded_chars(items[1:])
        for candidate in "aA0-_ x":
            if candidate not in excluded:
                return candidate
        raise RegexTooHard("negated character class excludes every simple character")
    op, av = items[0]
    if op is sre_constants.LITERAL:
        return chr(av)
    if op is sre_constants.RANGE:
        return chr(av[0])
    if op is sre_constants.CATEGORY:
        return _CATEGORY_CHAR.get(av, "a")
    raise RegexTooHard(f"unsupported character class item {op}")


def _excluded_chars(items: list[tuple[Any, Any]]) -> set[str]:
    excluded: set[str] = set()
    for op, av in items:
        if op is sre_constants.LITERAL:
            excluded.add(chr(av))
        elif op is sre_constants.RANGE:
            excluded.update(chr(c) for c in range(av[0], min(av[1], 0x7F) + 1))
        elif op is sre_constants.CATEGORY:
            excluded.update(c for c in "aA0-_ x" if re.fullmatch(_category_regex(av), c))
    return excluded


def _category_regex(category: Any) -> str:
    return {
        sre_constants.CATEGORY_DIGIT: r"\d", sre_constants.CATEGORY_NOT_DIGIT: r"\D",
        sre_constants.CATEGORY_WORD: r"\w", sre_constants.CATEGORY_NOT_WORD: r"\W",
        sre_constants.CATEGORY_SPACE: r"\s", sre_constants.CATEGORY_NOT_SPACE: r"\S",
    }.get(category, r"(?!)")

"""Strings that contain a match of a JSON Schema ``pattern``, with lengths under control.

``hypothesis.strategies.from_regex`` knows nothing of ``minLength``/``maxLength``, so
filtering its output by length rejects most draws for patterns like ``^[a-z]+$`` with
``minLength: 20``. We walk the regex's parse tree (after ``translate_ecma``) ourselves and
give each part a length budget: repeat counts are drawn so that the whole string lands in
the wanted range, and one repeat of a character class is a single text draw (fast).

A pattern is an unanchored search: where nothing pins the match to the start or the end,
free text may come before or after it, which also lets a short pattern reach a long
``minLength``. Every drawn string is checked with ``re.search`` under both readings of the
pattern (lookarounds, ``\\b`` and backreferences are generated loosely and checked), and
``pattern_strategy`` tries the walk deterministically before returning, so a pattern that
cannot produce a string of the wanted length raises ``RegexTooHard`` at once.
"""

from __future__ import annotations

import random
import re
import unicodedata
import warnings
from collections.abc import Callable

from hypothesis import reject
from hypothesis import strategies as st

from .alphabets import Alphabet
from .ecma import translate_ecma
from .filtering import keep
from .regex import RegexTooHard, sre_constants, sre_parse
from .regex_walk import (
    INF,
    Chooser,
    DrawChooser,
    LowChooser,
    Node,
    RandomChooser,
    Stuck,
    Walk,
)

_DRY_RUNS = 40
_RANGE_SAMPLE = 24  # characters taken from each end of a wide class range
_AT_START = frozenset((sre_constants.AT_BEGINNING, sre_constants.AT_BEGINNING_STRING))
_AT_END = frozenset((sre_constants.AT_END, sre_constants.AT_END_STRING))
_REPEATS = tuple(op for op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
                               getattr(sre_constants, "POSSESSIVE_REPEAT", None)) if op)


class CompiledPattern:
    """A pattern ready to generate strings for one alphabet; see ``pattern_strategy``."""

    def __init__(self, pattern: str, alphabet: Alphabet):
        self.pattern = pattern
        self.alphabet = alphabet
        self.translated = translate_ecma(pattern)
        with warnings.catch_warnings():
            # Python warns (FutureWarning) about class syntax it may change; not our input.
            warnings.simplefilter("ignore")
            try:
                self.regex = re.compile(self.translated)
                tree = sre_parse.parse(self.translated)
            except (re.error, RecursionError, OverflowError) as exc:
                raise RegexTooHard(f"pattern {pattern!r} does not compile: {exc}") from exc
            try:
                self.raw = re.compile(pattern)
            except (re.error, RecursionError, OverflowError):
                self.raw = None
        self.free = alphabet.free_chars()
        self.zero_width: set[str] = set()
        core = self._convert(list(tree))
        free_text = Node("rep", items=(Node("set", text=self.free),), low=0, high=INF)
        parts = [core]
        # Free text before or after the match keeps it a match unless an anchor, a
        # boundary or a lookaround looks at the neighbours.
        if not self.zero_width - {"end"}:
            parts.insert(0, free_text)
        if not self.zero_width - {"start"}:
            parts.append(free_text)
        self.root = Node("seq", items=tuple(parts))

    def matches(self, text: str) -> bool:
        """True when ``text`` contains a match under both readings and fits the alphabet."""
        if self.regex.search(text) is None:
            return False
        return self.raw is None or self.raw.search(text) is not None

    def generate(self, chooser: Chooser, low: int, high: float) -> str | None:
        """One string of length in ``[low, high]`` (``None`` when this walk got stuck)."""
        try:
            return Walk(chooser).run(self.root, low, high)
        except Stuck:
            return None

    def first_string(self, low: int, high: float) -> tuple[str, bool]:
        """A valid string in range from a dry run, and whether walks have any choice to
        make (when not, that string is the only one). Raises ``RegexTooHard`` when no
        dry run yields a valid string."""
        if self.root.dead or self.root.lo > high or self.root.hi < low:
            raise RegexTooHard(
                f"no string of length {low}..{high} matches {self.pattern!r} in this location")
        lowest = LowChooser()
        rng = random.Random(0)
        choosers: list[Chooser] = [lowest, *(RandomChooser(rng) for _ in range(_DRY_RUNS))]
        for chooser in choosers:
            text = self.generate(chooser, low, high)
            if text is not None and self.matches(text) and self.alphabet.accepts(text):
                return text, lowest.varied
        raise RegexTooHard(f"could not build a string matching {self.pattern!r} "
                           f"of length {low}..{high} in this location")

    def samples(self, low: int, high: float, count: int) -> list[str]:
        """Up to ``count`` valid strings from seeded random walks (for eager decisions)."""
        rng = random.Random(1)
        texts = (self.generate(RandomChooser(rng), low, high) for _ in range(count))
        return [t for t in texts if t is not None and self.matches(t) and self.alphabet.accepts(t)]

    # -- parse tree to nodes ---------------------------------------------------------------

    def _convert(self, items: list) -> Node:
        nodes = [self._one(op, av) for op, av in items]
        merged: list[Node] = []
        for node in nodes:  # adjacent literals become one, which keeps walks short
            if node.kind == "lit" and merged and merged[-1].kind == "lit":
                merged[-1] = Node("lit", text=merged[-1].text + node.text)
            else:
                merged.append(node)
        return merged[0] if len(merged) == 1 else Node("seq", items=tuple(merged))

    def _one(self, op, av) -> Node:
        if op is sre_constants.LITERAL:
            char = chr(av)
            return Node("lit", text=char) if self.alphabet.allows(char) else Node("set")
        if op is sre_constants.NOT_LITERAL:
            return Node("set", text=self.free.replace(chr(av), ""))
        if op is sre_constants.ANY:
            return Node("set", text=self.free.replace("\n", ""))
        if op is sre_constants.IN:
            return Node("set", text=self._class_chars(av))
        if op in _REPEATS:
            low, high, sub = av
            high = INF if high == sre_constants.MAXREPEAT else high
            return Node("rep", items=(self._convert(list(sub)),), low=low, high=high)
        if op is sre_constants.SUBPATTERN:
            return Node("group", items=(self._convert(list(av[-1])),), group=av[0])
        if op is getattr(sre_constants, "ATOMIC_GROUP", None):
            return self._convert(list(av))
        if op is sre_constants.BRANCH:
            return Node("alt", items=tuple(self._convert(list(b)) for b in av[1]))
        if op is sre_constants.AT:
            self.zero_width.add("start" if av in _AT_START else "end" if av in _AT_END
                                else "boundary")
            return Node("zero")
        if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            self.zero_width.add("lookaround")
            return Node("zero")
        if op is sre_constants.GROUPREF:
            self.zero_width.add("backreference")
            return Node("ref", group=av)
        raise RegexTooHard(f"unsupported regex construct {op} in {self.pattern!r}")

    def _class_chars(self, items: list) -> str:
        negated = bool(items) and items[0][0] is sre_constants.NEGATE
        if negated:
            members = [c for c in self.free if not _in_class(items[1:], c)]
        else:
            members = []
            for op, av in items:
                if op is sre_constants.LITERAL:
                    members.append(chr(av))
                elif op is sre_constants.RANGE:
                    members.extend(_range_sample(av[0], av[1], self.free))
                elif op is sre_constants.CATEGORY:
                    members.extend(c for c in self.free if _in_class([(op, av)], c))
        allowed = [c for c in dict.fromkeys(members) if self.alphabet.allows(c)]
        # Control characters only where the class offers nothing else.
        printable = [c for c in allowed if unicodedata.category(c) != "Cc"]
        return "".join(printable or allowed)


def _range_sample(low: int, high: int, free: str) -> list[str]:
    """Characters of a class range: all of it when small, else both ends and the free
    characters inside (a subset matches just as well)."""
    if high - low < 2 * _RANGE_SAMPLE:
        codes = range(low, high + 1)
    else:
        codes = [*range(low, low + _RANGE_SAMPLE), *range(high - _RANGE_SAMPLE + 1, high + 1)]
    inside = [c for c in free if low <= ord(c) <= high]
    return inside + [chr(c) for c in codes if not 0xD800 <= c <= 0xDFFF]


def _in_class(items: list, char: str) -> bool:
    code = ord(char)
    for op, av in items:
        if op is sre_constants.LITERAL and av == code:
            return True
        if op is sre_constants.RANGE and av[0] <= code <= av[1]:
            return True
        if op is sre_constants.CATEGORY and _category(av, char):
            return True
    return False


def _category(category, char: str) -> bool:
    tests: dict = {
        sre_constants.CATEGORY_DIGIT: lambda c: c.isdecimal(),
        sre_constants.CATEGORY_NOT_DIGIT: lambda c: not c.isdecimal(),
        sre_constants.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
        sre_constants.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
        sre_constants.CATEGORY_SPACE: lambda c: c.isspace(),
        sre_constants.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    }
    test = tests.get(category)
    return bool(test and test(char))


def pattern_strategy(pattern: str, *, min_size: int = 0, max_size: int | None = None,
                     alphabet: Alphabet) -> st.SearchStrategy[str]:
    """Strings of ``min_size`` to ``max_size`` characters (code points) from ``alphabet``
    that contain a match of the ECMA-262 ``pattern``. Without ``max_size`` strings stay
    short (open-ended repeats get a few repetitions). Raises ``RegexTooHard`` when the
    pattern cannot be translated or no such string could be built.

    >>> pattern_strategy("^[a-z]+$", min_size=20, alphabet=alphabet_for("body"))  # doctest: +SKIP
    """
    return compiled_strategy(CompiledPattern(pattern, alphabet), min_size=min_size,
                             max_size=max_size)


def compiled_strategy(compiled: CompiledPattern, *, min_size: int = 0,
                      max_size: int | None = None) -> st.SearchStrategy[str]:
    """``pattern_strategy`` for an already compiled pattern (compiling is the slow part)."""
    alphabet = compiled.alphabet
    high: float = INF if max_size is None else max_size
    first, varied = compiled.first_string(min_size, high)
    if not varied:
        return st.just(first)

    @st.composite
    def strings(draw: Callable) -> str:
        text = compiled.generate(DrawChooser(draw), min_size, high)
        if text is None:
            reject()
        return text

    return keep(strings(), lambda s: compiled.matches(s) and alphabet.accepts(s))

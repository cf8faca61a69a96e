"""Walking a regex parse tree to build a string whose length lands in a given range.

A pattern becomes a tree of ``Node``s (literal text, a character set, a sequence, an
alternation, a repeat, a group, a backreference, a zero-width assertion), each knowing the
shortest and longest string it can produce. ``Walk`` builds one string top-down, giving every
part a length budget so that the whole fits: repeat counts and alternatives are chosen
among those that can still meet it. Decisions come from a ``Chooser``: hypothesis draws
(``DrawChooser``) when generating, a fixed or seeded policy for eager dry runs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Protocol

from hypothesis import strategies as st

INF = math.inf
SOFT_REPEATS = 6  # extra repetitions an open-ended quantifier gets beyond its minimum


class Chooser(Protocol):
    """Where a walk gets its decisions: hypothesis draws, or a fixed policy for dry runs."""

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""

    def text(self, chars: str, low: int, high: int) -> str:
        """A string of ``low`` to ``high`` characters from ``chars``."""

    def fixed_text(self, chars: str, size: int) -> str:
        """A string of exactly ``size`` characters from ``chars``."""


class Node:
    """One part of a pattern: ``kind`` is lit, set, seq, alt, rep, group, ref or zero."""

    __slots__ = ("kind", "text", "items", "low", "high", "group", "lo", "hi", "suffix")

    def __init__(self, kind: str, *, text: str = "", items: tuple = (), low: int = 0,
                 high: float = 0, group: int | None = None):
        self.kind, self.text, self.items = kind, text, items
        self.low, self.high, self.group = low, high, group
        self.lo, self.hi = _length_range(self)
        self.suffix: list[tuple[float, float]] = []
        if kind == "seq":
            lo_rest = hi_rest = 0.0
            for item in reversed(items):
                self.suffix.append((lo_rest, hi_rest))
                lo_rest, hi_rest = lo_rest + item.lo, hi_rest + item.hi
            self.suffix.reverse()

    @property
    def dead(self) -> bool:
        """True when no string at all comes out of this node (a forbidden character)."""
        return self.lo == INF


def _length_range(node: Node) -> tuple[float, float]:
    kind = node.kind
    if kind == "lit":
        return len(node.text), len(node.text)
    if kind == "set":
        return (1, 1) if node.text else (INF, INF)
    if kind == "seq":
        if any(item.dead for item in node.items):
            return INF, INF
        return sum(i.lo for i in node.items), sum(i.hi for i in node.items)
    if kind == "alt":
        live = [item for item in node.items if not item.dead]
        if not live:
            return INF, INF
        return min(i.lo for i in live), max(i.hi for i in live)
    if kind == "rep":
        item = node.items[0]
        if node.high == 0 or (item.dead and node.low == 0):
            return 0, 0
        if item.dead:
            return INF, INF
        high = INF if node.high == INF or item.hi == INF else node.high * item.hi
        return node.low * item.lo, (0 if item.hi == 0 else high)
    if kind == "group":
        return node.items[0].lo, node.items[0].hi
    if kind == "ref":
        return 0, INF
    return 0, 0


class Stuck(Exception):
    """This walk cannot meet its length budget (another draw may)."""


class Walk:
    """One string from a ``Node`` tree: ``run(root, low, high)`` raises ``Stuck`` when the
    choices made so far leave no way to meet the length budget."""

    def __init__(self, chooser: Chooser):
        self.chooser = chooser
        self.groups: dict[int, str] = {}

    def run(self, node: Node, low: float, high: float) -> str:
        """A string ``node`` produces, ``low`` to ``high`` characters long."""
        low, high = max(low, node.lo), min(high, node.hi)
        if low > high:
            raise Stuck
        kind = node.kind
        if kind == "lit":
            return node.text
        if kind == "set":
            return self.chooser.text(node.text, 1, 1)
        if kind == "seq":
            return self.sequence(node, low, high)
        if kind == "alt":
            live = [i for i in node.items if i.lo <= high and i.hi >= low]
            if not live:
                raise Stuck
            return self.run(live[self.chooser.integer(0, len(live) - 1)], low, high)
        if kind == "rep":
            return self.repeat(node, low, high)
        if kind == "group":
            text = self.run(node.items[0], low, high)
            if node.group is not None:
                self.groups[node.group] = text
            return text
        if kind == "ref":
            text = self.groups.get(node.group, "")
            if not low <= len(text) <= high:
                raise Stuck
            return text
        return ""

    def sequence(self, node: Node, low: float, high: float) -> str:
        """The items in turn, each within what the others leave of the budget."""
        out: list[str] = []
        used = 0
        for item, (lo_rest, hi_rest) in zip(node.items, node.suffix, strict=True):
            text = self.run(item, low - used - hi_rest, high - used - lo_rest)
            out.append(text)
            used += len(text)
        return "".join(out)

    def repeat(self, node: Node, low: float, high: float) -> str:
        """A feasible number of repetitions, then each within its share of the budget."""
        item = node.items[0]
        if item.kind == "set":  # one draw for the whole run of characters
            least = max(node.low, int(low))
            most = int(min(node.high, high, least + SOFT_REPEATS))
            if least == most and least > 1 and len(item.text) > 1:
                return self.chooser.fixed_text(item.text, least)
            return self.chooser.text(item.text, least, most)
        least = node.low
        if item.hi == 0:
            most = node.low
        else:
            if item.hi != INF:
                least = max(least, math.ceil(low / item.hi))
            most = node.high if item.lo == 0 else min(node.high, high // item.lo)
            most = min(most, max(least, node.low) + SOFT_REPEATS)
        if least > most:
            raise Stuck
        count = self.chooser.integer(int(least), int(most))
        out: list[str] = []
        used = 0
        for done in range(count):
            rest = count - done - 1
            text = self.run(item, low - used - _times(rest, item.hi),
                            high - used - _times(rest, item.lo))
            out.append(text)
            used += len(text)
        return "".join(out)


def _times(count: int, length: float) -> float:
    return 0 if count == 0 else count * length  # 0 * inf would be nan


class LowChooser:
    """Always the smallest choice: the first alternative, the fewest repetitions.
    ``varied`` tells whether any choice had more than one option."""

    def __init__(self) -> None:
        self.varied = False

    def integer(self, low: int, high: int) -> int:
        self.varied |= high > low
        return low

    def text(self, chars: str, low: int, high: int) -> str:
        self.varied |= high > low or (high > 0 and len(chars) > 1)
        return chars[0] * low if low else ""

    def fixed_text(self, chars: str, size: int) -> str:
        return self.text(chars, size, size)


class RandomChooser:
    """Seeded random choices, for dry runs that must not depend on hypothesis."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def text(self, chars: str, low: int, high: int) -> str:
        if not chars:
            return ""
        return "".join(self.rng.choice(chars) for _ in range(self.rng.randint(low, high)))

    def fixed_text(self, chars: str, size: int) -> str:
        return self.text(chars, size, size)


class DrawChooser:
    """Choices drawn from hypothesis (so they shrink: fewer repeats, earlier branches)."""

    def __init__(self, draw: Callable):
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return low if low == high else self.draw(st.integers(low, high))

    def text(self, chars: str, low: int, high: int) -> str:
        return self.draw(st.text(alphabet=chars, min_size=low, max_size=high))

    def fixed_text(self, chars: str, size: int) -> str:
        # One integer read as ``size`` digits in base len(chars): hypothesis draws (and
        # mutates) one number much faster than a fixed-size string.
        number = self.draw(st.integers(0, len(chars) ** size - 1))
        out = []
        for _ in range(size):
            number, digit = divmod(number, len(chars))
            out.append(chars[digit])
        return "".join(out)

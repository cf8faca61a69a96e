"""Random candidate mutations for the fuzz phase: the deterministic ones' wilder cousins.

Numbers drawn from beyond a bound, strings of random length past ``maxLength``, values of
random wrong types and enum misses, for the value itself and for each of its properties
(or its first item), placed into a minimal valid value. Like ``mutations``, these are
candidates: ``negative.negative_value_strategy`` verifies every draw.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st
from referencing import Registry

from ..core.jsonvalues import json_type
from ..core.records import NOT_SET
from .coverage import show
from .mutations import Mutation
from .mutator import Mutator
from .numbers import as_json_number, lower_bound, outside, step_of, upper_bound
from .regex import RegexTooHard, minimal_match
from .schemaview import flatten, is_skipped, size_keyword, value_types

_SAFE_TEXT = string.ascii_letters + string.digits
_EXTRA = 20  # how far past a length or count bound random sizes go
# Random sizes only for modest bounds: hypothesis draws no huge strings or lists, and the
# deterministic values already cover the big ones.
_RANDOM_SIZE_LIMIT = 1000


def random_mutations(schema: Any, registry: Registry, *, location: str, direction: str
                     ) -> list[st.SearchStrategy[Mutation]]:
    """Strategies of random candidate mutations of ``schema`` and of its direct parts."""
    return _Random(Mutator(registry, direction, location), location).level(schema, nested=False)


class _Random:
    def __init__(self, mutator: Mutator, location: str):
        self.mutator = mutator
        self.registry = mutator.registry
        self.alphabet: Any = st.characters(exclude_categories=("Cs",)) \
            if location == "body" else _SAFE_TEXT
        self.text = st.text(self.alphabet, min_size=1, max_size=8)
        self.location = location

    def level(self, schema: Any, *, nested: bool, null: bool = True
              ) -> list[st.SearchStrategy[Mutation]]:
        """Strategies for ``schema`` itself and (unless ``nested``) its direct parts;
        ``null``: whether null may stand for a wrong type (not in optional properties)."""
        flat = flatten(schema, self.registry)
        if flat is None:
            return []
        types = value_types(flat)
        found = [s for s in (self.wrong_type(types, null), self.enum_miss(flat))
                 if s is not None]
        if "integer" in types or "number" in types:
            found.extend(_numbers(flat, "number" if "number" in types else "integer"))
        if "string" in types:
            found.extend(self.strings(flat))
        if "array" in types:
            found.extend(self.arrays(flat, nested))
        if "object" in types and not nested:
            found.extend(self.properties(flat))
        return found

    def wrong_type(self, types: list[str], null: bool) -> st.SearchStrategy[Mutation] | None:
        if not types:
            return None
        allowed = set(types) | ({"integer"} if "number" in types else set())
        options = {
            "integer": st.integers(),
            "number": st.floats(allow_nan=False, allow_infinity=False),
            "string": self.text,
            "boolean": st.booleans(),
            "array": st.lists(st.integers(), max_size=3),
            "object": st.dictionaries(st.text(_SAFE_TEXT, min_size=1, max_size=5),
                                      st.integers(), max_size=2),
        }
        if self.location == "body" and null:
            options["null"] = st.none()
        chosen = [strategy for kind, strategy in options.items() if kind not in allowed]
        if not chosen:
            return None
        shown = " or ".join(types)
        return st.one_of(chosen).map(lambda v: Mutation(
            v, "wrong_type", "", f"{show(v)} ({json_type(v)}) is not of type {shown}"))

    def enum_miss(self, flat: dict) -> st.SearchStrategy[Mutation] | None:
        values = flat.get("enum")
        if not isinstance(values, list) or not values:
            return None
        like = values[0]
        if isinstance(like, str):
            base: st.SearchStrategy = self.text
        elif isinstance(like, int) and not isinstance(like, bool):
            base = st.integers()
        else:
            return None
        return base.map(lambda v: Mutation(v, "enum", "", f"{show(v)} is not one of the enum values"))

    def strings(self, flat: dict) -> list[st.SearchStrategy[Mutation]]:
        high = size_keyword(flat.get("maxLength"))
        if high is None or high + _EXTRA > _RANDOM_SIZE_LIMIT:
            return []
        pattern = flat.get("pattern")

        def too_long(text: str) -> Mutation:
            return Mutation(text, "too_long", "", f"a string of {len(text)} characters is "
                                                  f"longer than the maxLength {high}")

        if isinstance(pattern, str):
            texts = st.integers(high + 1, high + _EXTRA).map(
                lambda n: _long_text(pattern, n))
        else:
            texts = st.text(self.alphabet, min_size=high + 1, max_size=high + _EXTRA)
        return [texts.map(too_long)]

    def arrays(self, flat: dict, nested: bool) -> list[st.SearchStrategy[Mutation]]:
        found: list[st.SearchStrategy[Mutation]] = []
        high = size_keyword(flat.get("maxItems"))
        first = self.mutator.minimal(flat.get("items", True))
        if high is not None and high + _EXTRA <= _RANDOM_SIZE_LIMIT and first is not NOT_SET:
            unique = flat.get("uniqueItems") is True

            def too_many(count: int) -> Mutation:
                items = self.mutator.fill(flat.get("items", True), count, unique) or []
                return Mutation(items, "too_many_items", "", f"an array of {len(items)} items "
                                                             f"is longer than the maxItems {high}")

            found.append(st.integers(high + 1, high + _EXTRA).map(too_many))
        base = self.mutator.minimal(flat)
        if not nested and isinstance(base, list) and not flat.get("prefixItems"):
            holder = base or [None]
            for strategy in self.level(flat.get("items", True), nested=True):
                found.append(strategy.map(lambda m: m.inside(0, holder)))
        return found

    def properties(self, flat: dict) -> list[st.SearchStrategy[Mutation]]:
        base = self.mutator.minimal(flat)
        properties = flat.get("properties")
        if not isinstance(base, dict) or not isinstance(properties, dict):
            return []
        required = set(flat.get("required") or [])
        found = []
        for name, sub in properties.items():
            if is_skipped(sub, self.registry, self.mutator.direction):
                continue
            for strategy in self.level(sub, nested=True, null=name in required):
                found.append(strategy.map(lambda m, name=name: m.inside(name, base)))
        return found


def _numbers(flat: dict, kind: str) -> list[st.SearchStrategy[Mutation]]:
    step = step_of(flat)
    if step is not None and step != step.to_integral_value():
        return []  # fractional steps: the deterministic values cover them
    unit = int(step) if step is not None else 1
    found = []
    for bound, upward in ((lower_bound(flat), False), (upper_bound(flat), True)):
        edge = as_json_number(outside(bound, kind, step, upward=upward), kind) \
            if bound is not None else None
        if bound is None or edge is None:
            continue
        if kind == "integer" or step is not None:
            sign = unit if upward else -unit
            beyond = st.integers(0, 10**12).map(lambda n, e=edge, d=sign: e + n * d)
        elif upward:
            beyond = st.floats(min_value=edge, allow_nan=False, allow_infinity=False)
        else:
            beyond = st.floats(max_value=edge, allow_nan=False, allow_infinity=False)
        word = "above" if upward else "below"
        found.append(beyond.map(lambda v, w=word, b=bound: Mutation(
            v, "out_of_range", "", f"{v} is {w} the {b.keyword} {show(b.value)}")))
    return found


def _long_text(pattern: Any, length: int) -> str:
    if isinstance(pattern, str):
        try:
            return minimal_match(pattern, min_length=length)
        except RegexTooHard:
            pass
    return "a" * length

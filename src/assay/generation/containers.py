"""Strategies for objects and arrays of one (normalized) schema.

Objects: required properties always; a few optional ones, chosen at random (each one is
reachable); sometimes a few extra keys where ``additionalProperties`` allows them (never in
parameters, whose keys could collide with other parameters); ``patternProperties`` keys
built from their pattern. Properties the direction leaves out (``readOnly`` in requests,
``writeOnly`` in responses) are never generated. ``minProperties``, ``maxProperties`` and
``dependentRequired`` are met while drawing.

Arrays: ``minItems`` to a few more items (``maxItems`` permitting), ``prefixItems`` then
``items``, ``uniqueItems`` by JSON equality, ``contains`` by inserting matching items.

How much is optional shrinks with depth (``Limits``), so that nested and recursive schemas
stay small: past ``SHALLOW`` levels only what is required is generated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hypothesis import reject
from hypothesis import strategies as st

from .filtering import keep
from .minimal import CannotGenerate
from .normalize import json_key, matches_key

SHALLOW = 3
_OPTIONAL = (3, 2, 1)  # optional properties drawn at depth 0, 1, 2
_EXTRA_ITEMS = (5, 3, 2)  # items beyond minItems at depth 0, 1, 2
_EXTRA_KEYS_DEPTH = 1  # extra keys (additionalProperties) only above this depth


@dataclass(frozen=True, slots=True)
class Limits:
    """How much optional content a value at some depth gets."""

    optional: int
    extra_items: int
    extra_keys: bool

    @classmethod
    def at(cls, depth: int) -> Limits:
        """The limits at nesting ``depth`` (0: the top-level value)."""
        if depth >= SHALLOW:
            return cls(0, 0, False)
        return cls(_OPTIONAL[depth], _EXTRA_ITEMS[depth], depth < _EXTRA_KEYS_DEPTH)


class SchemaBuilder(Protocol):
    """What the container strategies need from the strategy factory."""

    skip: str
    parameter: bool
    extra_properties: bool

    def build(self, schema: Any, depth: int) -> st.SearchStrategy:
        """The strategy for a subschema at nesting ``depth``."""

    def normalize(self, schema: Any) -> dict | bool:
        """``schema`` with ``$ref`` followed and ``allOf`` merged."""

    def any_value(self, depth: int) -> st.SearchStrategy:
        """Any (small) JSON value at ``depth``."""

    def key_strategy(self, names: Any, depth: int) -> st.SearchStrategy[str]:
        """Property names valid for a ``propertyNames`` schema (``True``: any name)."""

    def pattern_keys(self, pattern: str, depth: int) -> st.SearchStrategy[str]:
        """Property names that contain a match of ``pattern``."""

    def is_valid(self, schema: Any, value: Any) -> bool:
        """True when ``value`` validates against ``schema``."""


def object_strategy(b: SchemaBuilder, schema: dict, depth: int) -> st.SearchStrategy[dict]:
    """Objects valid for ``schema``; raises ``CannotGenerate`` when a required property
    cannot be generated or the size bounds cannot be met."""
    return _ObjectPlan(b, schema, depth).strategy()


class _ObjectPlan:
    def __init__(self, b: SchemaBuilder, schema: dict, depth: int):
        self.b, self.depth, self.limits = b, depth, Limits.at(depth)
        self.properties = _dict(schema.get("properties"))
        self.patterns = _dict(schema.get("patternProperties"))
        self.names = schema.get("propertyNames", True)
        self.extra = schema.get("additionalProperties", True)
        self.required = list(dict.fromkeys(
            n for n in schema.get("required") or () if isinstance(n, str)))
        self.min_size = int(schema.get("minProperties", 0))
        if b.parameter and depth == 0:
            self.min_size = max(self.min_size, 1)  # {} has no unambiguous text form
        self.max_size = schema.get("maxProperties")
        self.dependencies = {k: [d for d in v if isinstance(d, str)]
                             for k, v in _dict(schema.get("dependentRequired")).items()
                             if isinstance(v, list)}
        self.fixed: dict[str, st.SearchStrategy] = {}
        self.optional: dict[str, st.SearchStrategy] = {}
        self._plan_properties()

    def _plan_properties(self) -> None:
        for name, sub in self.properties.items():
            if name in self.required:
                continue
            if self._excluded(name, sub) or not self._wanted_optional():
                continue
            try:
                self.optional[name] = self.b.build(sub, self.depth + 1)
            except CannotGenerate:
                continue
        for name in self.required:
            sub = self._schema_of(name)
            if name in self.properties and self._excluded(name, sub, required=True):
                continue
            if sub is False or not self._name_ok(name):
                raise CannotGenerate(f"required property {name!r} is not allowed")
            self.fixed[name] = self.b.build(sub, self.depth + 1)

    def _wanted_optional(self) -> bool:
        return self.limits.optional > 0 or self.min_size > len(self.required)

    def _excluded(self, name: str, sub: Any, *, required: bool = False) -> bool:
        """Left out: read-only (in requests), forbidden (``false``) or a bad name."""
        norm = self.b.normalize(sub)
        if isinstance(norm, dict) and norm.get(self.b.skip) is True:
            return True
        if norm is False or not self._name_ok(name):
            if required:
                raise CannotGenerate(f"required property {name!r} is not allowed")
            return True
        return False

    def _name_ok(self, name: str) -> bool:
        return self.names is True or self.b.is_valid(self.names, name)

    def _schema_of(self, name: str) -> Any:
        if name in self.properties:
            return self.properties[name]
        matching = [sub for p, sub in self.patterns.items() if matches_key(p, name)]
        if matching:
            return matching[0] if len(matching) == 1 else {"allOf": matching}
        return self.extra

    def _extra_entries(self) -> st.SearchStrategy[tuple[str, Any]] | None:
        """(key, value) pairs for keys neither named nor matching a pattern: sometimes in
        bodies, in parameters only to reach minProperties (an exploded object's keys
        become parameters, and could collide with real ones)."""
        wanted = self._short() or (self.limits.extra_keys and not self.b.parameter
                                   and self.b.extra_properties)
        if self.extra is False or not wanted:
            return None
        try:
            values = (self.b.any_value(SHALLOW) if self.extra is True
                      else self.b.build(self.extra, self.depth + 1))
            keys = self.b.key_strategy(self.names, self.depth)
        except CannotGenerate:
            return None
        fresh = keep(keys, lambda k: k not in self.properties
                            and not any(matches_key(p, k) for p in self.patterns))
        return st.tuples(fresh, values)

    def _pattern_entries(self) -> list[st.SearchStrategy[tuple[str, Any]]]:
        entries = []
        for pattern, sub in self.patterns.items():
            try:
                keys = self.b.pattern_keys(pattern, self.depth)
                values = self.b.build(sub, self.depth + 1)
            except CannotGenerate:
                continue
            others = [p for p in self.patterns if p != pattern]
            # A key matching two patterns must satisfy both schemas: leave such keys out.
            keys = keep(keys, lambda k, others=others: k not in self.properties
                               and self._name_ok(k)
                               and not any(matches_key(p, k) for p in others))
            entries.append(st.tuples(keys, values))
        return entries

    def strategy(self) -> st.SearchStrategy[dict]:
        if self.max_size is not None and len(self.fixed) > self.max_size:
            raise CannotGenerate(f"{len(self.fixed)} required properties but "
                                 f"maxProperties is {self.max_size}")
        free = [*self._pattern_entries()] if self.limits.extra_keys or self._short() else []
        extra = self._extra_entries()
        if extra is not None:
            free.append(extra)
        if self._short() and not free:
            raise CannotGenerate(f"minProperties {self.min_size} needs more properties "
                                 "than the schema allows")
        if not self.optional and not free:
            fixed = st.fixed_dictionaries(self.fixed)
            # Nothing optional to add: a dependency on an absent property cannot be met.
            return keep(fixed, self._dependencies_met) if self.dependencies else fixed
        return _objects(self, free)

    def _dependencies_met(self, value: dict) -> bool:
        return all(d in value for name in value for d in self.dependencies.get(name, ()))

    def _short(self) -> bool:
        return self.min_size > len(self.fixed) + len(self.optional)


def _objects(plan: _ObjectPlan, free: list[st.SearchStrategy]) -> st.SearchStrategy[dict]:
    names = list(plan.optional)
    room = plan.max_size - len(plan.fixed) if plan.max_size is not None else len(names)
    most = min(len(names), room, max(plan.limits.optional, plan.min_size - len(plan.fixed)))
    # Extra and pattern keys now and then: 1 or 2 of them in 2 draws out of 8.
    extra_choices = 8 if free and plan.limits.extra_keys else 1
    largest = plan.max_size if plan.max_size is not None else 1 << 30

    @st.composite
    def objects(draw: Callable) -> dict:
        out = {name: draw(strategy) for name, strategy in plan.fixed.items()}
        indices, extra = choose_subset(draw, len(names), most, extra_choices)
        for index in indices:
            out[names[index]] = draw(plan.optional[names[index]])
        for name in names:  # minProperties: named properties first
            if len(out) >= plan.min_size:
                break
            if name not in out:
                out[name] = draw(plan.optional[name])
        wanted = max(extra - 5, plan.min_size - len(out), 0)
        wanted = min(wanted, largest - len(out))
        for _ in range(3 * wanted):  # a few tries: a drawn key may already be there
            if wanted <= 0:
                break
            key, value = draw(free[draw(st.integers(0, len(free) - 1))] if len(free) > 1
                              else free[0])
            if key not in out:
                out[key] = value
                wanted -= 1
        _add_dependencies(plan, out, draw)
        if not plan.min_size <= len(out) <= largest:
            reject()
        return out

    return objects()


def choose_subset(draw: Callable, count: int, most: int,
                  options: int = 1) -> tuple[list[int], int]:
    """Up to ``most`` distinct indices below ``count`` (in order) and a number below
    ``options``, in one draw. Each draw costs hypothesis tens of microseconds, so one
    integer stands for the whole choice: subsets by size (so it shrinks to none), then
    by rank among the subsets of that size; each index is as reachable as any other."""
    most = max(0, min(most, count))
    sizes = [math.comb(count, size) for size in range(most + 1)]
    total = sum(sizes)
    if total * options == 1:
        return [], 0
    number = draw(st.integers(0, total * options - 1))
    rank, option = divmod(number, options)
    size = 0
    while rank >= sizes[size]:
        rank -= sizes[size]
        size += 1
    chosen = []
    for index in range(count):  # unrank the combination, smallest index first
        if size == 0:
            break
        with_index = math.comb(count - index - 1, size - 1)
        if rank < with_index:
            chosen.append(index)
            size -= 1
        else:
            rank -= with_index
    return chosen, option


def _add_dependencies(plan: _ObjectPlan, out: dict, draw: Callable) -> None:
    for name in list(out):
        for dependency in plan.dependencies.get(name, ()):
            if dependency in out:
                continue
            strategy = plan.fixed.get(dependency) or plan.optional.get(dependency)
            if strategy is None:
                reject()
            out[dependency] = draw(strategy)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def array_strategy(b: SchemaBuilder, schema: dict, depth: int) -> st.SearchStrategy[list]:
    """Arrays valid for ``schema``; raises ``CannotGenerate`` when the size bounds cannot
    be met with the items the schema allows."""
    limits = Limits.at(depth)
    low = int(schema.get("minItems", 0))
    high = schema.get("maxItems")
    high = int(high) if isinstance(high, int | float) and not isinstance(high, bool) else None
    if b.parameter and depth == 0:
        low = max(low, 1)  # [] has no unambiguous text form
    prefix_schemas = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) \
        else []
    items = schema.get("items", True)
    prefix: list[st.SearchStrategy] = []
    for index, sub in enumerate(prefix_schemas):
        try:
            prefix.append(b.build(sub, depth + 1))
        except CannotGenerate:
            high = index if high is None else min(high, index)
            break
    rest = _items(b, items, depth)
    if rest is None and len(prefix) == len(prefix_schemas):
        high = len(prefix) if high is None else min(high, len(prefix))
    unique = schema.get("uniqueItems") is True
    if unique and rest is not None:
        domain = _domain_size(b.normalize(items))
        if domain is not None:
            high = len(prefix) + domain if high is None else min(high, len(prefix) + domain)
    if high is not None and low > high:
        raise CannotGenerate(f"no array of {low} to {high} items fits the schema")
    most = low + limits.extra_items if high is None else min(high, low + limits.extra_items)
    contains = schema.get("contains")
    if contains is not None and contains is not True:
        return _with_contains(b, schema, depth, prefix, rest, low, most)
    if not prefix and (unique or rest is None):
        element = rest if rest is not None else st.nothing()
        return st.lists(element, min_size=low, max_size=most,
                        unique_by=json_key if unique else None)
    return _prefixed(prefix, rest, low, most, unique)


def _items(b: SchemaBuilder, items: Any, depth: int) -> st.SearchStrategy | None:
    if items is False:
        return None
    try:
        return b.any_value(depth + 1) if items is True else b.build(items, depth + 1)
    except CannotGenerate:
        return None


def _prefixed(prefix: list[st.SearchStrategy], rest: st.SearchStrategy | None, low: int,
              most: int, unique: bool) -> st.SearchStrategy[list]:
    """Arrays whose size is drawn first (one draw, where ``st.lists`` spends one per
    item deciding whether to go on), then ``prefix`` items, then ``rest`` items."""
    top = most if rest is not None else min(most, len(prefix))
    if top == low == 0:
        return st.just([])

    @st.composite
    def arrays(draw: Callable) -> list:
        size = draw(st.integers(low, top))
        out = [draw(strategy) for strategy in prefix[:size]]
        out.extend(draw(rest) for _ in range(size - len(out)))
        if unique and len({json_key(v) for v in out}) < len(out):
            reject()
        return out

    return arrays()


def _with_contains(b: SchemaBuilder, schema: dict, depth: int,
                   prefix: list[st.SearchStrategy], rest: st.SearchStrategy | None,
                   low: int, most: int) -> st.SearchStrategy[list]:
    if prefix or rest is None:
        # Rare in API documents: draw plainly and keep what validates.
        base = _prefixed(prefix, rest, low, most, schema.get("uniqueItems") is True)
        return keep(base, lambda v: b.is_valid(schema, v))
    wanted = int(schema.get("minContains", 1))
    matching = b.build({"allOf": [schema.get("items", True), schema["contains"]]}, depth + 1)
    if wanted > most:
        raise CannotGenerate(f"contains needs {wanted} items but at most {most} are allowed")

    @st.composite
    def arrays(draw: Callable) -> list:
        out = draw(st.lists(rest, min_size=max(0, low - wanted), max_size=most - wanted))
        for _ in range(wanted):
            out.insert(draw(st.integers(0, len(out))), draw(matching))
        return out

    return keep(arrays(), lambda v: b.is_valid(schema, v))


def _domain_size(norm: Any) -> int | None:
    """How many distinct values a schema allows, when that is small and obvious."""
    if not isinstance(norm, dict):
        return None
    if "const" in norm:
        return 1
    if isinstance(norm.get("enum"), list):
        return len({json_key(v) for v in norm["enum"]})
    kinds = norm.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if isinstance(kinds, list) and kinds and set(kinds) <= {"boolean", "null"}:
        return sum(2 if k == "boolean" else 1 for k in set(kinds))
    return None

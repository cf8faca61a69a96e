"""Walking a schema for candidate invalid values: the structure around the leaf mutations.

``Mutator.mutations`` yields, for a schema, its leaf mutations (``mutations.py``: wrong
types, numbers past a bound, strings too long...) and those of its structure: each required
property left out, each property replaced by one of its own mutations (pointer ``/prop``,
recursively, bounded in depth and count), an extra property where ``additionalProperties``
is false, arrays with too many or too few items, a repeated item where ``uniqueItems``, an
item replaced by a mutation of it (pointer ``/0``). Bases are minimal valid values so that a
mutation changes one thing only; ``negative.negative_values`` verifies every candidate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from referencing import Registry

from ..core.records import NOT_SET
from ..specs.validators import schema_validator
from .coverage import distinct_values, round_robin, show
from .minimal import merge_schemas
from .mutations import (
    Mutation,
    const_mutations,
    enum_mutations,
    number_mutations,
    string_mutations,
    wrong_type_mutations,
)
from .schemaview import (
    flatten,
    is_skipped,
    pointer,
    size_keyword,
    valid_minimal,
    value_types,
)
from .wire import PARAMETER_LOCATIONS

MAX_DEPTH = 4
# Subschemas looked at per call: bounds the work on huge documents, deterministically.
NODE_BUDGET = 300
CHILD_LIMIT = 12
ITEMS_LIMIT = 1000
EXTRA_NAME = "unexpected_property"


class Mutator:
    """Yields the mutations of each subschema; one per ``negative_values`` call."""

    def __init__(self, registry: Registry, direction: str, location: str):
        self.registry = registry
        self.direction = direction
        self.location = location
        self.nodes = 0

    def minimal(self, schema: Any) -> Any:
        """A minimal valid value of ``schema`` (``NOT_SET`` if none can be built)."""
        validator = schema_validator(schema, self.registry, direction=self.direction)
        return valid_minimal(schema, self.registry, validator, self.direction)

    def mutations(self, schema: Any, depth: int = 0, limit: int | None = None
                  ) -> Iterator[Mutation]:
        """Candidate invalid values of ``schema``, type-level ones first, then per keyword,
        then those of its properties or items."""
        self.nodes += 1
        flat = flatten(schema, self.registry)
        if flat is None or depth > MAX_DEPTH or self.nodes > NODE_BUDGET:
            return
        stream = self.raw(flat, depth)
        for count, mutation in enumerate(stream, start=1):
            yield mutation
            if limit is not None and count >= limit:
                return

    def raw(self, flat: dict, depth: int) -> Iterator[Mutation]:
        types = value_types(flat) or self.branch_types(flat)
        yield from wrong_type_mutations(flat, types, self.location)
        if "const" in flat:
            yield from const_mutations(flat["const"])
            return
        if isinstance(flat.get("enum"), list) and flat["enum"]:
            yield from enum_mutations(flat["enum"])
            return
        for keyword in ("oneOf", "anyOf"):
            if isinstance(flat.get(keyword), list):
                yield from self.branches(flat, keyword, depth)
        for kind in dict.fromkeys("number" if t == "integer" and "number" in types else t
                                  for t in types):
            if kind in ("integer", "number"):
                yield from number_mutations(flat, kind)
            elif kind == "string":
                yield from string_mutations(flat)
            elif kind == "array":
                yield from self.arrays(flat, depth)
            elif kind == "object":
                yield from self.objects(flat, depth)

    def branch_types(self, flat: dict) -> list[str]:
        """The types a typeless ``oneOf``/``anyOf`` allows, when every branch declares some."""
        found: list[str] = []
        for keyword in ("oneOf", "anyOf"):
            for branch in flat.get(keyword) or []:
                types = value_types(flatten(branch, self.registry) or {})
                if not types:
                    return []
                found.extend(t for t in types if t not in found)
        return found

    def branches(self, flat: dict, keyword: str, depth: int) -> Iterator[Mutation]:
        rest = {k: v for k, v in flat.items() if k not in ("oneOf", "anyOf")}
        for branch in flat[keyword]:
            target = flatten(branch, self.registry)
            if target is not None:
                yield from self.mutations(merge_schemas(rest, target), depth + 1, CHILD_LIMIT)

    def arrays(self, flat: dict, depth: int) -> Iterator[Mutation]:
        low = size_keyword(flat.get("minItems")) or 0
        high = size_keyword(flat.get("maxItems"))
        items = flat.get("items", True)
        unique = flat.get("uniqueItems") is True
        base = self.minimal(flat)
        if not isinstance(base, list):
            base = self.fill(items, low, unique)
        if not isinstance(base, list):
            return
        if low > 0:
            yield Mutation(base[: low - 1], "too_few_items", "",
                           f"an array of {low - 1} items is shorter than the minItems {low}")
        if high is not None and high + 1 <= ITEMS_LIMIT and not flat.get("prefixItems"):
            filled = self.fill(items, high + 1, unique)
            if filled is not None:
                yield Mutation(filled, "too_many_items", "",
                               f"an array of {high + 1} items is longer than the maxItems {high}")
        if unique:
            first = base[0] if base else self.minimal(items)
            if first is not NOT_SET:
                yield Mutation([first, first, *base[2:]], "not_unique", "",
                               f"the item {show(first)} appears twice (uniqueItems)")
        prefix = flat.get("prefixItems")
        item_schema = prefix[0] if isinstance(prefix, list) and prefix else items
        for mutation in self.mutations(item_schema, depth + 1, CHILD_LIMIT):
            yield mutation.inside(0, base or [None])

    def fill(self, items: Any, count: int, unique: bool) -> list | None:
        first = self.minimal(items)
        if first is NOT_SET:
            return None
        if not unique:
            return [first] * count
        return distinct_values(items, count, self.registry, self.direction, [first])

    def objects(self, flat: dict, depth: int) -> Iterator[Mutation]:
        base = self.minimal(flat)
        if not isinstance(base, dict):
            return
        properties = flat.get("properties") if isinstance(flat.get("properties"), dict) else {}
        present = {name: sub for name, sub in properties.items()
                   if not is_skipped(sub, self.registry, self.direction)}
        for name in flat.get("required") or []:
            if name in base and name in present:
                rest = {k: v for k, v in base.items() if k != name}
                yield Mutation(rest, "missing_required", pointer([name]),
                               f"required property {name!r} is missing")
        required = set(flat.get("required") or [])
        yield from round_robin(self.property_mutations(base, name, sub, depth, name in required)
                               for name, sub in present.items())
        yield from self.extras(flat, base, depth)
        yield from self.property_counts(flat, base, present)

    def property_mutations(self, base: dict, name: str, sub: Any, depth: int,
                           required: bool) -> Iterator[Mutation]:
        for mutation in self.mutations(sub, depth + 1, CHILD_LIMIT):
            # Many servers read null in an optional property as "not given": not certain
            # to be rejected, so not a negative value.
            if required or mutation.value is not None:
                yield mutation.inside(name, base)

    def extras(self, flat: dict, base: dict, depth: int) -> Iterator[Mutation]:
        extra = flat.get("additionalProperties", flat.get("unevaluatedProperties"))
        # An exploded object parameter spreads its properties into the query: an extra one
        # looks like an unknown parameter, which servers may rightly ignore.
        if EXTRA_NAME in (flat.get("properties") or {}) or self.location in PARAMETER_LOCATIONS:
            return
        if extra is False:
            keyword = "additionalProperties" if "additionalProperties" in flat else \
                "unevaluatedProperties"
            yield Mutation({**base, EXTRA_NAME: "unexpected"}, "extra_property",
                           pointer([EXTRA_NAME]),
                           f"property {EXTRA_NAME!r} is not allowed ({keyword} is false)")
        elif isinstance(extra, dict) and extra:
            for mutation in self.mutations(extra, depth + 1, CHILD_LIMIT):
                if mutation.value is not None:  # as for optional properties
                    yield mutation.inside(EXTRA_NAME, base)

    def property_counts(self, flat: dict, base: dict, present: dict) -> Iterator[Mutation]:
        most = size_keyword(flat.get("maxProperties"))
        if most is not None:
            bigger = dict(base)
            for name, sub in present.items():
                if len(bigger) > most:
                    break
                value = self.minimal(sub) if name not in bigger else NOT_SET
                if value is not NOT_SET:
                    bigger[name] = value
            if len(bigger) > most:
                yield Mutation(bigger, "too_many_properties", "",
                               f"an object of {len(bigger)} properties is above the "
                               f"maxProperties {most}")
        least = size_keyword(flat.get("minProperties"))
        if least:
            required = set(flat.get("required") or [])
            keep = [k for k in base if k in required][: least - 1]
            smaller = {k: base[k] for k in keep}
            yield Mutation(smaller, "too_few_properties", "",
                           f"an object of {len(smaller)} properties is below the "
                           f"minProperties {least}")

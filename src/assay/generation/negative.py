"""Named invalid values of a schema, each verified invalid, for negative test cases.

A negative case must never be valid: a server that accepts it would be reported for
accepting bad input. So every value here is checked by the validator before it is
returned, and for the named reason only: a value labelled ``too_long`` at ``/title`` is
rejected by ``maxLength`` at ``/title`` and by nothing else. For parameters (and form
fields) the check is on what the server receives, text coerced back by the schema's type:
the integer ``5`` for a ``type: string`` query parameter arrives as the valid string ``"5"``
and is dropped. A parameter the spec does not constrain (``type: string``, ``{}``) thus gets
no negative values at all.

>>> [(n.value, n.kind) for n in negative_values(
...     {"type": "integer", "minimum": 1, "maximum": 100}, Registry(), location="query")]
[('not-a-number', 'wrong_type'), (1.5, 'wrong_type'), (0, 'out_of_range'), (101, 'out_of_range')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from jsonschema.exceptions import ValidationError
from referencing import Registry

from ..specs.validators import schema_validator
from .mutation_strategies import random_mutations
from .mutations import Mutation
from .mutator import Mutator
from .schemaview import errors_of, pointer, value_key
from .wire import Unsendable, check_location, received

MAX_NEGATIVES = 60
# The keywords that may reject a value broken in each named way. A value rejected by any
# other keyword (or at another place) is broken in more than one way and is not kept.
KIND_KEYWORDS = {
    "wrong_type": frozenset(("type", "enum", "const")),
    "out_of_range": frozenset(("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")),
    "multiple_of": frozenset(("multipleOf",)),
    "too_short": frozenset(("minLength",)),
    "too_long": frozenset(("maxLength",)),
    "pattern": frozenset(("pattern",)),
    "format": frozenset(("format",)),
    "enum": frozenset(("enum",)),
    "const": frozenset(("const",)),
    "missing_required": frozenset(("required",)),
    "extra_property": frozenset(("additionalProperties", "unevaluatedProperties")),
    "too_few_items": frozenset(("minItems",)),
    "too_many_items": frozenset(("maxItems",)),
    "not_unique": frozenset(("uniqueItems",)),
    "too_many_properties": frozenset(("maxProperties",)),
    "too_few_properties": frozenset(("minProperties",)),
}
# Keywords whose error stands for errors inside them: they may sit above the broken place.
_WRAPPERS = frozenset(("anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas",
                       "contains"))
# Kinds whose error the validator reports on the object holding the named property.
_ON_PARENT = frozenset(("missing_required", "extra_property"))


@dataclass(frozen=True, slots=True)
class NegativeValue:
    """An invalid value and the one way it is invalid.

    ``value`` is what the caller sends (for a parameter: what it serializes); ``kind`` names
    the broken rule (``wrong_type``, ``out_of_range``, ``too_long``, ``missing_required``...);
    ``pointer`` is the JSON pointer of the broken part inside the value (``""``: the value
    itself; ``"/published"``); ``message`` says it in words ("2101 is above the maximum 2100").
    """

    value: Any
    kind: str
    pointer: str
    message: str


def negative_values(schema: Any, registry: Registry, *, location: str = "body",
                    direction: str = "request") -> list[NegativeValue]:
    """Deterministic invalid values of ``schema``, each verified invalid in its named way.

    ``location`` is ``body``, ``form`` (the fields of a form body, sent as text) or a
    parameter location (``path``, ``query``, ``header``, ``cookie``): there the value must
    still be invalid once the server has turned its text back into a typed value, and it must
    be sendable (no empty path segment or ``/`` in it, header text printable ASCII).
    """
    check_location(location)
    if schema is None:  # a media type without a schema: nothing to say about its values
        return []
    verifier = Verifier(schema, registry, location=location, direction=direction)
    mutator = Mutator(registry, direction, location)
    result: list[NegativeValue] = []
    seen: set[str] = set()
    for mutation in mutator.mutations(schema):
        negative = verifier.verify(mutation)
        key = value_key(mutation.value)
        if negative is None or key in seen:
            continue
        seen.add(key)
        result.append(negative)
        if len(result) >= MAX_NEGATIVES:
            break
    return result


def negative_value_strategy(schema: Any, registry: Registry, *, location: str = "body",
                            direction: str = "request") -> st.SearchStrategy[NegativeValue] | None:
    """Invalid values for the fuzz phase: the deterministic ones, plus random variations
    (numbers drawn beyond a bound, strings of random length past ``maxLength``, values of
    random wrong types, the same for each property or item). Every drawn value is verified
    invalid; a random draw that turns out valid is replaced by one of the deterministic
    values instead of being filtered out, so the strategy never rejects a draw.
    ``None`` when the schema has no negative values."""
    values = negative_values(schema, registry, location=location, direction=direction)
    if not values:
        return None
    verifier = Verifier(schema, registry, location=location, direction=direction)
    known = st.sampled_from(values)

    def checked(pair: tuple[Mutation, NegativeValue]) -> NegativeValue:
        return verifier.verify(pair[0]) or pair[1]

    varied = [st.tuples(strategy, known).map(checked)
              for strategy in random_mutations(schema, registry, location=location,
                                               direction=direction)]
    # Half of the draws are the named values, so every kind keeps coming up.
    return st.one_of(known, st.one_of(varied)) if varied else known


class Verifier:
    """Checks that a candidate is invalid in its named way, as the server will see it."""

    def __init__(self, schema: Any, registry: Registry, *, location: str, direction: str):
        self.schema = schema
        self.registry = registry
        self.location = location
        self.validator = schema_validator(schema, registry, direction=direction)

    def verify(self, mutation: Mutation) -> NegativeValue | None:
        """The ``NegativeValue`` of ``mutation`` if it is rejected for its named reason at
        its named place; ``None`` if it is valid, unsendable or broken in other ways too."""
        try:
            arrived = received(mutation.value, self.schema, self.registry, self.location)
        except Unsendable:
            return None
        errors = errors_of(self.validator, arrived)
        if not errors or not named_correctly(errors, mutation.kind, mutation.pointer):
            return None
        return NegativeValue(mutation.value, mutation.kind, mutation.pointer, mutation.message)


def named_correctly(errors: list[ValidationError], kind: str, where: str) -> bool:
    """Whether every error is one that ``kind`` at pointer ``where`` explains (a wrapper
    keyword such as ``oneOf`` above that place explains itself)."""
    keywords = KIND_KEYWORDS.get(kind)
    target = where.rsplit("/", 1)[0] if kind in _ON_PARENT else where
    for error in errors:
        path = pointer(error.absolute_path)
        if error.validator in _WRAPPERS:
            if target != path and not target.startswith(path + "/"):
                return False
        elif path != target or (keywords is not None and error.validator not in keywords):
            return False
    return True

"""Hypothesis strategies for the valid values of a JSON Schema (positive data).

``from_schema(schema, registry)`` gives request bodies, ``parameter_strategy(schema,
registry, location=...)`` parameter values that survive the trip over the wire. Both build
a ``StrategyFactory``, which callers that ask for many schemas of one API should keep and
reuse: it caches the strategy of every subschema it builds (keyed by the schema object's
identity, so ``$ref`` targets shared by many operations are built once).

How a schema becomes a strategy:

1. ``$ref`` is followed and ``allOf`` merged (``normalize``); keywords that cannot be
   merged exactly stay behind as checks the value is filtered by.
2. ``enum``/``const``: the listed values that validate against the whole schema.
3. ``anyOf``/``oneOf``: each branch merged with the schema's other keywords and built on
   its own; ``oneOf`` values are filtered to match exactly one branch. A ``discriminator``
   pins its property to the branch's name, as a server dispatching on it expects.
4. Otherwise one strategy per allowed ``type`` (inferred from the keywords when absent):
   ``scalars`` for strings and numbers, ``containers`` for objects and arrays.
5. ``not`` and the keywords we do not construct (``if``/``then``/``else``,
   ``dependentSchemas``, ``unevaluated*``) filter the values through the validator.

Every strategy is built eagerly: a schema that cannot be satisfied (an unresolvable
``$ref``, a contradictory ``allOf``, a pattern that cannot be translated) raises
``CannotGenerate`` here, not in the middle of a test run. Recursive schemas are cut by
depth: past ``containers.SHALLOW`` levels only required content is generated, and a
schema that requires itself without end raises ``CannotGenerate`` (in an ``anyOf``, that
branch is dropped).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from referencing import Registry

from ..specs.validators import schema_validator
from .alphabets import Alphabet, alphabet_for
from .containers import SHALLOW, array_strategy, object_strategy
from .filtering import keep
from .keywords import UNCONSTRUCTED, discriminated, is_type_only, type_list, value_types
from .minimal import CannotGenerate
from .normalize import ANNOTATIONS, merge, normalize
from .patterns import CompiledPattern, compiled_strategy
from .regex import RegexTooHard
from .scalars import FormatCheck, integer_strategy, number_strategy, string_strategy

__all__ = ["CannotGenerate", "StrategyFactory", "from_schema", "parameter_strategy"]

_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz_"
_IGNORED = ANNOTATIONS | {"readOnly", "writeOnly", "nullable"}


class StrategyFactory:
    """Strategies for the schemas of one API, cached per schema object.

    ``direction="request"`` never generates ``readOnly`` properties, ``"response"`` never
    ``writeOnly`` ones. ``extra_properties=False`` never adds keys that
    ``additionalProperties`` merely allows. Keep one factory per run (or per worker) and
    ask it for every schema; it is not thread-safe.

    >>> factory = StrategyFactory(Registry())
    >>> factory.from_schema({"type": "integer", "minimum": 1})  # doctest: +SKIP
    """

    def __init__(self, registry: Registry, *, direction: str = "request",
                 extra_properties: bool = True):
        if direction not in ("request", "response"):
            raise ValueError(f"direction must be 'request' or 'response', not {direction!r}")
        self.registry = registry
        self.direction = direction
        self.extra_properties = extra_properties
        self._builders: dict[str, _Builder] = {}

    def from_schema(self, schema: Any) -> st.SearchStrategy:
        """Valid values of ``schema`` for a JSON body; raises ``CannotGenerate``."""
        return self._builder("body").build(schema, 0)

    def parameter(self, schema: Any, location: str) -> st.SearchStrategy:
        """Valid values of ``schema`` for a parameter in ``location`` (path, query,
        header, cookie) that reach the server unchanged; raises ``CannotGenerate``."""
        if location == "body" or location not in ("path", "query", "header", "cookie"):
            raise ValueError(f"location must be path, query, header or cookie; got {location!r}")
        return self._builder(location).build(schema, 0)

    def _builder(self, location: str) -> _Builder:
        builder = self._builders.get(location)
        if builder is None:
            builder = _Builder(self, alphabet_for(location), parameter=location != "body")
            self._builders[location] = builder
        return builder


def from_schema(schema: Any, registry: Registry, *,
                direction: str = "request") -> st.SearchStrategy:
    """Valid values of ``schema`` (a JSON body). ``direction="request"`` leaves readOnly
    properties out (never generates them), ``"response"`` leaves writeOnly out. Raises
    ``CannotGenerate`` at once when the schema cannot be satisfied or handled.

    Each call builds a fresh ``StrategyFactory``; keep one yourself to share its cache.

    >>> from_schema({"type": "string", "format": "uuid"}, Registry())  # doctest: +SKIP
    """
    return StrategyFactory(registry, direction=direction).from_schema(schema)


def parameter_strategy(schema: Any, registry: Registry, *,
                       location: str) -> st.SearchStrategy:
    """Valid values for a parameter in ``location`` (path, query, header, cookie) that
    survive the trip over the wire: see ``generation.alphabets`` for the text rules; no
    ``null``, no empty arrays or objects, no nested arrays or objects; numbers finite.
    Raises ``CannotGenerate`` at once when no such value can be built."""
    return StrategyFactory(registry).parameter(schema, location)


class _Builder:
    """Builds strategies for one location; holds the caches."""

    def __init__(self, factory: StrategyFactory, alphabet: Alphabet, *, parameter: bool):
        self.factory = factory
        self.registry = factory.registry
        self.direction = factory.direction
        self.skip = "readOnly" if factory.direction == "request" else "writeOnly"
        self.alphabet = alphabet
        self.parameter = parameter
        self.extra_properties = factory.extra_properties
        # Values are (schema, result): holding the schema keeps its id from being reused.
        self._strategies: dict[tuple[int, int], tuple[Any, Any]] = {}
        self._building: set[tuple[int, int]] = set()
        self._normalized: dict[int, Any] = {}
        self._validators: dict[int, tuple[Any, Any]] = {}
        self._patterns: dict[tuple[str, str], Any] = {}
        self._formats: dict[str, FormatCheck | None] = {}
        self._any: dict[int, st.SearchStrategy] = {}
        self._keys: dict[int, tuple[Any, st.SearchStrategy]] = {}

    # -- the cache ---------------------------------------------------------------------

    def build(self, schema: Any, depth: int) -> st.SearchStrategy:
        """The strategy for ``schema`` at nesting ``depth`` (0: the value itself)."""
        key = (id(schema), min(depth, SHALLOW))
        hit = self._strategies.get(key)
        if hit is not None and hit[0] is schema:
            if isinstance(hit[1], CannotGenerate):
                raise hit[1]
            return hit[1]
        if key in self._building:
            raise CannotGenerate("the schema requires itself without end (recursive $ref)")
        self._building.add(key)
        try:
            result = self._build(schema, depth)
        except CannotGenerate as exc:
            self._strategies[key] = (schema, exc)
            raise
        finally:
            self._building.discard(key)
        self._strategies[key] = (schema, result)
        return result

    def normalize(self, schema: Any) -> dict | bool:
        """``schema`` with ``$ref`` followed and ``allOf`` merged (remembered)."""
        if id(schema) in self._normalized and self._normalized[id(schema)] is schema:
            return schema
        norm = normalize(schema, self.registry)
        if isinstance(norm, dict):
            self._normalized[id(norm)] = norm
        return norm

    def _build(self, schema: Any, depth: int) -> st.SearchStrategy:
        norm = self.normalize(schema)
        if norm is False:
            raise CannotGenerate("the schema 'false' allows no value")
        if norm is True or not any(k not in _IGNORED and not k.startswith("x-") for k in norm):
            return self.any_value(depth)
        if norm is not schema:
            return self.build(norm, depth)  # shared $ref targets are cached once
        return self._from_normalized(norm, depth)

    # -- one normalized schema -----------------------------------------------------------

    def _from_normalized(self, schema: dict, depth: int) -> st.SearchStrategy:
        checks = list(schema.get("allOf", ()))
        core = {k: v for k, v in schema.items() if k != "allOf"} if checks else schema
        if any(k in core for k in UNCONSTRUCTED):
            checks.append(schema)
        if "const" in core or isinstance(core.get("enum"), list):
            return self._listed(schema, core, depth)
        if "anyOf" in core or "oneOf" in core:
            strategy = self._branches(core, depth)
        else:
            strategy = self._typed(core, depth)
        if "not" in core and not is_type_only(self.normalize(core["not"])):
            checks.append({"not": core["not"]})
        if checks:
            validator = schema_validator({"allOf": checks}, self.registry,
                                         direction=self.direction)
            strategy = keep(strategy, validator.is_valid)
        return strategy

    def _listed(self, schema: dict, core: dict, depth: int) -> st.SearchStrategy:
        values = [core["const"]] if "const" in core else core["enum"]
        validator = self.validator(schema)
        valid = [v for v in values if validator.is_valid(v)]
        if not valid:
            raise CannotGenerate(f"no value of enum/const {values!r:.80} satisfies the rest "
                                 "of the schema")
        sendable = [v for v in valid if self._sendable(v, depth)]
        if not sendable:
            raise CannotGenerate(f"no value of enum/const {values!r:.80} travels unchanged as "
                                 f"a {self.alphabet.name} parameter")
        return st.sampled_from(sendable)

    def _branches(self, core: dict, depth: int) -> st.SearchStrategy:
        keyword = "anyOf" if "anyOf" in core else "oneOf"
        rest = {k: v for k, v in core.items() if k != keyword}
        options = []
        for branch in core[keyword] if isinstance(core[keyword], list) else ():
            try:
                options.append(self._branch(core, rest, branch, depth))
            except CannotGenerate:
                continue
        if not options:
            raise CannotGenerate(f"no branch of {keyword} can be generated")
        strategy = st.one_of(options)
        if keyword == "oneOf" and len(options) > 1:
            strategy = keep(strategy, self.validator(core).is_valid)
        return strategy

    def _branch(self, core: dict, rest: dict, branch: Any, depth: int) -> st.SearchStrategy:
        norm = self.normalize(branch)
        if any(k not in _IGNORED and not k.startswith("x-") for k in rest):
            norm = merge(rest, norm)
            if isinstance(norm, dict):
                self._normalized[id(norm)] = norm
        pinned = discriminated(core, branch, norm)
        if pinned is not None:
            self._normalized[id(pinned)] = pinned
            try:
                return self.build(pinned, depth)
            except CannotGenerate:
                pass  # the property's own schema rejects the name: generate it freely
        return self.build(norm, depth)

    def _typed(self, schema: dict, depth: int) -> st.SearchStrategy:
        kinds = value_types(schema)
        if self.parameter:
            kinds = [k for k in kinds if k != "null" and (depth == 0 or k not in
                                                          ("array", "object"))]
        denied = self.normalize(schema["not"]) if "not" in schema else None
        if is_type_only(denied):
            kinds = [k for k in kinds if k not in type_list(denied["type"])]
        options = []
        for kind in kinds:
            try:
                options.append(self._of_type(kind, schema, depth))
            except CannotGenerate:
                continue
        if not options:
            raise CannotGenerate(f"no value of type {'/'.join(kinds) or '(none)'} "
                                 "satisfies the schema" + (" in this location"
                                                           if self.parameter else ""))
        return options[0] if len(options) == 1 else st.one_of(options)

    def _of_type(self, kind: str, schema: dict, depth: int) -> st.SearchStrategy:
        if kind == "string":
            alphabet = self.alphabet_at(depth)
            return string_strategy(
                schema, alphabet,
                compile_pattern=lambda p: self.compile_pattern(p, alphabet),
                format_check=self.format_check)
        if kind == "integer":
            return integer_strategy(schema)
        if kind == "number":
            return number_strategy(schema)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        if kind == "object":
            return object_strategy(self, schema, depth)
        if kind == "array":
            return array_strategy(self, schema, depth)
        raise CannotGenerate(f"unknown type {kind!r}")

    # -- services for containers and scalars ------------------------------------------

    def alphabet_at(self, depth: int) -> Alphabet:
        """The alphabet of strings at ``depth`` (inside a parameter's array: nested)."""
        return self.alphabet.nested() if depth > 0 else self.alphabet

    def any_value(self, depth: int) -> st.SearchStrategy:
        """Any small JSON value (a scalar that travels, for parameters)."""
        bucket = min(depth, SHALLOW) if not self.parameter else min(depth, 1)
        if bucket not in self._any:
            self._any[bucket] = self._make_any(bucket)
        return self._any[bucket]

    def _make_any(self, depth: int) -> st.SearchStrategy:
        alphabet = self.alphabet_at(depth)
        text = st.text(alphabet.characters(), min_size=alphabet.min_size, max_size=10)
        if alphabet.has_string_rules:
            text = keep(text, alphabet.accepts)
        scalars = st.one_of(text, st.integers(-1000, 1000), st.booleans())
        if self.parameter:
            return scalars
        leaves = st.one_of(scalars, st.none(),
                           st.floats(allow_nan=False, allow_infinity=False, width=32))
        if depth >= SHALLOW - 1:
            return leaves
        # One level of nesting is enough to exercise a server; deeper is slow to draw.
        keys = st.text(alphabet=_KEY_CHARS, min_size=1, max_size=6)
        return st.one_of(leaves, st.lists(leaves, max_size=3),
                         st.dictionaries(keys, leaves, max_size=3))

    def key_strategy(self, names: Any, depth: int) -> st.SearchStrategy[str]:
        """Names for extra properties, valid for ``propertyNames`` (``True``: any)."""
        if names is True or names is None:
            return st.text(alphabet=_KEY_CHARS, min_size=1, max_size=8)
        hit = self._keys.get(id(names))
        if hit is None or hit[0] is not names:
            as_string = merge({"type": "string"}, self.normalize(names))
            self._normalized[id(as_string)] = as_string
            hit = (names, self.build(as_string, depth + 1))
            self._keys[id(names)] = hit
        return hit[1]

    def pattern_keys(self, pattern: str, depth: int) -> st.SearchStrategy[str]:
        """Property names containing a match of ``pattern``."""
        try:
            return compiled_strategy(self.compile_pattern(pattern, self.alphabet_at(depth + 1)))
        except RegexTooHard as exc:
            raise CannotGenerate(str(exc)) from exc

    def compile_pattern(self, pattern: str, alphabet: Alphabet) -> CompiledPattern:
        """``pattern`` compiled for ``alphabet`` (cached; ``RegexTooHard`` when it fails)."""
        key = (pattern, alphabet.name)
        hit = self._patterns.get(key)
        if hit is None:
            try:
                hit = CompiledPattern(pattern, alphabet)
            except RegexTooHard as exc:
                hit = exc
            self._patterns[key] = hit
        if isinstance(hit, RegexTooHard):
            raise hit
        return hit

    def format_check(self, fmt: str) -> FormatCheck | None:
        """The validator's test for format ``fmt``, or ``None`` if it does not check it."""
        if fmt not in self._formats:
            validator = schema_validator({"format": fmt}, self.registry,
                                         direction=self.direction)
            checked = fmt in validator.format_checker.checkers
            self._formats[fmt] = validator.is_valid if checked else None
        return self._formats[fmt]

    def validator(self, schema: Any) -> Any:
        """A validator for ``schema`` in this direction (cached per schema object)."""
        hit = self._validators.get(id(schema))
        if hit is None or hit[0] is not schema:
            hit = (schema, schema_validator(schema, self.registry, direction=self.direction))
            self._validators[id(schema)] = hit
        return hit[1]

    def is_valid(self, schema: Any, value: Any) -> bool:
        """True when ``value`` validates against ``schema``."""
        return self.validator(schema).is_valid(value)

    def _sendable(self, value: Any, depth: int) -> bool:
        """An enum value that travels unchanged in this location."""
        if not self.parameter:
            return True
        if value is None:
            return False
        if isinstance(value, str):
            return self.alphabet_at(depth).accepts(value)
        if isinstance(value, list | dict):
            items = list(value.values()) if isinstance(value, dict) else value
            keys = list(value) if isinstance(value, dict) else []
            return depth == 0 and bool(items) and all(
                not isinstance(v, list | dict) and self._sendable(v, depth + 1)
                for v in [*items, *keys])
        return True

"""Following the ``$ref``s left in the model's schemas, for consumers that need the target.

Schemas in an ``ApiSpec`` keep their refs (absolute URIs) so recursive schemas stay finite;
validators resolve them through ``spec.registry`` on their own. Code that inspects a schema
(a generator asking "is this an object?") uses these helpers instead:

>>> follow_ref(spec, {"$ref": spec.base_uri + "#/components/schemas/Pet"})  # doctest: +SKIP
{'type': 'object', 'properties': {...}}
"""

from __future__ import annotations

from typing import Any

from referencing import Registry
from referencing.exceptions import Unresolvable

from assay.core.errors import SpecError

from .model import ApiSpec

_MAX_HOPS = 64
# Values of these keywords are data, not schemas: a "$ref" key inside one is not a ref.
_DATA = frozenset(("enum", "const", "default", "examples", "example"))


def lookup_ref(spec: ApiSpec, uri: str) -> Any:
    """The schema an absolute ref URI names; raises ``SpecError`` if the registry lacks it."""
    try:
        return spec.registry.resolver().lookup(uri).contents
    except Unresolvable as exc:
        raise SpecError(f"cannot resolve $ref '{uri}'; expected a URI of a loaded document",
                        source=spec.source) from exc


def deref(schema: Any, registry: Registry, *, max_hops: int = 12) -> Any | None:
    """``schema`` with its top-level ``$ref`` chain followed through ``registry``; ``None``
    when a ref does not resolve or the chain is longer than ``max_hops``. Checks and
    generators use it where they hold a registry and want to look at the target, not
    validate (a validator resolves refs on its own)."""
    for _ in range(max_hops + 1):
        if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
            return schema
        try:
            schema = registry.resolver().lookup(schema["$ref"]).contents
        except Unresolvable:
            return None
    return None


def follow_ref(spec: ApiSpec, schema: Any) -> Any:
    """``schema`` with its top-level ``$ref`` chain followed (only when ``$ref`` is alone).

    A schema with ``$ref`` and sibling keywords (OpenAPI 3.1) is returned unchanged: both
    apply, so the target alone would say too much. Raises ``SpecError`` on a ref cycle.
    """
    for _ in range(_MAX_HOPS):
        if not (isinstance(schema, dict) and len(schema) == 1 and "$ref" in schema):
            return schema
        schema = lookup_ref(spec, schema["$ref"])
    raise SpecError("the $ref chain does not end (a schema that is only a ref to itself)",
                    source=spec.source)


def resolve_schema(spec: ApiSpec, schema: Any, *, max_depth: int = 3) -> Any:
    """A copy of ``schema`` with refs inlined, at most ``max_depth`` refs deep.

    A ref alone is replaced by its target; a ref with siblings (3.1) becomes
    ``{...siblings, "allOf": [target]}``, which means the same. Refs deeper than
    ``max_depth`` (a recursive schema's tail) are left as they are: still absolute URIs
    that ``spec.registry`` resolves. ``schema`` itself is not modified; the result may
    share parts with the registry, so treat it as read-only.
    """
    if max_depth < 0:
        raise ValueError(f"max_depth must be at least 0, got {max_depth}")
    return _inline(spec, schema, max_depth, {})


def _inline(spec: ApiSpec, schema: Any, depth: int, memo: dict[tuple[str, int], Any]) -> Any:
    if isinstance(schema, list):
        return [_inline(spec, item, depth, memo) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and depth > 0:
        key = (ref, depth)
        if key not in memo:
            memo[key] = _inline(spec, lookup_ref(spec, ref), depth - 1, memo)
        target = memo[key]
        rest = _inline_keywords(spec, schema, depth, memo)
        del rest["$ref"]
        if not rest:
            return target
        others = rest.get("allOf")
        rest["allOf"] = [*(others if isinstance(others, list) else []), target]
        return rest
    return _inline_keywords(spec, schema, depth, memo)


def _inline_keywords(spec: ApiSpec, schema: dict, depth: int,
                     memo: dict[tuple[str, int], Any]) -> dict:
    return {
        key: value if key in _DATA or key.startswith("x-") else _inline(spec, value, depth, memo)
        for key, value in schema.items()
    }

"""What a normalized schema says beyond its keywords' plain values.

``value_types`` is the list of JSON types a schema's values may take (``type``, or inferred
from the keywords present: ``properties`` means an object...); ``discriminated`` pins an
OpenAPI ``discriminator`` property to the name of the branch being generated.
"""

from __future__ import annotations

from typing import Any

from .minimal import CannotGenerate
from .normalize import merge

# Keywords no strategy constructs for: values are filtered through the validator instead.
UNCONSTRUCTED = ("if", "then", "else", "dependentSchemas", "unevaluatedItems",
                 "unevaluatedProperties", "$dynamicRef")
_FAMILIES = (
    ("object", ("properties", "required", "additionalProperties", "patternProperties",
                "minProperties", "maxProperties", "propertyNames", "dependentRequired")),
    ("array", ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains")),
    ("string", ("minLength", "maxLength", "pattern")),
    ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
)
_INTEGER_FORMATS = frozenset(("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                              "uint64"))


def value_types(schema: dict) -> list[str]:
    """The types ``schema`` allows: ``type`` as a list, else inferred from its keywords
    (every type when nothing hints at one)."""
    declared = schema.get("type")
    if declared is not None:
        return [t for t in type_list(declared) if isinstance(t, str)]
    kinds = [kind for kind, keywords in _FAMILIES if any(k in schema for k in keywords)]
    fmt = schema.get("format")
    if fmt in _INTEGER_FORMATS:
        kinds.append("integer")
    elif fmt in ("float", "double"):
        kinds.append("number")
    elif isinstance(fmt, str) and "string" not in kinds:
        kinds.append("string")
    return kinds or ["object", "array", "string", "number", "boolean", "null"]


def type_list(declared: Any) -> list:
    """``type`` as a list (it may be one name)."""
    return [declared] if isinstance(declared, str) else list(declared)


def is_type_only(schema: Any) -> bool:
    """True for a schema that only says ``type`` (a ``not`` of it removes types)."""
    return isinstance(schema, dict) and set(schema) == {"type"}


def discriminated(core: dict, branch: Any, norm: Any) -> dict | None:
    """``norm`` with the discriminator property pinned to the branch's name(s), or
    ``None`` when there is no discriminator or the branch is not a ``$ref``."""
    discriminator = core.get("discriminator")
    if not (isinstance(discriminator, dict) and isinstance(branch, dict)
            and isinstance(branch.get("$ref"), str) and isinstance(norm, dict)):
        return None
    name = discriminator.get("propertyName")
    if not isinstance(name, str):
        return None
    ref = branch["$ref"]
    mapping = discriminator.get("mapping") if isinstance(discriminator.get("mapping"),
                                                         dict) else {}
    values = [key for key, target in mapping.items()
              if target == ref or (isinstance(target, str) and "/" not in target
                                   and ref.endswith("/" + target))]
    values = values or [ref.rsplit("/", 1)[-1]]
    try:
        return merge(norm, {"properties": {name: {"enum": values}}, "required": [name]})
    except CannotGenerate:
        return None

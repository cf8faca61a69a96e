"""Walking ``paths`` into operations: what Swagger 2.0 and OpenAPI 3.x have in common.

Path items and operations may be ``$ref``s; non-method keys of a path item (``parameters``,
``summary``, ``servers``, ``x-...``) are not operations. An operation that cannot be used
is left out with a ``SpecWarning`` naming it; the rest of the document still loads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .context import BuildContext, OperationSkipped, text
from .documents import Node
from .model import Operation, Parameter
from .schemas import RefTarget
from .sources import display_name

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_TEMPLATE_NAME = re.compile(r"\{([^{}/]+)\}")

OperationBuilder = Callable[[BuildContext, Operation, Node, dict[str, Node]], None]
"""Fills an operation's parameters, body, responses and servers from its node."""


@dataclass(slots=True)
class PendingOperation:
    """A built operation and the schema positions it depends on."""

    operation: Operation
    deps: set[RefTarget]


def collect_operations(
    ctx: BuildContext,
    paths: Node,
    build: OperationBuilder,
    *,
    security: list[dict[str, list[str]]],
) -> list[PendingOperation]:
    """Every usable operation under ``paths``, in document order."""
    pending: list[PendingOperation] = []
    seen: set[str] = set()
    ids: dict[str, str] = {}
    for path, raw in paths.items():
        if path.startswith("x-"):
            continue
        try:
            item = path_item(ctx, raw)
        except OperationSkipped as exc:
            ctx.warn(f"path item skipped: {exc.message}", exc.where, operation=path)
            continue
        for key, node in item.items():
            method = key.lower()
            if method not in METHODS:
                continue
            label = f"{method.upper()} {path}"
            if label in seen:
                ctx.warn(f"duplicate operation (key '{key}'); the first one is kept",
                         node.where, operation=label)
                continue
            seen.add(label)
            ctx.deps = set()
            try:
                operation = _operation(ctx, path, method, node, item, build, security)
            except OperationSkipped as exc:
                ctx.warn(exc.message, exc.where, operation=label)
                continue
            pending.append(PendingOperation(operation, ctx.deps))
            _check_unique_id(ctx, operation, ids)
    return pending


def _check_unique_id(ctx: BuildContext, operation: Operation, ids: dict[str, str]) -> None:
    # Links and suites find operations by operationId: a duplicate makes that ambiguous.
    if operation.operation_id is None:
        return
    first = ids.setdefault(operation.operation_id, operation.label)
    if first != operation.label:
        ctx.warn(f"{operation.label}: operationId '{operation.operation_id}' is also used by "
                 f"{first}", operation.pointer)


def path_item(ctx: BuildContext, node: Node) -> dict[str, Node]:
    """The fields of a path item; a ``$ref``'s target, with its local siblings added."""
    target = ctx.mapping(node, "a path item")
    fields = dict(target.items())
    if target is not node:
        for key, child in node.items():
            if key != "$ref":
                fields.setdefault(key, child)
    return fields


def _operation(
    ctx: BuildContext,
    path: str,
    method: str,
    node: Node,
    item: dict[str, Node],
    build: OperationBuilder,
    security: list[dict[str, list[str]]],
) -> Operation:
    op_node = ctx.mapping(node, "an operation")
    fields = op_node.value
    tags = fields.get("tags")
    own_security = requirements(fields.get("security"))
    operation_id = fields.get("operationId")
    operation = Operation(
        method=method.upper(),
        path=path,
        operation_id=text(operation_id) if operation_id is not None else None,
        summary=text(fields.get("summary")),
        tags=[text(tag) for tag in tags] if isinstance(tags, list) else [],
        security=own_security if own_security is not None else security,
        deprecated=fields.get("deprecated") is True,
        pointer=node.where,
    )
    build(ctx, operation, op_node, item)
    _add_undeclared_path_parameters(ctx, operation)
    return operation


def merged_parameters(
    ctx: BuildContext, item: dict[str, Node], operation: Node, locations: tuple[str, ...]
) -> list[tuple[Node, str]]:
    """Path-item then operation parameters (operation wins by name and location).

    Returns ``(followed node, location)`` pairs; a parameter without a name or with an
    invalid ``in`` skips the operation.
    """
    canonical = {location.lower(): location for location in locations}
    merged: dict[tuple[str, str], tuple[Node, str]] = {}
    for source in (item.get("parameters"), operation.get("parameters")):
        if source is None or source.value is None:
            continue
        source = ctx.follow(source)
        if not isinstance(source.value, list):
            raise OperationSkipped("'parameters' must be a list", source.where)
        for element in source.elements():
            param = ctx.mapping(element, "a parameter")
            name = param.value.get("name")
            location = param.value.get("in")
            if not isinstance(name, str) or not name:
                raise OperationSkipped(
                    "a parameter has no name; expected a non-empty string 'name'", param.where
                )
            if not isinstance(location, str) or location.lower() not in canonical:
                raise OperationSkipped(
                    f"parameter '{name}' has 'in: {location}'; expected one of "
                    + ", ".join(locations),
                    param.where,
                )
            location = canonical[location.lower()]
            merged[(name, location)] = (param, location)
    return list(merged.values())


def requirements(value: Any) -> list[dict[str, list[str]]] | None:
    """A security requirement list normalised (``None`` when not a list)."""
    if not isinstance(value, list):
        return None
    normalised = []
    for alternative in value:
        if isinstance(alternative, dict):
            normalised.append({
                str(name): [str(scope) for scope in scopes] if isinstance(scopes, list) else []
                for name, scopes in alternative.items()
            })
    return normalised


def _add_undeclared_path_parameters(ctx: BuildContext, operation: Operation) -> None:
    # A template variable with no parameter still needs a value to build a URL.
    declared = {p.name for p in operation.parameters if p.location == "path"}
    for name in _TEMPLATE_NAME.findall(operation.path):
        if name not in declared:
            declared.add(name)
            operation.parameters.append(Parameter(
                name=name, location="path", required=True, schema={"type": "string"},
                style="simple", explode=False,
            ))
            ctx.warn(f"{operation.label}: path parameter '{name}' is not declared; "
                     "assuming a required string", operation.pointer)


def finish_operations(
    ctx: BuildContext, pending: list[PendingOperation], root_uri: str
) -> list[Operation]:
    """Drop the operations that reach a broken schema ref (after ``Catalog.registry``)."""
    catalog = ctx.catalog
    if not catalog.broken:
        return [item.operation for item in pending]
    tainted = catalog.tainted()
    operations: list[Operation] = []
    reported: set[RefTarget] = set()
    for item in pending:
        causes = sorted(tainted[key] for key in item.deps if key in tainted)
        if not causes:
            operations.append(item.operation)
            continue
        reported.add(causes[0])
        ctx.warn(_broken_message(ctx, causes[0], root_uri, item.deps), item.operation.pointer,
                 operation=item.operation.label)
    for target in catalog.broken:
        if target not in reported:
            ctx.warn(_broken_message(ctx, target, root_uri, set()), "")
    return operations


def _broken_message(
    ctx: BuildContext, target: RefTarget, root_uri: str, deps: set[RefTarget]
) -> str:
    reason = ctx.catalog.broken[target]
    referrers = ctx.catalog.referrers.get(target)
    if not referrers:
        return reason
    # Name the operation's own schema when it holds the ref, else the first referrer.
    uri, pointer = next((r for r in referrers if r in deps), referrers[0])
    place = pointer or "/"
    if uri != root_uri:
        place = f"{display_name(uri)} {place}"
    return f"{reason} (referenced at {place})"

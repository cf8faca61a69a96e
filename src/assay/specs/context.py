"""State shared by the Swagger 2.0 and OpenAPI 3.x builders while one document loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assay.core.errors import SpecError

from .catalog import Catalog
from .documents import DocumentStore, Node, RefError
from .model import Example, SecurityScheme, SpecWarning
from .schemas import RefTarget


class OperationSkipped(Exception):
    """An operation cannot be used; it is left out with a ``SpecWarning``."""

    def __init__(self, message: str, where: str):
        super().__init__(message)
        self.message = message
        self.where = where


@dataclass(slots=True)
class BuildContext:
    """The documents, schemas and warnings of one load.

    ``deps`` collects the schema positions the operation being built uses; the loader
    skips the operation if one of them reaches a ref that cannot be resolved.
    """

    store: DocumentStore
    catalog: Catalog
    warnings: list[SpecWarning] = field(default_factory=list)
    deps: set[RefTarget] = field(default_factory=set)

    def follow(self, node: Node) -> Node:
        """``node`` with its ``$ref`` followed; a broken ref skips the current operation."""
        try:
            return self.store.follow(node)
        except RefError as exc:
            raise OperationSkipped(str(exc), node.where) from exc

    def mapping(self, node: Node, what: str) -> Node:
        """``node`` followed, which must be a mapping (``what`` names it in the message)."""
        node = self.follow(node)
        if not isinstance(node.value, dict):
            raise OperationSkipped(
                f"{what} must be a mapping, found {_kind(node.value)}", node.where
            )
        return node

    def schema(self, node: Node | None) -> dict[str, Any] | bool:
        """The translated schema at ``node`` (``True``, anything, when there is none)."""
        if node is None:
            return True
        schema, key = self.catalog.at(node)
        self.deps.add(key)
        return True if schema is None else schema

    def built_schema(self, value: Any, owner: Node) -> dict[str, Any] | bool:
        """Translate a schema assembled from ``owner`` (a Swagger 2.0 parameter, say)."""
        schema, deps = self.catalog.build(value, owner.uri, (owner.uri, owner.pointer))
        self.deps.update(deps)
        return True if schema is None else schema

    def warn(self, message: str, where: str = "", operation: str | None = None) -> None:
        """Record a ``SpecWarning``; ``operation`` is set only when it was skipped."""
        self.warnings.append(SpecWarning(message=message, pointer=where, operation=operation))


def example(node: Node) -> Example:
    """An ``Example`` of the value at ``node``."""
    return Example(value=node.value, pointer=node.where)


def text(value: Any) -> str:
    """A string field as text (``""`` when absent; numbers from YAML turned into text)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


@dataclass(slots=True)
class DocumentParts:
    """What a version-specific builder extracts from a document besides its info."""

    servers: list[str]
    security_schemes: dict[str, SecurityScheme]
    pending: list[Any]


def top_level(ctx: BuildContext, root: Node, key: str, *, source: str) -> Node | None:
    """A top-level field, its ``$ref`` followed; a broken ref there is a ``SpecError``."""
    node = root.get(key)
    if node is None:
        return None
    try:
        return ctx.store.follow(node)
    except RefError as exc:
        raise SpecError(str(exc), source=source, location=node.where) from exc


def optional(ctx: BuildContext, node: Node, what: str) -> Node | None:
    """``node`` followed, or ``None`` with a warning (for parts an operation can lack)."""
    try:
        return ctx.store.follow(node)
    except RefError as exc:
        ctx.warn(f"{what} skipped: {exc}", node.where)
        return None


def media_type_key(value: str) -> str:
    """A media type without parameters, lower-cased, for comparisons."""
    return value.split(";", 1)[0].strip().lower()

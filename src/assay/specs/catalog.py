"""Every translated schema of one load, the refs between them, and the registry they form.

Schemas are translated once per position (document URI, JSON pointer). Every ``$ref`` a
translated schema names is loaded and translated in turn (``close``), so the registry
resolves all of them; a target that cannot be loaded is ``broken``, and ``tainted`` says
which positions reach a broken target through any chain of refs, so that only the
operations that use them are skipped.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from .documents import DocumentStore, Node, RefError, pointer_tokens, ref_uri, walk
from .schemas import RefTarget, SchemaTranslator


class Catalog:
    """The translated schemas of one load, by position, and the ref graph between them."""

    def __init__(self, store: DocumentStore, translator: SchemaTranslator):
        self.store = store
        self.translator = translator
        self.schemas: dict[RefTarget, Any] = {}
        self.edges: dict[RefTarget, set[RefTarget]] = {}
        self.broken: dict[RefTarget, str] = {}
        self.referrers: dict[RefTarget, list[RefTarget]] = {}
        self._pending: list[tuple[RefTarget, str]] = []

    def at(self, node: Node) -> tuple[Any, RefTarget]:
        """The translated schema at ``node``'s position (``None`` if not a schema), its key."""
        key = (node.uri, node.pointer)
        if key not in self.schemas:
            self._translate(key, node.value)
        return self.schemas[key], key

    def build(self, value: Any, base: str, owner: RefTarget) -> tuple[Any, set[RefTarget]]:
        """Translate a schema assay built itself (not at a position); returns its deps.

        ``owner`` is the position it was built from, named when one of its refs is broken.
        """
        translated = self.translator.translate(value, base)
        return translated.schema, self._record(owner, translated)

    def close(self) -> None:
        """Load and translate every ref target named so far, transitively."""
        while self._pending:
            target, ref = self._pending.pop()
            if target in self.broken:
                continue
            if target not in self.schemas:
                document, pointer = target
                try:
                    if document in self.translator.embedded:
                        # An OpenAPI 3.1 subschema with its own $id, already translated.
                        walk(self.translator.embedded[document], pointer, ref=ref,
                             name=document)
                        continue
                    value = self.store.lookup(document, pointer, ref=ref)
                except RefError as exc:
                    self.broken[target] = str(exc)
                    continue
                self._translate(target, value)
            if self.schemas[target] is None:
                self.broken[target] = (
                    f"cannot resolve $ref '{ref}': the target is not a schema (expected a "
                    "mapping or a boolean)"
                )

    def tainted(self) -> dict[RefTarget, RefTarget]:
        """Every position that reaches a broken target, mapped to that broken target.

        Deterministic (sorted, breadth-first): which broken ref an operation is blamed
        for must not depend on set order.
        """
        reverse: dict[RefTarget, list[RefTarget]] = defaultdict(list)
        for source, targets in self.edges.items():
            for target in sorted(targets):
                reverse[target].append(source)
        found = {key: key for key in sorted(self.broken)}
        queue = deque(found)
        while queue:
            key = queue.popleft()
            for source in reverse.get(key, ()):
                if source not in found:
                    found[source] = found[key]
                    queue.append(source)
        return found

    def registry(self) -> Registry:
        """A registry of every loaded document, translated schemas in place, as 2020-12.

        Call after ``close``. Every ref target is then looked up the way a validator will;
        one that fails (a pointer through something that is not a schema) becomes broken.
        """
        positions: dict[str, list[tuple[list[str], Any]]] = defaultdict(list)
        for (document, pointer), schema in self.schemas.items():
            if schema is not None and document in self.store.documents:
                positions[document].append((pointer_tokens(pointer), schema))
        resources: list[tuple[str, Resource]] = []
        for uri, document in self.store.documents.items():
            contents = _substitute(document, positions.get(uri, []))
            resources.append((uri, DRAFT202012.create_resource(contents)))
        for uri, schema in self.translator.embedded.items():
            resources.append((uri, DRAFT202012.create_resource(schema)))
        registry = Registry().with_resources(resources)
        self._verify(registry)
        return registry

    def _verify(self, registry: Registry) -> None:
        resolver = registry.resolver()
        for target in list(self.referrers):
            if target in self.broken or not target[0]:
                continue
            try:
                resolver.lookup(ref_uri(*target))
            # referencing walks pointers with the JSON Schema vocabulary in mind and fails
            # in these ways on structures that are not schemas.
            except (Unresolvable, LookupError, AttributeError, TypeError, ValueError) as exc:
                self.broken[target] = (
                    f"cannot resolve $ref '{ref_uri(*target)}': the pointer passes through "
                    f"something that is not a schema ({type(exc).__name__})"
                )

    def _translate(self, key: RefTarget, value: Any) -> None:
        translated = self.translator.translate(value, key[0])
        self.schemas[key] = translated.schema
        self.edges[key] = self._record(key, translated)

    def _record(self, owner: RefTarget, translated: Any) -> set[RefTarget]:
        deps: set[RefTarget] = set()
        for target, ref in translated.refs.items():
            deps.add(target)
            self.referrers.setdefault(target, []).append(owner)
            if target not in self.broken:
                self._pending.append((target, ref))
        for ref, reason in translated.invalid.items():
            bad = ("", ref)
            self.broken[bad] = reason
            self.referrers.setdefault(bad, []).append(owner)
            deps.add(bad)
        return deps


def _substitute(document: Any, positions: list[tuple[list[str], Any]]) -> Any:
    """Put translated schemas at their positions in ``document`` (in place), outermost first.

    An inner position is set inside the outer translation too: there it replaces either
    its own translation (no change) or raw content under a keyword the translation keeps
    as it is. A position the outer translation dropped (under a 3.0 ``$ref`` sibling) is
    skipped; a ref to it then fails verification.
    """
    for tokens, schema in sorted(positions, key=lambda item: len(item[0])):
        if not tokens:
            document = schema
            continue
        parent = document
        try:
            for token in tokens[:-1]:
                parent = parent[int(token)] if isinstance(parent, list) else parent[token]
            if isinstance(parent, list):
                parent[int(tokens[-1])] = schema
            elif isinstance(parent, dict):
                parent[tokens[-1]] = schema
        except (LookupError, ValueError, TypeError):
            continue
    return document

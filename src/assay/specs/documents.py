"""The documents of one load, by URI; JSON pointers; following ``$ref`` for OpenAPI objects.

A ``Node`` is a value together with where it physically is (the URI of the document that
holds it and a JSON pointer in it: the base for its relative refs) and where it logically
is in the root document (``where``: the pointer used in warnings, unchanged by a ``$ref``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit

from assay.core.errors import SpecError

from .parsing import parse_document
from .sources import Fetcher, display_name

# Characters left readable in a pointer fragment; everything else is percent-encoded
# (referencing percent-decodes a fragment before walking it).
_FRAGMENT_SAFE = "/~!$&'()*+,;=:@-._{}[]"
_MAX_REF_CHAIN = 64


class RefError(Exception):
    """A ``$ref`` that cannot be followed; callers turn it into a warning or a SpecError."""


def escape(token: str) -> str:
    """One JSON pointer token: ``~`` -> ``~0``, ``/`` -> ``~1``."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """The inverse of ``escape``."""
    return token.replace("~1", "/").replace("~0", "~")


def pointer_tokens(pointer: str) -> list[str]:
    """The unescaped tokens of a JSON pointer (``""`` is the whole document)."""
    if not pointer:
        return []
    return [unescape(token) for token in pointer[1:].split("/")]


def walk(value: Any, pointer: str, *, ref: str, name: str) -> Any:
    """The value at ``pointer`` inside ``value``; ``RefError`` (naming ``ref``) if absent."""
    for token in pointer_tokens(pointer):
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise RefError(
                f"cannot resolve $ref '{ref}': {name} has nothing at '{pointer}' (no '{token}')"
            )
    return value


def ref_uri(document_uri: str, pointer: str) -> str:
    """The absolute URI of a pointer in a document, as written into rewritten schema refs."""
    if not pointer:
        return document_uri
    return f"{document_uri}#{quote(pointer, safe=_FRAGMENT_SAFE)}"


def ref_target(ref: str, base: str) -> tuple[str, str]:
    """``(document URI, decoded fragment)`` of ``ref`` written in a document at ``base``.

    Raises ``RefError`` when the ref is relative and the base cannot resolve it (an
    in-memory document without a base URI).
    """
    if ref.startswith("#"):
        return urldefrag(base).url, unquote(ref[1:])
    absolute = urljoin(base, ref)
    document, fragment = urldefrag(absolute)
    if not urlsplit(document).scheme:
        raise RefError(
            f"cannot resolve $ref '{ref}': a relative reference needs the document's own "
            "location (load it from a file or URL, or pass base_uri=)"
        )
    return document, unquote(fragment)


def resolve_ref(ref: str, base: str) -> tuple[str, str]:
    """The ``(document URI, JSON pointer)`` a ``$ref`` written at ``base`` names.

    Raises ``RefError`` for a ref assay cannot follow: a relative ref without a base URI,
    a plain-name fragment (``#foo``: only JSON pointers are supported), or a local file
    named by a document that is not itself a local file.
    """
    document, fragment = ref_target(ref, base)
    if fragment and not fragment.startswith("/"):
        raise RefError(
            f"cannot resolve $ref '{ref}': expected a JSON pointer fragment ('#/...')"
        )
    if document.startswith("file:") and not base.startswith("file:"):
        raise RefError(
            f"cannot resolve $ref '{ref}': a document that is not a local file cannot "
            "refer to a local file"
        )
    return document, fragment


@dataclass(frozen=True, slots=True)
class Node:
    """A value, the document (``uri``) and ``pointer`` holding it, and its logical pointer."""

    value: Any
    uri: str
    pointer: str
    where: str

    def child(self, key: str | int) -> Node:
        """The node at ``key`` of this mapping or list (which must exist)."""
        token = escape(str(key))
        return Node(self.value[key], self.uri, f"{self.pointer}/{token}", f"{self.where}/{token}")

    def get(self, key: str) -> Node | None:
        """The child node at ``key`` of a mapping, or ``None``."""
        if isinstance(self.value, dict) and key in self.value:
            return self.child(key)
        return None

    def items(self) -> Iterator[tuple[str, Node]]:
        """``(key, node)`` pairs of a mapping; nothing for any other value."""
        if isinstance(self.value, dict):
            for key in self.value:
                yield key, self.child(key)

    def elements(self) -> Iterator[Node]:
        """The nodes of a list; nothing for any other value."""
        if isinstance(self.value, list):
            for index in range(len(self.value)):
                yield self.child(index)


class DocumentStore:
    """Every document of a load, parsed once, by URI (failures are remembered too)."""

    def __init__(self, fetcher: Fetcher):
        self.fetcher = fetcher
        self.documents: dict[str, Any] = {}
        self._failures: dict[str, SpecError] = {}

    def add(self, uri: str, document: Any) -> None:
        """Register an already parsed document under ``uri``."""
        self.documents[uri] = document

    def document(self, uri: str) -> Any:
        """The parsed document at ``uri``, read on first use; raises ``SpecError``."""
        if uri in self.documents:
            return self.documents[uri]
        if uri in self._failures:
            raise self._failures[uri]
        try:
            data, prefer_json = self.fetcher.read(uri)
            document = parse_document(data, source=display_name(uri), prefer_json=prefer_json)
        except SpecError as exc:
            self._failures[uri] = exc
            raise
        self.documents[uri] = document
        return document

    def lookup(self, uri: str, pointer: str, *, ref: str) -> Any:
        """The value at ``pointer`` in the document at ``uri``; raises ``RefError``."""
        try:
            value = self.document(uri)
        except SpecError as exc:
            raise RefError(f"cannot resolve $ref '{ref}': {exc}") from exc
        return walk(value, pointer, ref=ref, name=display_name(uri))

    def follow(self, node: Node) -> Node:
        """``node`` with its ``$ref`` chain followed (an OpenAPI object, not a schema).

        Raises ``RefError`` for a missing target or a cycle.
        """
        seen: set[tuple[str, str]] = set()
        while isinstance(node.value, dict) and "$ref" in node.value:
            ref = node.value["$ref"]
            if not isinstance(ref, str):
                raise RefError(f"$ref must be a string, found {type(ref).__name__}")
            document, pointer = resolve_ref(ref, node.uri)
            if (document, pointer) in seen or len(seen) >= _MAX_REF_CHAIN:
                raise RefError(f"cannot resolve $ref '{ref}': the references form a cycle")
            seen.add((document, pointer))
            value = self.lookup(document, pointer, ref=ref)
            node = Node(value, document, pointer, node.where)
        return node

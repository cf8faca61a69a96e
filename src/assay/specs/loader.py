"""``load_spec``: an OpenAPI 3.0/3.1 or Swagger 2.0 document (file or URL) to an ``ApiSpec``.

A document that cannot be used raises ``SpecError`` naming the source, a location (a JSON
pointer, or ``line N, column M`` for a syntax error) and what was expected. A document that
is imperfect but usable loads with ``SpecWarning``s; each operation that cannot be used
(an unresolvable ``$ref``, a parameter without a name...) is left out and named.

>>> spec = load_spec("tests/data/specs/petstore30.yaml")  # doctest: +SKIP
>>> spec.operation("GET", "/pets").responses["200"].content["application/json"].schema
{'type': 'array', 'items': {'$ref': 'file:///.../petstore30.yaml#/components/schemas/Pet'}}
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urldefrag, urlsplit

from assay.core.errors import SpecError

from .catalog import Catalog
from .context import BuildContext, text, top_level
from .documents import DocumentStore, Node
from .model import ApiSpec
from .openapi3 import build_openapi3
from .parsing import parse_document
from .paths import finish_operations
from .schemas import OPENAPI30, OPENAPI31, SWAGGER2, SchemaTranslator
from .sources import Fetcher, is_url, memory_uri, source_uri
from .swagger2 import build_swagger2

_OPENAPI_VERSION = re.compile(r"3\.(\d+)(?:\.\d+)?(?:-[\w.]+)?")
_NOT_A_SPEC = (
    "not an OpenAPI or Swagger document: expected a top-level 'openapi: 3.x' or "
    "'swagger: \"2.0\"' key"
)


def load_spec(source: str, *, timeout: float = 10.0) -> ApiSpec:
    """Load an API description from a file path or an http(s) URL.

    ``$ref``s to other files and URLs are followed (relative to the document holding them);
    ``timeout`` applies to each HTTP request. Raises ``SpecError``.
    """
    uri = source_uri(source)
    with Fetcher(timeout=timeout) as fetcher:
        store = DocumentStore(fetcher)
        try:
            document = store.document(uri)
        except SpecError as exc:
            raise SpecError(exc.message, source=source, location=exc.location) from exc
        return _build(store, document, uri, source)


def load_spec_text(
    text: str | bytes, *, source: str = "<string>", base_uri: str | None = None
) -> ApiSpec:
    """Load an API description held in memory (JSON or YAML).

    ``base_uri`` (a ``file:`` URI or URL) is where relative ``$ref``s resolve from; without
    it, only refs inside the document and absolute URLs can be followed.
    """
    uri = urldefrag(base_uri).url if base_uri else memory_uri(source)
    document = parse_document(text, source=source)
    with Fetcher() as fetcher:
        store = DocumentStore(fetcher)
        store.add(uri, document)
        return _build(store, document, uri, source)


def _build(store: DocumentStore, document: Any, uri: str, source: str) -> ApiSpec:
    if not isinstance(document, dict):
        raise SpecError(f"{_NOT_A_SPEC}; found a {_kind(document)} at the top level",
                        source=source)
    dialect, version, note = detect_version(document, source)
    ctx = BuildContext(store, Catalog(store, SchemaTranslator(dialect)))
    if note:
        ctx.warn(note, "/openapi")
    root = Node(document, uri, "", "")
    try:
        return _assemble(ctx, root, dialect, version, source)
    except RecursionError as exc:
        raise SpecError("the document is nested too deeply to load", source=source) from exc


def _assemble(ctx: BuildContext, root: Node, dialect: str, version: str, source: str
              ) -> ApiSpec:
    paths = _paths(ctx, root, source)
    if dialect == SWAGGER2:
        scheme = urlsplit(root.uri).scheme if is_url(root.uri) else "https"
        parts = build_swagger2(ctx, root, paths, source=source, default_scheme=scheme)
    else:
        parts = build_openapi3(ctx, root, paths, source=source)
    ctx.catalog.close()
    registry = ctx.catalog.registry()
    operations = finish_operations(ctx, parts.pending, root.uri)
    dropped = ctx.catalog.translator.dropped_patterns
    if dropped:
        ctx.warn(f"{dropped} schema pattern(s) are not regular expressions Python can "
                 "compile (ECMA-262 only?); they are not checked")
    info = root.value.get("info")
    info = info if isinstance(info, dict) else {}
    return ApiSpec(
        source=source,
        title=text(info.get("title")),
        version=text(info.get("version")),
        spec_version=version,
        base_uri=root.uri,
        servers=parts.servers,
        operations=operations,
        security_schemes=parts.security_schemes,
        warnings=ctx.warnings,
        registry=registry,
    )


def detect_version(document: dict[str, Any], source: str) -> tuple[str, str, str | None]:
    """``(dialect, spec_version, note)`` of a document; raises ``SpecError`` if unsupported.

    ``note`` is a warning to record (a later 3.x minor version read as 3.1).
    """
    if "openapi" in document:
        version = text(document["openapi"]).strip()
        match = _OPENAPI_VERSION.fullmatch(version)
        if match is None:
            raise SpecError(
                f"unsupported OpenAPI version '{version}': expected 3.0.x or 3.1.x "
                "(or swagger: \"2.0\")", source=source, location="/openapi")
        minor = int(match[1])
        if minor == 0:
            return OPENAPI30, version, None
        note = None if minor == 1 else f"OpenAPI {version} is read as OpenAPI 3.1"
        return OPENAPI31, version, note
    if "swagger" in document:
        version = text(document["swagger"]).strip()
        if version not in ("2.0", "2"):
            raise SpecError(f"unsupported Swagger version '{version}': expected \"2.0\"",
                            source=source, location="/swagger")
        return SWAGGER2, "2.0", None
    raise SpecError(_NOT_A_SPEC, source=source)


def _paths(ctx: BuildContext, root: Node, source: str) -> Node:
    paths = top_level(ctx, root, "paths", source=source)
    if paths is None or paths.value is None:
        ctx.warn("the document has no paths, so no operations", "/paths")
        return Node({}, root.uri, "/paths", "/paths")
    if not isinstance(paths.value, dict):
        raise SpecError(
            f"'paths' must be a mapping of path templates to path items, found a "
            f"{_kind(paths.value)}", source=source, location="/paths")
    return paths


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {str: "string", list: "list", dict: "mapping", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)

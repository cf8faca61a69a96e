"""Swagger 2.0 documents normalised into the same operation model as OpenAPI 3.

- ``body`` and ``formData`` parameters become a ``RequestBody``: one media type per
  ``consumes`` entry; form fields become an object schema with one property per field
  (``multipart/form-data`` when a field is a file or ``consumes`` says so, else
  ``application/x-www-form-urlencoded``);
- ``produces`` gives the media types of responses; ``examples`` (per media type) are kept;
- ``host`` + ``basePath`` + ``schemes`` become servers (without a host: just ``basePath``;
  without ``schemes``: the scheme the document was fetched with, else ``https``);
- ``collectionFormat`` maps to ``style``/``explode``; ``securityDefinitions`` become security
  schemes (``basic`` -> ``http``/``basic``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from .context import BuildContext, DocumentParts, media_type_key, text, top_level
from .documents import Node
from .model import (
    Example,
    Header,
    MediaType,
    Operation,
    Parameter,
    RequestBody,
    ResponseSpec,
    SecurityScheme,
)
from .openapi3 import build_responses
from .paths import collect_operations, merged_parameters, requirements

LOCATIONS = ("path", "query", "header", "body", "formData")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_SCHEMA_FIELDS = (
    "type", "format", "items", "default", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "enum", "multipleOf", "x-nullable",
)
_QUERY_STYLES = {
    "csv": ("form", False),
    "ssv": ("spaceDelimited", False),
    "pipes": ("pipeDelimited", False),
    "multi": ("form", True),
}
_FLOWS = {"implicit": "implicit", "password": "password", "application": "clientCredentials",
          "accessCode": "authorizationCode"}


@dataclass(frozen=True, slots=True)
class _Defaults:
    """Document-level values an operation inherits."""

    servers: list[str]
    consumes: list[str]
    produces: list[str]
    host: Any
    base_path: Any
    default_scheme: str


def build_swagger2(
    ctx: BuildContext, root: Node, paths: Node, *, source: str, default_scheme: str = "https"
) -> DocumentParts:
    """Servers, security schemes and operations of a Swagger 2.0 document."""
    doc = root.value
    host, base_path = doc.get("host"), doc.get("basePath")
    servers = swagger_servers(host, base_path, doc.get("schemes"), default_scheme)
    definitions = top_level(ctx, root, "definitions", source=source)
    # Translated up front so the registry holds every definition, used or not.
    for _, schema in definitions.items() if definitions is not None else ():
        ctx.catalog.at(schema)
    defaults = _Defaults(servers, _media_list(doc.get("consumes")),
                         _media_list(doc.get("produces")), host, base_path, default_scheme)
    security = requirements(doc.get("security")) or []
    build = partial(_fill_operation, defaults=defaults)
    pending = collect_operations(ctx, paths, build, security=security)
    schemes = _security_definitions(top_level(ctx, root, "securityDefinitions", source=source))
    return DocumentParts(servers=servers, security_schemes=schemes, pending=pending)


def swagger_servers(host: Any, base_path: Any, schemes: Any, default_scheme: str) -> list[str]:
    """Server URLs from ``host``, ``basePath`` and ``schemes``."""
    path = base_path.strip() if isinstance(base_path, str) else ""
    if path and not path.startswith("/"):
        path = "/" + path
    path = path.rstrip("/")
    if not isinstance(host, str) or not host.strip():
        return [path or "/"] if isinstance(base_path, str) else []
    host = host.strip().rstrip("/")
    if "://" in host:  # a scheme written into host: tolerate it
        return [host + path]
    chosen = [s.lower() for s in schemes if isinstance(s, str)] if isinstance(schemes, list) else []
    chosen = [s for s in chosen if s in ("http", "https")] or [default_scheme]
    return [f"{scheme}://{host}{path}" for scheme in dict.fromkeys(chosen)]


def _media_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _fill_operation(
    ctx: BuildContext, operation: Operation, node: Node, item: dict[str, Node], *,
    defaults: _Defaults,
) -> None:
    fields = node.value
    consumes = _media_list(fields["consumes"]) if "consumes" in fields else defaults.consumes
    produces = _media_list(fields["produces"]) if "produces" in fields else defaults.produces
    bodies: list[Node] = []
    forms: list[Node] = []
    for param, location in merged_parameters(ctx, item, node, LOCATIONS):
        if location == "body":
            bodies.append(param)
        elif location == "formData":
            forms.append(param)
        else:
            operation.parameters.append(_parameter(ctx, operation, param, location))
    if bodies:
        if len(bodies) > 1 or forms:
            ctx.warn(f"{operation.label}: more than one body parameter; the first is used",
                     bodies[0].where)
        operation.request_body = _body(ctx, bodies[0], consumes)
    elif forms:
        operation.request_body = _form(ctx, operation, forms, consumes)
    responses = node.get("responses")
    if responses is not None:
        operation.responses = _responses(ctx, responses, produces)
    operation.servers = list(defaults.servers)
    if isinstance(fields.get("schemes"), list):
        operation.servers = swagger_servers(defaults.host, defaults.base_path,
                                            fields["schemes"], defaults.default_scheme)


def simple_schema(fields: dict[str, Any]) -> dict[str, Any]:
    """The schema of a non-body parameter, a header or ``items``: their schema fields."""
    schema = {key: fields[key] for key in _SCHEMA_FIELDS if key in fields}
    items = schema.get("items")
    if isinstance(items, dict) and "$ref" not in items:
        schema["items"] = simple_schema(items)
    return schema


def _style(ctx: BuildContext, operation: Operation, node: Node, location: str
           ) -> tuple[str, bool]:
    fields = node.value
    if location in ("path", "header"):
        return "simple", False
    if fields.get("type") != "array":
        return "form", True
    fmt = fields.get("collectionFormat", "csv")
    fmt = fmt if isinstance(fmt, str) else "csv"
    if fmt not in _QUERY_STYLES:
        ctx.warn(f"{operation.label}: collectionFormat '{fmt}' of '{fields['name']}' has no "
                 "OpenAPI 3 style; it is treated as csv", node.where)
    return _QUERY_STYLES.get(fmt, ("form", False))


def _parameter(ctx: BuildContext, operation: Operation, node: Node, location: str
               ) -> Parameter:
    fields = node.value
    style, explode = _style(ctx, operation, node, location)
    example = node.get("x-example")
    return Parameter(
        name=fields["name"],
        location=location,
        required=location == "path" or fields.get("required") is True,
        schema=ctx.built_schema(simple_schema(fields), node),
        style=style,
        explode=explode,
        examples=[Example(example.value, pointer=example.where)] if example else [],
    )


def _body(ctx: BuildContext, node: Node, consumes: list[str]) -> RequestBody:
    schema_node = node.get("schema")
    schema = ctx.schema(schema_node) if schema_node is not None else None
    given = node.get("x-examples")
    examples = dict(given.items()) if given is not None else {}
    content = {}
    for media in consumes or ["application/json"]:
        found = examples.get(media)
        content[media] = MediaType(
            media_type=media, schema=schema,
            examples=[Example(found.value, pointer=found.where)] if found else [],
        )
    return RequestBody(required=node.value.get("required") is True, content=content)


def _form(ctx: BuildContext, operation: Operation, nodes: list[Node], consumes: list[str]
          ) -> RequestBody:
    properties: dict[str, Any] = {}
    required: list[str] = []
    encoding: dict[str, Any] = {}
    has_file = False
    for node in nodes:
        fields = node.value
        name = fields["name"]
        properties[name] = ctx.built_schema(simple_schema(fields), node)
        has_file = has_file or fields.get("type") == "file"
        if fields.get("required") is True:
            required.append(name)
        if fields.get("type") == "array":
            style, explode = _style(ctx, operation, node, "query")
            encoding[name] = {"style": style, "explode": explode}
    media = [m for m in consumes if media_type_key(m) in _FORMS]
    if has_file:
        media = [m for m in media if media_type_key(m) == "multipart/form-data"]
    if not media:
        media = ["multipart/form-data" if has_file else "application/x-www-form-urlencoded"]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    content = {
        m: MediaType(media_type=m, schema=schema,
                     encoding=dict(encoding) if media_type_key(m) == _FORMS[0] else {})
        for m in media
    }
    return RequestBody(required=bool(required), content=content)


def _responses(ctx: BuildContext, node: Node, produces: list[str]) -> dict[str, ResponseSpec]:
    return build_responses(ctx, node, lambda response: {
        "content": _response_content(ctx, response, produces),
        "headers": _headers(ctx, response.get("headers")),
    })


def _response_content(ctx: BuildContext, response: Node, produces: list[str]
                      ) -> dict[str, MediaType]:
    schema_node = response.get("schema")
    given = response.get("examples")
    examples = {k: v for k, v in given.items()} if given is not None else {}
    if schema_node is None and not examples:
        return {}
    schema = ctx.schema(schema_node) if schema_node is not None else None
    media = list(dict.fromkeys([*(produces or ["application/json"]), *examples]))
    return {
        m: MediaType(
            media_type=m, schema=schema,
            examples=[Example(examples[m].value, pointer=examples[m].where)]
            if m in examples else [],
        )
        for m in media
    }


def _headers(ctx: BuildContext, node: Node | None) -> dict[str, Header]:
    headers: dict[str, Header] = {}
    for name, entry in node.items() if node is not None else ():
        header = ctx.mapping(entry, f"header '{name}'")
        headers[name] = Header(name=name, schema=ctx.built_schema(simple_schema(header.value),
                                                                  header))
    return headers


def _security_definitions(node: Node | None) -> dict[str, SecurityScheme]:
    schemes: dict[str, SecurityScheme] = {}
    for name, entry in node.items() if node is not None else ():
        fields = entry.value if isinstance(entry.value, dict) else {}
        kind = text(fields.get("type"))
        description = text(fields.get("description"))
        if kind == "basic":
            schemes[name] = SecurityScheme(name, "http", scheme="basic", description=description)
        elif kind == "apiKey":
            schemes[name] = SecurityScheme(
                name, "apiKey", location=text(fields.get("in")) or None,
                param_name=text(fields.get("name")) or None, description=description)
        elif kind == "oauth2":
            schemes[name] = SecurityScheme(name, "oauth2", flows=_oauth_flows(fields),
                                           description=description)
        else:
            schemes[name] = SecurityScheme(name, kind, description=description)
    return schemes


def _oauth_flows(fields: dict[str, Any]) -> dict[str, Any]:
    flow = _FLOWS.get(text(fields.get("flow")))
    if flow is None:
        return {}
    details = {key: fields[key] for key in ("authorizationUrl", "tokenUrl") if key in fields}
    scopes = fields.get("scopes")
    details["scopes"] = dict(scopes) if isinstance(scopes, dict) else {}
    return {flow: details}

"""OpenAPI 3.0 and 3.1 documents into the operation model."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from .context import (
    BuildContext,
    DocumentParts,
    OperationSkipped,
    example,
    optional,
    text,
    top_level,
)
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
from .paths import collect_operations, merged_parameters, requirements

LOCATIONS = ("path", "query", "header", "cookie")
# OpenAPI 3: header parameters with these names "SHALL be ignored" (other fields carry them).
_IGNORED_HEADERS = frozenset(("accept", "content-type", "authorization"))
_DEFAULT_STYLE = {"path": "simple", "header": "simple", "query": "form", "cookie": "form"}
_VARIABLE = re.compile(r"\{([^{}]+)\}")


def build_openapi3(
    ctx: BuildContext, root: Node, paths: Node, *, source: str
) -> DocumentParts:
    """Servers, security schemes and operations of an OpenAPI 3.x document."""
    servers = server_urls(root.get("servers"))
    components = top_level(ctx, root, "components", source=source)
    schemes: dict[str, SecurityScheme] = {}
    if components is not None and isinstance(components.value, dict):
        schemes = _security_schemes(ctx, components.get("securitySchemes"))
        schemas = components.get("schemas")
        # Translated up front so the registry holds every component, used or not.
        for _, schema in schemas.items() if schemas is not None else ():
            ctx.catalog.at(schema)
    security = requirements(root.value.get("security")) or []
    build = partial(_fill_operation, servers=servers)
    pending = collect_operations(ctx, paths, build, security=security)
    return DocumentParts(servers=servers, security_schemes=schemes, pending=pending)


def server_urls(node: Node | None) -> list[str]:
    """Server URLs with variables replaced by their defaults, without a trailing slash."""
    if node is None or not isinstance(node.value, list):
        return []
    urls = []
    for server in node.value:
        if isinstance(server, dict) and isinstance(server.get("url"), str):
            urls.append(_expand(server["url"], server.get("variables")))
    return urls


def _expand(url: str, variables: Any) -> str:
    def _replace(match: re.Match[str]) -> str:
        variable = variables.get(match[1]) if isinstance(variables, dict) else None
        if isinstance(variable, dict):
            if "default" in variable:
                return text(variable["default"])
            enum = variable.get("enum")
            if isinstance(enum, list) and enum:
                return text(enum[0])
        return match[0]

    expanded = _VARIABLE.sub(_replace, url.strip())
    return expanded.rstrip("/") or "/"


def _fill_operation(
    ctx: BuildContext, operation: Operation, node: Node, item: dict[str, Node], *,
    servers: list[str],
) -> None:
    for param, location in merged_parameters(ctx, item, node, LOCATIONS):
        if location == "header" and param.value["name"].lower() in _IGNORED_HEADERS:
            continue
        operation.parameters.append(_parameter(ctx, param, location))
    body = node.get("requestBody")
    if body is not None:
        operation.request_body = _request_body(ctx, body)
    responses = node.get("responses")
    if responses is not None:
        operation.responses = _responses(ctx, responses)
    operation.servers = (
        server_urls(node.get("servers")) or server_urls(item.get("servers")) or list(servers)
    )


def _parameter(ctx: BuildContext, node: Node, location: str) -> Parameter:
    fields = node.value
    style = fields.get("style")
    if not isinstance(style, str):
        style = _DEFAULT_STYLE[location]
    explode = fields.get("explode")
    schema_node = node.get("schema")
    media_type = None
    examples = examples_of(ctx, node)
    content = node.get("content")
    first = next(content.items(), None) if content is not None else None
    if schema_node is None and first is not None:
        # A parameter with "content" has exactly one media type.
        media_type, media = first
        schema_node = media.get("schema")
        examples.extend(examples_of(ctx, media))
    return Parameter(
        name=fields["name"],
        location=location,
        required=location == "path" or fields.get("required") is True,
        schema=ctx.schema(schema_node),
        style=style,
        explode=explode if isinstance(explode, bool) else style == "form",
        allow_reserved=fields.get("allowReserved") is True,
        deprecated=fields.get("deprecated") is True,
        media_type=media_type,
        examples=examples,
    )


def examples_of(ctx: BuildContext, node: Node) -> list[Example]:
    """``example`` and the values of ``examples`` (Example objects; ``externalValue`` skipped)."""
    if not isinstance(node.value, dict):
        return []
    found = []
    if "example" in node.value:
        found.append(example(node.child("example")))
    named = node.get("examples")
    for name, entry in named.items() if named is not None else ():
        target = optional(ctx, entry, f"example '{name}'")
        if target is not None and isinstance(target.value, dict) and "value" in target.value:
            found.append(Example(value=target.value["value"], name=name,
                                 pointer=f"{entry.where}/value"))
    return found


def media_types(ctx: BuildContext, node: Node | None) -> dict[str, MediaType]:
    """A ``content`` map: one ``MediaType`` per media type, in document order."""
    content: dict[str, MediaType] = {}
    for name, media in node.items() if node is not None else ():
        media = ctx.follow(media)
        fields = media.value if isinstance(media.value, dict) else {}
        encoding = fields.get("encoding")
        content[name] = MediaType(
            media_type=name,
            schema=ctx.schema(media.get("schema")) if "schema" in fields else None,
            examples=examples_of(ctx, media),
            encoding=dict(encoding) if isinstance(encoding, dict) else {},
        )
    return content


def _request_body(ctx: BuildContext, node: Node) -> RequestBody:
    body = ctx.mapping(node, "'requestBody'")
    return RequestBody(
        required=body.value.get("required") is True,
        content=media_types(ctx, body.get("content")),
    )


def status_key(status: str) -> str:
    """``"200"``, ``"2XX"`` (ranges upper-cased) or ``"default"``."""
    status = status.strip()
    return status.upper() if re.fullmatch(r"[1-5][xX][xX]", status) else status


def build_responses(ctx: BuildContext, node: Node,
                    fill: Callable[[Node], dict[str, Any]]) -> dict[str, ResponseSpec]:
    """The responses of an operation, keyed by ``status_key``; ``fill`` gives the
    dialect's parts of one response (content, headers, links) as ResponseSpec fields."""
    responses = ctx.mapping(node, "'responses'")
    result: dict[str, ResponseSpec] = {}
    for status, entry in responses.items():
        if status.startswith("x-"):
            continue
        response = ctx.mapping(entry, f"response '{status}'")
        key = status_key(status)
        result[key] = ResponseSpec(status=key,
                                   description=text(response.value.get("description")),
                                   **fill(response))
    return result


def _responses(ctx: BuildContext, node: Node) -> dict[str, ResponseSpec]:
    return build_responses(ctx, node, lambda response: {
        "content": media_types(ctx, response.get("content")),
        "headers": _headers(ctx, response.get("headers")),
        "links": _links(ctx, response.get("links")),
    })


def _headers(ctx: BuildContext, node: Node | None) -> dict[str, Header]:
    headers: dict[str, Header] = {}
    for name, entry in node.items() if node is not None else ():
        if name.lower() == "content-type":
            continue  # described by the content map, ignored by the specification
        header = ctx.mapping(entry, f"header '{name}'")
        schema_node = header.get("schema")
        content = header.get("content")
        first = next(content.items(), None) if content is not None else None
        if schema_node is None and first is not None:
            schema_node = first[1].get("schema")
        headers[name] = Header(name=name, required=header.value.get("required") is True,
                               schema=ctx.schema(schema_node))
    return headers


def _links(ctx: BuildContext, node: Node | None) -> dict[str, dict[str, Any]]:
    links: dict[str, dict[str, Any]] = {}
    for name, entry in node.items() if node is not None else ():
        link = optional(ctx, entry, f"link '{name}'")
        if link is not None and isinstance(link.value, dict):
            links[name] = link.value
    return links


def _security_schemes(ctx: BuildContext, node: Node | None) -> dict[str, SecurityScheme]:
    schemes: dict[str, SecurityScheme] = {}
    for name, entry in node.items() if node is not None else ():
        try:
            fields = ctx.mapping(entry, f"security scheme '{name}'").value
        except OperationSkipped as exc:
            ctx.warn(f"security scheme '{name}' skipped: {exc.message}", exc.where)
            continue
        schemes[name] = security_scheme(name, fields)
    return schemes


def security_scheme(name: str, fields: dict[str, Any]) -> SecurityScheme:
    """One OpenAPI 3 Security Scheme object (``openIdConnectUrl`` kept in ``flows``)."""
    kind = text(fields.get("type"))
    scheme = fields.get("scheme")
    flows = fields.get("flows")
    if kind == "openIdConnect":
        flows = {"openIdConnectUrl": fields.get("openIdConnectUrl")}
    is_key = kind == "apiKey"
    return SecurityScheme(
        name=name,
        type=kind,
        scheme=scheme.lower() if isinstance(scheme, str) else None,
        location=text(fields.get("in")) or None if is_key else None,
        param_name=text(fields.get("name")) or None if is_key else None,
        bearer_format=text(fields.get("bearerFormat")) or None,
        flows=dict(flows) if isinstance(flows, dict) else {},
        description=text(fields.get("description")),
    )

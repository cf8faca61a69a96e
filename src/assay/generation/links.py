"""Links between operations: which response feeds which operation's parameters (pure logic).

``find_links`` returns the document's own OpenAPI links first, then links it infers where
no explicit link connects two operations:

- **Location header.** A 2xx response that documents ``Location``, or any POST on a
  collection path (``/books``, documented or not), feeds the parameter that follows the
  collection in every path below it (``/books/{bookId}``, ``/books/{bookId}/reviews``...)
  with the last segment of the header: ``$response.header.Location#lastSegment`` (see
  ``assay.generation.expressions``).
- **Body field.** An operation on a collection path whose success response documents a
  top-level field named like the parameter after the collection (``bookId``, ``book_id``,
  any case) or, when that parameter is an identifier (its name ends in ``id``), a field
  ``<resource>Id`` (the collection's name in the singular) or ``id``, feeds that parameter.

Parameters before the collection (``bookId`` of ``POST /books/{bookId}/reviews``) are copied
from the source request (``$request.path.bookId``), so nested resources chain.

>>> [str(link) for link in find_links(spec.operations, registry=spec.registry)]  # doctest: +SKIP
["POST /books 201 → GET /books/{bookId}: path.bookId=$response.body#/id (inferred: body field 'id')", ...]
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from referencing import Registry

from ..core.records import Case, Request, Response
from ..specs.model import PARAMETER_LOCATIONS, Operation
from ..specs.resolve import deref
from .expressions import LAST_SEGMENT, ExchangeView, escape_pointer_token, evaluate

__all__ = ["Link", "evaluate", "find_links", "link_values", "path_parameters"]

LOCATION_EXPRESSION = f"$response.header.Location{LAST_SEGMENT}"
ORIGIN_LOCATION = "inferred: Location header"
_SEGMENT_PARAM = re.compile(r"\{([^{}/]+)\}")
_STATUS = re.compile(r"2[0-9][0-9]")
_MAX_SCHEMA_DEPTH = 6


@dataclass(frozen=True, slots=True, repr=False)
class Link:
    """A response of ``source`` (documented as ``status``) that feeds a ``target`` request.

    ``parameters`` are ``(location, name, expression)``: the expression is a runtime
    expression, a template with embedded ``{$...}``, or a constant (any JSON value).
    ``request_body`` is the same kind of value, or ``None`` for no body. ``origin`` is
    ``"explicit"`` or says what the inference rests on; ``name`` is the link's name in the
    document (``""`` for an inferred link).
    """

    source: Operation
    status: str
    target: Operation
    parameters: tuple[tuple[str, str, Any], ...] = ()
    request_body: Any = None
    origin: str = "explicit"
    name: str = ""

    def __str__(self) -> str:
        params = ", ".join(f"{loc}.{name}={expr}" for loc, name, expr in self.parameters)
        return (f"{self.source.label} {self.status} → {self.target.label}: {params} "
                f"({self.origin})")

    def __repr__(self) -> str:
        return f"Link({self})"

    def fills(self, location: str, name: str) -> bool:
        """Whether this link gives a value for the parameter ``name`` in ``location``."""
        return any(loc == location and n == name for loc, n, _ in self.parameters)


def find_links(operations: list[Operation], *, registry: Registry | None = None) -> list[Link]:
    """Explicit links, then inferred ones between operations no explicit link connects.

    ``registry`` (``ApiSpec.registry``) resolves the ``$ref``s of response schemas; without
    it, only inline schemas show the body fields that inference looks for. The order is
    deterministic: by source operation, then response, then target, as the document lists
    them.
    """
    explicit = list(_explicit_links(operations))
    connected = {(link.source.label, link.target.label) for link in explicit}
    inferred = [link for link in _inferred_links(operations, registry or Registry())
                if (link.source.label, link.target.label) not in connected]
    return explicit + inferred


def link_values(link: Link, request: Request, case: Case | None,
                response: Response) -> dict[tuple[str, str], Any] | None:
    """The values ``link`` gives its target, keyed ``(location, name)``, from one exchange
    of its source; the body, if the link gives one, is keyed ``("body", "")``.

    ``None`` when a value is absent (a missing field or header, a body that is not JSON):
    the target cannot be called as the link means.
    """
    view = ExchangeView(request, case, response)
    values: dict[tuple[str, str], Any] = {}
    for location, name, expression in link.parameters:
        found, value = view.evaluate(expression)
        if not found:
            return None
        values[(location, name)] = value
    if link.request_body is not None:
        found, value = view.evaluate(link.request_body)
        if not found:
            return None
        values[("body", "")] = value
    return values


def path_parameters(path: str) -> list[str]:
    """The names of the template variables of ``path``, in order."""
    return _SEGMENT_PARAM.findall(path)


# -- explicit links ---------------------------------------------------------------------------


def _explicit_links(operations: list[Operation]) -> Iterator[Link]:
    by_id: dict[str, Operation] = {}
    for op in operations:
        if op.operation_id:
            by_id.setdefault(op.operation_id, op)
    for source in operations:
        for status, response in source.responses.items():
            for name, raw in response.links.items():
                target = _link_target(raw, by_id, operations)
                if target is None:
                    continue
                yield Link(source, status, target, _link_parameters(raw.get("parameters"), target),
                           raw.get("requestBody"), "explicit", name)


def _link_target(raw: dict[str, Any], by_id: dict[str, Operation],
                 operations: list[Operation]) -> Operation | None:
    operation_id = raw.get("operationId")
    if isinstance(operation_id, str):
        return by_id.get(operation_id)
    ref = raw.get("operationRef")
    if not isinstance(ref, str) or "#" not in ref:
        return None
    # The fragment is a JSON pointer into the document, possibly percent-encoded in the URI.
    pointer = unquote(ref.split("#", 1)[1])
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    for op in operations:
        if op.pointer == pointer:
            return op
    if len(tokens) == 3 and tokens[0] == "paths":
        return next((op for op in operations
                     if op.path == tokens[1] and op.method == tokens[2].upper()), None)
    return None


def _link_parameters(raw: Any, target: Operation) -> tuple[tuple[str, str, Any], ...]:
    if not isinstance(raw, dict):
        return ()
    return tuple((*_parameter_key(str(key), target), value) for key, value in raw.items())


def _parameter_key(key: str, target: Operation) -> tuple[str, str]:
    """``(location, name)`` for a link's parameter key: ``name`` or ``location.name``."""
    for location in PARAMETER_LOCATIONS:
        if target.parameter(key, location) is not None:
            return location, key
    prefix, dot, rest = key.partition(".")
    if dot and prefix in PARAMETER_LOCATIONS:
        return prefix, rest
    return ("path" if key in path_parameters(target.path) else "query"), key


# -- inferred links ---------------------------------------------------------------------------


def _inferred_links(operations: list[Operation], registry: Registry) -> Iterator[Link]:
    for source in operations:
        collection = _segments(source.path)
        if not collection or _param_name(collection[-1]) is not None:
            continue
        targets = [(op, _param_name(_segments(op.path)[len(collection)]))
                   for op in operations if _below(collection, _segments(op.path))]
        if not targets:
            continue
        fields = _success_fields(source, registry)
        location_status = _location_status(source)
        for target, param in targets:
            yield from _links_to(source, target, param, fields, location_status)


def _links_to(source: Operation, target: Operation, param: str,
              fields: list[tuple[str, list[str]]], location_status: str | None) -> Iterator[Link]:
    collection = _segments(source.path)
    copied = _copied_parameters(collection, _segments(target.path))
    for status, names in fields:
        field = _feeding_field(param, collection[-1], names)
        if field is not None:
            expression = f"$response.body#/{escape_pointer_token(field)}"
            yield Link(source, status, target, (*copied, ("path", param, expression)),
                       origin=f"inferred: body field '{field}'")
            break
    if location_status is not None:
        yield Link(source, location_status, target,
                   (*copied, ("path", param, LOCATION_EXPRESSION)), origin=ORIGIN_LOCATION)


def _feeding_field(param: str, collection: str, names: list[str]) -> str | None:
    """The response field that holds the value of path parameter ``param``, if any."""
    wanted = [_normal(param)]
    if wanted[0].endswith("id"):
        wanted += [_normal(_singular(collection)) + "id", "id"]
    for key in wanted:
        for name in names:
            if _normal(name) == key:
                return name
    return None


def _copied_parameters(collection: list[str], target: list[str]) -> list[tuple[str, str, str]]:
    """The target's path parameters before the collection's end, copied from the request."""
    copied = []
    for mine, theirs in zip(collection, target, strict=False):
        mine_name, their_name = _param_name(mine), _param_name(theirs)
        if mine_name is not None and their_name is not None:
            copied.append(("path", their_name, f"$request.path.{mine_name}"))
    return copied


def _success_fields(source: Operation, registry: Registry) -> list[tuple[str, list[str]]]:
    """``(status, top-level field names)`` for each documented success response."""
    found = []
    for status in _success_statuses(source):
        names: list[str] = []
        for media_type, media in source.responses[status].content.items():
            if _is_json(media_type):
                names += [n for n in _properties(media.schema, registry, 0) if n not in names]
        if names:
            found.append((status, names))
    return found


def _location_status(source: Operation) -> str | None:
    """The response whose Location header feeds links: documented, else (POST) a guess."""
    statuses = _success_statuses(source)
    for status in statuses:
        if any(name.lower() == "location" for name in source.responses[status].headers):
            return status
    return statuses[0] if statuses and source.method == "POST" else None


def _success_statuses(source: Operation) -> list[str]:
    """Documented success keys, most telling first: 201, other 2xx, 2XX, else default."""
    keys = list(source.responses)
    exact = sorted((k for k in keys if _STATUS.fullmatch(k)), key=lambda k: (k != "201", k))
    ranges = [k for k in keys if k.upper() == "2XX"]
    found = exact + ranges
    return found or (["default"] if "default" in keys else [])


def _properties(schema: Any, registry: Registry, depth: int) -> list[str]:
    """Top-level property names of an object schema, through refs and allOf/anyOf/oneOf."""
    schema = deref(schema, registry)
    if not isinstance(schema, dict) or depth > _MAX_SCHEMA_DEPTH:
        return []
    names = list(schema.get("properties") or {}) if isinstance(
        schema.get("properties"), dict) else []
    for keyword in ("allOf", "anyOf", "oneOf"):
        branches = schema.get(keyword)
        for branch in branches if isinstance(branches, list) else ():
            names += [n for n in _properties(branch, registry, depth + 1) if n not in names]
    return names


def _is_json(media_type: str) -> bool:
    media_type = media_type.split(";", 1)[0].strip().lower()
    return media_type in ("application/json", "*/*") or media_type.endswith("+json")


def _below(collection: list[str], target: list[str]) -> bool:
    """Whether ``target`` is ``collection/{param}`` or a path under it."""
    if len(target) <= len(collection) or _param_name(target[len(collection)]) is None:
        return False
    return all(_shape(a) == _shape(b) for a, b in zip(collection, target, strict=False))


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def _param_name(segment: str) -> str | None:
    """The variable's name when ``segment`` is exactly one template variable."""
    match = _SEGMENT_PARAM.fullmatch(segment)
    return match.group(1) if match else None


def _shape(segment: str) -> str:
    # Two paths may name the same variable differently (/books/{id}, /books/{bookId}/x).
    return "{}" if _param_name(segment) is not None else segment


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _singular(word: str) -> str:
    """A collection's name in the singular, by the common English rules (enough for ids)."""
    word = word.lower()
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word

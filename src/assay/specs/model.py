"""The operation model: what assay understood of an API description.

Every loader (Swagger 2.0, OpenAPI 3.0, 3.1) produces these records. Schemas in them are
JSON Schema (draft 2020-12) dicts: OpenAPI 3.0 and Swagger 2.0 schemas are translated at load
time. A ``$ref`` left inside a schema is an absolute URI (``file:///.../api.yaml#/components/
schemas/Book``) that ``ApiSpec.registry`` resolves, so recursive schemas stay finite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from referencing import Registry

PARAMETER_LOCATIONS = ("path", "query", "header", "cookie")


@dataclass(slots=True)
class Example:
    """One example value and where the document gave it (a JSON pointer)."""

    value: Any
    name: str | None = None
    pointer: str = ""


@dataclass(slots=True)
class Parameter:
    """A path, query, header or cookie parameter.

    ``style`` and ``explode`` always hold the effective values (OpenAPI defaults applied;
    Swagger 2.0 ``collectionFormat`` mapped). ``media_type`` is set for parameters given with
    ``content`` instead of ``schema``.
    """

    name: str
    location: str
    required: bool = False
    schema: dict[str, Any] | bool = True
    style: str = "form"
    explode: bool = True
    allow_reserved: bool = False
    deprecated: bool = False
    media_type: str | None = None
    examples: list[Example] = field(default_factory=list)


@dataclass(slots=True)
class MediaType:
    """A request or response body for one media type."""

    media_type: str
    schema: dict[str, Any] | bool | None = None
    examples: list[Example] = field(default_factory=list)
    encoding: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RequestBody:
    """A request body: one ``MediaType`` per media type, in document order."""

    required: bool = False
    content: dict[str, MediaType] = field(default_factory=dict)


@dataclass(slots=True)
class Header:
    """A documented response header."""

    name: str
    required: bool = False
    schema: dict[str, Any] | bool = True


@dataclass(slots=True)
class ResponseSpec:
    """A documented response: ``status`` is ``"200"``, ``"2XX"`` or ``"default"``."""

    status: str
    description: str = ""
    content: dict[str, MediaType] = field(default_factory=dict)
    headers: dict[str, Header] = field(default_factory=dict)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class SecurityScheme:
    """A security scheme. ``type``: apiKey, http, oauth2, openIdConnect, mutualTLS.

    For ``http``: ``scheme`` is ``bearer`` or ``basic``. For ``apiKey``: ``location`` is
    header, query or cookie and ``param_name`` the name of that header/parameter/cookie.
    """

    name: str
    type: str
    scheme: str | None = None
    location: str | None = None
    param_name: str | None = None
    bearer_format: str | None = None
    flows: dict[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(slots=True)
class Operation:
    """One HTTP method on one path template.

    ``security`` is the effective requirement list (operation-level, else document-level):
    a list of alternatives, each mapping scheme names to scopes; ``[]`` means no auth.
    """

    method: str
    path: str
    operation_id: str | None = None
    summary: str = ""
    tags: list[str] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    request_body: RequestBody | None = None
    responses: dict[str, ResponseSpec] = field(default_factory=dict)
    security: list[dict[str, list[str]]] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    deprecated: bool = False
    pointer: str = ""

    @property
    def label(self) -> str:
        """``"GET /books/{bookId}"``: the operation's name in every report."""
        return f"{self.method} {self.path}"

    def parameter(self, name: str, location: str) -> Parameter | None:
        """The parameter with this name and location, if any."""
        for param in self.parameters:
            if param.location == location and (
                param.name == name
                or (location == "header" and param.name.lower() == name.lower())
            ):
                return param
        return None

    def response_for(self, status: int) -> ResponseSpec | None:
        """The documented response for ``status``: exact code, then ``4XX`` range, then default."""
        exact = self.responses.get(str(status))
        if exact is not None:
            return exact
        for key, spec in self.responses.items():
            if status_key_covers(key, status):
                return spec
        return self.responses.get("default")


_RANGE = re.compile(r"[1-5][xX][xX]")


def status_key_covers(key: str, status: int) -> bool:
    """Whether a response key covers ``status``: the exact code, or its ``4XX``-style range
    (``default`` is not considered: what it covers depends on the other keys)."""
    if _RANGE.fullmatch(key):
        return str(status)[0] == key[0]
    return key == str(status)


@dataclass(slots=True)
class SpecWarning:
    """Something imperfect but usable in a document; ``operation`` names what was skipped."""

    message: str
    pointer: str = ""
    operation: str | None = None


@dataclass(slots=True)
class ApiSpec:
    """A loaded API description.

    ``spec_version`` is the document's own (``"2.0"``, ``"3.0.3"``, ``"3.1.0"``).
    ``servers`` are absolute or relative URLs as the document gives them (Swagger 2.0:
    built from ``schemes``, ``host`` and ``basePath``). ``registry`` resolves every
    ``$ref`` left in a schema; ``base_uri`` is the URI of the root document in it.
    """

    source: str
    title: str
    version: str
    spec_version: str
    base_uri: str
    servers: list[str] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    security_schemes: dict[str, SecurityScheme] = field(default_factory=dict)
    warnings: list[SpecWarning] = field(default_factory=list)
    registry: Registry = field(default_factory=Registry)

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation for this method and path template, if the document has it."""
        method = method.upper()
        for op in self.operations:
            if op.method == method and op.path == path:
                return op
        return None

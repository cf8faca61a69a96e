"""Which operation of the spec a request to the mock is for.

The mock serves every operation under the path of the spec's first server URL (Swagger 2.0:
``basePath``): for a server ``https://api.example.com/v2`` the operation ``GET /books`` is
served at ``/v2/books``, so ``assay test SPEC --url http://127.0.0.1:4010/v2`` reaches it.

Templates are matched on the raw path, segment by segment, and each captured value is
percent-decoded afterwards: ``/files/a%2Fb`` gives ``name="a/b"`` for ``/files/{name}``.
A path that matches several templates goes to the most literal one (``/books/search``
before ``/books/{id}``), as OpenAPI requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from ..specs.model import ApiSpec, Operation

_VARIABLE = re.compile(r"\{([^{}/]+)\}")


@dataclass(slots=True)
class Route:
    """A request matched to an operation: ``path_params`` hold decoded text per variable."""

    operation: Operation
    path_params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class NoRoute:
    """No operation for this request. ``allowed`` lists the methods the path does have
    (a 405 then), empty when no template matches the path at all (a 404)."""

    allowed: list[str]
    path: str


@dataclass(slots=True)
class _Template:
    operation: Operation
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    literal: int  # characters outside variables: more literal templates win


def base_path(spec: ApiSpec) -> str:
    """The path of the spec's first server URL, without a trailing slash (``""`` for root).

    >>> from assay.specs.model import ApiSpec
    >>> base_path(ApiSpec("x", "t", "1", "3.1.0", "", servers=["https://h/v2/"]))
    '/v2'
    """
    if not spec.servers:
        return ""
    server = spec.servers[0]
    # Server URLs may hold variables ({version}); the path of what is left is used as is.
    path = urlsplit(server).path if "://" in server else server.split("?", 1)[0]
    path = "/" + path.strip("/") if path.strip("/") else ""
    return path


class Router:
    """Matches requests to the operations of ``spec`` served under ``prefix``."""

    def __init__(self, spec: ApiSpec, prefix: str | None = None):
        self.prefix = base_path(spec) if prefix is None else prefix.rstrip("/")
        self._literal: dict[tuple[str, str], Operation] = {}
        self._templates: dict[str, list[_Template]] = {}
        self._paths: dict[str, list[str]] = {}
        templates: list[_Template] = []
        for op in spec.operations:
            self._paths.setdefault(op.path, []).append(op.method)
            if "{" not in op.path:
                self._literal.setdefault((op.method, _normal(op.path)), op)
            else:
                templates.append(_compile(op))
        templates.sort(key=lambda t: -t.literal)
        for template in templates:
            self._templates.setdefault(template.operation.method, []).append(template)
        self._all_templates = templates

    def relative(self, raw_path: str) -> str | None:
        """``raw_path`` without the served prefix, or None when it is outside of it."""
        if not self.prefix:
            return raw_path or "/"
        if raw_path == self.prefix:
            return "/"
        if raw_path.startswith(self.prefix + "/"):
            return raw_path[len(self.prefix):]
        return None

    def match(self, method: str, raw_path: str) -> Route | NoRoute:
        """The operation for ``method`` on ``raw_path`` (HEAD falls back to GET)."""
        relative = self.relative(raw_path)
        if relative is None:
            return NoRoute([], raw_path)
        route = self._find(method, relative)
        if route is None and method == "HEAD":
            route = self._find("GET", relative)
        if route is not None:
            return route
        return NoRoute(self.allowed(relative), raw_path)

    def allowed(self, relative: str) -> list[str]:
        """The methods declared for the path ``relative`` matches (``[]``: unknown path)."""
        normal = _normal(relative)
        methods: list[str] = []
        for path, declared in self._paths.items():
            if "{" not in path and _normal(path) == normal:
                methods.extend(m for m in declared if m not in methods)
        for template in self._all_templates:
            if template.pattern.fullmatch(normal) and template.operation.method not in methods:
                methods.append(template.operation.method)
        if "GET" in methods and "HEAD" not in methods:
            methods.append("HEAD")
        return methods

    def _find(self, method: str, relative: str) -> Route | None:
        normal = _normal(relative)
        op = self._literal.get((method, normal))
        if op is not None:
            return Route(op)
        for template in self._templates.get(method, ()):
            found = template.pattern.fullmatch(normal)
            if found is not None:
                values = {name: unquote(found.group(index + 1))
                          for index, name in enumerate(template.names)}
                return Route(template.operation, values)
        return None


def _normal(path: str) -> str:
    # A trailing slash is not a different resource to the clients a mock serves.
    return path.rstrip("/") or "/"


def _compile(op: Operation) -> _Template:
    names: list[str] = []
    parts: list[str] = []
    position = 0
    literal = 0
    template = _normal(op.path)
    for found in _VARIABLE.finditer(template):
        text = template[position:found.start()]
        parts.append(re.escape(text))
        literal += len(text)
        names.append(found.group(1))
        # Two variables side by side (/{page}{extension}): the first stops at a dot, so
        # the second gets the extension with its dot (home + .json).
        adjacent = template.startswith("{", found.end())
        parts.append("([^/.]+)" if adjacent else "([^/]+)")
        position = found.end()
    parts.append(re.escape(template[position:]))
    literal += len(template) - position
    return _Template(op, re.compile("".join(parts)), tuple(names), literal)

"""Which operation of the spec a request to the mock is for.

The mock serves every operation under the path of the spec's first server URL (Swagger 2.0:
``basePath``): for a server ``https://api.example.com/v2`` the operation ``GET /books`` is
served at ``/v2/books``, so ``assay test SPEC --url http://127.0.0.1:4010/v2`` reaches it.

Templates are matched on the raw path, segment by segment, and each captured value is
percent-decoded afterwards: ``/files/a%2Fb`` gives ``name="a/b"`` for ``/files/{name}``.
A path that matches several templates goes to the most literal one (``/books/search``
before ``/books/{id}``), as OpenAPI requires.

Real documents put more in a path than OpenAPI allows, and the mock serves them anyway:
a query (``/carriers/get?code={code}``, ``/{Bucket}?acl``) or a fragment (``/#DeleteRule``,
how several operations share one path) is not part of what is matched, since no client
sends a fragment and the query travels apart. The literal pieces of such a query
(``acl``, ``Operation=CancelJob``) choose between operations that share a path, when
``match`` is given the request's query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from ..specs.model import ApiSpec, Operation

_VARIABLE = re.compile(r"\{([^{}/]+)\}")
_NOTHING = re.compile(r"(?!)")  # the pattern of a literal path: compared, never searched


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
    wants: tuple[tuple[str, str | None], ...] = ()  # the template's literal query


def split_template(template: str) -> tuple[str, tuple[tuple[str, str | None], ...]]:
    """A path template without its query and fragment, and the literal pieces of that
    query: ``(name, value)`` for ``name=value``, ``(name, None)`` for a bare ``name``
    (pieces holding a variable say nothing literal and are left out).

    >>> split_template("/{Bucket}?list-type=2&prefix={p}#ListObjectsV2")
    ('/{Bucket}', (('list-type', '2'),))
    >>> split_template("/#DeleteRule")
    ('/', ())
    """
    cut = min((i for i in (template.find("?"), template.find("#")) if i >= 0),
              default=len(template))
    path, rest = template[:cut] or "/", template[cut:]
    query = rest[1:].partition("#")[0] if rest.startswith("?") else ""
    wants = []
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        if name and "{" not in piece:
            wants.append((unquote(name), unquote(value) if sep else None))
    return path, tuple(wants)


def query_variables(template: str) -> dict[str, str]:
    """The variables a template holds in its query, each with the name of the query
    parameter that carries it: ``/get?code={carrierCode}`` gives ``{"carrierCode": "code"}``
    (a document may declare such a variable ``in: path``; a client sends it in the query).

    >>> query_variables("/carriers/get?carrierCode={code}&all=true#Get")
    {'code': 'carrierCode'}
    """
    cut = template.find("?")
    if cut < 0:
        return {}
    found = {}
    for piece in template[cut + 1:].partition("#")[0].split("&"):
        name, _, value = piece.partition("=")
        variable = _VARIABLE.fullmatch(value)
        if name and variable is not None:
            found[variable.group(1)] = unquote(name)
    return found


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
        # Several operations may share a literal path (told apart by their query pieces).
        self._literal: dict[tuple[str, str], list[_Template]] = {}
        self._templates: dict[str, list[_Template]] = {}
        self._paths: dict[str, list[str]] = {}
        templates: list[_Template] = []
        for op in spec.operations:
            path, wants = split_template(op.path)
            self._paths.setdefault(path, []).append(op.method)
            if "{" not in path:
                self._literal.setdefault((op.method, _normal(path)), []).append(
                    _Template(op, _NOTHING, (), len(path), wants))
            else:
                templates.append(_compile(op, path, wants))
        templates.sort(key=lambda t: -t.literal)  # stable: document order among equals
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

    def match(self, method: str, raw_path: str, query: str | None = None) -> Route | NoRoute:
        """The operation for ``method`` on ``raw_path`` (HEAD falls back to GET).

        ``query`` (raw, without ``?``) chooses between operations that share a path by the
        literal pieces of their templates' queries: the one whose pieces the query has,
        the most pieces first. Without it, or when none fits, the first such operation in
        the document's order is taken (one without pieces before others).
        """
        relative = self.relative(raw_path)
        if relative is None:
            return NoRoute([], raw_path)
        route = self._find(method, relative, query)
        if route is None and method == "HEAD":
            route = self._find("GET", relative, query)
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

    def _find(self, method: str, relative: str, query: str | None) -> Route | None:
        normal = _normal(relative)
        literal = self._literal.get((method, normal))
        if literal:
            return Route(_best(literal, query).operation)
        matched: list[tuple[_Template, re.Match[str]]] = []
        for template in self._templates.get(method, ()):
            if matched and template.literal < matched[0][0].literal:
                break  # only equally literal templates compete on their queries
            found = template.pattern.fullmatch(normal)
            if found is not None:
                matched.append((template, found))
        if not matched:
            return None
        chosen = _best([template for template, _ in matched], query)
        found = next(found for template, found in matched if template is chosen)
        values = {name: unquote(found.group(index + 1))
                  for index, name in enumerate(chosen.names)}
        return Route(chosen.operation, values)


def _query_pairs(query: str) -> set[tuple[str, str]]:
    """The decoded ``(name, value)`` pairs of a raw query, and ``(name, "")`` for each
    name, so that a bare piece (``?acl``) is found whatever value came with it."""
    pairs = set()
    for name, value in parse_qsl(query, keep_blank_values=True):
        pairs.add((name, value))
        pairs.add((name, ""))
    return pairs


def _best(candidates: list[_Template], query: str | None) -> _Template:
    """The candidate whose literal query pieces ``query`` holds, the most pieces first;
    without ``query`` (or when none fits) the first without pieces, else the first."""
    if len(candidates) == 1:
        return candidates[0]  # the usual case: nothing to decode
    if query is not None:
        given = _query_pairs(query)
        fitting = [c for c in candidates
                   if all((name, "" if value is None else value) in given
                          for name, value in c.wants)]
        if fitting:
            return max(fitting, key=lambda c: len(c.wants))  # max keeps the first of equals
    return next((c for c in candidates if not c.wants), candidates[0])


def _normal(path: str) -> str:
    # A trailing slash is not a different resource to the clients a mock serves.
    return path.rstrip("/") or "/"


def _compile(op: Operation, path: str, wants: tuple[tuple[str, str | None], ...]) -> _Template:
    names: list[str] = []
    parts: list[str] = []
    position = 0
    literal = 0
    template = _normal(path)
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
    return _Template(op, re.compile("".join(parts)), tuple(names), literal, wants)

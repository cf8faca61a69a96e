"""OpenAPI runtime expressions, evaluated against one exchange (pure, no I/O).

A link says where a value comes from with a runtime expression::

    $url  $method  $statusCode
    $request.path.NAME  $request.query.NAME  $request.header.NAME  $request.body#/json/pointer
    $response.header.NAME  $response.body#/json/pointer

A value may also be a constant (any JSON value, or a string without ``$``), or a string
with expressions embedded in braces (``"/books/{$response.body#/id}"``); a value that is
exactly ``"{$expr}"`` yields the expression's own value, not its text. Strings inside a
literal object or array (a link's ``requestBody``) are evaluated the same way.

One extension serves inferred links: a ``#lastSegment`` suffix on a header reference,
``$response.header.Location#lastSegment``, gives the last path segment of a URL-valued
header (``"4"`` for ``Location: /books/4`` or ``https://h/books/4/?x=1``).

An expression whose value is absent (a missing field or header, a body that is not JSON,
an index past the end of an array) evaluates to ``(False, None)``; so does an expression
that does not parse: it cannot yield a value, and a constant never starts with ``$``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..core.records import NOT_SET, Case, Request, Response

LAST_SEGMENT = "#lastSegment"
ABSENT: tuple[bool, Any] = (False, None)

_EMBEDDED = re.compile(r"\{(\$[^{}]*)\}")
_TEMPLATE_VAR = re.compile(r"\{([^{}/]+)\}")
_INDEX = re.compile(r"0|[1-9][0-9]*")


def evaluate(expression: Any, request: Request, case: Case | None,
             response: Response) -> tuple[bool, Any]:
    """The value of ``expression`` against one exchange, as ``(found, value)``.

    ``case`` (the logical input behind ``request``) gives ``$request.path``, ``query`` and
    ``body`` their typed values; without it they are read from the request itself.

    >>> evaluate("$statusCode", request, None, response)  # doctest: +SKIP
    (True, 201)
    """
    return ExchangeView(request, case, response).evaluate(expression)


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a well-formed runtime expression (not a constant or template)."""
    return isinstance(value, str) and _parse(value) is not None


def escape_pointer_token(token: str) -> str:
    """``token`` escaped for a JSON pointer (``~`` → ``~0``, ``/`` → ``~1``)."""
    return token.replace("~", "~0").replace("/", "~1")


def resolve_pointer(document: Any, pointer: str) -> tuple[bool, Any]:
    """The value at JSON pointer ``pointer`` (RFC 6901) in ``document``, as ``(found, value)``."""
    if pointer == "":
        return True, document
    if not pointer.startswith("/"):
        return ABSENT
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(document, dict):
            if token not in document:
                return ABSENT
            document = document[token]
        elif isinstance(document, list):
            if not _INDEX.fullmatch(token) or int(token) >= len(document):
                return ABSENT
            document = document[int(token)]
        else:
            return ABSENT
    return True, document


def last_segment(url: str) -> str | None:
    """The last non-empty path segment of an absolute or relative URL, percent-decoded."""
    path = urlsplit(url.strip()).path.rstrip("/")
    segment = unquote(path.rsplit("/", 1)[-1]) if path else ""
    return segment or None


class ExchangeView:
    """One exchange seen by expressions; parses each body at most once."""

    __slots__ = ("request", "case", "response", "_bodies")

    def __init__(self, request: Request, case: Case | None, response: Response):
        self.request = request
        self.case = case
        self.response = response
        self._bodies: dict[str, tuple[bool, Any]] = {}

    def evaluate(self, expression: Any) -> tuple[bool, Any]:
        """``expression`` evaluated here; see the module docstring for the syntax."""
        if isinstance(expression, dict | list):
            return self._structure(expression)
        if not isinstance(expression, str):
            return True, expression
        if expression.startswith("$"):
            return self._one(expression)
        whole = _EMBEDDED.fullmatch(expression)
        if whole is not None:
            return self._one(whole.group(1))
        if _EMBEDDED.search(expression) is None:
            return True, expression
        return self._template(expression)

    def _structure(self, value: dict | list) -> tuple[bool, Any]:
        # A literal object (a link's requestBody) may carry expressions in its strings.
        items = value.items() if isinstance(value, dict) else enumerate(value)
        result: dict[Any, Any] = {}
        for key, item in items:
            found, result[key] = self.evaluate(item)
            if not found:
                return ABSENT
        return True, (result if isinstance(value, dict) else list(result.values()))

    def _template(self, template: str) -> tuple[bool, Any]:
        parts: list[str] = []
        position = 0
        for match in _EMBEDDED.finditer(template):
            found, value = self._one(match.group(1))
            if not found:
                return ABSENT
            parts.append(template[position:match.start()])
            parts.append(_text(value))
            position = match.end()
        parts.append(template[position:])
        return True, "".join(parts)

    def _one(self, expression: str) -> tuple[bool, Any]:
        parsed = _parse(expression)
        if parsed is None:
            return ABSENT
        side, kind, name = parsed
        if side == "":
            return True, {"url": self.request.url, "method": self.request.method,
                          "statusCode": self.response.status}[kind]
        if kind == "header":
            return self._header(side, name)
        if kind == "body":
            found, document = self._body(side)
            return resolve_pointer(document, name) if found else ABSENT
        if side == "response":
            return ABSENT  # a response has no path or query of its own
        return self._query(name) if kind == "query" else self._path(name)

    def _header(self, side: str, name: str) -> tuple[bool, Any]:
        wants_segment = name.endswith(LAST_SEGMENT)
        if wants_segment:
            name = name[: -len(LAST_SEGMENT)]
        message = self.response if side == "response" else self.request
        value = message.header(name)
        if value is None and side == "request" and self.case is not None:
            value = _lookup_header(self.case.headers, name)
        if value is None:
            return ABSENT
        if wants_segment:
            segment = last_segment(str(value))
            return (True, segment) if segment is not None else ABSENT
        return True, value

    def _body(self, side: str) -> tuple[bool, Any]:
        if side not in self._bodies:
            self._bodies[side] = self._parse_body(side)
        return self._bodies[side]

    def _parse_body(self, side: str) -> tuple[bool, Any]:
        if side == "request" and self.case is not None and self.case.body is not NOT_SET:
            return True, self.case.body
        raw = self.response.body if side == "response" else self.request.body
        if not raw:
            return ABSENT
        try:
            return True, json.loads(raw)
        except ValueError:  # not JSON (UnicodeDecodeError is a ValueError too)
            return ABSENT

    def _query(self, name: str) -> tuple[bool, Any]:
        if self.case is not None and name in self.case.query:
            return True, self.case.query[name]
        values = parse_qs(urlsplit(self.request.url).query, keep_blank_values=True).get(name)
        return (True, values[0]) if values else ABSENT

    def _path(self, name: str) -> tuple[bool, Any]:
        if self.case is not None and name in self.case.path_params:
            return True, self.case.path_params[name]
        template = _template_of(self.request.operation)
        if template is None:
            return ABSENT
        values = match_path(template, urlsplit(self.request.url).path)
        return (True, values[name]) if values and name in values else ABSENT


def match_path(template: str, path: str) -> dict[str, str] | None:
    """The values of ``template``'s variables in URL ``path`` (which may carry a base path
    before the template: ``/v2/books/4`` matches ``/books/{bookId}``), or ``None``."""
    names: list[str] = []
    pattern: list[str] = []
    position = 0
    for match in _TEMPLATE_VAR.finditer(template):
        pattern.append(re.escape(template[position:match.start()]))
        pattern.append(f"(?P<v{len(names)}>[^/]+)")
        names.append(match.group(1))
        position = match.end()
    pattern.append(re.escape(template[position:]))
    found = re.search("".join(pattern) + "/?$", path)
    if found is None:
        return None
    return {name: unquote(found.group(f"v{i}")) for i, name in enumerate(names)}


def _parse(expression: str) -> tuple[str, str, str] | None:
    """``(side, kind, name)``: side ``""`` for $url/$method/$statusCode; for a body, ``name``
    is the JSON pointer (``""`` for the whole body)."""
    if expression in ("$url", "$method", "$statusCode"):
        return "", expression[1:], ""
    for side in ("request", "response"):
        prefix = f"${side}."
        if not expression.startswith(prefix):
            continue
        rest = expression[len(prefix):]
        if rest == "body" or rest.startswith("body#"):
            return side, "body", rest[5:]
        kind, dot, name = rest.partition(".")
        if dot and name and kind in ("header", "query", "path"):
            return side, kind, name
    return None


def _template_of(label: str | None) -> str | None:
    if not label or " " not in label:
        return None
    return label.split(" ", 1)[1]


def _lookup_header(headers: dict[str, Any], name: str) -> Any:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def _text(value: Any) -> str:
    # Inside a string, JSON spelling is the least surprising for non-strings: true, null, 1.5.
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

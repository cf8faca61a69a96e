"""``{{ name }}`` templates: interpolation of variables into requests and expectations.

The grammar is deliberately tiny and is parsed, never evaluated: a variable name followed by
field accesses and indexes, ``{{ name }}``, ``{{ book.author }}``, ``{{ items[0].id }}``,
``{{ row['a key'] }}``. A field is only ever a key of a mapping and an index only ever a
position in a list, so a suite file cannot reach Python attributes (``{{ a.__class__ }}`` is
an undefined variable) or run code.

A string that is exactly one template keeps the value's type (``"{{ book_id }}"`` renders
to the integer ``12``); inside a longer string a value is written as JSON would write it
(``true``, ``null``, ``12``) and a string as itself. Values are not rendered again: a
variable whose value contains ``{{ x }}`` is sent as that text.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..core.errors import AssayError
from .model import FilePart, RequestTemplate

_TEMPLATE = re.compile(r"\{\{((?:(?!\}\}).)*)\}\}", re.DOTALL)
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_SEGMENT = r"\.[A-Za-z0-9_-]+|\[\s*-?\d+\s*\]|\[\s*'[^']*'\s*\]|\[\s*\"[^\"]*\"\s*\]"
_EXPRESSION = re.compile(rf"\s*({_NAME})((?:{_SEGMENT})*)\s*")
_SEGMENTS = re.compile(_SEGMENT)


class TemplateError(AssayError):
    """A template names a variable that is not defined, or is not a valid expression.

    ``variable`` is the expression as written (``"book_id"``, ``"book.author"``); the
    engine reports it as a step error.
    """

    def __init__(self, message: str, *, variable: str | None = None, **kwargs: Any):
        self.variable = variable
        super().__init__(message, **kwargs)


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """``value`` with every template replaced, recursively through mappings and lists.

    >>> render({"id": "{{ n }}", "path": "/books/{{ n }}"}, {"n": 12})
    {'id': 12, 'path': '/books/12'}

    Raises ``TemplateError`` naming an undefined variable.
    """
    if isinstance(value, str):
        return render_string(value, variables)
    if isinstance(value, dict):
        return {_render_key(k, variables): render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    if isinstance(value, tuple):
        return tuple(render(item, variables) for item in value)
    return value


def render_string(text: str, variables: Mapping[str, Any]) -> Any:
    """One string rendered; the value itself when ``text`` is exactly one template."""
    if "{{" not in text:
        return text
    whole = _TEMPLATE.fullmatch(text)
    if whole:
        return lookup(whole.group(1), variables)
    return _TEMPLATE.sub(lambda m: to_text(lookup(m.group(1), variables)), text)


def render_request(request: RequestTemplate, variables: Mapping[str, Any]) -> RequestTemplate:
    """The request with every string of its method, path, url, query, headers and bodies
    rendered."""
    multipart = request.multipart
    if multipart is not None:
        multipart = {
            _render_key(name, variables): _render_part(part, variables)
            for name, part in multipart.items()
        }
    return replace(
        request,
        method=str(render_string(request.method, variables)).upper(),
        path=None if request.path is None else to_text(render_string(request.path, variables)),
        url=None if request.url is None else to_text(render_string(request.url, variables)),
        query=render(request.query, variables),
        headers=render(request.headers, variables),
        json=render(request.json, variables),
        form=render(request.form, variables),
        multipart=multipart,
        body=None if request.body is None else to_text(render_string(request.body, variables)),
    )


def lookup(expression: str, variables: Mapping[str, Any]) -> Any:
    """The value of one template expression (the text between ``{{`` and ``}}``)."""
    root, segments = parse_expression(expression)
    shown = expression.strip()
    if root not in variables:
        raise TemplateError(f"undefined variable '{shown}'", variable=shown)
    value = variables[root]
    for segment in segments:
        if isinstance(value, dict) and not isinstance(segment, int) and segment in value:
            value = value[segment]
        elif isinstance(value, list | tuple) and _is_index(segment, value):
            value = value[int(segment)]
        else:
            raise TemplateError(f"undefined variable '{shown}'", variable=shown)
    return value


def parse_expression(expression: str) -> tuple[str, list[str | int]]:
    """(variable name, [field or index, ...]) of a template expression.

    Raises ``TemplateError`` when the expression is not a name followed by ``.field``,
    ``[index]`` or ``['key']`` parts.
    """
    match = _EXPRESSION.fullmatch(expression)
    if not match:
        raise TemplateError(
            f"invalid template '{{{{{expression}}}}}' (expected a variable name, optionally "
            "followed by .field or [index], such as {{ book.id }} or {{ items[0] }})",
            variable=expression.strip(),
        )
    segments: list[str | int] = []
    for part in _SEGMENTS.findall(match.group(2)):
        if part.startswith("."):
            segments.append(part[1:])
            continue
        inner = part[1:-1].strip()
        segments.append(inner[1:-1] if inner[:1] in "'\"" else int(inner))
    return match.group(1), segments


def template_syntax_error(text: str) -> str | None:
    """Why ``text`` holds an invalid template, or ``None`` when all of them parse."""
    for match in _TEMPLATE.finditer(text):
        try:
            parse_expression(match.group(1))
        except TemplateError as exc:
            return exc.message
    return None


def has_template(text: str) -> bool:
    """True when ``text`` holds at least one ``{{ ... }}``."""
    return _TEMPLATE.search(text) is not None


def to_text(value: Any) -> str:
    """How a value is written inside a longer string: strings as themselves, others as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _render_key(key: Any, variables: Mapping[str, Any]) -> Any:
    return to_text(render_string(key, variables)) if isinstance(key, str) else key


def _render_part(part: str | FilePart, variables: Mapping[str, Any]) -> str | FilePart:
    if isinstance(part, FilePart):
        return FilePart(**{
            name: None if value is None else to_text(render_string(value, variables))
            for name, value in (
                ("path", part.path),
                ("content", part.content),
                ("filename", part.filename),
                ("content_type", part.content_type),
            )
        })
    return to_text(render_string(part, variables))


def _is_index(segment: str | int, value: list | tuple) -> bool:
    if isinstance(segment, str):
        if not segment.isdigit():
            return False
        segment = int(segment)
    return -len(value) <= segment < len(value)


def referenced_names(value: Any) -> set[str]:
    """The variable names that the templates anywhere in ``value`` look up (strings, dict
    keys and values, lists, tuples and dataclass records such as a ``RequestTemplate``)."""
    names: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            for match in _TEMPLATE.finditer(item):
                try:
                    names.add(parse_expression(match.group(1))[0])
                except TemplateError:
                    continue  # syntax is checked at load time with its own message
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
    return names

"""Text to Python data: JSON first when it looks like JSON, else YAML (PyYAML, safe loader).

YAML is read with the YAML 1.2 core schema rather than PyYAML's YAML 1.1 default, because
OpenAPI documents are JSON-compatible data: ``on``/``yes``/``no`` stay strings, ``12:30`` is
not a sexagesimal integer, ``017`` is 17, and unquoted dates stay the ISO strings they were
written as. Mapping keys always become strings (``200:`` is the response ``"200"``).
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

import yaml

from assay.core.errors import SpecError

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The YAML 1.2 core schema for plain scalars: (tag, pattern, first characters).
_CORE_SCHEMA = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ("~", "n", "N", "")),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
)


def _core_schema_resolvers() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """PyYAML's implicit-resolver table (first character -> candidates) for ``_CORE_SCHEMA``."""
    table: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, pattern, first in _CORE_SCHEMA:
        for char in first:
            table.setdefault(char, []).append((tag, re.compile(pattern)))
    return table


def _key_text(key: Any) -> str:
    """A mapping key as JSON would spell it."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    return str(key)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _construct_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # Explicit !!timestamp and !!binary values stay the text they were written as:
    # everything in a document must remain JSON data.
    return loader.construct_scalar(node)


def _construct_set(loader: yaml.SafeLoader, node: yaml.Node) -> list:
    return list(loader.construct_mapping(node))


class _Yaml12Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader with YAML 1.2 core-schema scalars and string keys."""

    # Tables of our own, so PyYAML's shared YAML 1.1 ones stay untouched.
    yaml_implicit_resolvers = _core_schema_resolvers()
    yaml_constructors = {
        **_BaseLoader.yaml_constructors,
        "tag:yaml.org,2002:int": _construct_int,
        "tag:yaml.org,2002:timestamp": _construct_text,
        "tag:yaml.org,2002:binary": _construct_text,
        "tag:yaml.org,2002:set": _construct_set,
    }

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        """A mapping with every key a string (``200:`` is ``"200"``, as JSON needs)."""
        mapping = super().construct_mapping(node, deep=deep)
        if all(type(key) is str for key in mapping):
            return mapping
        return {_key_text(key): value for key, value in mapping.items()}


def decode_text(data: str | bytes, *, source: str) -> str:
    """``data`` as text: UTF-8 (BOM allowed) or UTF-16/32 with a BOM."""
    if isinstance(data, str):
        return data
    encoding = "utf-8-sig"
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "utf-32"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded; expected a "
            "UTF-8 JSON or YAML document",
            source=source,
            location=f"byte {exc.start}",
        ) from exc


def parse_document(data: str | bytes, *, source: str, prefer_json: bool = False) -> Any:
    """Parse a JSON or YAML document into plain JSON-compatible Python data.

    JSON is tried first when ``prefer_json`` (a ``.json`` file, a JSON content type) or when
    the text starts with ``{`` or ``[``: ``json`` is much faster than YAML. Raises
    ``SpecError`` with ``location="line N, column M"`` for a syntax error.
    """
    text = decode_text(data, source=source)
    try:
        if prefer_json or text.lstrip()[:1] in ("{", "["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as json_error:
                try:
                    return _parse_yaml(text, source=source)
                except SpecError:
                    raise _json_error(json_error, source) from json_error
        return _parse_yaml(text, source=source)
    except RecursionError as exc:
        raise SpecError(
            "the document is nested too deeply to read; expected at most a few hundred levels",
            source=source,
        ) from exc


def _parse_yaml(text: str, *, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, source) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", source=source) from exc


def _json_error(exc: json.JSONDecodeError, source: str) -> SpecError:
    return SpecError(
        f"invalid JSON: {exc.msg}; expected a JSON or YAML document",
        source=source,
        location=f"line {exc.lineno}, column {exc.colno}",
    )


def _yaml_error(exc: yaml.MarkedYAMLError, source: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    location = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
    problem = exc.problem or "syntax error"
    context = f" ({exc.context})" if exc.context else ""
    return SpecError(f"invalid YAML: {problem}{context}", source=source, location=location)

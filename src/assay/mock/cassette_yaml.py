"""The file form of cassettes: a YAML dialect that reads back what it wrote, and checks.

Bodies recorded from JSON go through YAML, so scalars must not change type on the way:
the loader reads the YAML 1.2 core schema (as suites do: ``no``, ``0755`` and
``2024-01-01`` stay strings), and the dumper quotes every string that either YAML 1.1 or 1.2
would read as something else, so that other YAML tools read the file the same way.
Multi-line strings are written as block literals, which is what makes a text body readable.

Reading checks the document against ``cassette.schema.json`` (editors can use it for
completion) and then for what a schema cannot say; every error names the line and key path.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from ..core.errors import ConfigError
from ..core.jsonvalues import json_type
from ..suites.validate import explain
from ..suites.yamlio import KeyPath, SuiteLoader, format_key_path

BODY_KEYS = ("json", "text", "base64")
"""The keys a body can sit under in a request or response of the file."""

# A block literal would read these back as plain newlines (or drop them).
_NOT_IN_BLOCKS = frozenset("\r\x85\u2028\u2029\ufeff")


def _dumper_resolvers() -> dict[Any, list[tuple[str, Any]]]:
    """YAML 1.1 and 1.2 implicit types together: a string either reads as something else
    (``yes``, ``1e3``, ``2024-01-01``, ``<<``) is quoted."""
    merged: dict[Any, list[tuple[str, Any]]] = {}
    for table in (yaml.SafeDumper.yaml_implicit_resolvers, SuiteLoader.yaml_implicit_resolvers):
        for first, rules in table.items():
            merged.setdefault(first, []).extend(rules)
    return merged


class CassetteDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """A safe dumper (libyaml's when present: saving runs after every recorded request)."""

    yaml_implicit_resolvers = _dumper_resolvers()


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and _NOT_IN_BLOCKS.isdisjoint(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


CassetteDumper.add_representer(str, _represent_str)


class CassetteLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader (libyaml's when present) with YAML 1.2 core scalars."""

    yaml_implicit_resolvers = SuiteLoader.yaml_implicit_resolvers


def dump_yaml(data: Any) -> str:
    """``data`` as block-style YAML, keys in their order, non-ASCII text as it is; without
    a document end marker, so that the texts of list items can be concatenated."""
    text = yaml.dump(data, Dumper=CassetteDumper, allow_unicode=True, sort_keys=False,
                     width=100)
    # A block scalar that keeps its trailing newlines (|+) makes the emitter close the
    # document with "...", which would end the file's document in the middle.
    return text[:-4] if text.endswith("\n...\n") else text


@dataclass(frozen=True, slots=True)
class Locator:
    """Where each key of a file is (key path -> line), to locate errors."""

    source: str
    lines: dict[KeyPath, int]

    def error(self, path: KeyPath, message: str) -> ConfigError:
        """A ``ConfigError`` at ``path``: ``line 7, key interactions[0].request``."""
        probe = tuple(path)
        while probe and probe not in self.lines:
            probe = probe[:-1]
        location = f"line {self.lines.get(probe, 1)}"
        if path:
            location += f", key {format_key_path(path)}"
        return ConfigError(message, source=self.source, location=location)


def parse_yaml(text: str, source: str) -> tuple[Any, Locator]:
    """The document in ``text`` and where its keys are.

    Raises ``ConfigError`` for text that is not YAML (with line and column) and for a
    duplicate key (YAML would keep the last one silently).
    """
    loader = CassetteLoader(text)
    lines: dict[KeyPath, int] = {(): 1}
    try:
        node = loader.get_single_node()
        if node is None:
            return None, Locator(source, lines)
        _record_lines(node, (), lines, source)
        return loader.construct_document(node), Locator(source, lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = exc.problem or exc.context or "cannot be parsed"
        raise ConfigError(f"invalid YAML: {problem}", source=source, location=where) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from exc
    finally:
        loader.dispose()


def _record_lines(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], source: str,
                  seen_nodes: set[int] | None = None) -> None:
    # An alias is the same node again: walk it once (an anchor may even contain itself).
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(item, (*path, index), lines, source, seen_nodes)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(f"duplicate key {key!r} (each key may appear once)",
                                  source=source,
                                  location=f"line {line}, key {format_key_path((*path, key))}")
            seen.add(key)
            lines[(*path, key)] = line
            _record_lines(value_node, (*path, key), lines, source, seen_nodes)


def read_cassette_file(path: Path) -> list[dict[str, Any]]:
    """The interactions of the cassette file at ``path``, as plain data checked against
    ``cassette.schema.json`` and for what a schema cannot say (one body key at most, valid
    base64, JSON bodies that JSON can hold). Raises ``ConfigError`` with the line and key."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("no such cassette file", source=source) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the cassette: {exc.strerror}", source=source) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"a cassette is UTF-8 text; byte {exc.start} is not",
                          source=source) from exc
    data, where = parse_yaml(text, source)
    _validate(data, where)
    items = data["interactions"] or []
    for index, item in enumerate(items):
        for part in ("request", "response"):
            _check_body(item[part], ("interactions", index, part), where)
    return items


def cassette_schema() -> dict[str, Any]:
    """The JSON Schema of the cassette format, as shipped in the package."""
    text = resources.files("assay.mock").joinpath("cassette.schema.json").read_text("utf-8")
    return json.loads(text)


def decode_base64(text: str) -> bytes:
    """The bytes of a ``base64`` body (line breaks allowed); ``ValueError`` when invalid."""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from exc


def scalar_text(value: Any) -> str:
    """A header or query value as written in YAML: ``true`` and ``2`` mean that text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _validate(data: Any, where: Locator) -> None:
    if not isinstance(data, dict) or "interactions" not in data:
        raise where.error((), "a cassette is a mapping with 'interactions' (a list of "
                              "request/response pairs)")
    error = best_match(Draft202012Validator(cassette_schema()).iter_errors(data))
    if error is not None:
        path, message = explain(error)
        raise where.error(path, message)


def _check_body(data: dict[str, Any], path: KeyPath, where: Locator) -> None:
    present = [key for key in BODY_KEYS if key in data]
    if len(present) > 1:
        raise where.error((*path, present[1]), f"a body is one of json, text or base64; "
                                               f"found both {present[0]} and {present[1]}")
    if "base64" in data:
        try:
            decode_base64(data["base64"])
        except ValueError as exc:
            raise where.error((*path, "base64"), f"expected base64 text, found an invalid "
                                                 f"encoding ({exc})") from exc
    if "json" in data:
        _check_json(data["json"], (*path, "json"), where, set())


def _check_json(value: Any, path: KeyPath, where: Locator, active: set[int]) -> None:
    """Raise unless ``value`` is a JSON value (YAML can also hold dates, bytes, integer keys
    and structures that contain themselves)."""
    if isinstance(value, list | dict):
        if id(value) in active:
            raise where.error(path, "a JSON body cannot contain itself (a YAML alias loop)")
        active.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and not isinstance(key, str):
                raise where.error((*path, str(key)), f"a JSON object key must be a string, "
                                                     f"found {json_type(key)} {key!r}")
            _check_json(item, (*path, key), where, active)
        active.discard(id(value))
    elif not isinstance(value, str | int | float | bool) and value is not None:
        raise where.error(path, f"expected a JSON value, found {json_type(value)}")

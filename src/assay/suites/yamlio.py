"""Reading a suite's YAML: line numbers, environment variables, and a predictable typing.

The document is composed into nodes first, so that every key path can be mapped to its line
(for error messages) and ``${VAR}`` references can be substituted in each scalar before it
becomes a value. A plain (unquoted) scalar is typed again after substitution, as if the
value had been written in the file (``timeout: ${TIMEOUT:-5}`` is the number 5); quote it
to keep a string.

Scalars follow the YAML 1.2 core schema rather than PyYAML's YAML 1.1 defaults: only
``true``/``false`` are booleans (``NO``, ``on`` stay strings), ``2024-01-01`` stays a string,
``0755`` (a zip code, a file mode) and ``12:30`` are not numbers. An API testing tool sends
these values on the wire, so surprises there are bugs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ..core.errors import SuiteError

KeyPath = tuple[str | int, ...]

_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _core_resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    """Implicit resolvers for the YAML 1.2 core schema (null, bool, int, float)."""
    rules = [
        ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN"),
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
        ("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"),
         "-+0123456789"),
        ("tag:yaml.org,2002:float", re.compile(
            r"^(?:[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), "-+0123456789."),
    ]
    resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {
        "": [(rules[0][0], rules[0][1])],  # the empty scalar is null
    }
    for tag, regexp, first in rules:
        for char in first:
            resolvers.setdefault(char, []).append((tag, regexp))
    # Merge keys (<<) keep working, as YAML users expect from anchors.
    resolvers["<"] = [
        rule for rule in yaml.SafeLoader.yaml_implicit_resolvers["<"]
        if rule[0] == "tag:yaml.org,2002:merge"
    ]
    return resolvers


class SuiteLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core scalars (see the module docstring)."""

    yaml_implicit_resolvers = _core_resolvers()


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Where each key of a suite file is: key path -> line (1-based)."""

    source: str
    lines: dict[KeyPath, int]

    def line_of(self, path: KeyPath) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: KeyPath, message: str) -> SuiteError:
        """A ``SuiteError`` located at ``path``: ``line N, key scenarios[0].name``."""
        location = f"line {self.line_of(path)}"
        if path:
            location += f", key {format_key_path(path)}"
        return SuiteError(message, source=self.source, location=location)


def format_key_path(path: KeyPath) -> str:
    """``("scenarios", 0, "expect", "$.id")`` -> ``scenarios[0].expect['$.id']``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def parse_yaml(text: str, *, source: str, env: Mapping[str, str]) -> tuple[Any, SourceMap]:
    """The document in ``text`` with ``${VAR}`` substituted from ``env``, and its lines.

    Raises ``SuiteError`` for broken YAML (with the line and column), duplicate keys and
    unset environment variables without a default.
    """
    loader = SuiteLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {(): 1}
        if node is not None:
            _Walker(loader, source, env, lines).walk(node, ())
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = exc.problem or exc.context or "cannot be parsed"
        raise SuiteError(f"invalid YAML: {problem}", source=source, location=where) from exc
    except yaml.YAMLError as exc:
        raise SuiteError(f"invalid YAML: {exc}", source=source) from exc
    finally:
        loader.dispose()
    return data, SourceMap(source, lines)


class _Walker:
    """Substitutes environment variables in scalars and records the line of each key."""

    def __init__(self, loader: SuiteLoader, source: str, env: Mapping[str, str],
                 lines: dict[KeyPath, int]):
        self.loader = loader
        self.source = source
        self.env = env
        self.lines = lines
        self.seen: set[int] = set()

    def walk(self, node: yaml.Node, path: KeyPath) -> None:
        """Substitute and record ``node`` and everything under it, ``path`` being its key path."""
        # An alias is the same node object again: substitute it once only, or "$${X}"
        # would become "${X}" and then be substituted on the second visit.
        if id(node) in self.seen:
            return
        self.seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            self._substitute(node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.lines.setdefault((*path, index), item.start_mark.line + 1)
                self.walk(item, (*path, index))
        elif isinstance(node, yaml.MappingNode):
            self._walk_mapping(node, path)

    def _walk_mapping(self, node: yaml.MappingNode, path: KeyPath) -> None:
        keys: set[Any] = set()
        for key_node, value_node in node.value:
            self.walk(key_node, path)
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.walk(value_node, path)
                continue
            key = self.loader.construct_object(key_node, deep=True)
            key = key if isinstance(key, str | int) else str(key)
            line = key_node.start_mark.line + 1
            if key in keys:
                raise SuiteError(
                    f"duplicate key {key!r} (each key may appear once in a mapping)",
                    source=self.source,
                    location=f"line {line}, key {format_key_path((*path, key))}",
                )
            keys.add(key)
            self.lines.setdefault((*path, key), line)
            self.walk(value_node, (*path, key))

    def _substitute(self, node: yaml.ScalarNode, path: KeyPath) -> None:
        if "$" not in node.value:
            return
        where = f"line {node.start_mark.line + 1}"
        if path:
            where += f", key {format_key_path(path)}"
        new = _ENV.sub(lambda m: self._replacement(m, where), node.value)
        if new == node.value:
            return
        implicit = node.tag == self.loader.resolve(yaml.ScalarNode, node.value, (True, False))
        node.value = new
        if node.style is None and implicit:
            node.tag = self.loader.resolve(yaml.ScalarNode, new, (True, False))

    def _replacement(self, match: re.Match[str], where: str) -> str:
        text = match.group(0)
        if text == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name is None:
            raise SuiteError(
                f"invalid environment variable reference {text!r} (expected ${{NAME}} or "
                "${NAME:-default}; write $${...} for a literal ${...})",
                source=self.source, location=where,
            )
        value = self.env.get(name)
        if value:
            return value
        if default is not None:
            return default
        if value is not None:
            return value
        raise SuiteError(
            f"environment variable {name} is not set (set it, or give a default: "
            f"${{{name}:-default}})",
            source=self.source, location=where,
        )

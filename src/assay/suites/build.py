"""Turning a validated suite document into the frozen model the engine runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from ..core.records import NOT_SET
from ..core.units import parse_duration
from .auth import build_auth
from .expectations import build_captures, build_expect, build_retry
from .model import FilePart, RequestTemplate, Scenario, Step, Suite
from .rows import load_rows
from .template import template_syntax_error, to_text
from .yamlio import KeyPath, SourceMap

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def build_suite(data: dict[str, Any], where: SourceMap, *, base_dir: Path,
                overrides: dict[str, str] | None = None) -> Suite:
    """The ``Suite`` of a document that ``validate_suite`` accepted."""
    variables = dict(data.get("variables") or {})
    for name, value in (overrides or {}).items():
        if not _NAME.fullmatch(name):
            raise UsageError(f"invalid variable name {name!r} (expected letters, digits, _ "
                             "and -, not starting with a digit)", location="--var")
        variables[name] = value
    headers = dict(data.get("headers") or {})
    check_templates(headers, ("headers",), where)
    spec = data.get("spec")
    if spec is not None and not _URL.match(spec):
        spec = str((base_dir / spec).resolve())
    timeout = data.get("timeout")
    return Suite(
        source=where.source,
        base_url=data.get("base_url"),
        spec=spec,
        variables=variables,
        headers=headers,
        auth=build_auth(data.get("auth"), ("auth",), where, variables),
        timeout=None if timeout is None else parse_duration(timeout),
        scenarios=_scenarios(data, "scenarios", where, base_dir),
        setup=_scenarios(data, "setup", where, base_dir),
        teardown=_scenarios(data, "teardown", where, base_dir),
    )


def build_request(data: dict[str, Any], path: KeyPath, where: SourceMap,
                  base_dir: Path) -> RequestTemplate:
    """The ``RequestTemplate`` of a validated ``request:`` mapping."""
    check_templates(data, path, where)
    multipart = data.get("multipart")
    timeout = data.get("timeout")
    return RequestTemplate(
        method=data.get("method", "GET").upper(),
        path=data.get("path"),
        url=data.get("url"),
        query=dict(data.get("query") or {}),
        headers=dict(data.get("headers") or {}),
        json=data.get("json", NOT_SET),
        form=data.get("form"),
        multipart=None if multipart is None else _multipart(
            multipart, (*path, "multipart"), where, base_dir),
        body=data.get("body"),
        timeout=None if timeout is None else parse_duration(timeout),
    )


def check_templates(value: Any, path: KeyPath, where: SourceMap) -> None:
    """Raise ``SuiteError`` at the first string (key or value) with an invalid template."""
    if isinstance(value, str):
        reason = template_syntax_error(value)
        if reason:
            raise where.error(path, reason)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_templates(key, (*path, key), where)
            check_templates(item, (*path, key), where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_templates(item, (*path, index), where)


def _scenarios(data: dict[str, Any], key: str, where: SourceMap,
               base_dir: Path) -> tuple[Scenario, ...]:
    return tuple(
        _scenario(item, (key, index), where, base_dir)
        for index, item in enumerate(data.get(key) or ())
    )


def _scenario(data: dict[str, Any], path: KeyPath, where: SourceMap,
              base_dir: Path) -> Scenario:
    parametrize = data.get("parametrize")
    return Scenario(
        name=data["name"],
        steps=tuple(
            _step(step, (*path, "steps", index), where, base_dir)
            for index, step in enumerate(data["steps"])
        ),
        rows=() if parametrize is None else load_rows(
            parametrize, base_dir, (*path, "parametrize"), where),
        weight=float(data.get("weight", 1.0)),
        think=_think(data.get("think"), (*path, "think"), where),
        line=where.line_of(path),
    )


def _step(data: dict[str, Any], path: KeyPath, where: SourceMap, base_dir: Path) -> Step:
    request = build_request(data["request"], (*path, "request"), where, base_dir)
    expect = data.get("expect")
    if expect is not None:
        check_templates(expect, (*path, "expect"), where)
    retry = data.get("retry")
    if retry is not None:
        check_templates(retry, (*path, "retry"), where)
    return Step(
        name=data.get("name") or f"{request.method} {request.path or request.url}",
        request=request,
        expect=None if expect is None else build_expect(expect, (*path, "expect"), where),
        capture=build_captures(data.get("capture") or {}, (*path, "capture"), where),
        retry=None if retry is None else build_retry(retry, (*path, "retry"), where),
        line=where.line_of(path),
        think=_think(data.get("think"), (*path, "think"), where),
    )


def _multipart(data: dict[str, Any], path: KeyPath, where: SourceMap,
               base_dir: Path) -> dict[str, str | FilePart]:
    fields: dict[str, str | FilePart] = {}
    for name, value in data.items():
        if not isinstance(value, dict):
            fields[name] = to_text(value)
            continue
        file = value.get("file")
        if file is not None:
            resolved = base_dir / file
            if "{{" not in file and not resolved.is_file():
                raise where.error((*path, name, "file"), f"no such file: {str(resolved)!r}")
            file = str(resolved.resolve()) if "{{" not in file else file
        fields[name] = FilePart(path=file, content=value.get("content"),
                                filename=value.get("filename"),
                                content_type=value.get("content_type"))
    return fields


def _think(value: Any, path: KeyPath, where: SourceMap) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        seconds = parse_duration(value)
        return (seconds, seconds)
    low, high = parse_duration(value[0]), parse_duration(value[1])
    if low > high:
        raise where.error(path, f"expected [shortest, longest], found {value!r} "
                                "(the first is longer)")
    return (low, high)

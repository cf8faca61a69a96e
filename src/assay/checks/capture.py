"""A suite step's ``capture:``: values taken from a response into variables.

A capture that finds nothing is a failure of the step (check ``capture``): later steps
would otherwise run with a missing variable and fail for the wrong reason.
"""

from __future__ import annotations

import re
from typing import Any

from ..core.records import Failure, Response
from ..suites.model import Capture
from ..suites.paths import find_all


def apply_captures(captures: tuple[Capture, ...] | list[Capture],
                   response: Response) -> tuple[dict[str, Any], list[Failure]]:
    """(captured values by name, failures for the captures that found nothing).

    ``json``: the first match of the JSONPath; ``header``: the header's first value;
    ``regex``: the first group, or the whole match without groups; ``status``: the code.
    """
    values: dict[str, Any] = {}
    failures: list[Failure] = []
    for capture in captures:
        found, problem = _capture(capture, response)
        if problem is None:
            values[capture.name] = found
        else:
            failures.append(Failure(
                "capture",
                f"capture {capture.name}: {problem}",
                cause=f"{capture.name}: {capture.kind} {capture.expression}",
            ))
    return values, failures


def _capture(capture: Capture, response: Response) -> tuple[Any, str | None]:
    """(value, None) or (None, what went wrong)."""
    if capture.kind == "status":
        return response.status, None
    if capture.kind == "header":
        value = response.header(capture.expression)
        return (value, None) if value is not None else (
            None, f"header {capture.expression}: missing")
    if capture.kind == "json":
        return _json(capture.expression, response)
    if capture.kind == "regex":
        return _regex(capture, response)
    raise ValueError(f"unknown capture kind {capture.kind!r}")


def _json(expression: str, response: Response) -> tuple[Any, str | None]:
    try:
        document = response.json()
    except ValueError:
        media = response.media_type or "no content type"
        return None, f"{expression}: body is not JSON ({media})"
    matches = find_all(expression, document)
    if not matches:
        return None, f"{expression}: no match"
    return matches[0][1], None


def _regex(capture: Capture, response: Response) -> tuple[Any, str | None]:
    if capture.source.startswith("header:"):
        name = capture.source.split(":", 1)[1]
        text = response.header(name)
        if text is None:
            return None, f"regex {capture.expression!r}: header {name} is missing"
        where = f"header {name}"
    else:
        text, where = response.text, "the body"
    match = re.search(capture.expression, text)
    if match is None:
        return None, f"regex {capture.expression!r} found nothing in {where}"
    value = match.group(1) if match.re.groups else match.group(0)
    if value is None:
        return None, f"regex {capture.expression!r}: its first group matched nothing in {where}"
    return value, None

"""A suite step's ``expect:``: status, latency, headers, JSONPath values, body text, schema.

Each part is its own check name (``expected_status``, ``expected_headers``,
``expected_json``, ``expected_body``, ``expected_schema``, ``max_response_time``), so a report
says which promise the API broke. A failure's ``cause`` is its subject as written in the
suite (the JSONPath and the operator, the header and the operator, the expected status and
the one received), never a rendered value that changes from run to run, so that findings
deduplicate.

Expectation values are rendered with the run's variables first. A JSONPath that matches
several values passes only when every match satisfies every operator (``$.items[*].price:
{">": 0}`` means all prices); to ask for one among many, use ``contains`` on the array or a
filter (``$.items[?@.title == 'Dune']: {exists: true}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from ..core.records import Failure, Response
from ..suites.matching import mismatches, render_matchers, show
from ..suites.model import Expect
from ..suites.paths import find_all
from ..suites.template import render
from .schema import schema_violations

MAX_SCHEMA_FAILURES = 5
_NOT_JSON = object()
_UNPARSED = object()


def check_expect(expect: Expect, response: Response,
                 variables: Mapping[str, Any]) -> list[Failure]:
    """Every way ``response`` breaks ``expect``; empty when it keeps every promise.

    Raises ``TemplateError`` when an expectation names an undefined variable.
    """
    body = _Body(response)
    return [
        *_status(expect, response),
        *_latency(expect, response),
        *_headers(expect, response, variables),
        *_json(expect, body, variables),
        *_body_contains(expect, response, variables),
        *_schema(expect, body, variables),
    ]


class _Body:
    """The response body parsed as JSON once, on first use."""

    __slots__ = ("response", "_parsed")

    def __init__(self, response: Response):
        self.response = response
        self._parsed: Any = _UNPARSED

    @property
    def parsed(self) -> Any:
        """The JSON value, or ``_NOT_JSON``."""
        if self._parsed is _UNPARSED:
            try:
                self._parsed = self.response.json() if self.response.body.strip() else _NOT_JSON
            except ValueError:
                self._parsed = _NOT_JSON
        return self._parsed

    def not_json(self) -> str:
        """Why the JSON checks cannot look at the body."""
        media = self.response.media_type or "no content type"
        if not self.response.body.strip():
            return f"body is empty, not JSON ({media})"
        return f"body is not JSON ({media})"


def _status(expect: Expect, response: Response) -> list[Failure]:
    if not expect.status or any(_status_matches(s, response.status) for s in expect.status):
        return []
    wanted = " or ".join(str(s) for s in expect.status)
    return [Failure("expected_status", f"expected status {wanted}, got {response.status}",
                    cause=f"{wanted} -> {response.status}")]


def _status_matches(expected: str | int, status: int) -> bool:
    if isinstance(expected, int):
        return expected == status
    return str(status)[0] == expected[0]


def _latency(expect: Expect, response: Response) -> list[Failure]:
    if expect.latency is None:
        return []
    op, limit = expect.latency
    took = response.timings.total
    if took < limit or (op == "<=" and took == limit):
        return []
    return [Failure("max_response_time",
                    f"expected response time {op} {_duration(limit)}, got {_duration(took)}",
                    cause=f"{op} {_duration(limit)}", severity="medium")]


def _headers(expect: Expect, response: Response,
             variables: Mapping[str, Any]) -> list[Failure]:
    failures = []
    for name, matchers in expect.headers:
        values = response.header_values(name)
        # Repeated fields are one list for HTTP semantics (RFC 9110, section 5.3).
        present = [(None, ", ".join(values))] if values else []
        for op, why in mismatches(render_matchers(matchers, variables), present,
                                  text_values=True):
            message = f"header {name}: missing" if why == "no match" else f"header {name}: {why}"
            failures.append(Failure("expected_headers", message, cause=f"{name.lower()} {op}"))
    return failures


def _json(expect: Expect, body: _Body, variables: Mapping[str, Any]) -> list[Failure]:
    if not expect.json:
        return []
    document = body.parsed
    if document is _NOT_JSON:
        return [Failure("expected_json", body.not_json(), cause="not json")]
    failures = []
    for expression, matchers in expect.json:
        found = find_all(expression, document)
        for op, why in mismatches(render_matchers(matchers, variables), found):
            failures.append(Failure("expected_json", f"{expression}: {why}",
                                    cause=f"{expression} {op}"))
    return failures


def _body_contains(expect: Expect, response: Response,
                   variables: Mapping[str, Any]) -> list[Failure]:
    failures = []
    text = response.text
    for written in expect.body_contains:
        wanted = render(written, variables)
        wanted = wanted if isinstance(wanted, str) else show(wanted)
        if wanted not in text:
            failures.append(Failure("expected_body", f"body does not contain {show(wanted)}",
                                    cause=written))
    return failures


def _schema(expect: Expect, body: _Body, variables: Mapping[str, Any]) -> list[Failure]:
    if expect.schema is None:
        return []
    document = body.parsed
    if document is _NOT_JSON:
        return [Failure("expected_schema", body.not_json(), cause="not json")]
    schema = render(expect.schema, variables)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        Failure("expected_schema", f"body does not match the schema at {path}: {message}",
                cause=cause or "schema")
        for cause, path, message in schema_violations(validator, document, MAX_SCHEMA_FAILURES)
    ]


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{round(seconds * 1000, 1):g}ms"
    return f"{round(seconds, 3):g}s"

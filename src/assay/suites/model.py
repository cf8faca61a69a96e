"""The suite model: what assay understood of a YAML suite, the contract for the engine.

``load_suite`` produces these records after validating the file against
``suite.schema.json``. Strings may still hold ``{{ templates }}``: they are rendered at run
time (``assay.suites.template.render``), when captures and parametrize rows are known.
Environment variables (``${TOKEN}``) are already substituted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..core.auth import Auth
from ..core.records import NOT_SET

# The operators of a matcher, in the order the documentation lists them.
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
OPERATORS = (*COMPARISONS, "matches", "contains", "exists", "type", "length")
JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One operator and its expected value: ``Matcher("==", "Dune")``.

    ``op`` is one of ``OPERATORS``. For ``length`` the value is a tuple of comparison
    matchers (``length: 3`` becomes ``(Matcher("==", 3),)``); for ``type`` it is a tuple of
    JSON type names (any of them passes). Other values may hold templates.
    """

    op: str
    value: Any


Matchers = tuple[Matcher, ...]


@dataclass(frozen=True, slots=True)
class Expect:
    """What a response must look like; every part that is set must hold.

    ``status``: codes (``201``) and classes (``"2xx"``), any of them passes; empty means any.
    ``latency``: ``("<", 0.5)`` or ``("<=", 0.5)`` in seconds. ``headers``: (name as written,
    matchers) pairs, names compared case-insensitively. ``json``: (JSONPath, matchers)
    pairs; a path that matches several values passes only when every match satisfies every
    matcher. ``body_contains``: substrings of the body. ``schema``: a JSON Schema (draft
    2020-12) for the JSON body.
    """

    status: tuple[str | int, ...] = ()
    latency: tuple[str, float] | None = None
    headers: tuple[tuple[str, Matchers], ...] = ()
    json: tuple[tuple[str, Matchers], ...] = ()
    body_contains: tuple[str, ...] = ()
    schema: dict[str, Any] | bool | None = None


@dataclass(frozen=True, slots=True)
class Capture:
    """A value a step takes from its response into a variable.

    ``kind`` and ``expression``: ``json`` and a JSONPath (the first match), ``header`` and a
    header name, ``regex`` and a pattern (its first group, or the whole match), ``status``
    and ``"status"``. ``source`` is where the kind looks: ``"body"``, ``"headers"``,
    ``"header:Name"`` (a regex on one header) or ``"status"``.
    """

    name: str
    kind: str
    expression: str
    source: str = "body"


@dataclass(frozen=True, slots=True)
class Retry:
    """Repeat a step's request up to ``times`` more times, ``delay_s`` apart, until
    ``until`` holds (``None``: until the step's own ``expect`` holds)."""

    times: int
    delay_s: float = 1.0
    until: Expect | None = None


@dataclass(frozen=True, slots=True)
class FilePart:
    """A file field of a multipart body: a file on disk (``path``, absolute) or inline
    ``content``; ``filename`` and ``content_type`` as sent (``None``: the transport's
    defaults, the file's base name)."""

    path: str | None = None
    content: str | None = None
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """A request as written in a step, templates not yet rendered.

    ``path`` is joined to the base URL; ``url`` is absolute (exactly one is set).
    ``query`` values that are lists repeat the key. At most one body is set: ``json``
    (``NOT_SET`` when absent, since ``null`` is a valid JSON body), ``form`` (urlencoded),
    ``multipart`` (a string value is a plain field, a ``FilePart`` a file) or ``body`` (raw).
    Header and query values may be numbers or booleans after rendering: the HTTP layer
    turns them into text.
    """

    method: str = "GET"
    path: str | None = None
    url: str | None = None
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    json: Any = NOT_SET
    form: dict[str, Any] | None = None
    multipart: dict[str, str | FilePart] | None = None
    body: str | None = None
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One request of a scenario, what its response must look like and what it captures.

    ``line`` is the step's line in the suite file. ``think`` is a pause after the step for
    load runs: ``(min_s, max_s)``, equal bounds for a fixed pause.
    """

    name: str
    request: RequestTemplate
    expect: Expect | None = None
    capture: tuple[Capture, ...] = ()
    retry: Retry | None = None
    line: int = 0
    think: tuple[float, float] | None = None

    @property
    def label(self) -> str:
        """The step's operation as written (``"POST /books"``) for reports without a spec."""
        return f"{self.request.method} {self.request.path or self.request.url}"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named sequence of steps that share variables (captures flow to later steps).

    ``rows`` are the parametrize rows: one run per row, the row's keys as variables; empty
    means one run without a row. ``weight`` and ``think`` are for load runs (how often the
    scenario is picked relative to others; a pause between its steps as ``(min_s, max_s)``).
    """

    name: str
    steps: tuple[Step, ...]
    rows: tuple[dict[str, Any], ...] = ()
    weight: float = 1.0
    think: tuple[float, float] | None = None
    line: int = 0

    def runs(self) -> list[tuple[str, dict[str, Any]]]:
        """(name, row) for each run: ``[("read [title=Dune]", {"title": "Dune"}), ...]``."""
        if not self.rows:
            return [(self.name, {})]
        return [(row_name(self.name, row), dict(row)) for row in self.rows]


@dataclass(frozen=True, slots=True)
class Suite:
    """A loaded suite.

    ``spec`` is an absolute path (resolved against the suite's folder) or a URL.
    ``variables`` already include ``--var`` overrides. ``headers`` go on every request,
    ``auth`` are the authentication settings in the order written, ``timeout`` is the
    default request timeout in seconds. ``setup`` scenarios run before all others and
    ``teardown`` ones after all others, even when they failed.
    """

    source: str
    base_url: str | None
    spec: str | None
    variables: dict[str, Any]
    headers: dict[str, Any]
    auth: tuple[Auth, ...]
    timeout: float | None
    scenarios: tuple[Scenario, ...]
    setup: tuple[Scenario, ...] = ()
    teardown: tuple[Scenario, ...] = ()


def row_name(name: str, row: dict[str, Any]) -> str:
    """A scenario's name for one parametrize row: ``"create [title=Dune, year=1965]"``."""
    shown = ", ".join(f"{key}={_plain(value)}" for key, value in row.items())
    return f"{name} [{shown}]"


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

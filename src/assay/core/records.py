"""The records every layer passes around: what was sent, what came back, what was found.

They are plain slotted dataclasses with no behaviour beyond small accessors, so that the
engine, checks, reporters and (later) storage can share them without importing each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(slots=True)
class Timings:
    """Durations in seconds; ``None`` where the transport cannot observe a phase."""

    total: float
    connect: float | None = None
    tls: float | None = None
    ttfb: float | None = None


@dataclass(slots=True)
class Request:
    """An HTTP request exactly as assay sends it.

    ``url`` is absolute and includes the query string. ``headers`` keep order and
    duplicates. ``operation`` is the spec label (``"GET /books/{bookId}"``) or, for a suite
    step without a spec, the step's method and path as written.
    """

    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    operation: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        return first_header(self.headers, name)


@dataclass(slots=True)
class Response:
    """An HTTP response as received, with its raw body and timings."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    timings: Timings
    http_version: str = "HTTP/1.1"
    reason: str = ""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        return first_header(self.headers, name)

    def header_values(self, name: str) -> list[str]:
        """All values of header ``name`` (case-insensitive), in order."""
        lowered = name.lower()
        return [v for k, v in self.headers if k.lower() == lowered]

    @property
    def media_type(self) -> str | None:
        """The Content-Type without parameters, lower-cased (``"application/json"``)."""
        value = self.header("content-type")
        if value is None:
            return None
        return value.split(";", 1)[0].strip().lower() or None

    @property
    def text(self) -> str:
        """The body decoded as UTF-8, with replacement characters where it is not."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body)


@dataclass(slots=True)
class TransportFailure:
    """The target could not give an HTTP response.

    ``kind`` is one of ``connection_refused``, ``connection_reset``, ``timeout``, ``tls``,
    ``invalid_http``, ``dns``, ``connection``, ``app_error`` (an in-process app raised).
    """

    kind: str
    message: str


@dataclass(slots=True)
class Exchange:
    """One request and its outcome: a response or a transport failure."""

    request: Request
    response: Response | None = None
    failure: TransportFailure | None = None


@dataclass(slots=True)
class Failure:
    """What a check returns when the API fails it.

    ``cause`` tells two bugs of the same check and operation apart (the status code and an
    error signature for server errors, the failing schema path for schema violations).
    """

    check: str
    message: str
    cause: str = ""
    severity: str = "high"
    reason: str | None = None


@dataclass(slots=True)
class Step:
    """An earlier request of a sequence, as shown in a finding's ``steps``."""

    operation: str | None
    method: str
    url: str
    status: int | None


@dataclass(slots=True)
class Finding:
    """A deduplicated failure as it appears in every report."""

    check: str
    operation: str
    severity: str
    message: str
    status: int | None
    reproduce: str
    cause: str = ""
    steps: list[Step] = field(default_factory=list)
    count: int = 1
    phase: str | None = None
    reason: str | None = None
    request: Request | None = None
    response: Response | None = None
    known: bool = False
    seed: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """The deduplication key from DESIGN.md: (operation, check, cause)."""
        return (self.operation, self.check, self.cause)


def first_header(headers: list[tuple[str, str]], name: str) -> str | None:
    """The first value of ``name`` (case-insensitive) among ``headers``, or ``None``."""
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


class _Unset:
    """Marks a case without a body (``None`` is a valid JSON body: ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_SET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        # Pickled by name, so that the sentinel stays one object across processes.
        return "NOT_SET"


NOT_SET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class Negative:
    """The one named way a negative case is invalid.

    ``kind`` is a short name (``wrong_type``, ``out_of_range``, ``too_long``, ``too_short``,
    ``pattern``, ``enum``, ``format``, ``missing_required``, ``extra_property``,
    ``malformed_body``...); ``location`` is ``path``, ``query``, ``header``, ``cookie`` or
    ``body``; ``name`` is the parameter's name or, in a body, the JSON pointer of the broken
    value (``""`` for the body itself); ``message`` says it in words for the report.
    """

    kind: str
    location: str
    name: str
    message: str

    @property
    def cause(self) -> str:
        """What tells two negative-data findings apart: ``"body /published: out_of_range"``."""
        where = f"{self.location} {self.name}" if self.name else self.location
        return f"{where}: {self.kind}"


PARAMETER_FIELDS = {"path": "path_params", "query": "query", "header": "headers",
                    "cookie": "cookies"}
"""The ``Case`` field that holds the parameters of each location."""


@dataclass(slots=True)
class Case:
    """A logical test input for one operation, before serialization to a ``Request``.

    Parameter values are Python values (``{"limit": 10}``); ``http.build`` serializes them by
    the parameter's style and explode. ``body`` is ``NOT_SET`` when no body is sent.
    ``source`` says where the case came from (``"example 'dune'"``, ``"minimal"``).
    ``negative`` is set when the case is invalid on purpose (and says how); ``probe`` names
    a special request that is not about the input (``unsupported_method``,
    ``no_credentials``, ``invalid_credentials``).
    """

    operation: str
    method: str
    path: str
    path_params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    cookies: dict[str, Any] = field(default_factory=dict)
    body: Any = NOT_SET
    media_type: str | None = None
    phase: str = "examples"
    source: str = ""
    negative: Negative | None = None
    probe: str | None = None

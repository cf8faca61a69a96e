"""What a load run sends: fixed requests (a URL, spec operations) or suite scenarios.

A plan is built once in the parent process and pickled to every worker, so it holds plain
data only: the exact requests of each endpoint (headers and credentials applied), or the
suite with the scenarios to run. A spec travels as its text (``ApiSpec`` holds a schema
registry that does not pickle); workers load it again to check responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core.records import Request
from ..suites.model import Scenario, Suite


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One concrete request: ``target`` is the path and query as sent on the request line,
    ``url`` the absolute URL (for reproductions)."""

    method: str
    url: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @classmethod
    def from_request(cls, request: Request) -> RequestSpec:
        """The spec of an assay ``Request`` (absolute URL, headers in order)."""
        parts = urlsplit(request.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(request.method, request.url, target, tuple(request.headers), request.body)

    def to_request(self, operation: str | None = None) -> Request:
        """Back to a ``Request`` (for checks and reproductions)."""
        return Request(self.method, self.url, list(self.headers), self.body, operation)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A weighted group of requests reported under one name (``"GET /books/{bookId}"``).

    ``operation`` is the spec operation's label when the requests come from a spec (the
    worker then checks responses against it); requests are sent in turn.
    """

    name: str
    weight: float
    requests: tuple[RequestSpec, ...]
    operation: str | None = None


@dataclass(frozen=True, slots=True)
class SpecText:
    """An API description as text, with where it came from (for messages)."""

    text: str
    source: str
    base_uri: str | None = None


@dataclass(frozen=True, slots=True)
class FixedPlan:
    """Requests known in advance: every iteration sends one request of one endpoint."""

    base_url: str
    endpoints: tuple[Endpoint, ...]
    spec: SpecText | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The names results are reported under, in recorder order."""
        return tuple(endpoint.name for endpoint in self.endpoints)


@dataclass(frozen=True, slots=True)
class ScenarioPlan:
    """Suite scenarios: every iteration runs one scenario (picked by weight) from its first
    step to its last, captures flowing from step to step. ``headers`` are the suite's
    ``headers:``, rendered."""

    base_url: str
    suite: Suite
    scenarios: tuple[Scenario, ...]
    spec: SpecText | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """One key per step: the step's name, prefixed by its scenario's name when two
        scenarios have steps of the same name."""
        return tuple(step_keys(self.scenarios))


Plan = FixedPlan | ScenarioPlan


def step_keys(scenarios: tuple[Scenario, ...]) -> list[str]:
    """The report name of every step of ``scenarios``, in order."""
    names = [step.name for scenario in scenarios for step in scenario.steps]
    keys = []
    for scenario in scenarios:
        for step in scenario.steps:
            unique = names.count(step.name) == 1
            keys.append(step.name if unique else f"{scenario.name}: {step.name}")
    return keys

"""Typed events the engine yields, and the result of a whole run.

The CLI, reporters and (later) storage and dashboard consume these; none of them imports
the engine's internals. Events are frozen: a consumer cannot change what another sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .records import Case, Exchange, Failure, Finding


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run begins: what it targets and what it will do."""

    command: str
    target: str | None
    operations: int
    phases: tuple[str, ...]
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class PhaseStarted:
    """A phase (``examples``, a suite's ``scenarios``...) begins; ``total`` cases, 0 if unknown."""

    phase: str
    total: int = 0


@dataclass(frozen=True, slots=True)
class CaseFinished:
    """One request was sent (or failed to be) and checked.

    ``operation`` is the spec label or, in a suite, the step's ``METHOD /path`` as written;
    ``group`` is the scenario name in a suite run (JUnit groups test cases by it);
    ``previous`` are the earlier requests of the same sequence, oldest first.
    """

    phase: str
    operation: str
    exchange: Exchange
    failures: tuple[Failure, ...] = ()
    case: Case | None = None
    group: str | None = None
    name: str | None = None
    previous: tuple[Exchange, ...] = ()


@dataclass(frozen=True, slots=True)
class PhaseFinished:
    """A phase ended after ``cases`` cases with ``failures`` failed checks."""

    phase: str
    cases: int
    failures: int


@dataclass(frozen=True, slots=True)
class RunWarning:
    """Something the user should know that is not an API failure (a skipped example)."""

    message: str
    operation: str | None = None


@dataclass(frozen=True, slots=True)
class RunError:
    """Something went wrong that is not a check failure (a transport error, a bad step)."""

    message: str
    operation: str | None = None
    kind: str = "error"


@dataclass(slots=True)
class Summary:
    """The figures of the JSON report's ``summary``."""

    operations: int = 0
    cases: int = 0
    findings: int = 0
    duration_s: float = 0.0
    seed: int | None = None
    phases: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class TestCaseResult:
    """One JUnit test case: an operation (spec runs) or a scenario (suite runs)."""

    name: str
    classname: str
    cases: int = 0
    duration_s: float = 0.0
    failures: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    output: str = ""  # more text for the test case's system-out

    __test__ = False  # not a pytest test class, despite the name


@dataclass(slots=True)
class RunResult:
    """Everything a report needs after a run.

    ``findings`` are deduplicated by (operation, check, cause), in a deterministic order;
    ``secrets_env`` maps each secret to the environment variable that reproductions use
    (``{"ASSAY_TOKEN": "bearer token"}``: names and descriptions only, never values).
    """

    command: str
    target: str | None
    summary: Summary
    findings: list[Finding] = field(default_factory=list)
    tests: list[TestCaseResult] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    warnings: list[RunWarning] = field(default_factory=list)
    secrets_env: dict[str, str] = field(default_factory=dict)
    started_at: str = ""
    interrupted: bool = False
    # The measurements of a load run (``assay.load.results.LoadResult``); core does not
    # import the load mode, so the type is not named here.
    load: Any = None

    @property
    def failed(self) -> bool:
        """True when the API failed a check (not one the baseline already knows) or a request
        could not complete; for a load run, when a threshold was crossed: exit code 1."""
        if self.load is not None:
            # Under load, failed checks are measured (the ``checks`` rate, findings with
            # counts); thresholds decide, as k6 users expect.
            return not self.load.thresholds_ok or bool(self.errors)
        return any(not f.known for f in self.findings) or bool(self.errors)

    @property
    def new_findings(self) -> list[Finding]:
        """The findings the baseline does not know."""
        return [f for f in self.findings if not f.known]


Event = RunStarted | PhaseStarted | CaseFinished | PhaseFinished | RunWarning | RunError

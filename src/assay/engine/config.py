"""The frozen configuration of a ``test`` run, built by the CLI and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.auth import Auth
from ..http.transport import HttpOptions
from .filters import OperationFilter

KNOWN_PHASES = ("examples", "coverage", "fuzz", "stateful")


@dataclass(frozen=True, slots=True)
class TestConfig:
    """Everything a ``test`` run needs besides the API description.

    ``base_url`` is ``--url`` (it replaces the spec's server URL, path included); ``app`` is
    ``--app module:attr`` for an in-process application. ``max_examples`` is the number of
    fuzz requests per operation (shrinking included), ``max_time`` the wall-clock budget of
    the whole run in seconds, ``workers`` how many operations are fuzzed at once.
    """

    base_url: str | None = None
    app: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    auth: tuple[Auth, ...] = ()
    http: HttpOptions = field(default_factory=HttpOptions)
    checks: tuple[str, ...] = ("all",)
    exclude_checks: tuple[str, ...] = ()
    phases: tuple[str, ...] = KNOWN_PHASES
    filters: OperationFilter = field(default_factory=OperationFilter)
    max_failures: int | None = None
    dry_run: bool = False
    max_response_time: float | None = None
    variables: tuple[tuple[str, str], ...] = ()
    seed: int | None = None
    max_examples: int = 100
    max_time: float | None = None
    workers: int = 1
    replay: bool = True
    failures_db: str = ".assay/failures.db"
    baseline: str | None = None
    baseline_update: bool = False

    __test__ = False  # not a pytest test class, despite the name

"""The frozen configuration of a ``test`` run, built by the CLI and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.auth import Auth
from ..http.transport import HttpOptions
from .filters import OperationFilter

KNOWN_PHASES = ("examples",)


@dataclass(frozen=True, slots=True)
class TestConfig:
    """Everything a ``test`` run needs besides the API description.

    ``base_url`` is ``--url`` (it replaces the spec's server URL, path included); ``app`` is
    ``--app module:attr`` for an in-process application.
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

    __test__ = False  # not a pytest test class, despite the name

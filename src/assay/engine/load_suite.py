"""A suite's ``setup`` and ``teardown`` scenarios around a load run.

They run once, in the parent, exactly as ``assay test`` runs them (``SuiteRunner``): setup
before the workers start (its captures become variables of every scenario under load, as
k6's ``setup()`` data does), teardown after the last worker stopped. Their failures are
findings of the run like any other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..checks.registry import build_registry
from ..core.events import Event
from ..core.secrets import Secrets
from ..specs.model import ApiSpec
from ..suites.model import Suite
from .config import TestConfig
from .session import open_session
from .spec_run import FailureBudget
from .suite_run import SuiteRunner


async def run_fixtures(suite: Suite, which: str, base_url: str, spec: ApiSpec | None,
                       config: TestConfig, secrets: Secrets, headers: tuple[tuple[str, str], ...],
                       variables: dict[str, Any]) -> tuple[list[Event], dict[str, Any]]:
    """Run the suite's ``setup`` or ``teardown`` scenarios; (their events, the variables
    after their captures)."""
    part = replace(suite, scenarios=(), setup=suite.setup if which == "setup" else (),
                   teardown=suite.teardown if which == "teardown" else ())
    async with open_session(config, base_url, spec, secrets, auth=suite.auth, headers=headers,
                            probe=False) as session:
        runner = SuiteRunner(part, session, build_registry(), base_url, dict(variables),
                             FailureBudget(None), spec)
        events = [event async for event in runner.events()]
    return events, runner.variables

"""Catching undefined template variables when a suite loads, not when its step runs.

A variable is defined by ``variables:`` (and ``--var``), by the scenario's parametrize row,
by a capture of an earlier step of the same scenario, or by a capture of a setup scenario
(setup captures are visible to every later scenario). Anything else is a typo, and the
user learns it with the file and line before a single request is sent.
"""

from __future__ import annotations

from ..core.errors import SuiteError
from .model import Scenario, Suite
from .template import referenced_names


def check_variables(suite: Suite) -> None:
    """Raise ``SuiteError`` for the first step whose templates use an undefined variable."""
    known = set(suite.variables)
    for scenario in suite.setup:
        _check_scenario(suite, scenario, known, "setup")
    known |= {c.name for s in suite.setup for step in s.steps for c in step.capture}
    for kind, scenarios in (("scenarios", suite.scenarios), ("teardown", suite.teardown)):
        for scenario in scenarios:
            _check_scenario(suite, scenario, known, kind)


def _check_scenario(suite: Suite, scenario: Scenario, known: set[str], kind: str) -> None:
    rows = scenario.rows or ({},)
    for row in rows:
        defined = known | set(row)
        for step in scenario.steps:
            used = referenced_names((step.request, step.expect, step.retry))
            missing = sorted(used - defined)
            if missing:
                raise SuiteError(
                    f"undefined variable {missing[0]!r} in {kind} {scenario.name!r}, step "
                    f"{step.name!r} (expected one of variables:, --var, a parametrize "
                    f"column or an earlier capture: {', '.join(sorted(defined)) or 'none'})",
                    source=suite.source, location=f"line {step.line}")
            defined = defined | {capture.name for capture in step.capture}

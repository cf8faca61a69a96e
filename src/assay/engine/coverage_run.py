"""The ``coverage`` phase: deterministic cases for every operation, without randomness.

Per operation: each boundary value of each parameter and of the body (valid: must be
accepted), each named negative value, each required part left out, a malformed body (must be
rejected), the ``ignored_auth`` probes, and once per path a method it does not declare.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from ..core.events import Event, RunWarning
from ..core.records import Case
from ..generation.cases import base_case, coverage_cases
from ..generation.minimal import CannotGenerate
from ..specs.model import Operation
from .executor import Executor
from .probes import auth_probe_cases, unsupported_method_case


def with_known_ids(case: Case, known: dict[tuple[str, str], list]) -> Case:
    """``case`` with its path parameters set to real identifiers where some are known."""
    params = dict(case.path_params)
    for (location, name), values in known.items():
        if location == "path" and name in params and values:
            params[name] = values[0]
    return replace(case, path_params=params)


def coverage_plan(executor: Executor, operation: Operation, probe_paths: set[str]
                  ) -> tuple[list[Case], list[str]]:
    """The cases of ``operation`` and warnings; adds its path to ``probe_paths`` when it
    carries that path's unsupported-method probe."""
    registry = executor.spec.registry
    try:
        base = base_case(operation, registry, "coverage")
    except CannotGenerate as exc:
        return [], [f"{operation.label}: coverage skipped: {exc}"]
    base = with_known_ids(base, executor.pool.snapshot(operation))
    try:
        cases = coverage_cases(operation, registry, base)
    except CannotGenerate as exc:
        return [], [f"{operation.label}: coverage skipped: {exc}"]
    cases.extend(auth_probe_cases(executor.spec, operation, base))
    if operation.path not in probe_paths:
        probe = unsupported_method_case(executor.spec, base)
        if probe is not None:
            probe_paths.add(operation.path)
            cases.append(probe)
    return cases, []


async def coverage_events(executor: Executor, operation: Operation,
                          probe_paths: set[str]) -> AsyncIterator[Event]:
    """The events of one operation's coverage cases."""
    cases, warnings = coverage_plan(executor, operation, probe_paths)
    for warning in warnings:
        yield RunWarning(warning, operation.label)
    for case in cases:
        target = None if case.probe == "unsupported_method" else operation
        yield await executor.run(target, case)

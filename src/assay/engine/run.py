"""The ``test`` command's engine: load what the user gave, run its phases, yield events.

``test_events`` is an async generator of typed events (HOUSE_STYLE: the engine yields, the
CLI and reporters consume); ``run_test`` drives it, feeds every sink and returns the
``RunResult``, also when the run is interrupted (Ctrl-C ends it with the results so far).
"""

from __future__ import annotations

import asyncio
import secrets as random_source
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..checks.registry import build_registry
from ..core.errors import SpecError, SuiteError, UsageError
from ..core.events import Event, RunResult, RunStarted, RunWarning
from ..core.secrets import Secrets
from ..specs import load_spec
from ..specs.model import ApiSpec
from ..specs.summary import format_warning
from ..suites import Suite, TemplateError, load_suite, looks_like_suite, render
from .baseline import load_baseline, mark_known, write_baseline
from .collector import ResultCollector
from .config import TestConfig
from .replay import FailureStore
from .session import open_session, resolve_base_url
from .spec_run import FailureBudget, spec_events
from .suite_run import SuiteRunner

Sink = Callable[[Event], None]


@dataclass(slots=True)
class TestTarget:
    """What a ``test`` run is about: an API description, a suite (with its optional spec)."""

    source: str
    spec: ApiSpec | None = None
    suite: Suite | None = None

    __test__ = False


def load_target(source: str, *, variables: dict[str, str] | None = None) -> TestTarget:
    """Load ``source`` as a YAML suite when it has ``scenarios``, else as an API description."""
    if looks_like_suite(source):
        suite = load_suite(source, overrides=variables or {})
        spec = None
        if suite.spec:
            try:
                spec = load_spec(suite.spec)
            except SpecError as exc:
                raise SuiteError(f"key 'spec': {exc}", source=source) from exc
        return TestTarget(source, spec, suite)
    try:
        return TestTarget(source, load_spec(source))
    except SpecError as exc:
        if exc.message.startswith("not an OpenAPI"):
            exc.message += "; a YAML suite needs a top-level 'scenarios' list"
        raise


def run_seed(config: TestConfig) -> int:
    """``--seed``, else a fresh random one (reported, so that the run can be repeated)."""
    return config.seed if config.seed is not None else random_source.randbelow(2**31)


async def test_events(target: TestTarget, config: TestConfig,
                      secrets: Secrets) -> AsyncIterator[Event]:
    """Yield every event of the run, from ``RunStarted`` to the last ``PhaseFinished``."""
    suite = target.suite
    base_url = resolve_base_url(config, target.spec, suite.base_url if suite else None)
    checks = build_registry(config.checks, config.exclude_checks)
    budget = FailureBudget(config.max_failures)
    if suite is not None:
        operations = len(target.spec.operations) if target.spec else 0
        variables = dict(suite.variables)  # --var overrides were applied by load_suite
        suite_headers = _suite_headers(suite, variables)
        async with open_session(config, base_url, target.spec, secrets, auth=suite.auth,
                                headers=suite_headers) as session:
            yield RunStarted("test", base_url, operations, ("scenarios",), config.seed)
            for warning in spec_warnings(target.spec):
                yield warning
            runner = SuiteRunner(suite, session, checks, base_url, variables, budget,
                                 target.spec, config.max_response_time, config.dry_run)
            async for event in runner.events():
                yield event
        return
    spec = target.spec
    operations = config.filters.apply(spec.operations)
    if not spec.operations:
        raise SpecError(f"no operation to test ({len(spec.warnings)} skipped with warnings: "
                        "see assay inspect -v)", source=target.source)
    if not operations:
        raise UsageError(f"none of the document's {len(spec.operations)} operations matches "
                         "the --include-*/--exclude-* filters", location="filters")
    seed = run_seed(config)
    if config.replay and "fuzz" in config.phases and not config.dry_run:
        FailureStore(config.failures_db, spec.title).check()  # a bad path fails up front
    async with open_session(config, base_url, spec, secrets) as session:
        yield RunStarted("test", base_url, len(operations), config.phases, seed)
        for warning in spec_warnings(spec):
            yield warning
        events = spec_events(spec, operations, config, session, checks, base_url, budget, seed,
                             secrets)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()


def _suite_headers(suite: Suite, variables: dict) -> tuple[tuple[str, str], ...]:
    try:
        rendered = render(suite.headers, variables)
    except TemplateError as exc:
        raise SuiteError(f"headers: {exc} (suite headers may use variables, not captures)",
                         source=suite.source) from exc
    return tuple((name, str(value)) for name, value in rendered.items())


def spec_warnings(spec: ApiSpec | None) -> list[RunWarning]:
    """The document's load warnings (skipped operations...) as run warnings."""
    if spec is None:
        return []
    return [RunWarning(format_warning(w), w.operation) for w in spec.warnings]


async def run_test(target: TestTarget, config: TestConfig, secrets: Secrets,
                   sinks: Sequence[Sink] = ()) -> RunResult:
    """Run the whole test and return its result; interruption keeps the results so far.

    With ``--baseline``, findings it lists are marked known (they do not fail the run);
    ``--baseline-update`` then rewrites it with this run's findings.
    """
    known = load_baseline(config.baseline) if config.baseline and not config.baseline_update \
        else set()
    collector = ResultCollector(secrets, started_at=datetime.now(UTC).isoformat())
    start = time.perf_counter()
    interrupted = False
    events = test_events(target, config, secrets)
    try:
        async for event in events:
            collector.handle(event)
            for sink in sinks:
                sink(event)
    except asyncio.CancelledError:
        interrupted = True
    finally:
        await events.aclose()
    result = collector.result(time.perf_counter() - start, interrupted=interrupted)
    mark_known(result.findings, known)
    if config.baseline and config.baseline_update and not interrupted:
        write_baseline(config.baseline, result.findings, secrets.redact)
    return result

"""The parent side of ``assay load``: build the plan, start the workers, merge what they
measure, show progress, stop on Ctrl-C or a crossed threshold, and build the result.

Merging is exact: each worker's last cumulative snapshot holds its whole histograms, and
histograms add bucket by bucket. The timeline merges the per-second statistics that the
workers send as each second closes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ..core.errors import InternalError, SuiteError
from ..core.events import Event, RunError, RunResult
from ..core.secrets import Secrets
from ..http.transport import HttpOptions
from ..load.config import LoadConfig
from ..load.plan import FixedPlan, Plan, RequestSpec, SpecText
from ..load.recorder import SecondStats, WorkerReport, merge_reports
from ..load.results import Progress, TimelinePoint
from ..load.summary import load_result, progress, timeline_point
from ..load.targets import scenario_plan, spec_plan, url_plan
from ..load.thresholds import AbortPolicy, evaluate, parse_threshold
from ..specs.model import ApiSpec
from ..specs.sources import Fetcher, source_uri
from ..suites import TemplateError, render
from .collector import ResultCollector
from .config import TestConfig
from .load_launch import DaskLauncher, ProcessLauncher, WorkerFailed
from .load_suite import run_fixtures
from .load_worker import WorkerJob, WorkerMessage
from .run import TestTarget
from .session import accepted_schemes, needs_credentials, open_session, resolve_base_url

ProgressSink = Callable[[Progress], None]
# After a stop (Ctrl-C, abort), how long the workers get to send their final results.
_STOP_WAIT_S = 15.0


@dataclass(frozen=True, slots=True)
class LoadTarget:
    """What to load: a URL (with ``-X``/``-d``), an API description or a suite."""

    source: str
    url: str | None = None
    method: str = "GET"
    data: str | None = None
    test_target: TestTarget | None = None
    scenarios: tuple[str, ...] = ()
    methods: tuple[str, ...] = ("GET", "HEAD")
    weights: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class PreparedLoad:
    """A plan ready to run, the events of the suite's setup, and what teardown needs."""

    plan: Plan
    events: list[Event] = field(default_factory=list)
    teardown: Callable[[], list[Event]] | None = None


async def build_plan(target: LoadTarget, config: LoadConfig, secrets: Secrets) -> PreparedLoad:
    """The plan for ``target``, with default headers and credentials applied to fixed
    requests; probes the target first (unreachable: ``TargetUnreachable``, exit code 2) and
    runs a suite's setup scenarios."""
    test_config = _test_config(target, config)
    if target.test_target is None:
        plan = url_plan(target.source, method=target.method, data=target.data)
        async with open_session(test_config, target.source, None, secrets) as session:
            return PreparedLoad(await _authorized(plan, session, None))
    spec, suite = target.test_target.spec, target.test_target.suite
    base_url = resolve_base_url(test_config, spec, suite.base_url if suite else None)
    spec_text = _spec_text(spec) if spec is not None else None
    if suite is None:
        plan = spec_plan(spec, spec_text, base_url, methods=target.methods,
                         weights=target.weights)
        async with open_session(test_config, base_url, spec, secrets) as session:
            return PreparedLoad(await _authorized(plan, session, spec))
    headers = _suite_headers(suite)
    async with open_session(test_config, base_url, spec, secrets, auth=suite.auth,
                            headers=headers):
        pass  # probes the target and registers the secrets; workers log in themselves
    events, variables = await run_fixtures(suite, "setup", base_url, spec, test_config,
                                           secrets, headers, dict(suite.variables))
    plan = replace(scenario_plan(replace(suite, variables=variables), base_url,
                                 target.scenarios, spec_text), headers=headers)

    def teardown() -> list[Event]:
        if not suite.teardown:
            return []
        return asyncio.run(run_fixtures(suite, "teardown", base_url, spec, test_config,
                                        secrets, headers, variables))[0]
    return PreparedLoad(plan, events, teardown)


def _test_config(target: LoadTarget, config: LoadConfig) -> TestConfig:
    return TestConfig(base_url=target.url, headers=config.headers, auth=config.auth,
                      http=HttpOptions(timeout=config.timeout_s, verify=config.verify_tls))


async def _authorized(plan: FixedPlan, session: Any, spec: ApiSpec | None) -> FixedPlan:
    endpoints = []
    for endpoint in plan.endpoints:
        operation = None
        if spec is not None and endpoint.operation:
            method, _, path = endpoint.operation.partition(" ")
            operation = spec.operation(method, path)
        authenticate = operation is None or needs_credentials(spec, operation)
        schemes = accepted_schemes(operation) if operation is not None else None
        requests = []
        for request_spec in endpoint.requests:
            request = await session.prepared(request_spec.to_request(endpoint.name),
                                             authenticate=authenticate, schemes=schemes)
            requests.append(RequestSpec.from_request(request))
        endpoints.append(replace(endpoint, requests=tuple(requests)))
    return replace(plan, endpoints=tuple(endpoints))


def _spec_text(spec: ApiSpec) -> SpecText:
    """The document's text for the workers, read again from where it was loaded."""
    uri = source_uri(spec.source)
    with Fetcher() as fetcher:
        data, _ = fetcher.read(uri)
    return SpecText(data.decode("utf-8", errors="replace"), spec.source, uri)


def _suite_headers(suite: Any) -> tuple[tuple[str, str], ...]:
    try:
        rendered = render(suite.headers, dict(suite.variables))
    except TemplateError as exc:
        raise SuiteError(f"headers: {exc} (suite headers may use variables, not captures)",
                         source=suite.source) from exc
    return tuple((name, str(value)) for name, value in rendered.items())


@dataclass(slots=True)
class _Merge:
    """What the parent knows so far, merged across workers."""

    keys: Sequence[str]
    workers: int
    snapshots: dict[int, WorkerReport] = field(default_factory=dict)
    seconds: dict[int, SecondStats] = field(default_factory=dict)
    reported: dict[int, int] = field(default_factory=dict)
    counts: dict[int, dict[tuple[str, str, str], int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # Seconds every worker is past, reduced to their figures: the histograms of a long run
    # are not kept second by second (the parent's memory stays flat).
    points: dict[int, TimelinePoint] = field(default_factory=dict)

    def add(self, message: WorkerMessage) -> None:
        self.snapshots[message.index] = message.snapshot
        self.counts[message.index] = message.counts
        for second, stats in message.seconds.items():
            if second in self.points:
                self.points[second] = _late(self.points[second], stats)
            elif second in self.seconds:
                self.seconds[second].merge(stats)
            else:
                self.seconds[second] = stats
            self.reported[message.index] = max(self.reported.get(message.index, -1), second)
        for error in message.errors:
            if error not in self.errors:
                self.errors.append(error)
        complete = self.complete_second()
        if complete is not None:
            for second in [s for s in self.seconds if s < complete]:
                self.points[second] = timeline_point(second, self.seconds.pop(second))

    def report(self) -> WorkerReport | None:
        reports = list(self.snapshots.values())
        return merge_reports(reports) if reports else None

    def complete_second(self) -> int | None:
        """The last second every worker has reported, ``None`` before that."""
        if len(self.reported) < self.workers:
            return None
        return min(self.reported.values())

    def timeline(self) -> tuple[TimelinePoint, ...]:
        points = {**self.points, **{second: timeline_point(second, stats)
                                    for second, stats in self.seconds.items()}}
        return tuple(points[second] for second in sorted(points))

    def finding_counts(self) -> dict[tuple[str, str, str], int]:
        total: dict[tuple[str, str, str], int] = {}
        for counts in self.counts.values():
            for key, count in counts.items():
                total[key] = total.get(key, 0) + count
        return total


def _late(point: TimelinePoint, stats: SecondStats) -> TimelinePoint:
    """A settled second with the counts of stats that arrived after it settled."""
    return replace(point, requests=point.requests + stats.requests,
                   errors=point.errors + stats.errors, late=point.late + stats.late)


def run_load(prepared: PreparedLoad, config: LoadConfig, secrets: Secrets, *,
             on_progress: ProgressSink | None = None) -> RunResult:
    """Run the load described by ``prepared`` and ``config``; Ctrl-C stops it gracefully
    and the result holds what was measured until then."""
    plan = prepared.plan
    thresholds = tuple(parse_threshold(text) for text in config.thresholds)
    workers = config.workers
    launcher: Any
    if config.cluster:
        launcher = DaskLauncher(config.cluster)
        if workers <= 0:
            workers = max(launcher.worker_count(), 1)
    else:
        launcher = ProcessLauncher()
    jobs = [WorkerJob(plan, replace(config, workers=workers), index, workers, secrets)
            for index in range(workers)]
    collector = ResultCollector(secrets, command="load", target=plan.base_url,
                                started_at=datetime.now(UTC).isoformat())
    for event in prepared.events:
        collector.handle(event)
    merge = _Merge(plan.keys, workers)
    aborted = None
    started = time.monotonic()
    try:
        launcher.launch(jobs)
        launcher.start()
        started = time.monotonic()
        aborted = _collect(launcher, merge, collector, secrets, config, thresholds,
                           on_progress, started)
    except WorkerFailed as exc:
        if exc.error is not None:
            raise exc.error from None
        raise InternalError(f"a load worker failed:\n{exc}") from None
    finally:
        launcher.close()
    if prepared.teardown is not None:
        for event in prepared.teardown():
            collector.handle(event)
    return _result(plan, config, workers, merge, collector, thresholds, aborted,
                   time.monotonic() - started)


def _collect(launcher: Any, merge: _Merge, collector: ResultCollector, secrets: Secrets,
             config: LoadConfig, thresholds: tuple, on_progress: ProgressSink | None,
             started: float) -> str | None:
    policy = AbortPolicy(config.abort_grace_s) if config.abort_grace_s is not None else None
    aborted: str | None = None
    stop_deadline: float | None = None
    shown = -1
    while launcher.running:
        try:
            for message in launcher.receive(0.2):
                _absorb(message, merge, collector, secrets)
            elapsed = time.monotonic() - started
            complete = merge.complete_second()
            if complete is not None and complete > shown:
                shown = complete
                if on_progress is not None:
                    on_progress(_progress(merge, config, elapsed, complete))
                if policy is not None and aborted is None and thresholds:
                    crossed = _crossed(merge, config, thresholds, policy, elapsed)
                    if crossed is not None:
                        aborted = f"threshold crossed: {crossed} (--abort-on-fail)"
                        launcher.stop()
                        stop_deadline = time.monotonic() + _STOP_WAIT_S
        except KeyboardInterrupt:
            if stop_deadline is not None:
                break  # a second Ctrl-C: stop waiting for the workers
            aborted = "interrupted (Ctrl-C)"
            launcher.stop()
            stop_deadline = time.monotonic() + _STOP_WAIT_S
        except WorkerFailed:
            if stop_deadline is None:
                raise
            # A worker that dies while the run is being stopped (a Ctrl-C that reached it
            # during its start-up) loses only its last second; the others still count.
        if stop_deadline is not None and time.monotonic() > stop_deadline:
            break
    return aborted


def _absorb(message: WorkerMessage, merge: _Merge, collector: ResultCollector,
            secrets: Secrets) -> None:
    # Secrets first: the examples below may carry them.
    for value, env, description in message.secrets:
        secrets.add(value, env, description)
    merge.add(message)
    for event in message.examples:
        collector.handle(event)


def _progress(merge: _Merge, config: LoadConfig, elapsed: float, second: int) -> Progress:
    report = merge.report()
    return progress(report, merge.seconds.get(second), elapsed_s=elapsed,
                    duration_s=config.planned_duration_s, model=config.model)


def _crossed(merge: _Merge, config: LoadConfig, thresholds: tuple, policy: AbortPolicy,
             elapsed: float) -> str | None:
    """The first threshold that stops the run now, judged on everything measured so far."""
    report = merge.report()
    if report is None:
        return None
    result = load_result(report, merge.keys, model=config.model, timeline=())
    results = evaluate(thresholds, replace(result, duration_s=elapsed))
    if not policy.should_abort(results, elapsed):
        return None
    return next(t.expr for t in results if not t.ok)


def _result(plan: Plan, config: LoadConfig, workers: int, merge: _Merge,
            collector: ResultCollector, thresholds: tuple, aborted: str | None,
            elapsed: float) -> RunResult:
    report = merge.report()
    if report is None:
        raise InternalError("no load worker reported a result")
    measured = load_result(report, merge.keys, model=config.model, timeline=merge.timeline(),
                           workers=workers, settings=config.describe(), aborted=aborted)
    measured = replace(measured, thresholds=evaluate(thresholds, measured))
    for error in merge.errors:
        collector.handle(RunError(error, None, "suite"))
    result = collector.result(measured.duration_s or elapsed,
                              interrupted=aborted is not None and "Ctrl-C" in aborted)
    counts = merge.finding_counts()
    for finding in result.findings:
        finding.count = counts.get(finding.key, finding.count)
    result.summary.operations = len(plan.keys)
    result.summary.cases = measured.requests
    result.summary.seed = config.seed
    result.load = measured
    return result


def run_load_sync(target: LoadTarget, config: LoadConfig, secrets: Secrets, *,
                  on_progress: ProgressSink | None = None) -> RunResult:
    """Build the plan (probing the target), then run the load."""
    prepared = asyncio.run(build_plan(target, config, secrets))
    return run_load(prepared, config, secrets, on_progress=on_progress)

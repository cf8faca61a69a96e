"""The worker function of a load run: one process, one event loop, one share of the load.

The same ``run_worker`` runs in local processes (``--workers N``) and on Dask workers
(``--cluster``); only the ``Channel`` differs (a pipe, or Dask queues and events). The
worker waits for the common start time, runs its executor, and once a second sends the
parent what it measured: the closed seconds of the timeline (for the live display), a
cumulative snapshot of its histograms (exact to merge; the last one is the final result),
new examples of failed checks, and secrets it learned (a token from a login), so that the
parent redacts them before it prints anything the worker sent.
"""

from __future__ import annotations

import asyncio
import gc
import math
import ssl
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any, Protocol

from ..checks.registry import build_registry
from ..core.errors import AssayError
from ..core.events import CaseFinished
from ..core.secrets import Secrets
from ..http.auth import Authenticator
from ..http.fastclient import ConnectionPool, FastTransport, Origin, new_event_loop
from ..load.config import LoadConfig
from ..load.plan import FixedPlan, Plan, ScenarioPlan
from ..load.recorder import Recorder, SecondStats, WorkerReport
from ..specs.loader import load_spec_text
from ..specs.model import ApiSpec
from .load_drivers import Findings, FixedDriver, ScenarioDriver
from .load_executors import ClosedExecutor, Control, OpenExecutor
from .session import Session

# How often the worker flushes its recorder and looks for a stop request.
_TICK_S = 0.1


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """One worker's share: ``index`` of ``count`` workers, all running ``plan``."""

    plan: Plan
    config: LoadConfig
    index: int
    count: int
    secrets: Secrets = field(default_factory=Secrets)


@dataclass(slots=True)
class WorkerMessage:
    """What a worker tells the parent, once a second and at the end (``final``)."""

    index: int
    final: bool
    seconds: dict[int, SecondStats]
    snapshot: WorkerReport
    examples: list[CaseFinished]
    counts: dict[tuple[str, str, str], int]
    secrets: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Channel(Protocol):
    """How a worker talks to the parent."""

    def start_time(self) -> float:
        """Say "ready" and block until the parent gives the start (``time.time()`` clock)."""
        ...

    def stop_requested(self) -> bool:
        """True once the parent asked the run to stop (never blocks)."""
        ...

    def send(self, message: WorkerMessage) -> None:
        """Deliver ``message`` to the parent."""
        ...


def run_worker(job: WorkerJob, channel: Channel) -> None:
    """Run one worker to the end; the last message sent has ``final=True``."""
    loop = new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(_Worker(job, channel).run())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


class _Worker:
    def __init__(self, job: WorkerJob, channel: Channel):
        self.job = job
        self.channel = channel
        self.findings = Findings()
        self.sent_secrets = set(job.secrets.values)
        self.errors: list[str] = []

    async def run(self) -> None:
        job = self.job
        spec = _spec(job.plan)
        async with AsyncExitStack() as stack:
            new_lane, make_driver = await self._prepare(stack, spec)
            # Everything loaded so far (modules, the plan, the spec) lives for the whole run:
            # out of the collector's sight, a full collection no longer walks it and stalls
            # the loop for milliseconds in the middle of the load.
            gc.collect()
            gc.freeze()
            self.recorder = Recorder(job.plan.keys, start_ns=0)
            self.driver = make_driver(self.recorder)
            self.control = Control(0, None)
            executor = self._executor(new_lane)
            if isinstance(executor, OpenExecutor):
                await executor.warm_up(_warm_lanes(job.config, job.count))
            start = await asyncio.get_running_loop().run_in_executor(None, self.channel.start_time)
            start_ns = perf_counter_ns() + int((start - time.time()) * 1e9)
            duration = job.config.planned_duration_s
            self.control.start_ns = start_ns
            self.control.end_ns = start_ns + int(duration * 1e9) if duration is not None else None
            self.recorder.start_ns = start_ns
            delay = (start_ns - perf_counter_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            ticker = asyncio.ensure_future(self._tick())
            try:
                await executor.run()
            finally:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
        self._send(final=True)

    async def _prepare(self, stack: AsyncExitStack, spec: ApiSpec | None) -> tuple[Any, Any]:
        job, config = self.job, self.job.config
        plan = job.plan
        seed = (config.seed or 0) * 1000 + job.index
        if isinstance(plan, FixedPlan):
            pool = ConnectionPool(
                Origin.from_url(plan.base_url), max_connections=config.max_connections,
                ssl_context=_ssl_context(config), connect_timeout=config.connect_timeout_s,
                read_timeout=config.timeout_s, pipeline=config.pipeline)
            stack.push_async_callback(pool.aclose)
            transport = checks = None
            if spec is not None and config.checks:
                transport = FastTransport(
                    max_connections=config.max_connections, ssl_context=_ssl_context(config),
                    connect_timeout=config.connect_timeout_s, read_timeout=config.timeout_s)
                stack.push_async_callback(transport.aclose)
                checks = build_registry(("all",), ())

            def fixed(recorder: Recorder) -> FixedDriver:
                return FixedDriver(plan, recorder, self.findings, spec, seed,
                                   transport=transport, checks=checks)
            return pool.connection, fixed
        session = await self._session(stack, plan, spec)
        checks = build_registry(("all",), ())

        async def no_lane() -> None:
            return None

        def scenario(recorder: Recorder) -> ScenarioDriver:
            return ScenarioDriver(plan, recorder, self.findings, session, checks, spec, seed,
                                  config.timeout_s)
        return no_lane, scenario

    async def _session(self, stack: AsyncExitStack, plan: ScenarioPlan,
                       spec: ApiSpec | None) -> Session:
        config = self.job.config
        transport = FastTransport(
            max_connections=config.max_connections, ssl_context=_ssl_context(config),
            connect_timeout=config.connect_timeout_s, read_timeout=config.timeout_s)
        stack.push_async_callback(transport.aclose)
        auths = (*config.auth, *plan.suite.auth)
        headers = (*config.headers, *plan.headers)
        authenticator = None
        if auths:
            schemes = spec.security_schemes if spec is not None else None
            authenticator = Authenticator(auths, schemes, transport, plan.base_url,
                                          self.job.secrets)
            await authenticator.prepare()
        return Session(transport, headers, authenticator)

    def _executor(self, new_lane: Any) -> ClosedExecutor | OpenExecutor:
        job = self.job
        share = (job.index, job.count)
        if job.config.model == "open":
            return OpenExecutor(self.driver, new_lane, job.config, share, self.control)
        return ClosedExecutor(self.driver, new_lane, job.config, share, self.control)

    async def _tick(self) -> None:
        last_sent = perf_counter_ns()
        while True:
            await asyncio.sleep(_TICK_S)
            now = perf_counter_ns()
            self._flush(now)
            if self.channel.stop_requested():
                self.control.stopping = True
            if now - last_sent >= 1_000_000_000:
                last_sent = now
                self._send(final=False)

    def _flush(self, now: int) -> None:
        self.driver.flush_checks()
        self.recorder.gauge(self.control.active, self.control.backlog)
        self.recorder.tick(now)

    def _send(self, *, final: bool) -> None:
        now = perf_counter_ns()
        self._flush(now)
        current = (now - self.recorder.start_ns) // 1_000_000_000
        seconds = self.recorder.pop_seconds(None if final else int(current))
        secrets = self.job.secrets
        learned = [(value, env, secrets.descriptions.get(env, env))
                   for value, env in secrets.values.items() if value not in self.sent_secrets]
        self.sent_secrets.update(value for value, _, _ in learned)
        errors = list(getattr(self.driver, "template_errors", ()))
        self.channel.send(WorkerMessage(
            self.job.index, final, seconds, self.recorder.snapshot(),
            self.findings.take_fresh(), dict(self.findings.counts), learned, errors))


def _warm_lanes(config: LoadConfig, workers: int) -> int:
    """Lanes an open-model worker connects before the start: what its share of the peak
    rate needs at 2 ms per request, at least 4, at most ``max_connections``."""
    peak = max([config.rate or 0.0, *(stage.target for stage in config.stages)])
    return min(config.max_connections, max(4, math.ceil(peak / workers * 0.002)))


def _spec(plan: Plan) -> ApiSpec | None:
    if plan.spec is None:
        return None
    try:
        return load_spec_text(plan.spec.text, source=plan.spec.source,
                              base_uri=plan.spec.base_uri)
    except AssayError:
        return None  # the parent loaded it already; a worker then only skips spec checks


def _ssl_context(config: LoadConfig) -> Any:
    if config.verify_tls:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context

"""One run of one monitor: a request or scenario, a TCP connect, a TLS certificate, a heartbeat.

``Prober`` is built once per monitors file and location; its HTTP transport (one pooled
``httpx`` client) is shared by every run, so that a thousand monitors reuse connections
instead of opening one per run. HTTP and scenario monitors run exactly as ``assay test``
runs a suite's scenario (``suite_run.step_request``, ``send_with_retry``, ``check_step``):
the suite's variables, headers and auth, captures flowing to later steps, every ``expect``.

A target that fails is a failed ``RunResult`` whose ``reason`` names the first failure,
with every secret redacted; an exception that escapes is a bug in assay. The run's
``timeout`` bounds one attempt (all of a scenario's steps together); ``retries`` re-run
the whole attempt after a failure, ``retry_pause_s`` apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from ..core.errors import ConfigError
from ..core.secrets import Secrets
from ..http.auth import Authenticator
from ..http.failures import failure_from_os_error
from ..http.transport import HttpOptions, HttpxTransport
from ..monitor.model import Comparison, Monitor, MonitorConfig
from ..monitor.records import RunResult
from ..suites import Step, Suite, TemplateError, render, render_request
from .session import Session, register_header_secrets, register_url_secrets
from .suite_run import check_step, send_with_retry, step_request

DEFAULT_CERT_EXPECTATION = Comparison(">", 0.0)
CLOSE_WAIT_S = 1.0


@dataclass(slots=True)
class Outcome:
    """What one attempt found (a ``RunResult`` without its who and when)."""

    ok: bool
    status: int | None = None
    latency_ms: float | None = None
    reason: str | None = None


class Prober:
    """Runs monitors of one configuration at one location.

    >>> async def once(config, monitor, secrets):
    ...     prober = Prober(config, location="eu-1", secrets=secrets)
    ...     try:
    ...         return await prober.run(monitor, planned_at=time.time())
    ...     finally:
    ...         await prober.aclose()
    """

    def __init__(self, config: MonitorConfig, *, location: str, secrets: Secrets,
                 verify: bool = True, retry_pause_s: float = 1.0):
        self.config = config
        self.location = location
        self.secrets = secrets
        self.verify = verify
        self.retry_pause_s = retry_pause_s
        suite = config.suite
        self.base_url = suite.base_url or ""
        self.variables = dict(suite.variables)
        headers = suite_headers(suite)
        register_header_secrets(headers, secrets)
        register_url_secrets(self.base_url, secrets)
        self.transport = HttpxTransport(HttpOptions(verify=verify))
        authenticator = (Authenticator(suite.auth, None, self.transport, self.base_url, secrets)
                         if suite.auth else None)
        self.session = Session(self.transport, headers, authenticator)
        self._tls: ssl.SSLContext | None = None

    async def run(self, monitor: Monitor, planned_at: float, *,
                  last_heartbeat: float | None = None,
                  now: Callable[[], float] = time.time) -> RunResult:
        """Run ``monitor`` once (with its retries) and say how it went."""
        at = now()
        if monitor.kind == "heartbeat":
            outcome, attempts = heartbeat_outcome(monitor, last_heartbeat, at), 1
        else:
            outcome, attempts = await self._attempts(monitor, now)
        reason = self.secrets.redact(outcome.reason) if outcome.reason else None
        return RunResult(monitor.name, self.location, at, planned_at, outcome.ok,
                         outcome.status, outcome.latency_ms, reason, attempts)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.transport.aclose()

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def _attempts(self, monitor: Monitor, now: Callable[[], float]) -> tuple[Outcome, int]:
        attempts = 1
        outcome = await self._attempt(monitor, now)
        while not outcome.ok and attempts <= monitor.retries:
            await asyncio.sleep(self.retry_pause_s)
            attempts += 1
            outcome = await self._attempt(monitor, now)
        return outcome, attempts

    async def _attempt(self, monitor: Monitor, now: Callable[[], float]) -> Outcome:
        if monitor.kind in ("http", "scenario"):
            return await self._scenario(monitor)
        if monitor.kind == "tcp":
            return await tcp_outcome(monitor)
        if monitor.kind == "tls":
            return await tls_outcome(monitor, self._tls_context(), now)
        raise ConfigError(f"expected a monitor kind, found {monitor.kind!r}",
                          location=f"monitors: {monitor.name}")

    async def _scenario(self, monitor: Monitor) -> Outcome:
        run = _ScenarioRun(self, monitor)
        started = time.perf_counter()
        deadline = asyncio.timeout(monitor.timeout_s)
        try:
            async with deadline:
                reason = await run.steps()
        except TimeoutError:
            if not deadline.expired():
                raise
            reason = f"timeout after {seconds(monitor.timeout_s)} s{run.during()}"
        latency = (time.perf_counter() - started) * 1000
        return Outcome(reason is None, run.status, latency, reason)

    def _tls_context(self) -> ssl.SSLContext:
        # Built once: loading the system's CA store costs milliseconds per context.
        if self._tls is None:
            context = ssl.create_default_context()
            if not self.verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return self._tls


class _ScenarioRun:
    """One attempt of an HTTP or scenario monitor: its steps in order, stopping at the
    first failure (later steps depend on earlier ones)."""

    __slots__ = ("prober", "monitor", "status", "current")

    def __init__(self, prober: Prober, monitor: Monitor):
        self.prober = prober
        self.monitor = monitor
        self.status: int | None = None
        self.current = ""

    async def steps(self) -> str | None:
        """Run every step (of every parametrize row); the first failure's reason, or None."""
        scenario = self.monitor.scenario
        if scenario is None:
            raise ConfigError("expected a request or a scenario",
                              location=f"monitors: {self.monitor.name}")
        several = len(scenario.steps) > 1 or self.monitor.kind == "scenario"
        for run_name, row in scenario.runs():
            variables = {**self.prober.variables, **row}
            for index, step in enumerate(scenario.steps, 1):
                self.current = _where(index, step, run_name if row else "", several)
                problem = await self._step(step, variables)
                if problem is not None:
                    return f"{self.current}: {problem}" if self.current else problem
        return None

    def during(self) -> str:
        """`` during step 2 GET /books`` for a timeout's reason (empty for one request)."""
        return f" during {self.current}" if self.current else ""

    async def _step(self, step: Step, variables: dict[str, Any]) -> str | None:
        prober, suite = self.prober, self.prober.config.suite
        try:
            template = render_request(step.request, variables)
            request, _ = step_request(template, prober.base_url, suite.source)
        except TemplateError as exc:
            return exc.message
        limit = min(template.timeout or suite.timeout or self.monitor.timeout_s,
                    self.monitor.timeout_s)
        try:
            exchange = await send_with_retry(prober.session, step, request, variables, limit)
        except ConfigError as exc:
            # A token endpoint or login that fails is the target failing, not the config.
            return f"authentication failed: {exc.message}"
        if exchange.response is None:
            failure = exchange.failure
            if failure is None or failure.kind != "timeout":
                return failure.message if failure else "no response"
            return f"timeout after {seconds(limit)} s"
        self.status = exchange.response.status
        try:
            failures = check_step(step, exchange.response, variables)
        except TemplateError as exc:
            return exc.message
        return failures[0].message if failures else None


def _where(index: int, step: Step, row: str, several: bool) -> str:
    if not several:
        return ""
    where = f"step {index} {step.label}"
    return f"{row}: {where}" if row else where


async def tcp_outcome(monitor: Monitor) -> Outcome:
    """Connect to ``host:port`` within the timeout; the latency is the connect time."""
    host, port = _address(monitor)
    started = time.perf_counter()
    deadline = asyncio.timeout(monitor.timeout_s)
    try:
        async with deadline:
            _, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return _socket_failure(exc, deadline, monitor, started)
    latency = _elapsed_ms(started)
    await _close(writer)
    return Outcome(True, None, latency)


async def tls_outcome(monitor: Monitor, context: ssl.SSLContext,
                      now: Callable[[], float]) -> Outcome:
    """A TLS handshake with ``host:port`` and the days its certificate has left.

    OK when the handshake succeeded (verified, unless the context does not verify) and
    ``cert_days_left`` holds (by default: more than 0 days).
    """
    host, port = _address(monitor)
    started = time.perf_counter()
    deadline = asyncio.timeout(monitor.timeout_s)
    try:
        async with deadline:
            _, writer = await asyncio.open_connection(host, port, ssl=context,
                                                      server_hostname=host)
    except OSError as exc:
        return _socket_failure(exc, deadline, monitor, started)
    latency = _elapsed_ms(started)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    await _close(writer)
    if not der:
        return Outcome(False, None, latency, f"{host}:{port} sent no certificate")
    expires = x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
    expected = monitor.cert_days_left or DEFAULT_CERT_EXPECTATION
    return cert_outcome(expires, now(), expected, latency)


def cert_outcome(expires: float, now: float, expected: Comparison,
                 latency_ms: float | None = None) -> Outcome:
    """Whether a certificate expiring at ``expires`` meets ``expected`` days left at ``now``.

    >>> cert_outcome(86400 * 10, 0.0, Comparison(">", 14)).reason
    'certificate expires in 10.0 days (1970-01-11T00:00:00Z), expected days left > 14'
    """
    days = (expires - now) / 86400
    if expected.holds(days):
        return Outcome(True, None, latency_ms)
    when = iso(expires)
    if days < 0:
        told = f"certificate expired {-days:.1f} days ago ({when})"
    else:
        told = f"certificate expires in {days:.1f} days ({when})"
    return Outcome(False, None, latency_ms,
                   f"{told}, expected days left {expected.op} {expected.value:g}")


def heartbeat_outcome(monitor: Monitor, last_heartbeat: float | None, now: float) -> Outcome:
    """OK when a heartbeat arrived within ``every`` + ``grace`` before ``now`` (a
    ``cron`` heartbeat has no ``every``: only its ``grace`` counts).

    >>> m = Monitor("job", "heartbeat", every_s=60, grace_s=30)
    >>> heartbeat_outcome(m, 1000.0, 1090.0).ok, heartbeat_outcome(m, 1000.0, 1091.0).reason
    (True, 'no heartbeat since 1970-01-01T00:16:40Z')
    """
    if last_heartbeat is None:
        return Outcome(False, reason="never received a heartbeat")
    if now - last_heartbeat <= (monitor.every_s or 0.0) + monitor.grace_s:
        return Outcome(True)
    return Outcome(False, reason=f"no heartbeat since {iso(last_heartbeat)}")


def suite_headers(suite: Suite) -> tuple[tuple[str, str], ...]:
    """The suite's ``headers:`` rendered with its variables (captures are not known yet)."""
    try:
        rendered = render(suite.headers, dict(suite.variables))
    except TemplateError as exc:
        raise ConfigError(f"headers: {exc.message} (headers may use variables, not captures)",
                          source=suite.source) from exc
    return tuple((name, str(value)) for name, value in rendered.items())


def seconds(value: float) -> str:
    """``10`` for 10.0, ``0.5`` for 0.5: durations in reasons."""
    return f"{value:g}"


def iso(epoch: float) -> str:
    """``1970-01-01T00:00:00Z``: an epoch time as ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _address(monitor: Monitor) -> tuple[str, int]:
    if not monitor.host or not monitor.port:
        raise ConfigError("expected host and port", location=f"monitors: {monitor.name}")
    return monitor.host, monitor.port


def _socket_failure(exc: OSError, deadline: asyncio.Timeout, monitor: Monitor,
                    started: float) -> Outcome:
    latency = _elapsed_ms(started)
    if deadline.expired():
        return Outcome(False, None, latency, f"timeout after {seconds(monitor.timeout_s)} s")
    origin = f"{monitor.host}:{monitor.port}"
    return Outcome(False, None, latency, failure_from_os_error(exc, origin).message)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    # The peer may reset the connection, cut the TLS shutdown short or never answer it:
    # nothing to report (TimeoutError is an OSError), and no reason to wait long.
    with contextlib.suppress(OSError):
        async with asyncio.timeout(CLOSE_WAIT_S):
            await writer.wait_closed()

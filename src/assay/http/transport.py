"""Transports: how a ``Request`` becomes an ``Exchange``.

A transport never raises because of the target: a refused connection, a reset, a timeout, a
TLS failure, bytes that are not HTTP or a name that does not resolve come back as
``Exchange(request, failure=TransportFailure(kind, message))`` (kinds in
``assay.http.failures``). Exceptions that escape are assay's own bugs.

``HttpxTransport`` talks to a server over the network; ``AppTransport`` (in
``assay.http.app``, re-exported here) runs an ASGI or WSGI application in-process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx

from assay import __version__
from assay.core.errors import UsageError
from assay.core.records import Exchange, Request, Timings, TransportFailure

from .app import AppTransport
from .convert import build_httpx_request, refusing_cookie_jar, response_from_httpx
from .failures import failure_from_exception
from .ratelimit import RatePacer, pace

__all__ = ["AppTransport", "HttpOptions", "HttpxTransport", "Transport"]

USER_AGENT = f"assay/{__version__}"


@runtime_checkable
class Transport(Protocol):
    """Sends requests and reports what happened; never raises for target errors."""

    async def send(self, request: Request, *, timeout: float | None = None) -> Exchange:
        """Send ``request``; ``timeout`` (seconds) overrides the transport's default."""
        ...

    async def aclose(self) -> None:
        """Release connections (and stop an in-process app)."""
        ...


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """How ``HttpxTransport`` talks to the target.

    ``timeout`` seconds for each of connect, write and read (``--timeout``); ``verify=False``
    accepts any TLS certificate (``--insecure``); ``retries`` re-tries failed *connection
    attempts* only (``--retries``), never a request that may have reached the server;
    ``rate_limit`` caps requests per second over the whole transport; ``trust_env`` reads
    proxies and CA bundles from the environment; ``http2`` is used when the ``h2`` package is
    installed. ``retry_backoff`` is the first pause between attempts (doubled each time,
    at most 2 s).
    """

    timeout: float = 10.0
    verify: bool = True
    retries: int = 0
    rate_limit: float | None = None
    trust_env: bool = True
    follow_redirects: bool = False
    http2: bool = False
    retry_backoff: float = 0.1

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise UsageError(f"expected a positive number of seconds, found {self.timeout!r}",
                             location="--timeout")
        if not isinstance(self.retries, int) or self.retries < 0:
            raise UsageError(f"expected an integer >= 0, found {self.retries!r}",
                             location="--retries")
        if self.rate_limit is not None and not self.rate_limit > 0:
            raise UsageError(f"expected a positive rate, found {self.rate_limit!r}",
                             location="--rate-limit")


def retry_delay(attempt: int, backoff: float) -> float:
    """Pause before retry number ``attempt`` (1-based): ``backoff * 2**(attempt-1)``, <= 2 s."""
    return min(backoff * 2 ** (attempt - 1), 2.0)


class HttpxTransport:
    """A ``Transport`` on ``httpx.AsyncClient``: HTTP/1.1 (HTTP/2 if asked and available),
    TLS, proxies from the environment, connection retries and rate limiting.

    Timings: ``total`` from the start of the (last) attempt to the last body byte;
    ``connect`` and ``tls`` when this request opened a new connection; ``ttfb`` from the
    moment the request headers start going out to the moment the response headers are in.
    Waiting for the rate limiter is not counted. Cookies set by the server are not kept.

    >>> async def main():
    ...     async with HttpxTransport(HttpOptions(timeout=5)) as transport:
    ...         return await transport.send(Request("GET", "http://127.0.0.1:9/"))
    """

    def __init__(
        self,
        options: HttpOptions | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ):
        self.options = options or HttpOptions()
        self.http2 = self.options.http2 and importlib.util.find_spec("h2") is not None
        self._clock = clock
        self._sleep = sleep
        rate = self.options.rate_limit
        self._pacer = RatePacer(rate) if rate else None
        self._client = httpx.AsyncClient(
            verify=self.options.verify,
            trust_env=self.options.trust_env,
            http2=self.http2,
            follow_redirects=self.options.follow_redirects,
            timeout=self.options.timeout,
            cookies=refusing_cookie_jar(),
            headers={"User-Agent": USER_AGENT},
        )

    async def send(self, request: Request, *, timeout: float | None = None) -> Exchange:
        """Send ``request`` and read the whole response; failures become ``Exchange.failure``."""
        timeout = self.options.timeout if timeout is None else timeout
        attempt = 0
        while True:
            await pace(self._pacer, clock=self._clock, sleep=self._sleep)
            exchange, retryable = await self._attempt(request, timeout)
            if exchange.failure is None or not retryable or attempt >= self.options.retries:
                if exchange.failure is not None and attempt:
                    exchange.failure.message += f" (after {attempt + 1} attempts)"
                return exchange
            attempt += 1
            await self._sleep(retry_delay(attempt, self.options.retry_backoff))

    async def _attempt(self, request: Request, timeout: float) -> tuple[Exchange, bool]:
        trace = TraceTimer()
        try:
            prepared = build_httpx_request(
                self._client, request, timeout=timeout, extensions={"trace": trace}
            )
            response = await self._client.send(prepared)
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            failure = failure_from_exception(
                exc, url=request.url, timeout=timeout, phase=trace.phase
            )
            return Exchange(request, failure=failure), _may_retry(exc, failure)
        return Exchange(request, response=response_from_httpx(response, trace.timings())), False

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._client.aclose()

    async def __aenter__(self) -> HttpxTransport:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


def _may_retry(exc: BaseException, failure: TransportFailure) -> bool:
    """Only failures while connecting are retried: the request was not sent yet.

    A certificate the client does not trust will not be trusted a moment later, so that
    TLS failure is final; a handshake cut short (a server restarting) is worth another try.
    """
    if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return False
    return not (failure.kind == "tls" and _has_cert_error(exc))


def _has_cert_error(exc: BaseException) -> bool:
    seen = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class TraceTimer:
    """Collects httpcore trace events (``extensions={"trace": timer}``) into ``Timings``.

    It also knows the phase a failure happened in (``"tls"`` during the handshake), which
    tells a TLS failure from a reset of an established connection.
    """

    __slots__ = ("start", "marks", "phase")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.marks: dict[str, float] = {}
        self.phase = ""

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        self.marks[name] = time.perf_counter()
        if name == "connection.connect_tcp.started":
            self.phase = "connect"
        elif name == "connection.start_tls.started":
            self.phase = "tls"
        elif name.endswith("send_request_headers.started"):
            self.phase = "request"

    def timings(self) -> Timings:
        """Durations measured so far; ``total`` ends now."""
        total = time.perf_counter() - self.start
        sent = self._mark("send_request_headers.started")
        received = self._mark("receive_response_headers.complete")
        ttfb = received - sent if sent is not None and received is not None else None
        return Timings(
            total=total,
            connect=self._span("connection.connect_tcp"),
            tls=self._span("connection.start_tls"),
            ttfb=ttfb,
        )

    def _span(self, event: str) -> float | None:
        started = self.marks.get(f"{event}.started")
        complete = self.marks.get(f"{event}.complete")
        if started is None or complete is None:
            return None
        return complete - started

    def _mark(self, suffix: str) -> float | None:
        for prefix in ("http11.", "http2."):
            if prefix + suffix in self.marks:
                return self.marks[prefix + suffix]
        return None

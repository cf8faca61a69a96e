"""``AppTransport``: send requests to an ASGI or WSGI application running in-process.

``--app myapi.main:app`` tests an application without starting a server. The ASGI lifespan
(startup, shutdown) runs once per transport, not per request; WSGI apps are wrapped with
``a2wsgi.WSGIMiddleware``.

An exception raised by the app becomes what a real server sends: a ``500`` whose
``text/plain`` body is ``"<ExceptionType>: message"`` (so the engine reports a
``not_a_server_error`` finding with the exception in it). When the app had already sent a
whole response before raising (Starlette's error middleware sends its 500 page, then
re-raises for the server's log), that response is kept. Only an app that crashes halfway
through a response gives ``TransportFailure("app_error", "<ExceptionType>: message")``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
from a2wsgi import WSGIMiddleware
from asgi_lifespan import LifespanManager

from assay.core.errors import TargetUnreachable, UsageError
from assay.core.records import Exchange, Request, Timings, TransportFailure

from .appload import detect_app_kind, load_app
from .convert import build_httpx_request, refusing_cookie_jar, response_from_httpx
from .ratelimit import RatePacer, pace

ASGIApp = Callable[..., Any]


class AppTransport:
    """A ``Transport`` that runs an application in-process through ``httpx.ASGITransport``.

    ``kind`` is ``"asgi"`` or ``"wsgi"`` (detected when ``None``). Use it as an async
    context manager, or call ``start()`` first: the lifespan starts on the first request
    otherwise. Timings hold ``total`` only. ``timeout`` works for ASGI apps; a WSGI app's
    thread cannot be stopped, only no longer waited for.

    >>> async def main(app):
    ...     async with AppTransport(app) as transport:
    ...         return await transport.send(Request("GET", "http://app/health"))
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        kind: str | None = None,
        lifespan: bool = True,
        timeout: float | None = 10.0,
        startup_timeout: float = 10.0,
        name: str | None = None,
        rate_limit: float | None = None,
    ):
        if kind not in (None, "asgi", "wsgi"):
            raise UsageError(f"expected the app kind asgi or wsgi, found {kind!r}", location="--app")
        self.kind = kind or detect_app_kind(app, name=name)
        self.name = name or getattr(app, "__name__", type(app).__name__)
        self._wsgi: WSGIMiddleware | None = None
        if self.kind == "wsgi":
            self._wsgi = WSGIMiddleware(app)
            app = self._wsgi
        self._app = app
        self._run_lifespan = lifespan and self.kind == "asgi"
        self._timeout = timeout
        self._startup_timeout = startup_timeout
        self._stack = AsyncExitStack()
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._pacer = RatePacer(rate_limit) if rate_limit else None

    @classmethod
    def from_path(
        cls, path: str, *, kind: str | None = None, app_dir: str | None = ".", **options: Any
    ) -> AppTransport:
        """Import the app named ``"package.module:attribute"`` (or ``module:factory()``);
        ``app_dir`` is put on ``sys.path`` first (``None``: leave ``sys.path`` alone).

        Raises ``UsageError`` naming ``--app`` when the module or attribute is missing or
        the object is not callable.
        """
        return cls(load_app(path, app_dir=app_dir), kind=kind, name=path, **options)

    async def start(self) -> None:
        """Run the app's lifespan startup (once); apps without lifespan support are fine."""
        async with self._lock:
            if self._client is not None:
                return
            app = await self._start_lifespan() if self._run_lifespan else self._app
            transport = httpx.ASGITransport(app=_ExceptionsAs500(app))
            self._client = httpx.AsyncClient(
                transport=transport, cookies=refusing_cookie_jar(), follow_redirects=False
            )

    async def send(self, request: Request, *, timeout: float | None = None) -> Exchange:
        """Run ``request`` through the app; a crash mid-response is an ``app_error`` failure."""
        if self._client is None:
            await self.start()
        assert self._client is not None
        timeout = self._timeout if timeout is None else timeout
        await pace(self._pacer)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                prepared = build_httpx_request(
                    self._client, request, timeout=timeout, extensions={}
                )
                response = await self._client.send(prepared)
        except TimeoutError:
            failure = TransportFailure("timeout", f"no response within {timeout} s")
            return Exchange(request, failure=failure)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            failure = TransportFailure("connection", f"cannot send to {request.url}: {exc}")
            return Exchange(request, failure=failure)
        except Exception as exc:  # the app's own exception, re-raised by ASGITransport
            return Exchange(request, failure=TransportFailure("app_error", exception_text(exc)))
        timings = Timings(total=time.perf_counter() - started)
        return Exchange(request, response=response_from_httpx(response, timings))

    async def aclose(self) -> None:
        """Run the lifespan shutdown and release the WSGI thread pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await self._stack.aclose()
        if self._wsgi is not None:
            self._wsgi.executor.shutdown(wait=False)

    async def __aenter__(self) -> AppTransport:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def _start_lifespan(self) -> ASGIApp:
        probe = _LifespanProbe(self._app)
        manager = LifespanManager(
            probe, startup_timeout=self._startup_timeout, shutdown_timeout=self._startup_timeout
        )
        try:
            await self._stack.enter_async_context(manager)
        except Exception as exc:
            if not probe.received:
                # The app raised before asking for the startup message: the usual way of
                # saying "I do not speak lifespan" (assert scope["type"] == "http").
                return self._app
            reason = probe.failure or exception_text(exc)
            raise TargetUnreachable(
                f"the application's startup failed: {reason}", location="--app"
            ) from exc
        return manager.app


def exception_text(exc: BaseException) -> str:
    """``"ValueError: boom"``: how an app's exception appears in reports."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _LifespanProbe:
    """Wraps an ASGI app for the lifespan scope to see whether it speaks lifespan at all,
    and turns ``lifespan.startup.failed`` into an error (asgi-lifespan would wait until its
    timeout)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.received = False
        self.failure: str | None = None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        async def tracked_receive() -> dict:
            self.received = True
            return await receive()

        async def checked_send(message: dict) -> None:
            if message.get("type") == "lifespan.startup.failed":
                self.failure = message.get("message") or "lifespan.startup.failed"
                raise _StartupFailed(self.failure)
            await send(message)

        await self.app(scope, tracked_receive, checked_send)
        if not self.received:
            # Returning at once from the lifespan scope also means "no lifespan here";
            # without this, asgi-lifespan would wait for a startup that never completes.
            raise _LifespanUnsupported


class _StartupFailed(Exception):
    """The app reported ``lifespan.startup.failed``."""


class _LifespanUnsupported(Exception):
    """The app returned from the lifespan scope without reading a message."""


class _ExceptionsAs500:
    """ASGI middleware: an exception before the response started becomes a 500 carrying the
    exception text, as a server would answer; after a complete response it is dropped (the
    client already has its answer); halfway through a response it propagates."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        state = {"started": False, "complete": False}

        async def tracking_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["complete"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if state["complete"]:
                return
            if state["started"]:
                raise
            body = (exception_text(exc) + "\n").encode("utf-8")
            headers = [(b"content-type", b"text/plain; charset=utf-8"),
                       (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})

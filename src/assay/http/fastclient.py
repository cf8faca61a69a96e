"""The fast HTTP/1.1 client of ``assay load``: keep-alive connections on uvloop + httptools.

Why our own client: a load generator in Python is only as fast as the client's cost per
request, and general-purpose clients spend most of theirs on objects the load mode does not
need (request and response models, header dicts, a timeout task per request, URL parsing).
Measured with ``bench/fastclient_raw.py`` on the 2-core test machine (nginx on one core, the
client on the other, 64 connections, closed loop, 2-byte body, every status checked and
every latency recorded): httpx 1.5k requests/s (at its best, 8 connections), aiohttp 13k/s,
this client 108-110k/s, wrk 112-129k/s (0.84-0.98x wrk); 162k/s with ``pipeline=4``. The
kernel's loopback ``read``/``write`` take most of a request's ~9 us; the Python side ~2.5 us.

Per request: one ``write`` of bytes encoded once (``encode_request``), one future, the
parser's callbacks, one ``RawResponse`` and one clock read for its completion time.
Timeouts cost nothing per request: each pool runs one sweeper (a ``loop.call_later``
chain) that times out connections with requests outstanding and no byte received for
``read_timeout``, by watching a counter. An ``asyncio.wait_for`` per request measured 60k/s
instead of 108k/s. With ``pipeline=N``, requests written to one connection in the same turn
of the loop go out in one ``writelines`` call (113k/s at N=4 without that).

- ``ConnectionPool.connection()``: a connection for one virtual user (closed model);
  ``ConnectionPool.request(raw)``: any free connection (open model).
- ``FastTransport``: the ``Transport`` protocol on these pools, for scenario runs where
  ``Request``/``Response`` records per request are acceptable.
"""

from __future__ import annotations

import asyncio
import errno
import math
import socket
import ssl
from collections import deque
from time import perf_counter_ns
from typing import Any
from urllib.parse import urlsplit

from assay.core.records import Exchange, Request, Response, Timings, TransportFailure

from .fastproto import (
    CONNECTION,
    CONNECTION_REFUSED,
    CONNECTION_RESET,
    DNS,
    TIMEOUT,
    TLS,
    ConnectionSettings,
    FastHttpError,
    Origin,
    RawResponse,
    Wire,
    encode_request,
)

__all__ = ["Connection", "ConnectionPool", "FastHttpError", "FastTransport", "Origin",
           "RawResponse", "encode_request", "new_event_loop", "split_url"]

# The sweeper looks at each connection this many times per read timeout (so a timeout
# fires between 1 and 1 + 1/8 read timeouts after the last byte), at most once a second.
_SWEEPS_PER_TIMEOUT = 8
_MAX_SWEEP_PERIOD = 1.0


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when uvloop is importable, else asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def default_ssl_context() -> ssl.SSLContext:
    """A verifying client context (system CAs) that offers HTTP/1.1 by ALPN."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


def split_url(url: str) -> tuple[Origin, str]:
    """The origin and the request target (path and query) of an absolute URL."""
    origin = Origin.from_url(url)
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return origin, target


class Connection:
    """One keep-alive HTTP/1.1 connection to an origin, opened on the first request.

    ``request(raw)`` sends the bytes of one request (see ``encode_request``) and returns the
    ``RawResponse``, or raises ``FastHttpError``. Up to ``pipeline`` requests may be
    outstanding at once (written back to back, answered in order); more wait their turn.
    After a ``Connection: close`` response, or when the server closed the idle connection,
    the next request opens a new one. A request that may have reached the server is never
    sent again.
    """

    __slots__ = ("settings", "lanes", "_loop", "_wire", "slot_waiters", "_connecting",
                 "_closed")

    def __init__(self, settings: ConnectionSettings, loop: asyncio.AbstractEventLoop):
        self.settings = settings
        self.lanes = 0  # how many virtual users were given this connection (by the pool)
        self._loop = loop
        self._wire: Wire | None = None
        self.slot_waiters: deque[asyncio.Future] = deque()
        self._connecting: asyncio.Future | None = None
        self._closed = False

    async def request(self, raw: bytes) -> RawResponse:
        """Send ``raw`` and return its response; ``FastHttpError`` when there is none."""
        wire = self._wire
        # 72 is "H": only a HEAD request (or an unusual method) takes the slow path for it.
        if wire is None or len(wire.waiters) >= wire.limit or raw[0] == 72:
            return await self._request_slow(raw)
        waiter = self._loop.create_future()
        wire.waiters.append(waiter)
        wire.write(raw)
        return await waiter

    async def connect(self) -> None:
        """Open the socket now rather than on the first request (a load run connects its
        first connections before it starts); ``FastHttpError`` when it cannot."""
        if self._wire is None:
            await self._open()

    def send_nowait(self, raw: bytes, waiter: Any) -> bool:
        """Write ``raw`` now, without a coroutine, when the connection is open and has room;
        ``waiter`` then gets the response through ``set_result(RawResponse)`` (or
        ``set_exception``) from inside the protocol's callback, and ``done()`` must return
        False until then. False (nothing written) means "use ``request``": not connected
        yet, no room in the pipeline, or a HEAD request.

        This is the load mode's hot path: a closed loop that sends its next request from
        the callback of the previous response skips a future and a task step per request.
        """
        wire = self._wire
        if wire is None or len(wire.waiters) >= wire.limit or raw[0] == 72:
            return False
        wire.waiters.append(waiter)
        wire.write(raw)
        return True

    @property
    def is_open(self) -> bool:
        """True while a socket is connected."""
        return self._wire is not None

    @property
    def in_flight(self) -> int:
        """Requests written and not answered yet."""
        return len(self._wire.waiters) if self._wire is not None else 0

    def check_stall(self, sweeps: int) -> None:
        """Called by the pool's sweeper: time the connection out after ``sweeps`` sweeps
        without a byte received while requests are outstanding."""
        if self._wire is not None:
            self._wire.check_stall(sweeps)

    async def aclose(self) -> None:
        """Close the socket; outstanding requests fail, later ones raise."""
        self._closed = True
        wire = self._wire
        if wire is not None:
            wire.close(FastHttpError(CONNECTION, "the connection pool was closed"), abort=False)
            await wire.wait_lost()
        self.wake_slots(all_of_them=True)

    async def _request_slow(self, raw: bytes) -> RawResponse:
        head = raw.startswith(b"HEAD ")
        while True:
            wire = self._wire
            if wire is None:
                await self._open()
                continue
            if head:
                if not wire.waiters and wire.head_buf is None:
                    break
                wire.limit = 0  # drain the pipeline: nothing else goes out before this HEAD
            elif len(wire.waiters) < wire.limit:
                break
            try:
                await self._wait_slot()
            except asyncio.CancelledError:
                if head and wire.head_buf is None:
                    wire.limit = wire.pipeline  # this HEAD no longer drains the pipeline
                    self.wake_slots(all_of_them=True)
                raise
        waiter = self._loop.create_future()
        wire.waiters.append(waiter)
        if head:
            wire.begin_head()
        wire.write(raw)
        return await waiter

    async def _wait_slot(self) -> None:
        slot = self._loop.create_future()
        self.slot_waiters.append(slot)
        try:
            await slot
        except asyncio.CancelledError:
            if slot.done() and not slot.cancelled():
                self.wake_slots()  # pass the wake-up on: it was meant for someone
            raise

    def wake_slots(self, *, all_of_them: bool = False) -> None:
        """Room on the connection: wake one waiting request (or all of them)."""
        waiters = self.slot_waiters
        while waiters:
            slot = waiters.popleft()
            if not slot.done():
                slot.set_result(None)
                if not all_of_them:
                    return

    async def _open(self) -> None:
        if self._closed:
            raise FastHttpError(CONNECTION, "the connection pool was closed")
        if self._connecting is not None:
            # Another request is connecting: share its outcome. Shielded, so that a
            # cancelled waiter does not cancel the connect for everyone.
            error = await asyncio.shield(self._connecting)
            if error is not None:
                raise FastHttpError(error.kind, error.message)
            return
        connecting = self._connecting = self._loop.create_future()
        error = None
        try:
            wire = await open_wire(self, self.settings, self._loop)
            if self._closed:
                wire.close(FastHttpError(CONNECTION, "the connection pool was closed"))
                raise FastHttpError(CONNECTION, "the connection pool was closed")
            if wire.closed:
                # Closed as soon as opened: reconnecting in a loop would not help.
                raise FastHttpError(CONNECTION_RESET, f"{self.settings.origin.label} closed "
                                                      "the connection as soon as it was opened")
            self._wire = wire
        except FastHttpError as exc:
            error = exc
            raise
        finally:
            self._connecting = None
            connecting.set_result(error)

    def wire_closed(self, wire: Wire) -> None:
        """``wire`` closed: the next request opens a new one; waiting requests retry."""
        if self._wire is wire:
            self._wire = None
        self.wake_slots(all_of_them=True)


async def open_wire(owner: Connection, settings: ConnectionSettings,
                    loop: asyncio.AbstractEventLoop) -> Wire:
    """Connect a new socket (TLS when the settings have a context) for ``owner``."""
    origin = settings.origin
    context = settings.ssl_context
    wire = Wire(owner, settings)
    try:
        await asyncio.wait_for(
            loop.create_connection(lambda: wire, origin.host, origin.port, ssl=context,
                                   server_hostname=origin.host if context else None),
            settings.connect_timeout)
    except (TimeoutError, OSError, ValueError) as exc:
        raise connect_error(exc, settings) from exc
    return wire


def connect_error(exc: BaseException, settings: ConnectionSettings) -> FastHttpError:
    """The ``FastHttpError`` for what connecting (and the TLS handshake) raised."""
    label = settings.origin.label
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return FastHttpError(TIMEOUT, f"no connection to {label} within "
                                      f"{settings.connect_timeout} s")
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        return FastHttpError(TLS, f"TLS certificate of {label} not trusted: {reason}")
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or str(exc)
        return FastHttpError(TLS, f"TLS handshake with {label} failed: {reason}")
    if isinstance(exc, socket.gaierror):
        return FastHttpError(DNS, f"cannot resolve host {settings.origin.host}")
    text = str(exc)
    # With several addresses (::1 and 127.0.0.1), asyncio raises one OSError naming each.
    if isinstance(exc, ConnectionRefusedError) or "refused" in text.lower() or (
            f"[Errno {errno.ECONNREFUSED}]" in text):
        return FastHttpError(CONNECTION_REFUSED, f"connection refused by {label}")
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        if settings.ssl_context is not None:
            return FastHttpError(TLS, f"TLS handshake with {label} failed: connection reset")
        return FastHttpError(CONNECTION_RESET, f"connection reset by {label}")
    return FastHttpError(CONNECTION, f"cannot connect to {label}: {text or type(exc).__name__}")


class ConnectionPool:
    """Connections to one origin: at most ``max_connections``, opened when first used.

    ``ssl_context`` is used for https (a verifying default when ``None``);
    ``connect_timeout`` bounds connecting and the TLS handshake; ``read_timeout`` is how long
    a connection may wait for the next byte of a response; ``keep_headers`` makes responses
    carry their headers; ``pipeline`` is how many requests may be outstanding on one
    connection. ``ValueError`` names a bad argument.
    """

    def __init__(self, origin: Origin, *, max_connections: int = 1024,
                 ssl_context: ssl.SSLContext | None = None, connect_timeout: float = 10.0,
                 read_timeout: float = 30.0, keep_headers: bool = False, pipeline: int = 1):
        _check_arguments(max_connections, connect_timeout, read_timeout, pipeline)
        if origin.scheme == "https":
            ssl_context = ssl_context or default_ssl_context()
        else:
            ssl_context = None
        self.origin = origin
        self.max_connections = max_connections
        self.settings = ConnectionSettings(origin, ssl_context, connect_timeout, read_timeout,
                                           keep_headers, pipeline)
        period = min(read_timeout / _SWEEPS_PER_TIMEOUT, _MAX_SWEEP_PERIOD)
        self._sweep_period = period
        self._sweeps = max(1, math.ceil(read_timeout / period - 1e-9))
        self._connections: list[Connection] = []
        self._free: deque[Connection] = deque()  # one entry per free pipeline slot
        self._waiting: deque[asyncio.Future] = deque()
        self._sharing = 0  # next connection to share once every lane slot is taken
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False

    async def connection(self) -> Connection:
        """A connection for one virtual user, opened by its first request.

        With ``pipeline=N`` every N users share one connection; beyond ``max_connections``
        connections, users share the existing ones (round robin) and take turns on them.
        """
        last = self._connections[-1] if self._connections else None
        if last is not None and last.lanes < self.settings.pipeline:
            connection = last
        elif len(self._connections) < self.max_connections:
            connection = self._new_connection()
        else:
            connection = self._connections[self._sharing % len(self._connections)]
            self._sharing += 1
        connection.lanes += 1
        return connection

    async def request(self, raw: bytes) -> RawResponse:
        """Send ``raw`` on a free connection (opening one if fewer than ``max_connections``
        exist, else waiting first come, first served) and return its response."""
        free = self._free
        if free:
            connection = free.pop()
        elif len(self._connections) < self.max_connections:
            connection = self._new_connection()
            free.extend([connection] * (self.settings.pipeline - 1))
        else:
            connection = await self._wait_free()
        try:
            return await connection.request(raw)
        finally:
            self._release(connection)

    @property
    def in_flight(self) -> int:
        """Requests written and not answered yet, over all connections."""
        return sum(c.in_flight for c in self._connections)

    @property
    def waiting(self) -> int:
        """Requests waiting for a free connection."""
        return sum(1 for w in self._waiting if not w.done())

    @property
    def open_connections(self) -> int:
        """Connections with a connected socket."""
        return sum(1 for c in self._connections if c.is_open)

    async def aclose(self) -> None:
        """Close every connection; requests in flight fail with kind ``connection``."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for waiter in self._waiting:
            if not waiter.done():
                waiter.set_exception(FastHttpError("connection", "the connection pool was closed"))
        self._waiting.clear()
        await asyncio.gather(*(c.aclose() for c in self._connections))

    def _new_connection(self) -> Connection:
        if self._closed:
            raise FastHttpError("connection", "the connection pool was closed")
        loop = asyncio.get_running_loop()
        connection = Connection(self.settings, loop)
        self._connections.append(connection)
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._sweep_period, self._sweep)
        return connection

    def _sweep(self) -> None:
        sweeps = self._sweeps
        for connection in self._connections:
            connection.check_stall(sweeps)
        self._sweeper = asyncio.get_running_loop().call_later(self._sweep_period, self._sweep)

    async def _wait_free(self) -> Connection:
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed over just before the cancel
            raise

    def _release(self, connection: Connection) -> None:
        waiting = self._waiting
        while waiting:
            waiter = waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._free.append(connection)


def _check_arguments(max_connections: int, connect_timeout: float, read_timeout: float,
                     pipeline: int) -> None:
    if not isinstance(max_connections, int) or max_connections < 1:
        raise ValueError(f"max_connections: expected an integer >= 1, found {max_connections!r}")
    if not isinstance(pipeline, int) or pipeline < 1:
        raise ValueError(f"pipeline: expected an integer >= 1, found {pipeline!r}")
    for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
        if not value > 0:
            raise ValueError(f"{name}: expected a positive number of seconds, found {value!r}")


class FastTransport:
    """A ``Transport`` (``assay.http.transport``) on ``ConnectionPool``s, one per origin.

    Responses carry their headers (decoded as latin-1) and ``Timings.total`` (from the
    call to the last body byte, including any wait for a free connection). Target failures
    come back as ``Exchange(failure=TransportFailure(kind, message))``. A ``timeout`` passed to
    ``send`` other than ``read_timeout`` gets pools of its own.
    """

    def __init__(self, *, max_connections: int = 1024, ssl_context: ssl.SSLContext | None = None,
                 connect_timeout: float = 10.0, read_timeout: float = 30.0):
        _check_arguments(max_connections, connect_timeout, read_timeout, 1)
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._ssl_context = ssl_context
        self._pools: dict[tuple[Origin, float], ConnectionPool] = {}

    async def send(self, request: Request, *, timeout: float | None = None) -> Exchange:
        """Send ``request`` and read the whole response; failures become ``Exchange.failure``."""
        started = perf_counter_ns()
        try:
            origin, target = split_url(request.url)
            raw = encode_request(request.method, target, origin, request.headers, request.body)
        except ValueError as exc:
            return Exchange(request, failure=TransportFailure(
                "connection", f"cannot send to {request.url}: {exc}"))
        pool = self._pool(origin, timeout or self.read_timeout)
        try:
            raw_response = await pool.request(raw)
        except FastHttpError as exc:
            return Exchange(request, failure=TransportFailure(exc.kind, exc.message))
        headers = [(name.decode("latin-1"), value.decode("latin-1"))
                   for name, value in raw_response.headers or ()]
        took = (raw_response.done_ns - started) / 1e9
        response = Response(raw_response.status, headers, raw_response.body, Timings(took))
        return Exchange(request, response=response)

    async def aclose(self) -> None:
        """Close every pool."""
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(pool.aclose() for pool in pools))

    async def __aenter__(self) -> FastTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _pool(self, origin: Origin, timeout: float) -> ConnectionPool:
        pool = self._pools.get((origin, timeout))
        if pool is None:
            if origin.scheme == "https" and self._ssl_context is None:
                self._ssl_context = default_ssl_context()
            pool = ConnectionPool(origin, max_connections=self.max_connections,
                                  ssl_context=self._ssl_context,
                                  connect_timeout=self.connect_timeout, read_timeout=timeout,
                                  keep_headers=True)
            self._pools[(origin, timeout)] = pool
        return pool

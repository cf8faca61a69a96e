"""The wire of the fast HTTP/1.1 client: request bytes, response records, one socket.

``assay.http.fastclient`` builds connections, pools and the ``Transport`` on this module
(its docstring says why assay has its own client). Per response, a ``Wire`` (the
``asyncio.Protocol`` of one socket) feeds what arrives to an ``httptools.HttpResponseParser``
whose callbacks collect the status, the body chunks and, only when asked, the headers, then
resolve the oldest waiting future with a ``RawResponse``: no dict, list or clock read beyond
the completion time stamp (and the header list when headers are kept).

HEAD: llhttp skips a response body when ``on_headers_complete`` returns 1, but httptools
returns 1 only for upgrades, so its parser cannot be told that a response answers a HEAD
request. A HEAD request therefore goes alone on its connection (nothing pipelined around
it); its response head is cut at the blank line and fed alone, the response completes at
the end of its headers, and the connection gets a fresh parser.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter_ns
from types import SimpleNamespace
from typing import Any, Protocol
from urllib.parse import urlsplit

from httptools import (
    HttpParserCallbackError,
    HttpParserError,
    HttpParserUpgrade,
    HttpResponseParser,
)

from assay import __version__

CONNECTION_REFUSED = "connection_refused"
CONNECTION_RESET = "connection_reset"
TIMEOUT = "timeout"
TLS = "tls"
INVALID_HTTP = "invalid_http"
DNS = "dns"
CONNECTION = "connection"

DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = f"assay/{__version__}"
# A response head longer than this is not HTTP we want to wait for (HEAD responses only;
# the parser has its own limits for the others).
_MAX_HEAD = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_BAD_VALUE = re.compile(r"[\x00\r\n]")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True, slots=True)
class Origin:
    """Where requests go: scheme (``"http"`` or ``"https"``), host and port.

    >>> Origin.from_url("https://h:8443/x").host_header
    'h:8443'
    """

    scheme: str
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Origin:
        """The origin of an absolute ``http(s)://`` URL; ``ValueError`` when it is not one."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"invalid URL {url!r}: {exc}") from exc
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ValueError(f"expected an http:// or https:// URL, found {url!r}")
        if not parts.hostname:
            raise ValueError(f"expected a host in the URL, found {url!r}")
        return cls(scheme, parts.hostname, port or DEFAULT_PORTS[scheme])

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: ``host`` or ``host:port`` when the port is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def label(self) -> str:
        """``host:port``, as failure messages name the target."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def encode_request(method: str, target: str, origin: Origin,
                   headers: Sequence[tuple[str, str]] = (), body: bytes | None = None) -> bytes:
    """The exact bytes of an HTTP/1.1 request.

    ``target`` is the path and query, already percent-encoded. Added unless ``headers``
    has them: ``Host``, ``User-Agent: assay/<version>`` and, when there is a body or the
    method is POST, PUT or PATCH, ``Content-Length``. No ``Connection`` header: HTTP/1.1
    keeps the connection alive by default. ``ValueError`` for a method, target or header that
    cannot go on the wire (spaces in the target, a line break in a value...).

    >>> encode_request("GET", "/a?b=1", Origin("http", "h", 80))
    b'GET /a?b=1 HTTP/1.1\\r\\nHost: h\\r\\nUser-Agent: assay/0.1.0\\r\\n\\r\\n'
    """
    if not _TOKEN.fullmatch(method):
        raise ValueError(f"invalid HTTP method {method!r}")
    if not target or _BAD_TARGET.search(target):
        raise ValueError(f"invalid request target {target!r}: expected a percent-encoded path")
    names = set()
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        if _BAD_VALUE.search(value):
            raise ValueError(f"invalid value for header {name!r}: line breaks are not allowed")
        names.add(name.lower())
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {origin.host_header}")
    if "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    sized = "content-length" in names or "transfer-encoding" in names
    if not sized and (body is not None or method.upper() in _BODY_METHODS):
        lines.append(f"Content-Length: {len(body or b'')}")
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append("\r\n")
    try:
        head = "\r\n".join(lines).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(f"header or target not encodable as latin-1: {exc}") from exc
    return head + body if body else head


class RawResponse:
    """A response, the minimum: ``status``, ``body``, ``done_ns`` (``time.perf_counter_ns()``
    when its last byte was parsed), ``headers`` (raw pairs, only when the pool keeps them,
    else ``None``) and ``keep_alive`` (False when the server closes the connection after it).
    """

    __slots__ = ("status", "body", "done_ns", "headers", "keep_alive")

    def __init__(self, status: int, body: bytes, done_ns: int,
                 headers: list[tuple[bytes, bytes]] | None, keep_alive: bool):
        self.status = status
        self.body = body
        self.done_ns = done_ns
        self.headers = headers
        self.keep_alive = keep_alive

    def __repr__(self) -> str:
        return f"<RawResponse {self.status}, {len(self.body)} bytes>"


class FastHttpError(Exception):
    """The target gave no (complete) response. ``kind`` is a ``TransportFailure`` kind:
    ``connection_refused``, ``connection_reset``, ``timeout``, ``tls``, ``invalid_http``,
    ``dns`` or ``connection``; ``message`` says what happened, naming ``host:port``."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """What every connection of a pool shares. ``ssl_context`` is ``None`` for plain HTTP."""

    origin: Origin
    ssl_context: ssl.SSLContext | None
    connect_timeout: float
    read_timeout: float
    keep_headers: bool
    pipeline: int


class WireOwner(Protocol):
    """What a ``Wire`` tells the connection that owns it."""

    slot_waiters: deque[asyncio.Future]  # requests waiting for room on the connection

    def wire_closed(self, wire: Wire) -> None:
        """``wire`` is closed: forget it and let waiting requests retry."""

    def wake_slots(self, *, all_of_them: bool = False) -> None:
        """Room on the connection: wake one waiting request (or all of them)."""


class Wire(asyncio.Protocol):
    """One socket: the asyncio protocol, the response parser and the waiting futures.

    A new wire per socket, so that the callbacks of a closed socket never touch the state
    of the one that replaced it. ``waiters`` are the futures of the requests written and
    not answered, oldest first; ``limit`` is how many may be outstanding (0 while a HEAD
    request is); ``progress`` counts received chunks for the pool's timeout sweeper.
    """

    __slots__ = ("owner", "label", "read_timeout", "pipeline", "transport", "write",
                 "pending", "callbacks", "parser", "waiters", "slot_waiters", "limit", "status",
                 "body", "chunks", "headers", "head_buf", "progress", "seen", "stalls", "closed",
                 "lost")

    def __init__(self, owner: WireOwner, settings: ConnectionSettings):
        self.owner = owner
        self.label = settings.origin.label
        self.read_timeout = settings.read_timeout
        self.pipeline = self.limit = settings.pipeline
        self.transport: Any = None
        self.write: Any = None  # how requests are written: see connection_made
        self.pending: list[bytes] | None = None
        self.callbacks = SimpleNamespace(on_headers_complete=self._on_headers_complete,
                                         on_body=self._on_body,
                                         on_message_complete=self._on_message_complete)
        self.headers: list[tuple[bytes, bytes]] | None = None
        if settings.keep_headers:
            # httptools calls on_header only when the object has it: without it, keeping
            # no headers costs nothing.
            self.callbacks.on_header = self._on_header
            self.headers = []
        self.parser = HttpResponseParser(self.callbacks)
        self.waiters: deque[asyncio.Future] = deque()
        self.slot_waiters = owner.slot_waiters
        self.status = 0  # of the response being parsed, once its head is complete
        self.body = b""
        self.chunks: list[bytes] | None = None  # only when a body comes in several pieces
        self.head_buf: bytes | None = None  # not None while a HEAD response is awaited
        self.progress = 0
        self.seen = -1
        self.stalls = 0
        self.closed = False
        self.lost: asyncio.Future | None = None

    # asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        # One request per write, or, when requests are pipelined, the requests written in
        # one turn of the loop together in one system call.
        self.write = transport.write if self.pipeline == 1 else self._write_soon

    def _write_soon(self, raw: bytes) -> None:
        if self.pending is None:
            self.pending = [raw]
            asyncio.get_running_loop().call_soon(self._flush)
        else:
            self.pending.append(raw)

    def _flush(self) -> None:
        pending, self.pending = self.pending, None
        if not self.closed and pending:
            self.transport.writelines(pending)

    def data_received(self, data: bytes) -> None:
        self.progress += 1
        if self.head_buf is not None:
            self._head_data(data)
            return
        try:
            self.parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade) as exc:
            self._parse_error(exc)

    def eof_received(self) -> bool:
        # Settle now, not at connection_lost: in between, a request written to this
        # half-closed socket would wait for an answer that cannot come.
        self._peer_closed(None)
        return False  # and let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self._peer_closed(exc)
        self.transport = None
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)

    def _peer_closed(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        if exc is None and self.waiters and self._ends_at_eof():
            self._on_message_complete()
        if self.waiters:
            how = "reset the connection" if exc else "closed the connection"
            self._fail_waiters(FastHttpError(
                CONNECTION_RESET, f"{self.label} {how} before the response was complete"))
        self.owner.wire_closed(self)

    # parser callbacks

    def _on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def _on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def _on_body(self, chunk: bytes) -> None:
        if not self.body:
            self.body = chunk
        elif self.chunks is None:
            self.chunks = [self.body, chunk]
        else:
            self.chunks.append(chunk)

    def _on_message_complete(self, keep_alive: bool | None = None) -> None:
        """The response being parsed is complete: resolve the oldest waiter with it.

        Also called for a HEAD response at the end of its head (with ``keep_alive`` read
        from the head) and for a response that ends with the connection.
        """
        done = perf_counter_ns()
        status = self.status
        self.status = 0
        if keep_alive is None:
            keep_alive = self.parser.should_keep_alive()
        body = self.body
        self.body = b""
        if self.chunks is not None:
            body = b"".join(self.chunks)
            self.chunks = None
        headers = self.headers
        if headers is not None:
            self.headers = []
        if status < 200:
            return  # an interim response (100 Continue, 103 Early Hints): the real one follows
        try:
            waiter = self.waiters.popleft()
        except IndexError:
            raise FastHttpError(INVALID_HTTP, f"{self.label} sent a response to no request") \
                from None
        try:
            waiter.set_result(RawResponse(status, body, done, headers, keep_alive))
        except asyncio.InvalidStateError:
            pass  # the caller gave up (cancelled); the connection stays in step
        if not keep_alive:
            self.close(FastHttpError(
                CONNECTION_RESET, f"{self.label} closed the connection (Connection: close) "
                                  "before answering this request"), abort=False)
        elif self.slot_waiters:
            # All of them once the pipeline is empty: a HEAD may be waiting for that.
            self.owner.wake_slots(all_of_them=not self.waiters)

    def _feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade) as exc:
            self._parse_error(exc)

    def _parse_error(self, exc: Exception) -> None:
        if isinstance(exc, HttpParserUpgrade):
            self.close(FastHttpError(INVALID_HTTP, f"{self.label} switched protocols unasked"))
        elif isinstance(exc, HttpParserCallbackError):
            # Our own FastHttpError (a response to no request) or a bug in a callback.
            cause = exc.__context__
            self.close(cause if cause is not None else exc)
        else:
            self.close(FastHttpError(INVALID_HTTP,
                                     f"invalid HTTP response from {self.label}: {exc}"))

    def _ends_at_eof(self) -> bool:
        """Whether the response in progress is one that ends when the connection does."""
        if not self.status:
            return False
        if self.headers is None:
            # Without headers, llhttp's own verdict: not keep-alive means "no length, read to
            # the end", or "Connection: close" (then a cut-short body is taken as complete).
            return not self.parser.should_keep_alive()
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def begin_head(self) -> None:
        """A HEAD request goes out: nothing else is sent until its response is in."""
        self.limit = 0
        self.head_buf = b""

    def _head_data(self, data: bytes) -> None:
        buf = self.head_buf + data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > _MAX_HEAD or (len(buf) >= 5 and not buf.startswith(b"HTTP/")):
                self.head_buf = None
                self._feed(buf)  # let the parser name what is wrong
                if not self.closed:
                    self.close(FastHttpError(INVALID_HTTP, f"invalid HTTP response from "
                                                           f"{self.label}"))
            else:
                self.head_buf = buf
            return
        self.head_buf = b""
        self._feed(buf[:end + 4])
        rest = buf[end + 4:]
        if self.closed:
            return
        if self.waiters and not self.status:
            self._head_data(rest)  # that was an interim response; the real one follows
            return
        if self.waiters:
            # The parser expects a body that will not come (and, without a Content-Length,
            # a connection that ends with it): complete here, with a fresh parser after.
            self._on_message_complete(_head_keeps_alive(buf[:end + 4]))
            self.parser = HttpResponseParser(self.callbacks)
        self.head_buf = None
        self.limit = self.pipeline
        if not self.closed:
            self.owner.wake_slots(all_of_them=True)
            if rest:
                self._feed(rest)

    def check_stall(self, sweeps: int) -> None:
        """Count sweeps without a byte received while requests wait; at ``sweeps``, time out.

        No clock is read per request: ``progress`` counts received chunks, and the sweeper
        sees whether it moved since the previous sweep.
        """
        if not self.waiters:
            self.seen = -1
            return
        if self.progress != self.seen:
            self.seen = self.progress
            self.stalls = 0
            return
        self.stalls += 1
        if self.stalls >= sweeps:
            self.close(FastHttpError(TIMEOUT, f"no response from {self.label} within "
                                              f"{self.read_timeout} s"))

    def close(self, error: BaseException, *, abort: bool = True) -> None:
        """Close the socket; requests still waiting fail with ``error``."""
        if self.closed:
            return
        self.closed = True
        self._fail_waiters(error)
        self.owner.wire_closed(self)
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    async def wait_lost(self, timeout: float = 1.0) -> None:
        """Wait (at most ``timeout`` s) until the transport reported the socket closed."""
        if self.transport is None:
            return
        if self.lost is None:
            self.lost = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self.lost), timeout)
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()

    def _fail_waiters(self, error: BaseException) -> None:
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if waiter.done():
                continue
            if isinstance(error, FastHttpError):
                # One exception object per waiter: each caller gets its own traceback.
                waiter.set_exception(FastHttpError(error.kind, error.message))
            else:
                waiter.set_exception(error)


def _head_keeps_alive(head: bytes) -> bool:
    """Whether the connection stays open after a response with this head (RFC 9112 9.3)."""
    lowered = head.lower()
    tokens = [value.strip() for line in lowered.split(b"\r\n")[1:]
              if line.startswith(b"connection:")
              for value in line[len(b"connection:"):].split(b",")]
    if lowered.startswith(b"http/1.0"):
        return b"keep-alive" in tokens
    return b"close" not in tokens

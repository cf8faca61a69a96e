"""The wire of assay's HTTP/1.1 server core: one client connection on httptools.

``http.fastserver`` listens and gives each accepted socket a ``ServerWire``, the
``asyncio.Protocol`` that parses requests (an ``httptools.HttpRequestParser`` calling its
``on_*`` methods), asks the handler and writes the answers. Per request: the parser's
callbacks (no ``on_message_begin``: state is reset at the end of a message), one
``ServerRequest``, one handler call and, for an answer returned at once, one
``transport.write``; no task, future or timer. An awaitable answer runs as a task, and the
connection answers nothing else until it is done.

Requests on one connection are answered one at a time, in order: pipelined requests that
arrive meanwhile are parsed and queued (reading pauses once ``_MAX_QUEUED`` wait, and while
the client does not read its answers). What the parser rejects, a body larger than
``max_body`` and an oversized head are answered (400, 413, 414, 431) after the requests
before them; then the connection half-closes and closes once the client has stopped sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import struct
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from httptools import (
    HttpParserCallbackError,
    HttpParserError,
    HttpParserInvalidURLError,
    HttpParserUpgrade,
    HttpRequestParser,
    parse_url,
)

from .serverencode import ResponseEncoder
from .serving import ConnectionFault, Handler, ServerRequest, ServerResponse

# Pipelined requests parsed ahead of the one being answered before reading pauses.
_MAX_QUEUED = 32
# Longest request target, and most bytes of header names and values, accepted.
_MAX_HEAD = 64 * 1024
# After an error answer, how long the client may go on sending (dropped) before the socket
# closes: closing with unread input sends a RST that can destroy the answer in flight.
_LINGER = 2.0
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass(slots=True)
class WireContext:
    """What the connections of one server share: the handler and settings, the live
    connections, and whether the server is closing (``all_gone`` is set when the last
    connection is lost after that)."""

    handler: Handler
    encoder: ResponseEncoder
    max_body: int
    tls: bool
    log: logging.Logger
    loop: asyncio.AbstractEventLoop | None = None
    wires: set[ServerWire] = field(default_factory=set)
    closing: bool = False
    all_gone: asyncio.Event = field(default_factory=asyncio.Event)


class _Stop(Exception):
    """Raised in a parser callback: the connection closed or is held; parse no further."""


class _Reject(Exception):
    """Raised in a parser callback: stop parsing, answer ``status`` and close."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ServerWire(asyncio.Protocol):
    """One client connection: the parser's callbacks, the queue of pipelined requests, the
    answer in progress. The parser calls ``on_*`` methods of this object directly."""

    __slots__ = ("context", "handler", "encoder", "max_body", "tls", "transport", "client",
                 "parser", "url", "headers", "body", "chunks", "size", "head_size",
                 "expect_continue", "queue", "task", "final", "closed", "held", "done_reading",
                 "close_when_idle", "write_paused", "read_paused", "linger_timer")

    def __init__(self, context: WireContext):
        self.context = context
        self.handler = context.handler
        self.encoder = context.encoder
        self.max_body = context.max_body
        self.tls = context.tls
        self.transport: Any = None
        self.client: tuple[str, int] | None = None
        self.parser = HttpRequestParser(self)
        self.url = b""  # of the request being parsed (llhttp may hand it over in pieces)
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.chunks: list[bytes] | None = None  # only when a body comes in several pieces
        self.size = self.head_size = 0
        self.expect_continue = False  # a 100 Continue is owed to the request being parsed
        self.queue: deque[tuple[ServerRequest, bool]] = deque()
        self.task: asyncio.Future | None = None  # an awaitable answer in progress
        self.final: bytes | None = None  # an error answer that ends the connection, when due
        self.closed = False
        self.held = False  # a `timeout` fault: nothing more is read or answered
        self.done_reading = False
        self.close_when_idle = False
        self.write_paused = self.read_paused = False
        self.linger_timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = (peer[0], peer[1]) if isinstance(peer, tuple) else None
        self.context.wires.add(self)
        if self.context.closing:
            self.shut()

    def data_received(self, data: bytes) -> None:
        if self.done_reading:
            return  # held, rejected or closing: input is dropped
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade:
            # Upgrade or CONNECT: the request was answered as plain HTTP, and the bytes
            # after it belong to a protocol we do not speak.
            self.done_reading = self.close_when_idle = True
            self._drain()
        except HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Stop):
                pass
            elif isinstance(cause, _Reject):
                self._reject(cause.status, cause.message)
            else:
                self.context.log.error("bug in the request parser's callbacks", exc_info=cause)
                self._reject(500, "Internal Server Error")
        except HttpParserError as exc:
            self._reject(400, f"Bad Request: {exc}")

    def eof_received(self) -> bool:
        if self.held or self.tls or self._idle():
            self._mark_closed()
            return False  # the transport closes itself
        self.done_reading = self.close_when_idle = True
        return True  # half-closed: answer what was asked, then close

    def connection_lost(self, exc: Exception | None) -> None:
        self._mark_closed()
        if self.linger_timer is not None:
            self.linger_timer.cancel()
        context = self.context
        context.wires.discard(self)
        if context.closing and not context.wires:
            context.all_gone.set()

    def pause_writing(self) -> None:
        # The client does not read its answers: stop answering (and reading) until it does.
        self.write_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._drain()

    # parser callbacks

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > _MAX_HEAD:
            raise _Reject(414, f"URI Too Long: more than {_MAX_HEAD} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))
        self.head_size += len(name) + len(value)
        if len(name) == 14 or len(name) == 6:
            self._special_header(name.lower(), value)
        if self.head_size > _MAX_HEAD:
            raise _Reject(431, f"Request Header Fields Too Large: more than {_MAX_HEAD} bytes")

    def _special_header(self, lowered: bytes, value: bytes) -> None:
        if lowered == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return  # the parser rejects it
            if length > self.max_body:
                raise _Reject(413, f"Request body too large: more than {self.max_body} bytes")
        elif lowered == b"expect" and value.strip().lower() == b"100-continue":
            # Never to an HTTP/1.0 client (RFC 9110 10.1.1).
            self.expect_continue = self.parser.get_http_version() != "1.0"

    def on_headers_complete(self) -> None:
        if self.expect_continue and self._idle() and not self.done_reading:
            self.expect_continue = False
            self.transport.write(_CONTINUE)
        # else: _drain sends it once the requests before this one are answered

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.max_body:
            raise _Reject(413, f"Request body too large: more than {self.max_body} bytes")
        if not self.body:
            self.body = body
        elif self.chunks is None:
            self.chunks = [self.body, body]
        else:
            self.chunks.append(body)

    def on_message_complete(self) -> None:
        parser = self.parser
        url = self.url
        if url[:1] == b"/" and b"#" not in url:
            path, _, query = url.partition(b"?")
        else:
            path, query = _split_target(url)
        body = self.body if self.chunks is None else b"".join(self.chunks)
        request = ServerRequest(parser.get_method().decode("ascii"), path.decode("latin-1"),
                                query.decode("latin-1"), self.headers, body, self.client,
                                parser.get_http_version())
        keep_alive = parser.should_keep_alive()
        self.url = self.body = b""
        self.headers = []
        self.chunks = None
        self.size = self.head_size = 0
        self.expect_continue = False
        if self.task is None and not self.queue and not self.write_paused:
            self._handle(request, keep_alive)
            if self.done_reading:
                raise _Stop  # closed or held: the rest of this data is not for us
        else:
            self.queue.append((request, keep_alive))
            if len(self.queue) >= _MAX_QUEUED:
                self._pause_reading()

    # answering

    def _handle(self, request: ServerRequest, keep_alive: bool) -> None:
        try:
            answer = self.handler(request)
        except Exception:
            self.context.log.exception("the handler failed on %s %s; answered 500",
                                       request.method, request.target)
            answer = self.encoder.failed
        if type(answer) is ServerResponse:
            self._respond(request, keep_alive, answer)
        elif inspect.isawaitable(answer):
            self.task = asyncio.ensure_future(answer, loop=self.context.loop)
            self.task.add_done_callback(partial(self._handler_done, request, keep_alive))
        else:
            self._answer(request, keep_alive, answer)

    def _handler_done(self, request: ServerRequest, keep_alive: bool,
                      task: asyncio.Future) -> None:
        self.task = None
        if self.closed:
            if not task.cancelled():
                task.exception()  # retrieved: the client left, nobody gets the answer
            return
        if task.cancelled():
            self.context.log.error("the handler's task for %s %s was cancelled; answered 500",
                                   request.method, request.target)
            answer: Any = self.encoder.failed
        elif task.exception() is not None:
            self.context.log.error("the handler failed on %s %s; answered 500", request.method,
                                   request.target, exc_info=task.exception())
            answer = self.encoder.failed
        else:
            answer = task.result()
        self._answer(request, keep_alive, answer)
        self._drain()

    def _answer(self, request: ServerRequest, keep_alive: bool, answer: Any) -> None:
        if isinstance(answer, ServerResponse):
            self._respond(request, keep_alive, answer)
        elif isinstance(answer, ConnectionFault):
            self._fault(answer)
        else:
            self.context.log.error("the handler answered %s %s with %r, not a ServerResponse "
                                   "or ConnectionFault; answered 500", request.method,
                                   request.target, type(answer).__name__)
            self._respond(request, keep_alive, self.encoder.failed)

    def _respond(self, request: ServerRequest, keep_alive: bool,
                 response: ServerResponse) -> None:
        head_only = request.method == "HEAD"
        http10 = request.http_version == "1.0"
        try:
            data, close = self.encoder.encode(response, head_only, keep_alive, http10)
        except Exception:  # the handler's data: any type may be in it
            self.context.log.exception("the handler's answer to %s %s cannot be sent; "
                                       "answered 500", request.method, request.target)
            data, close = self.encoder.encode(self.encoder.failed, head_only, keep_alive,
                                              http10)
        self.transport.write(data)
        if close:
            self.shut()

    def _fault(self, fault: ConnectionFault) -> None:
        kind = fault.kind
        if kind == "timeout":
            # Keep reading (and dropping) only to notice when the client gives up.
            self.held = self.done_reading = True
            self.queue.clear()
            self.final = None
            self.expect_continue = False
            self._resume_reading()
            return
        if kind == "connection_reset":
            _linger_zero(self.transport)
            self.shut(abort=True)
            return
        if kind == "malformed_chunk":
            self.transport.write(self.encoder.malformed_chunk())
        elif kind == "random_data_then_close":
            self.transport.write(fault.data or os.urandom(64))
        self.shut()  # and for empty_response, that is all

    def _reject(self, status: int, message: str) -> None:
        if self.closed:
            return
        self.done_reading = True
        self.final = self.encoder.error(status, message)
        self._drain()

    def _drain(self) -> None:
        """Answer queued requests while nothing is in progress; then whatever is due."""
        while not self.closed and self.task is None and not self.write_paused:
            if self.queue:
                self._handle(*self.queue.popleft())
                continue
            if self.final is not None:
                self.transport.write(self.final)
                self.final = None
                self._linger()
            elif self.close_when_idle and not self.held:
                self.shut()
            else:
                if self.expect_continue:
                    self.expect_continue = False
                    self.transport.write(_CONTINUE)
                if not self.done_reading:
                    self._resume_reading()
            return

    def _idle(self) -> bool:
        return (self.task is None and not self.queue and not self.write_paused
                and self.final is None)

    # closing

    def shut(self, *, abort: bool = False) -> None:
        """Close the connection (``abort``: at once, dropping unsent bytes); a handler task
        in progress is cancelled."""
        if self.transport.is_closing():
            return
        self._mark_closed()
        if abort:
            self.transport.abort()
        else:
            self.transport.close()

    def _linger(self) -> None:
        """Half-close after an error answer, dropping what the client still sends, until it
        closes too (or ``_LINGER`` s pass)."""
        transport = self.transport
        if self.tls or not transport.can_write_eof():
            self.shut()
            return
        self._mark_closed()
        transport.write_eof()
        self._resume_reading()
        self.linger_timer = self.context.loop.call_later(_LINGER, self.shut)

    def _mark_closed(self) -> None:
        self.closed = self.done_reading = True
        self.expect_continue = False
        self.queue.clear()
        if self.task is not None:
            self.task.cancel()

    def _pause_reading(self) -> None:
        if not self.read_paused and not self.transport.is_closing():
            self.read_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.read_paused and not self.transport.is_closing():
            self.read_paused = False
            self.transport.resume_reading()


def _split_target(url: bytes) -> tuple[bytes, bytes]:
    """Path and query of an absolute-form target; an authority (CONNECT) or ``*`` as is."""
    try:
        parsed = parse_url(url)
    except HttpParserInvalidURLError:
        return url, b""
    return parsed.path or b"/", parsed.query or b""


def _linger_zero(transport: Any) -> None:
    """Make closing the socket send a TCP RST instead of a FIN (SO_LINGER on, 0 s)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return  # aborting is all we can do
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

"""The fast HTTP/1.1 client (``assay.http.fastclient``) against real servers on 127.0.0.1.

Most tests use ``RawServer``, a small asyncio server in the test's own event loop that
records the bytes and connections it received and can misbehave on purpose (close
mid-body, never answer, send garbage); the rest use uvicorn through ``tests/servers.py``.
Tests that matter for both event loops run on uvloop and on asyncio's default loop.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import pytest
import trustme
import uvloop

from assay import __version__
from assay.core.records import Request
from assay.http.fastclient import (
    ConnectionPool,
    FastHttpError,
    FastTransport,
    Origin,
    connect_error,
    encode_request,
    new_event_loop,
)
from assay.http.fastproto import ConnectionSettings
from servers import Canned, RecordingApp, serve

LOOPS = {"uvloop": uvloop.new_event_loop, "asyncio": asyncio.new_event_loop}
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
UA = f"User-Agent: assay/{__version__}".encode()


def run(coro: Awaitable[Any], loop: str = "uvloop") -> Any:
    """Run ``coro`` on a fresh loop of the given kind."""
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        return runner.run(coro)


Handler = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A TCP (or TLS) server on 127.0.0.1, port 0, in the running loop.

    ``handler(server, reader, writer)`` serves one connection; ``requests`` are the raw
    requests read with ``read_request``; ``connections`` counts accepted connections and
    ``peak`` the most open at once.
    """

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None):
        self.handler = handler
        self.ssl_context = ssl_context
        self.requests: list[bytes] = []
        self.connections = 0
        self.open = 0
        self.peak = 0
        self.release = asyncio.Event()

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0,
                                                 ssl=self.ssl_context)
        port = self.server.sockets[0].getsockname()[1]
        scheme = "https" if self.ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{port}"
        self.origin = Origin.from_url(self.url)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            await self.handler(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.open -= 1
            writer.close()
            with suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        """One whole request (head and Content-Length body), or ``None`` at EOF."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        request = head + await reader.readexactly(length)
        self.requests.append(request)
        return request


def answer_each(*responses: bytes) -> Handler:
    """A handler answering the n-th request of each connection with ``responses[n]``
    (the last one repeats)."""
    async def handler(server: RawServer, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        count = 0
        while await server.read_request(reader) is not None:
            writer.write(responses[min(count, len(responses) - 1)])
            await writer.drain()
            count += 1
    return handler


async def one_request(handler: Handler, raw_for: Callable[[Origin], bytes], **pool_options: Any):
    """Send one request to a fresh ``RawServer``; returns (response or error, server)."""
    async with RawServer(handler) as server:
        pool = ConnectionPool(server.origin, **pool_options)
        try:
            connection = await pool.connection()
            return await connection.request(raw_for(server.origin)), server
        except FastHttpError as exc:
            return exc, server
        finally:
            await pool.aclose()


def get(path: str = "/") -> Callable[[Origin], bytes]:
    return lambda origin: encode_request("GET", path, origin)


# --- request bytes -------------------------------------------------------------------------


def test_encode_request_get_and_post_bytes() -> None:
    origin = Origin("http", "api.example", 8080)
    assert encode_request("GET", "/a?b=1", origin, [("Accept", "*/*")]) == (
        b"GET /a?b=1 HTTP/1.1\r\nHost: api.example:8080\r\n" + UA + b"\r\nAccept: */*\r\n\r\n")
    assert encode_request("POST", "/p", origin, [("Content-Type", "text/plain")], b"hey") == (
        b"POST /p HTTP/1.1\r\nHost: api.example:8080\r\n" + UA
        + b"\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nhey")


def test_encode_request_defaults_give_way_to_given_headers() -> None:
    origin = Origin("https", "h", 443)
    raw = encode_request("PUT", "/x", origin, [("host", "other"), ("User-Agent", "me")])
    assert raw == b"PUT /x HTTP/1.1\r\nContent-Length: 0\r\nhost: other\r\nUser-Agent: me\r\n\r\n"
    assert b"Connection" not in encode_request("GET", "/", origin)


@pytest.mark.parametrize("url, scheme, host, port, header", [
    ("https://h:8443/x", "https", "h", 8443, "h:8443"),
    ("http://H.example/x", "http", "h.example", 80, "h.example"),
    ("https://[::1]/", "https", "::1", 443, "[::1]"),
    ("http://[::1]:81", "http", "::1", 81, "[::1]:81"),
])
def test_origin_from_url(url: str, scheme: str, host: str, port: int, header: str) -> None:
    origin = Origin.from_url(url)
    assert (origin.scheme, origin.host, origin.port, origin.host_header) == (
        scheme, host, port, header)


@pytest.mark.parametrize("call", [
    lambda o: encode_request("GET", "/a b", o),
    lambda o: encode_request("GET", "/", o, [("X-A", "1\r\nInjected: yes")]),
    lambda o: encode_request("GE T", "/", o),
    lambda o: Origin.from_url("ftp://h/"),
])
def test_bad_input_is_a_value_error(call: Callable[[Origin], object]) -> None:
    with pytest.raises(ValueError):
        call(Origin("http", "h", 80))


# --- responses -----------------------------------------------------------------------------


@pytest.mark.parametrize("loop", LOOPS)
def test_get_and_post_reach_the_server_byte_for_byte(loop: str) -> None:
    async def main():
        async with RawServer(answer_each(OK, b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n"
                                             b"\r\nmade")) as server:
            pool = ConnectionPool(server.origin)
            connection = await pool.connection()
            get_raw = encode_request("GET", "/books?limit=2", server.origin, [("Accept", "x/y")])
            post_raw = encode_request("POST", "/books", server.origin, (), b'{"a": 1}')
            first = await connection.request(get_raw)
            second = await connection.request(post_raw)
            await pool.aclose()
            return first, second, server, get_raw, post_raw

    first, second, server, get_raw, post_raw = run(main(), loop)
    assert (first.status, first.body, first.headers, first.keep_alive) == (200, b"ok", None, True)
    assert (second.status, second.body) == (201, b"made")
    assert server.requests == [get_raw, post_raw]
    assert server.requests[1].endswith(b"Content-Length: 8\r\n\r\n{\"a\": 1}")
    assert server.connections == 1


@pytest.mark.parametrize("loop", LOOPS)
def test_chunked_body_in_pieces_is_joined(loop: str) -> None:
    async def chunked(server: RawServer, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Y: z\r\n\r\n5\r\nhello")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"\r\n6\r\n world\r\n0\r\n\r\n")
        await writer.drain()
        await server.read_request(reader)

    response, _ = run(one_request(chunked, get(), keep_headers=True), loop)
    assert response.body == b"hello world"
    assert (b"X-Y", b"z") in response.headers
    assert response.done_ns > 0


def test_head_response_ends_after_its_headers() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n"

    async def main():
        async with RawServer(answer_each(OK, head, OK)) as server:
            pool = ConnectionPool(server.origin, keep_headers=True)
            connection = await pool.connection()
            # The HEAD goes on an open connection, between two GETs.
            responses = [await connection.request(encode_request(method, "/", server.origin))
                         for method in ("GET", "HEAD", "GET")]
            await pool.aclose()
            return responses, server

    (before, head_response, after), server = run(main())
    assert (head_response.status, head_response.body) == (200, b"")
    assert (b"Content-Length", b"5") in head_response.headers
    assert before.body == after.body == b"ok"
    assert server.connections == 1
    assert server.requests[1].startswith(b"HEAD / HTTP/1.1\r\n")


@pytest.mark.parametrize("head, keep_alive, connections", [
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", True, 1),
    (b"HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n", False, 2),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", True, 1),
])
def test_head_response_without_a_length_keeps_the_connection(
        head: bytes, keep_alive: bool, connections: int) -> None:
    async def by_method(server: RawServer, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        while (request := await server.read_request(reader)) is not None:
            writer.write(head if request.startswith(b"HEAD") else OK)
            await writer.drain()
            if b"close" in head.lower() and request.startswith(b"HEAD"):
                return

    async def main():
        async with RawServer(by_method) as server:
            pool = ConnectionPool(server.origin)
            connection = await pool.connection()
            first = await connection.request(encode_request("HEAD", "/", server.origin))
            second = await connection.request(encode_request("GET", "/", server.origin))
            await pool.aclose()
            return first, second, server

    first, second, server = run(main())
    assert (first.status, first.body, first.keep_alive) == (200, b"", keep_alive)
    assert second.body == b"ok"
    assert server.connections == connections


def test_head_is_not_pipelined_with_other_requests() -> None:
    async def main():
        async with RawServer(answer_each(
                OK, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend")) as server:
            pool = ConnectionPool(server.origin, pipeline=3)
            connection = await pool.connection()
            origin = server.origin
            results = await asyncio.gather(
                connection.request(encode_request("GET", "/1", origin)),
                connection.request(encode_request("HEAD", "/2", origin)),
                connection.request(encode_request("GET", "/3", origin)))
            await pool.aclose()
            return results, server

    (first, second, third), server = run(main())
    assert [first.body, second.body, third.body] == [b"ok", b"", b"end"]
    assert [r.split(b" ")[1] for r in server.requests] == [b"/1", b"/2", b"/3"]


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_do_not_swallow_the_next_response(status: int) -> None:
    empty = f"HTTP/1.1 {status} X\r\nContent-Length: 7\r\n\r\n".encode()

    async def main():
        async with RawServer(answer_each(empty, OK)) as server:
            pool = ConnectionPool(server.origin)
            connection = await pool.connection()
            results = [await connection.request(encode_request("GET", "/", server.origin))
                       for _ in range(2)]
            await pool.aclose()
            return results

    first, second = run(main())
    assert (first.status, first.body) == (status, b"")
    assert (second.status, second.body) == (200, b"ok")


def test_interim_100_continue_is_skipped() -> None:
    response, _ = run(one_request(answer_each(b"HTTP/1.1 100 Continue\r\n\r\n" + OK), get()))
    assert (response.status, response.body) == (200, b"ok")


def test_body_that_ends_with_the_connection() -> None:
    async def eof_body(server: RawServer, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()

    for keep_headers in (False, True):
        response, _ = run(one_request(eof_body, get(), keep_headers=keep_headers))
        assert (response.status, response.body, response.keep_alive) == (200, b"all of it", False)


# --- connections ---------------------------------------------------------------------------


def test_keep_alive_reuses_one_connection() -> None:
    async def main():
        async with RawServer(answer_each(OK)) as server:
            pool = ConnectionPool(server.origin)
            connection = await pool.connection()
            for _ in range(20):
                assert (await connection.request(encode_request("GET", "/", server.origin))
                        ).body == b"ok"
            await pool.aclose()
            return server

    server = run(main())
    assert (server.connections, len(server.requests)) == (1, 20)


@pytest.mark.parametrize("loop", LOOPS)
def test_reconnects_after_connection_close(loop: str) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye"

    async def close_after_one(server: RawServer, reader: asyncio.StreamReader,
                              writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(closing if server.connections == 1 else OK)
        await writer.drain()

    async def main():
        async with RawServer(close_after_one) as server:
            pool = ConnectionPool(server.origin)
            connection = await pool.connection()
            first = await connection.request(encode_request("GET", "/", server.origin))
            second = await connection.request(encode_request("GET", "/", server.origin))
            await pool.aclose()
            return first, second, server

    first, second, server = run(main(), loop)
    assert (first.body, first.keep_alive) == (b"bye", False)
    assert (second.body, second.keep_alive) == (b"ok", True)
    assert server.connections == 2


def test_reconnects_when_the_server_closed_an_idle_connection() -> None:
    # The server answers one request, then closes the idle connection (as a keep-alive
    # timeout would).
    async def one_then_close(server: RawServer, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(OK)
        await writer.drain()

    async def idle_closed():
        async with RawServer(one_then_close) as server:
            pool = ConnectionPool(server.origin)
            connection = await pool.connection()
            first = await connection.request(encode_request("GET", "/", server.origin))
            for _ in range(200):
                if not connection.is_open:
                    break
                await asyncio.sleep(0.005)
            second = await connection.request(encode_request("GET", "/", server.origin))
            await pool.aclose()
            return first, second, server

    first, second, server = run(idle_closed())
    assert first.body == second.body == b"ok"
    assert server.connections == 2


def test_pool_limits_connections_and_queues_requests() -> None:
    async def held(server: RawServer, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> None:
        while await server.read_request(reader) is not None:
            await server.release.wait()
            writer.write(OK)
            await writer.drain()

    async def main():
        async with RawServer(held) as server:
            pool = ConnectionPool(server.origin, max_connections=2)
            raw = encode_request("GET", "/", server.origin)
            tasks = [asyncio.ensure_future(pool.request(raw)) for _ in range(5)]
            for _ in range(200):
                if len(server.requests) == 2:
                    break
                await asyncio.sleep(0.005)
            queued = (pool.waiting, pool.in_flight, pool.open_connections)
            server.release.set()
            results = await asyncio.gather(*tasks)
            await pool.aclose()
            return queued, results, server

    queued, results, server = run(main())
    assert queued == (3, 2, 2)
    assert [r.body for r in results] == [b"ok"] * 5
    assert server.peak == 2 and server.connections == 2
    assert len(server.requests) == 5


def test_pipelined_requests_go_out_together_and_are_answered_in_order() -> None:
    async def batch(server: RawServer, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        paths = []
        for _ in range(3):  # all three arrive before any answer goes out
            paths.append((await server.read_request(reader)).split(b" ")[1])
        writer.write(b"".join(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                              % (len(p), p) for p in paths))
        await writer.drain()
        await server.read_request(reader)

    async def main():
        async with RawServer(batch) as server:
            pool = ConnectionPool(server.origin, pipeline=3)
            lanes = [await pool.connection() for _ in range(3)]
            results = await asyncio.gather(*(
                lane.request(encode_request("GET", f"/{n}", server.origin))
                for n, lane in enumerate(lanes)))
            await pool.aclose()
            return lanes, results, server

    lanes, results, server = run(main())
    assert lanes[0] is lanes[1] is lanes[2]
    assert [r.body for r in results] == [b"/0", b"/1", b"/2"]
    assert server.connections == 1


def test_a_cancelled_request_leaves_the_connection_in_step() -> None:
    async def numbered(server: RawServer, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await server.release.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
        await writer.drain()
        await server.read_request(reader)

    async def main():
        async with RawServer(numbered) as server:
            pool = ConnectionPool(server.origin)
            connection = await pool.connection()
            raw = encode_request("GET", "/", server.origin)
            first = asyncio.ensure_future(connection.request(raw))
            while not server.requests:
                await asyncio.sleep(0.005)
            first.cancel()
            second = asyncio.ensure_future(connection.request(raw))
            await asyncio.sleep(0.01)
            server.release.set()
            result = await second
            await pool.aclose()
            return result

    assert run(main()).body == b"second"


# --- failures ------------------------------------------------------------------------------


async def silent(server: RawServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    while await server.read_request(reader) is not None:
        pass


@pytest.mark.parametrize("loop", LOOPS)
def test_read_timeout_fails_every_outstanding_request_and_closes(loop: str) -> None:
    async def main():
        async with RawServer(silent) as server:
            pool = ConnectionPool(server.origin, read_timeout=0.2, pipeline=2)
            lanes = [await pool.connection() for _ in range(2)]
            raw = encode_request("GET", "/", server.origin)
            results = await asyncio.gather(*(lane.request(raw) for lane in lanes),
                                           return_exceptions=True)
            for _ in range(200):
                if not server.open:
                    break
                await asyncio.sleep(0.005)
            closed = server.open == 0
            await pool.aclose()
            return results, closed

    results, closed = run(main(), loop)
    assert [type(r) for r in results] == [FastHttpError, FastHttpError]
    assert [r.kind for r in results] == ["timeout", "timeout"]
    assert "within 0.2 s" in str(results[0])
    assert closed


def test_connect_timeout() -> None:
    # A listener that never accepts, its backlog filled: the next SYN gets no answer.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):
                filler = socket.socket()
                filler.setblocking(False)
                with suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
                fillers.append(filler)
            origin = Origin("http", "127.0.0.1", port)
            error, _ = run(_connect_only(origin, connect_timeout=0.2))
        finally:
            for filler in fillers:
                filler.close()
    assert isinstance(error, FastHttpError)
    assert error.kind == "timeout", error


async def _connect_only(origin: Origin, **options: Any):
    pool = ConnectionPool(origin, **options)
    try:
        connection = await pool.connection()
        return await connection.request(encode_request("GET", "/", origin)), None
    except FastHttpError as exc:
        return exc, None
    finally:
        await pool.aclose()


@pytest.mark.parametrize("error, kind", [
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns"),
    (ConnectionRefusedError(111, "Connection refused"), "connection_refused"),
    (OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 80, 0, 0), "
             "[Errno 111] Connect call failed ('127.0.0.1', 80)"), "connection_refused"),
    (TimeoutError(), "timeout"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "tls"),
    (ConnectionResetError(104, "Connection reset by peer"), "connection_reset"),
    (OSError(101, "Network is unreachable"), "connection"),
])
def test_connect_errors_are_named_by_kind(error: OSError, kind: str) -> None:
    settings = ConnectionSettings(Origin("http", "api.test", 80), None, 1.0, 1.0, False, 1)
    mapped = connect_error(error, settings)
    assert mapped.kind == kind
    assert "api.test" in mapped.message


def test_refused_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error, _ = run(_connect_only(Origin("http", "127.0.0.1", port)))
    assert (error.kind, error.message) == ("connection_refused",
                                           f"connection refused by 127.0.0.1:{port}")


@pytest.mark.parametrize("loop", LOOPS)
def test_server_closing_mid_body_is_a_reset(loop: str) -> None:
    async def cut(server: RawServer, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        await writer.drain()

    error, server = run(one_request(cut, get()), loop)
    assert isinstance(error, FastHttpError)
    assert error.kind == "connection_reset"
    assert len(server.requests) == 1


def test_server_closing_without_an_answer_is_a_reset() -> None:
    async def hang_up(server: RawServer, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)

    error, _ = run(one_request(hang_up, get()))
    assert error.kind == "connection_reset"


@pytest.mark.parametrize("garbage", [b"SSH-2.0-OpenSSH_9.2\r\n\r\n", b"HTTP/1.1 abc\r\n\r\n"])
def test_bytes_that_are_not_http(garbage: bytes) -> None:
    error, _ = run(one_request(answer_each(garbage), get()))
    assert error.kind == "invalid_http"
    error, _ = run(one_request(answer_each(garbage), lambda o: encode_request("HEAD", "/", o)))
    assert error.kind == "invalid_http"


# --- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a trustme certificate for 127.0.0.1, and a client trusting it."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


@pytest.mark.parametrize("loop", LOOPS)
def test_tls_request_with_a_trusted_certificate(loop: str, tls: Any) -> None:
    server_context, client_context = tls

    async def main():
        async with RawServer(answer_each(OK), server_context) as server:
            pool = ConnectionPool(server.origin, ssl_context=client_context)
            connection = await pool.connection()
            responses = [await connection.request(encode_request("GET", "/s", server.origin))
                         for _ in range(3)]
            await pool.aclose()
            return responses, server

    responses, server = run(main(), loop)
    assert [r.body for r in responses] == [b"ok"] * 3
    assert server.connections == 1
    assert server.requests[0].startswith(b"GET /s HTTP/1.1\r\nHost: 127.0.0.1:")


def test_tls_with_an_untrusted_certificate(tls: Any) -> None:
    server_context, _ = tls

    async def main():
        async with RawServer(answer_each(OK), server_context) as server:
            return await _connect_only(server.origin, connect_timeout=5)

    error, _ = run(main())
    assert error.kind == "tls"
    assert "not trusted" in error.message


# --- FastTransport and the loops -----------------------------------------------------------


def test_fast_transport_returns_exchanges() -> None:
    app = RecordingApp({"GET /books": Canned(200, [{"id": 1}], headers={"x-n": "ü"}),
                        "POST /books": Canned(201, {"id": 2})})
    other = RecordingApp({"GET /ping": Canned(204)})
    with serve(app) as url, serve(other) as other_url:
        async def main():
            async with FastTransport(read_timeout=5) as transport:
                return [
                    await transport.send(Request("GET", f"{url}/books?limit=1",
                                                 [("Accept", "application/json")])),
                    await transport.send(Request("POST", f"{url}/books",
                                                 [("Content-Type", "application/json")],
                                                 b'{"title": "x"}')),
                    await transport.send(Request("GET", f"{other_url}/ping"), timeout=2),
                    await transport.send(Request("GET", "ftp://nowhere/")),
                ]

        listed, created, pinged, bad = run(main())
    response = listed.response
    assert (response.status, response.json(), response.header("x-n")) == (
        200, [{"id": 1}], "ü".encode().decode("latin-1"))
    assert response.media_type == "application/json"
    assert response.timings.total > 0
    assert created.response.status == 201
    assert pinged.response.status == 204 and pinged.response.body == b""
    assert bad.response is None and bad.failure.kind == "connection"
    assert [(r.method, r.path, r.query) for r in app.received] == [
        ("GET", "/books", "limit=1"), ("POST", "/books", "")]
    assert app.received[1].body == b'{"title": "x"}'
    assert app.received[0].headers["user-agent"] == f"assay/{__version__}"
    assert len(other.received) == 1


def test_fast_transport_reports_failures() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main():
        async with FastTransport() as transport:
            return await transport.send(Request("GET", f"http://127.0.0.1:{port}/"))

    exchange = run(main())
    assert exchange.response is None
    assert exchange.failure.kind == "connection_refused"


def test_new_event_loop_is_uvloop_when_installed() -> None:
    loop = new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_new_event_loop_falls_back_to_asyncio_without_uvloop() -> None:
    script = textwrap.dedent("""
        import sys
        sys.modules["uvloop"] = None  # as if uvloop were not installed
        import asyncio
        from assay.http.fastclient import ConnectionPool, Origin, encode_request, new_event_loop

        async def handle(reader, writer):
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
            await writer.drain()
            writer.close()

        async def main():
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            origin = Origin("http", "127.0.0.1", server.sockets[0].getsockname()[1])
            pool = ConnectionPool(origin)
            response = await pool.request(encode_request("GET", "/", origin))
            await pool.aclose()
            server.close()
            return response

        loop = new_event_loop()
        print(type(loop).__module__, loop.run_until_complete(main()).body)
        loop.close()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["asyncio.unix_events", "b'ok'"]

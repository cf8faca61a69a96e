"""The HTTP/1.1 server core of ``assay mock`` (``assay.http.fastserver``), over real sockets.

Each test starts a ``FastServer`` on 127.0.0.1 (port 0) in a thread of its own with
``serve_in_thread`` and talks to it with httpx or a raw socket; the handler records the
``ServerRequest`` objects it was given. Tests that matter for both event loops run on uvloop
and on asyncio's default loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import trustme
import uvloop

from assay.http.fastserver import FastServer, serve_in_thread
from assay.http.serving import ConnectionFault, ServerRequest, ServerResponse

LOOPS = {"uvloop": uvloop.new_event_loop, "asyncio": asyncio.new_event_loop}
TIMEOUT = 5.0  # seconds a raw socket waits before a test fails instead of hanging


class Recorder:
    """A handler: answers from ``routes`` (path to an answer or a function of the request),
    else 200 with ``echo:`` and the body; keeps every request it was given."""

    def __init__(self, routes: dict[str, Any] | None = None):
        self.routes = dict(routes or {})
        self.requests: list[ServerRequest] = []
        self.events: list[str] = []

    def __call__(self, request: ServerRequest) -> Any:
        self.requests.append(request)
        route = self.routes.get(request.path)
        if route is None:
            return ServerResponse(200, [("Content-Type", "text/plain")], b"echo:" + request.body)
        return route(request) if callable(route) else route


@pytest.fixture(params=sorted(LOOPS))
def loop_factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    """Each event loop the server must work on."""
    return LOOPS[request.param]


@contextmanager
def raw_socket(server: FastServer) -> Iterator[socket.socket]:
    """A plain TCP connection to ``server``, closed on exit."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        yield sock


def read_response(stream: Any, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One response from a socket's ``makefile("rb")``: status, headers (lower-case names),
    body (by Content-Length; none for HEAD)."""
    status_line = stream.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if head else int(headers.get("content-length", "0"))
    return int(status_line.split()[1]), headers, stream.read(length)


def read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# keep-alive, request fields, pipelining


def test_keep_alive_serves_several_requests_on_one_connection(loop_factory):
    handler = Recorder()
    with serve_in_thread(handler, loop_factory=loop_factory) as server, \
            httpx.Client(base_url=server.url) as client:
        answers = [client.post("/items/a%2Fb", params={"q": "x y"}, content=b"one"),
                   client.get("/items", headers={"X-Trace": "7"}),
                   client.delete("/items/3")]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].content == b"echo:one"
    assert answers[0].headers["server"] == "assay-mock"
    assert answers[0].headers["content-length"] == "8"
    assert "GMT" in answers[0].headers["date"]
    first, second, third = handler.requests
    assert (first.method, first.path, first.query, first.body) == (
        "POST", "/items/a%2Fb", "q=x+y", b"one")
    assert second.header("x-trace") == "7" and third.method == "DELETE"
    # One connection: the same client port for every request.
    assert len({request.client for request in handler.requests}) == 1
    assert first.client[0] == "127.0.0.1"


def test_request_keeps_header_order_case_and_duplicates_and_splits_targets():
    handler = Recorder()
    with serve_in_thread(handler) as server, raw_socket(server) as sock:
        sock.sendall(b"GET /a/b?x=1&x=2 HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nx-dup: 2\r\n"
                     b"X-CaSe: v\r\n\r\n"
                     b"GET http://example.com/p/q?r=s HTTP/1.1\r\nHost: example.com\r\n\r\n"
                     b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        stream = sock.makefile("rb")
        statuses = [read_response(stream)[0] for _ in range(3)]
    assert statuses == [200, 200, 200]
    first, absolute, star = handler.requests
    assert first.headers == [("Host", "h"), ("X-Dup", "1"), ("x-dup", "2"), ("X-CaSe", "v")]
    assert first.header_values("X-DUP") == ["1", "2"]
    assert (first.path, first.query, first.http_version) == ("/a/b", "x=1&x=2", "1.1")
    assert (absolute.path, absolute.query) == ("/p/q", "r=s")
    assert (star.method, star.path) == ("OPTIONS", "*")


def test_pipelined_requests_are_answered_in_order(loop_factory):
    handler = Recorder()

    async def slow(request: ServerRequest) -> ServerResponse:
        handler.events.append("slow started")
        await asyncio.sleep(0.05)
        handler.events.append("slow done")
        return ServerResponse(200, body=b"slow")

    def fast(request: ServerRequest) -> ServerResponse:
        handler.events.append("fast")
        return ServerResponse(200, body=b"fast")

    handler.routes = {"/slow": slow, "/fast": fast}
    with serve_in_thread(handler, loop_factory=loop_factory) as server, \
            raw_socket(server) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /fast HTTP/1.1\r\nHost: h\r\n\r\n")
        stream = sock.makefile("rb")
        bodies = [read_response(stream)[2] for _ in range(2)]
    assert bodies == [b"slow", b"fast"]
    # One request at a time: the second is handled only once the first is answered.
    assert handler.events == ["slow started", "slow done", "fast"]


def test_many_pipelined_requests_queue_and_are_all_answered_in_order(loop_factory):
    async def numbered(request: ServerRequest) -> ServerResponse:
        await asyncio.sleep(0)
        return ServerResponse(200, body=request.query.encode())

    handler = Recorder({"/n": numbered})
    count = 200  # more than the server queues before it pauses reading
    with serve_in_thread(handler, loop_factory=loop_factory) as server, \
            raw_socket(server) as sock:
        sock.sendall(b"".join(b"GET /n?%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(count)))
        stream = sock.makefile("rb")
        bodies = [read_response(stream)[2] for _ in range(count)]
    assert bodies == [b"%d" % i for i in range(count)]


def test_a_client_that_reads_late_still_gets_every_answer_in_order(loop_factory):
    # 300 answers of 100 kB, asked for at once and read only after: far more than the
    # socket buffers hold, so the server must stop answering until the client reads.
    big = b"x" * 100_000

    def numbered(request: ServerRequest) -> ServerResponse:
        return ServerResponse(200, body=request.query.encode() + big)

    count = 300
    with serve_in_thread(Recorder({"/n": numbered}), loop_factory=loop_factory) as server, \
            raw_socket(server) as sock:
        sock.sendall(b"".join(b"GET /n?%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(count)))
        stream = sock.makefile("rb")
        bodies = [read_response(stream)[2] for _ in range(count)]
    assert [body[:-len(big)] for body in bodies] == [b"%d" % i for i in range(count)]
    assert all(body.endswith(big) for body in bodies)


# bodies, Expect, HEAD, HTTP/1.0


def test_chunked_request_body_is_joined():
    handler = Recorder()
    with serve_in_thread(handler) as server, httpx.Client() as client:
        answer = client.post(server.url + "/up", content=iter([b"abc", b"", b"defg", b"h"]))
    assert answer.content == b"echo:abcdefgh"
    (request,) = handler.requests
    assert request.body == b"abcdefgh"
    assert request.header("transfer-encoding") == "chunked"


def test_expect_100_continue_is_answered_before_the_body_is_sent():
    handler = Recorder()
    with serve_in_thread(handler) as server, raw_socket(server) as sock:
        sock.sendall(b"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        stream = sock.makefile("rb")
        assert stream.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert stream.readline() == b"\r\n"
        assert handler.requests == []  # nothing handled before the body came
        sock.sendall(b"hello")
        status, _, body = read_response(stream)
    assert (status, body) == (200, b"echo:hello")


def test_head_gets_the_headers_of_get_without_a_body():
    handler = Recorder({"/doc": ServerResponse(200, [("Content-Type", "text/plain")], b"12345")})
    with serve_in_thread(handler) as server, raw_socket(server) as sock:
        sock.sendall(b"HEAD /doc HTTP/1.1\r\nHost: h\r\n\r\nGET /doc HTTP/1.1\r\nHost: h\r\n\r\n")
        stream = sock.makefile("rb")
        head_status, head_headers, _ = read_response(stream, head=True)
        # Were a body sent after the HEAD answer, this would read it instead of a status line.
        get_status, get_headers, get_body = read_response(stream)
    assert head_status == get_status == 200
    assert head_headers["content-length"] == get_headers["content-length"] == "5"
    assert get_body == b"12345"


def test_http_1_0_closes_after_the_answer_unless_keep_alive_is_asked():
    handler = Recorder()
    with serve_in_thread(handler) as server:
        with raw_socket(server) as sock:
            sock.sendall(b"GET /once HTTP/1.0\r\n\r\n")
            raw = read_to_end(sock)
        with raw_socket(server) as sock:
            sock.sendall(b"GET /kept HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            stream = sock.makefile("rb")
            _, headers, _ = read_response(stream)
            sock.sendall(b"GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, _, body = read_response(stream)
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close\r\n" in raw
    assert raw.endswith(b"\r\n\r\necho:")  # then the server closed: read_to_end returned
    assert headers["connection"] == "keep-alive"
    assert (status, body) == (200, b"echo:")
    assert [r.http_version for r in handler.requests] == ["1.0", "1.0", "1.0"]


def test_half_closed_client_still_gets_its_answer():
    async def later(request: ServerRequest) -> ServerResponse:
        await asyncio.sleep(0.02)
        return ServerResponse(200, body=b"later")

    with serve_in_thread(Recorder({"/later": later})) as server, raw_socket(server) as sock:
        sock.sendall(b"GET /later HTTP/1.1\r\nHost: h\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        raw = read_to_end(sock)
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and raw.endswith(b"\r\n\r\nlater")


def test_an_upgrade_request_is_answered_as_http_then_the_connection_closes():
    handler = Recorder()
    with serve_in_thread(handler) as server, raw_socket(server) as sock:
        sock.sendall(b"GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
                     b"\r\nPRI * HTTP/2.0\r\n\r\n")
        raw = read_to_end(sock)
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and raw.endswith(b"echo:")
    assert [r.path for r in handler.requests] == ["/up"]


# what the server adds to an answer


def test_handler_headers_win_and_bodiless_statuses_get_no_length():
    chunked = b"3\r\nabc\r\n0\r\n\r\n"
    handler = Recorder({
        "/own": ServerResponse(200, [("Server", "vendor/1"), ("Content-Length", "2")], b"ok"),
        "/empty": ServerResponse(204, [], b"ignored"),
        "/chunked": ServerResponse(200, [("Transfer-Encoding", "chunked")], chunked),
        "/odd": ServerResponse(299, [], b"x"),
    })
    with serve_in_thread(handler, server_name="probe") as server, raw_socket(server) as sock:
        sock.sendall(b"".join(b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % path
                              for path in (b"/own", b"/empty", b"/chunked", b"/odd", b"/")))
        sock.sendall(b"GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        raw = read_to_end(sock)
    answers = raw.split(b"HTTP/1.1 ")[1:]
    assert len(answers) == 6
    assert answers[0].startswith(b"200 OK\r\n") and answers[0].count(b"Content-Length") == 1
    assert b"Server: vendor/1\r\n" in answers[0] and b"Server: probe" not in answers[0]
    assert answers[1].startswith(b"204 No Content\r\n") and answers[1].endswith(b"\r\n\r\n")
    assert b"Content-Length" not in answers[1]
    assert b"Content-Length" not in answers[2] and answers[2].endswith(b"\r\n\r\n" + chunked)
    assert answers[3].startswith(b"299 \r\n")
    assert b"Server: probe\r\n" in answers[4]
    assert b"Connection: close\r\n" in answers[5]  # and the server closed: read_to_end ended


def test_handler_connection_close_header_closes_the_connection():
    handler = Recorder({"/bye": ServerResponse(200, [("Connection", "close")], b"bye")})
    with serve_in_thread(handler) as server, raw_socket(server) as sock:
        sock.sendall(b"GET /bye HTTP/1.1\r\nHost: h\r\n\r\nGET /never HTTP/1.1\r\nHost: h\r\n\r\n")
        raw = read_to_end(sock)
    assert raw.endswith(b"\r\n\r\nbye") and raw.count(b"HTTP/1.1") == 1
    assert [r.path for r in handler.requests] == ["/bye"]


# bad requests and failing handlers


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"FROB / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
])
def test_a_malformed_request_gets_400_and_the_connection_closes(loop_factory, raw):
    handler = Recorder()
    with serve_in_thread(handler, loop_factory=loop_factory) as server, \
            raw_socket(server) as sock:
        sock.sendall(b"GET /fine HTTP/1.1\r\nHost: h\r\n\r\n" + raw)
        answer = read_to_end(sock)
    first, second = answer.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 OK\r\n")  # the request before it is answered first
    assert second.startswith(b"400 Bad Request\r\n") and b"Connection: close\r\n" in second
    assert [r.path for r in handler.requests] == ["/fine"]


@pytest.mark.parametrize(("raw", "status"), [
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n", b"414"),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000) for i in range(70))
     + b"\r\n", b"431"),
])
def test_an_oversized_head_is_refused(raw, status):
    handler = Recorder()
    with serve_in_thread(handler) as server, raw_socket(server) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = read_to_end(sock)
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")
    assert handler.requests == []


def test_a_body_over_max_body_gets_413():
    handler = Recorder()
    with serve_in_thread(handler, max_body=1000) as server:
        with httpx.Client() as client:
            fits = client.post(server.url + "/", content=b"x" * 1000)
            by_length = client.post(server.url + "/", content=b"x" * 200_000)
        with httpx.Client() as client:
            chunked = client.post(server.url + "/",
                                  content=iter([b"x" * 600, b"x" * 600, b"x" * 100_000]))
    assert fits.status_code == 200
    assert by_length.status_code == 413 and by_length.headers["connection"] == "close"
    assert chunked.status_code == 413 and b"1000 bytes" in chunked.content
    assert len(handler.requests) == 1


def test_a_client_still_sending_a_rejected_body_gets_the_413_not_a_reset():
    body = b"x" * 8_000_000  # more than the socket buffers hold: sending outlasts the 413
    with serve_in_thread(Recorder(), max_body=1000) as server, raw_socket(server) as sock:
        # A reset here would mean the server closed with unread input instead of draining it.
        sock.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(body)
                     + body)
        status, headers, _ = read_response(sock.makefile("rb"))
        sock.shutdown(socket.SHUT_WR)
        rest = read_to_end(sock)
    assert (status, headers["connection"], rest) == (413, "close", b"")


def test_handler_failures_get_500_and_the_server_keeps_serving(loop_factory, caplog):
    def boom(request: ServerRequest) -> ServerResponse:
        raise RuntimeError("sync boom")

    async def async_boom(request: ServerRequest) -> ServerResponse:
        raise RuntimeError("async boom")

    handler = Recorder({
        "/boom": boom, "/async-boom": async_boom,
        "/wrong-type": lambda request: "not a response",
        "/bad-header": ServerResponse(200, [("X-Split", "a\r\nInjected: 1")], b""),
    })
    caplog.set_level(logging.ERROR, logger="assay.mock")
    with serve_in_thread(handler, loop_factory=loop_factory) as server, \
            httpx.Client(base_url=server.url) as client:
        failed = [client.get(path) for path in ("/boom", "/async-boom", "/wrong-type",
                                                "/bad-header")]
        after = client.get("/fine")
    assert [a.status_code for a in failed] == [500, 500, 500, 500]
    assert "Injected" not in failed[3].headers
    assert failed[0].headers["content-type"].startswith("text/plain")
    assert after.status_code == 200 and after.content == b"echo:"
    messages = [record.getMessage() for record in caplog.records if record.name == "assay.mock"]
    assert len(messages) == 4
    assert "GET /boom" in messages[0] and "GET /async-boom" in messages[1]
    assert "not a ServerResponse" in messages[2]


# connection faults


@pytest.mark.parametrize(("kind", "error"), [
    ("connection_reset", httpx.ReadError),
    ("empty_response", httpx.RemoteProtocolError),
    ("malformed_chunk", httpx.RemoteProtocolError),
    ("random_data_then_close", httpx.RemoteProtocolError),
    ("timeout", httpx.ReadTimeout),
])
def test_each_fault_breaks_the_connection_as_the_client_sees_it(loop_factory, kind, error):
    async def delayed(request: ServerRequest) -> ConnectionFault:
        await asyncio.sleep(0)
        return ConnectionFault(kind)

    handler = Recorder({"/fault": ConnectionFault(kind), "/delayed": delayed})
    with serve_in_thread(handler, loop_factory=loop_factory) as server, \
            httpx.Client(base_url=server.url, timeout=0.3) as client:
        with pytest.raises(error):
            client.get("/fault")
        with pytest.raises(error):
            client.get("/delayed")  # the same, answered from a coroutine
        assert client.get("/fine").status_code == 200  # on a new connection
    assert [r.path for r in handler.requests] == ["/fault", "/delayed", "/fine"]


def test_connection_reset_is_a_tcp_reset(loop_factory):
    handler = Recorder({"/reset": ConnectionFault("connection_reset")})
    with serve_in_thread(handler, loop_factory=loop_factory) as server, \
            raw_socket(server) as sock:
        sock.sendall(b"GET /reset HTTP/1.1\r\nHost: h\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            read_to_end(sock)


def test_malformed_chunk_and_random_data_on_the_wire():
    handler = Recorder({"/chunk": ConnectionFault("malformed_chunk"),
                        "/data": ConnectionFault("random_data_then_close", b"\x00garbage\xff"),
                        "/random": ConnectionFault("random_data_then_close")})
    with serve_in_thread(handler) as server:
        received = {}
        for path in ("/chunk", "/data", "/random"):
            with raw_socket(server) as sock:
                sock.sendall(b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % path.encode())
                received[path] = read_to_end(sock)
    head, _, rest = received["/chunk"].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Transfer-Encoding: chunked" in head
    assert rest.startswith(b"zz\r\n")
    assert received["/data"] == b"\x00garbage\xff"
    assert len(received["/random"]) == 64


def test_timeout_holds_the_connection_until_close(loop_factory):
    seen = threading.Event()

    def hold(request: ServerRequest) -> ConnectionFault:
        seen.set()
        return ConnectionFault("timeout")

    with raw_socket_to_held_server(hold, loop_factory, seen) as (sock, held):
        assert held == b"nothing"
        # Leaving the block closed the server: the held connection was closed, not left open.
        sock.settimeout(TIMEOUT)
        assert read_to_end(sock) == b""


@contextmanager
def raw_socket_to_held_server(handler: Callable, loop_factory: Callable,
                              seen: threading.Event) -> Iterator[tuple[socket.socket, bytes]]:
    """A raw socket whose request the server holds; yields it after the server closed, with
    what a short read got while the request was held (``b"nothing"`` for a read timeout)."""
    with serve_in_thread(handler, loop_factory=loop_factory) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        sock.sendall(b"GET /hold HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        assert seen.wait(TIMEOUT)
        sock.settimeout(0.1)
        try:
            held = sock.recv(100) or b"closed"
        except TimeoutError:
            held = b"nothing"
    with sock:
        yield sock, held


def test_close_cancels_handlers_in_progress(loop_factory):
    started = threading.Event()
    outcome: list[str] = []

    async def forever(request: ServerRequest) -> ServerResponse:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        return ServerResponse(200)

    with serve_in_thread(Recorder({"/forever": forever}), loop_factory=loop_factory) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        sock.sendall(b"GET /forever HTTP/1.1\r\nHost: h\r\n\r\n")
        assert started.wait(TIMEOUT)
    with sock:
        assert read_to_end(sock) == b""
    assert outcome == ["cancelled"]


# TLS, addresses, lifecycle


def test_tls_with_a_trusted_certificate():
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    handler = Recorder()
    with serve_in_thread(handler, ssl_context=server_context) as server, \
            httpx.Client(verify=client_context) as client:
        answers = [client.post(server.url + "/tls", content=b"secret") for _ in range(2)]
    assert server.url.startswith("https://127.0.0.1:")
    assert [a.content for a in answers] == [b"echo:secret", b"echo:secret"]
    assert len({r.client for r in handler.requests}) == 1


def test_url_brackets_an_ipv6_host_and_port_is_the_bound_one():
    assert FastServer(Recorder(), host="::1", port=8123).url == "http://[::1]:8123"
    with serve_in_thread(Recorder()) as server:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"


def test_start_on_a_port_in_use_raises_oserror():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            with serve_in_thread(Recorder(), port=port):
                pass


def test_serve_forever_serves_until_close():
    async def main() -> tuple[bytes, bool]:
        server = FastServer(Recorder())
        serving = asyncio.create_task(server.serve_forever())
        while server.port == 0:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        await server.close()
        await serving
        return answer, serving.done()

    answer, done = asyncio.run(main())
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and done


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="max_body"):
        FastServer(Recorder(), max_body=-1)
    with pytest.raises(ValueError, match="server_name"):
        FastServer(Recorder(), server_name="a\r\nb")

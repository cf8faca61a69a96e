"""HttpxTransport against real servers on 127.0.0.1: what they receive, and every way a
target can fail (refused, timeout, garbage, reset, TLS), retries and rate limiting."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable

import httpx
import pytest

from assay.core.records import Request
from assay.http import HttpOptions, HttpxTransport, failure_from_exception
from assay.http.transport import retry_delay
from servers import Canned, RecordingApp, serve


def run(coro):
    return asyncio.run(coro)


def free_port() -> int:
    """A port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def send(url: str, options: HttpOptions | None = None, **request):
    async with HttpxTransport(options or HttpOptions(trust_env=False, timeout=5)) as transport:
        return await transport.send(Request(request.pop("method", "GET"), url, **request))


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def with_raw_server(handler: Handler, client: Callable[[int], Awaitable]):
    """Run ``client(port)`` against an asyncio TCP server calling ``handler``."""

    async def guarded(reader, writer):
        try:
            await handler(reader, writer)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await client(port)
    finally:
        server.close()
        await server.wait_closed()


# -- what the server receives and what comes back ------------------------------------------


def test_sends_method_url_headers_body_and_reads_response():
    app = RecordingApp({"POST /v2/books": Canned(201, {"id": 7}, {"x-trace": "abc"})})
    with serve(app) as base:
        request = Request(
            "POST", f"{base}/v2/books?limit=5&tag=a&tag=b",
            [("Content-Type", "application/json"), ("X-Dup", "1"), ("X-Dup", "2")],
            b'{"title": "Dune"}',
        )

        async def go():
            async with HttpxTransport(HttpOptions(trust_env=False, timeout=5)) as transport:
                return await transport.send(request)

        exchange = run(go())
    received = app.received[0]
    assert (received.method, received.path) == ("POST", "/v2/books")
    assert received.query == "limit=5&tag=a&tag=b"
    assert received.json() == {"title": "Dune"}
    assert received.headers["user-agent"].startswith("assay/")
    assert exchange.failure is None and exchange.request is request
    response = exchange.response
    assert response.status == 201 and response.reason == "Created"
    assert response.http_version == "HTTP/1.1"
    assert response.json() == {"id": 7}
    assert response.header("X-Trace") == "abc"
    assert response.timings.total > 0
    assert response.timings.connect is not None and response.timings.ttfb is not None
    assert response.timings.tls is None


async def _duplicates_and_gzip(scope, receive, send):
    if scope["type"] != "http":
        return
    await receive()
    body = gzip.compress(b'{"ok": true}')
    headers = [(b"content-type", b"application/json"), (b"set-cookie", b"a=1"),
               (b"set-cookie", b"b=2"), (b"content-encoding", b"gzip")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def test_response_keeps_duplicate_headers_in_order_and_decodes_gzip():
    with serve(_duplicates_and_gzip) as base:
        exchange = run(send(base + "/"))
    response = exchange.response
    assert response.header_values("set-cookie") == ["a=1", "b=2"]
    assert response.body == b'{"ok": true}'
    names = [name.lower() for name, _ in response.headers]
    assert names.index("content-type") < names.index("set-cookie")


def test_cookies_set_by_the_server_are_not_sent_back():
    app = RecordingApp({"GET /": Canned(200, "hi", {"set-cookie": "session=abc"})})
    with serve(app) as base:

        async def twice():
            async with HttpxTransport(HttpOptions(trust_env=False, timeout=5)) as transport:
                await transport.send(Request("GET", base + "/"))
                return await transport.send(Request("GET", base + "/"))

        run(twice())
    assert "cookie" not in app.received[1].headers


def test_non_ascii_header_values_are_sent_as_utf8():
    app = RecordingApp({"GET /": Canned(200, "ok")})
    with serve(app) as base:
        exchange = run(send(base + "/", headers=[("X-Name", "café")]))
    assert exchange.response.status == 200
    # The recording server decodes header bytes as UTF-8.
    assert app.received[0].headers["x-name"] == "café"


# -- failures --------------------------------------------------------------------------------


def test_refused_connection_is_a_failure_not_an_exception():
    port = free_port()
    exchange = run(send(f"http://127.0.0.1:{port}/"))
    assert exchange.response is None
    assert exchange.failure.kind == "connection_refused"
    assert exchange.failure.message == f"connection refused by 127.0.0.1:{port}"


def test_slow_server_times_out():
    app = RecordingApp({"GET /slow": Canned(200, "late", delay=0.6)})
    with serve(app) as base:
        exchange = run(send(base + "/slow", HttpOptions(trust_env=False, timeout=0.2)))
    assert exchange.failure.kind == "timeout"
    assert exchange.failure.message == "no response within 0.2 s"


def test_per_request_timeout_overrides_the_default():
    app = RecordingApp({"GET /slow": Canned(200, "late", delay=0.6)})
    with serve(app) as base:

        async def go():
            async with HttpxTransport(HttpOptions(trust_env=False, timeout=30)) as transport:
                return await transport.send(Request("GET", base + "/slow"), timeout=0.2)

        exchange = run(go())
    assert exchange.failure.kind == "timeout"


async def _garbage(reader, writer):
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"this is not HTTP at all\r\n\r\n")
    await writer.drain()


async def _close_after_request(reader, writer):
    await reader.readuntil(b"\r\n\r\n")


async def _reset_after_request(reader, writer):
    await reader.readuntil(b"\r\n\r\n")
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_garbage_instead_of_http_is_invalid_http():
    exchange = run(with_raw_server(_garbage, lambda port: send(f"http://127.0.0.1:{port}/")))
    assert exchange.failure.kind == "invalid_http"
    assert exchange.failure.message.startswith("invalid HTTP response from 127.0.0.1:")


def test_server_closing_without_answer_is_connection_reset():
    exchange = run(
        with_raw_server(_close_after_request, lambda port: send(f"http://127.0.0.1:{port}/"))
    )
    assert exchange.failure.kind == "connection_reset"
    assert "closed the connection without a response" in exchange.failure.message


def test_tcp_reset_is_connection_reset():
    exchange = run(
        with_raw_server(_reset_after_request, lambda port: send(f"http://127.0.0.1:{port}/"))
    )
    assert exchange.failure.kind == "connection_reset"


def test_exception_mapping_covers_dns_and_local_errors():
    dns = httpx.ConnectError("x")
    dns.__cause__ = socket.gaierror(-2, "Name or service not known")
    failure = failure_from_exception(dns, url="http://api.invalid/x", timeout=1.0)
    assert (failure.kind, failure.message) == ("dns", "cannot resolve host api.invalid")
    local = failure_from_exception(httpx.LocalProtocolError("Illegal header value"),
                                   url="http://h/", timeout=1.0)
    assert local.kind == "invalid_http"
    bad_url = failure_from_exception(httpx.UnsupportedProtocol("no ftp"), url="ftp://h/",
                                     timeout=1.0)
    assert bad_url.kind == "connection"


def test_unsupported_scheme_is_a_failure():
    exchange = run(send("ftp://127.0.0.1/file"))
    assert exchange.failure.kind == "connection"
    assert "ftp://127.0.0.1/file" in exchange.failure.message


# -- retries ---------------------------------------------------------------------------------


def test_a_request_that_reached_the_server_is_never_retried():
    connections: list[int] = []

    async def handler(reader, writer):
        connections.append(1)
        await _close_after_request(reader, writer)

    options = HttpOptions(trust_env=False, timeout=5, retries=3, retry_backoff=0.01)
    exchange = run(with_raw_server(handler, lambda p: send(f"http://127.0.0.1:{p}/", options)))
    assert exchange.failure.kind == "connection_reset"
    assert connections == [1]


def test_refused_connections_are_retried_and_say_so():
    port = free_port()
    exchange = run(send(f"http://127.0.0.1:{port}/",
                        HttpOptions(trust_env=False, timeout=5, retries=2, retry_backoff=0.01)))
    assert exchange.failure.kind == "connection_refused"
    assert exchange.failure.message.endswith("(after 3 attempts)")


def test_retry_delays_double_and_are_capped():
    assert [retry_delay(n, 0.1) for n in (1, 2, 3)] == [0.1, 0.2, 0.4]
    assert retry_delay(10, 0.1) == 2.0


# -- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (needs the cryptography package)."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


def tls_handler(context: ssl.SSLContext, connections: list[int], drop_first: int = 0) -> Handler:
    """Counts connections; drops the first ``drop_first`` before the TLS handshake."""

    async def handler(reader, writer):
        connections.append(1)
        if len(connections) <= drop_first:
            return
        await writer.start_tls(context)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()

    return handler


def test_self_signed_certificate_fails_unless_insecure(certificate):
    connections: list[int] = []
    handler = tls_handler(certificate, connections)

    async def both(port):
        url = f"https://127.0.0.1:{port}/"
        strict = await send(url, HttpOptions(trust_env=False, timeout=5, retries=2, retry_backoff=0.01))
        insecure = await send(url, HttpOptions(trust_env=False, timeout=5, verify=False))
        return strict, insecure

    strict, insecure = run(with_raw_server(handler, both))
    assert strict.failure.kind == "tls"
    assert "not trusted" in strict.failure.message
    assert insecure.response.status == 200 and insecure.response.body == b"ok"
    assert insecure.response.timings.tls is not None
    # An untrusted certificate is final: one attempt for the strict client, one insecure.
    assert len(connections) == 2


def test_interrupted_handshakes_are_retried_and_counted_by_the_server(certificate):
    connections: list[int] = []
    handler = tls_handler(certificate, connections, drop_first=2)
    options = HttpOptions(trust_env=False, timeout=5, verify=False, retries=3, retry_backoff=0.01)
    exchange = run(with_raw_server(handler, lambda p: send(f"https://127.0.0.1:{p}/", options)))
    assert exchange.response.status == 200
    assert len(connections) == 3


def test_interrupted_handshake_without_enough_retries_is_a_tls_failure(certificate):
    connections: list[int] = []
    handler = tls_handler(certificate, connections, drop_first=5)
    options = HttpOptions(trust_env=False, timeout=5, verify=False, retries=1, retry_backoff=0.01)
    exchange = run(with_raw_server(handler, lambda p: send(f"https://127.0.0.1:{p}/", options)))
    assert exchange.failure.kind == "tls"
    assert exchange.failure.message.endswith("(after 2 attempts)")
    assert len(connections) == 2


def test_https_to_a_plain_http_server_fails_the_handshake():
    app = RecordingApp({"GET /": Canned(200, "plain")})
    with serve(app) as base:
        exchange = run(send(base.replace("http://", "https://") + "/"))
    assert exchange.failure.kind == "tls"
    assert app.received == []


# -- rate limiting ---------------------------------------------------------------------------


def test_rate_limit_paces_every_send_through_the_injected_sleep():
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 6))

    app = RecordingApp({"GET /": Canned(200, "ok")})
    with serve(app) as base:

        async def go():
            transport = HttpxTransport(HttpOptions(trust_env=False, timeout=5, rate_limit=10),
                                       clock=lambda: 100.0, sleep=fake_sleep)
            async with transport:
                return [await transport.send(Request("GET", base + "/")) for _ in range(3)]

        exchanges = run(go())
    assert [e.response.status for e in exchanges] == [200, 200, 200]
    assert len(app.received) == 3
    # A clock that stands still: the 2nd and 3rd sends wait 1 and 2 intervals of 0.1 s.
    assert sleeps == [0.1, 0.2]


def test_options_are_validated_with_the_flag_name():
    from assay.core.errors import UsageError

    with pytest.raises(UsageError, match="--retries"):
        HttpOptions(retries=-1)
    with pytest.raises(UsageError, match="--rate-limit"):
        HttpOptions(rate_limit=0)


def test_a_request_the_client_cannot_send_is_a_failure_not_an_exception():
    app = RecordingApp()
    with serve(app) as base:
        exchange = run(send(base + "/", headers=[("X-Broken", "line\r\nInjected: yes")]))
    assert exchange.failure.kind == "invalid_http"
    assert exchange.failure.message.startswith("could not send the request")
    assert app.received == []

"""A small, fast HTTP/1.1 server for load tests: counts what it received, can stall.

uvicorn in a thread of the test process competes with the test for the GIL and answers a
few thousand requests per second; this server parses just enough HTTP/1.1 (request line,
headers, Content-Length bodies, keep-alive) on its own asyncio loop in a thread, and counts
requests per method and path, and connections, so tests can compare what assay says it sent
with what arrived.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Received:
    """What the server saw: requests by "METHOD /path", connections, bodies (the first 100)."""

    requests: Counter = field(default_factory=Counter)
    connections: int = 0
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


Responder = Callable[[str, str, bytes], tuple[int, bytes, float]]


def ok(method: str, path: str, body: bytes) -> tuple[int, bytes, float]:
    """200 "ok" at once."""
    return 200, b"ok", 0.0


class _Protocol(asyncio.Protocol):
    def __init__(self, server: LoadServer):
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.queue: list[asyncio.Future] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.received.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(rest) < length:
                return
            body, self.buffer = rest[:length], rest[length:]
            self._handle(method, target, headers, body)

    def _handle(self, method: str, target: str, headers: dict, body: bytes) -> None:
        received = self.server.received
        path = target.split("?", 1)[0]
        received.requests[f"{method} {path}"] += 1
        if len(received.bodies) < 100:
            received.bodies.append(body)
            received.headers.append(headers)
        status, payload, delay = self.server.responder(method, target, body)
        data = (f"HTTP/1.1 {status} X\r\nContent-Length: {len(payload)}\r\n"
                f"Content-Type: text/plain\r\n\r\n").encode() + payload
        loop = asyncio.get_running_loop()
        if delay <= 0 and not self.queue:
            self.transport.write(data)
            return
        # Keep responses in request order on the connection, however long each waits.
        future = loop.create_future()
        self.queue.append(future)
        loop.call_later(max(delay, 0), future.set_result, data)
        future.add_done_callback(lambda _: self._drain())

    def _drain(self) -> None:
        while self.queue and self.queue[0].done():
            data = self.queue.pop(0).result()
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(data)


class LoadServer:
    """The server; ``received`` is safe to read after the load ran (the test waits)."""

    def __init__(self, responder: Responder = ok):
        self.responder = responder
        self.received = Received()
        self.loop = asyncio.new_event_loop()
        self.port = 0

    def run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            self.loop.create_server(lambda: _Protocol(self), "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()
        server.close()
        self.loop.run_until_complete(server.wait_closed())
        self.loop.close()


@contextmanager
def load_server(responder: Responder = ok) -> Iterator[tuple[str, Received]]:
    """Serve on 127.0.0.1 (port 0); yields ``(base URL, Received)``."""
    server = LoadServer(responder)
    started = threading.Event()
    thread = threading.Thread(target=server.run, args=(started,), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("load test server did not start")
    try:
        yield f"http://127.0.0.1:{server.port}", server.received
    finally:
        server.loop.call_soon_threadsafe(server.loop.stop)
        thread.join(timeout=10)

"""Real HTTP servers on 127.0.0.1 (port 0) for tests, and an app that records what it got.

``serve(app)`` runs any ASGI app under uvicorn in a background thread and yields its base
URL; ``RecordingApp`` answers from a table of canned responses and keeps every request it
received, so tests assert on what was really sent over the wire.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@contextmanager
def serve(app: Any, *, lifespan: str = "auto") -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 with a free port; yields ``http://127.0.0.1:PORT``."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Canned:
    """A response to send: status, headers, body (bytes, str or JSON-able)."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("content-type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("content-type", "application/json")
        return json.dumps(self.body).encode(), headers


Handler = Callable[[Received], Canned]


class RecordingApp:
    """An ASGI app that records requests and answers from ``routes``.

    ``routes`` maps ``"METHOD /path"`` to a ``Canned`` response or a function of the
    ``Received`` request returning one; anything else gets 404.
    """

    def __init__(self, routes: dict[str, Canned | Handler] | None = None):
        self.routes: dict[str, Canned | Handler] = dict(routes or {})
        self.received: list[Received] = []

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Received(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode(),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
        )
        self.received.append(request)
        route = self.routes.get(f"{request.method} {request.path}")
        if route is None:
            canned = Canned(404, {"error": "not found"})
        elif callable(route):
            canned = route(request)
        else:
            canned = route
        if canned.delay:
            import asyncio

            await asyncio.sleep(canned.delay)
        payload, headers = canned.encoded()
        raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": canned.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

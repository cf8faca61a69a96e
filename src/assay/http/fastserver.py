"""The HTTP/1.1 server core of ``assay mock``: asyncio (uvloop when installed) + httptools.

Why our own server rather than uvicorn: the mock must break connections on purpose (reset,
close without a response, a malformed chunk, hold a request forever), which an ASGI server
cannot be asked to do, and it must be fast (the goal is several times Prism's requests/s).
With ``bench/fastserver_raw.py`` (wrk -t1 -c64 on the other core, a prebuilt 2-byte
answer) it served up to 75k requests/s on one core (Prism: 2.3-4.1k); the Python side costs
about 3.5 us per request, the rest is the kernel's read and write.

- ``FastServer(handler)``: ``await start()``, ``url``, ``await close()``, ``serve_forever()``.
- ``serve_in_thread(handler)``: a started server on a loop of its own (tests, benchmarks).

A connection is a ``serverwire.ServerWire`` (parsing, ordering, faults); the bytes of an
answer come from ``serverencode.ResponseEncoder``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from .fastclient import new_event_loop
from .serverencode import ResponseEncoder
from .serverwire import ServerWire, WireContext
from .serving import Handler

__all__ = ["FastServer", "new_event_loop", "serve_in_thread"]

# How long close() waits for handler tasks and sockets before it aborts what is left.
_CLOSE_GRACE = 2.0


class FastServer:
    """An HTTP/1.1 server that asks ``handler`` for the answer to each request.

    ``handler(request)`` returns a ``ServerResponse`` or a ``ConnectionFault`` (the fast
    path), or an awaitable of one. A handler that raises gets a 500 and the error is logged
    on the ``assay.mock`` logger; the server keeps serving. ``max_body``: larger request
    bodies get 413. ``server_name``: the ``Server`` header, unless the handler sets one::

        server = FastServer(lambda request: ServerResponse(200, body=b"ok"))
        await server.start()          # port 0: a free port
        print(server.url)             # http://127.0.0.1:PORT
        await server.close()
    """

    def __init__(self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None, max_body: int = 10 * 2**20,
                 server_name: str = "assay-mock"):
        if max_body < 0:
            raise ValueError(f"max_body must be 0 or more, got {max_body}")
        self.host = host
        self.ssl_context = ssl_context
        self._port = port
        self._context = WireContext(handler, ResponseEncoder(server_name), max_body,
                                    ssl_context is not None, logging.getLogger("assay.mock"))
        self._server: asyncio.AbstractServer | None = None
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        """Listen (port 0: a free port). ``OSError`` when the address cannot be bound."""
        context = self._context
        if context.closing:
            raise RuntimeError("this server was closed; create a new one")
        if self._server is not None:
            return
        context.loop = asyncio.get_running_loop()
        server = await self._listen(self._port)
        ports = [sock.getsockname()[1] for sock in server.sockets]
        if len(set(ports)) > 1:
            # A name with several addresses (localhost: ::1 and 127.0.0.1) and port 0: each
            # socket got its own port. Listen again, on the first one's port for all.
            server.close()
            await server.wait_closed()
            server = await self._listen(ports[0])
        self._server = server
        self._port = ports[0]

    async def _listen(self, port: int) -> asyncio.AbstractServer:
        context = self._context
        return await context.loop.create_server(
            lambda: ServerWire(context), self.host, port, ssl=self.ssl_context, backlog=4096)

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose, once started with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT`` (``https://`` with TLS, IPv6 bracketed)."""
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    async def serve_forever(self) -> None:
        """Start if needed, then serve until ``close()`` (or until cancelled: then close)."""
        await self.start()
        try:
            await self._stopped.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop listening and close every connection, held ones included; handler tasks in
        progress are cancelled. What is not closed within a grace period is aborted."""
        context = self._context
        if context.closing:
            await self._stopped.wait()
            return
        context.closing = True
        if self._server is not None:
            self._server.close()
        wires = list(context.wires)
        tasks = [wire.task for wire in wires if wire.task is not None]
        for wire in wires:
            wire.shut()
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_GRACE)
        if context.wires:
            try:
                await asyncio.wait_for(context.all_gone.wait(), _CLOSE_GRACE)
            except TimeoutError:
                for wire in list(context.wires):
                    wire.transport.abort()  # a client that does not read what was sent
        if self._server is not None:
            await self._server.wait_closed()
        self._stopped.set()


@contextlib.contextmanager
def serve_in_thread(handler: Handler, *,
                    loop_factory: Callable[[], asyncio.AbstractEventLoop] = new_event_loop,
                    on_close: Callable[[], Awaitable[None]] | None = None,
                    **kwargs: Any) -> Iterator[FastServer]:
    """A started ``FastServer`` on an event loop of its own in a daemon thread (uvloop when
    installed); closed, and the loop stopped, on exit. ``kwargs`` go to ``FastServer``;
    ``on_close`` runs on that loop after the server closed (to release what the handler
    holds there, such as an HTTP client's connections).

    The handler runs in that thread. For tests and benchmarks::

        with serve_in_thread(lambda request: ServerResponse(200, body=b"ok")) as server:
            httpx.get(server.url)
    """
    server = FastServer(handler, **kwargs)
    loop = loop_factory()
    thread = threading.Thread(target=loop.run_forever, name="assay-fastserver", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result()
        yield server
    finally:
        try:
            asyncio.run_coroutine_threadsafe(server.close(), loop).result()
            if on_close is not None:
                asyncio.run_coroutine_threadsafe(on_close(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

"""An HTTP server that stalls: every response due in the first 250 ms of each second waits.

Usage: ``python bench/stall_server.py --port 8080 [--stall-ms 250] [--period-ms 1000]``
(``taskset -c 0`` in front to pin it, as ``bench/load_accuracy.py`` does).

Every request that arrives while ``time.time() % period < stall`` is held until that window
ends, then all of them are answered at once; the others are answered at once. At a constant
arrival rate the true latency distribution follows: 75% near zero, 25% spread evenly over
0-250 ms, so p90 is about 150 ms and p99 about 240 ms. The server measures it as well: for
every request, the time from its arrival to its response (the hold time).

- ``GET /__stats``: the hold times observed so far, as JSON (count, held, percentiles in ms);
  ``GET /__reset``: forget them. Neither is held or counted.
- Any other request: ``200`` with the body ``ok``.
- On SIGTERM or Ctrl-C the server prints the same statistics and exits.

A plain asyncio ``Protocol`` with httptools parsing: keeps up with thousands of requests per
second on one core, far above the 1000/s of the accuracy benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import sys
import time
from collections.abc import Sequence

import httptools

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
OK_CLOSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\nok")
QUANTILES = (("p50", 50.0), ("p75", 75.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0),
             ("p99.9", 99.9))


def window_end(now: float, period_s: float, stall_s: float) -> float | None:
    """The end of the stall window that ``now`` falls in, ``None`` outside any window."""
    phase = now % period_s
    return now - phase + stall_s if phase < stall_s else None


def percentile(ordered: Sequence[float], quantile: float) -> float | None:
    """The nearest-rank ``quantile`` (0..100) of ascending ``ordered``; None when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(quantile / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(holds_ms: Sequence[float]) -> dict[str, object]:
    """Count, held count and fraction, and the percentiles of the hold times (ms)."""
    ordered = sorted(holds_ms)
    held = sum(1 for hold in ordered if hold > 0)
    summary: dict[str, object] = {
        "requests": len(ordered), "held": held,
        "held_fraction": held / len(ordered) if ordered else None}
    summary.update({key: percentile(ordered, q) for key, q in QUANTILES})
    summary["max"] = ordered[-1] if ordered else None
    return summary


class StallServer:
    """The state shared by every connection: the responses held and the hold times seen."""

    def __init__(self, period_s: float, stall_s: float):
        self.period_s = period_s
        self.stall_s = stall_s
        self.holds_ms: list[float] = []
        # window end (time.time()) -> [(connection, arrival time, keep-alive)], in arrival order
        self.held: dict[float, list[tuple[StallProtocol, float, bool]]] = {}

    def arrived(self, conn: StallProtocol, path: bytes, keep_alive: bool) -> None:
        """A complete request: answer it now, or hold it until its window ends."""
        if path.startswith(b"/__"):
            conn.answer_admin(self.admin(path), keep_alive)
            return
        now = time.time()
        end = window_end(now, self.period_s, self.stall_s)
        if end is None and conn.waiting:
            # A pipelined request behind a held one: responses must keep their order.
            end = conn.waiting_until
        if end is None:
            self.holds_ms.append(0.0)
            conn.answer(keep_alive)
            return
        if end not in self.held:
            self.held[end] = []
            asyncio.get_running_loop().call_later(max(0.0, end - now), self.release, end)
        self.held[end].append((conn, now, keep_alive))
        conn.waiting += 1
        conn.waiting_until = end

    def release(self, end: float) -> None:
        """The window ending at ``end`` is over: answer everything it held."""
        released = time.time()
        for conn, arrived, keep_alive in self.held.pop(end, []):
            self.holds_ms.append((released - arrived) * 1000)
            conn.waiting -= 1
            conn.answer(keep_alive)

    def admin(self, path: bytes) -> bytes:
        """The JSON body of ``/__stats`` or ``/__reset``."""
        summary = summarize(self.holds_ms)
        if path.startswith(b"/__reset"):
            self.holds_ms = []
        return json.dumps(summary).encode()


class StallProtocol(asyncio.Protocol):
    """One client connection: parses requests with httptools, hands them to the server."""

    def __init__(self, server: StallServer):
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = bytearray()
        self.waiting = 0
        self.waiting_until = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport to answer on."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the transport: held responses for it are dropped when released."""
        self.transport = None

    def data_received(self, data: bytes) -> None:
        """Feed the parser; close the connection on a malformed request."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_url(self, url: bytes) -> None:
        """httptools callback: part of the request target."""
        self.url += url

    def on_message_complete(self) -> None:
        """httptools callback: a whole request has arrived."""
        path, self.url = bytes(self.url), bytearray()
        self.server.arrived(self, path, self.parser.should_keep_alive())

    def answer(self, keep_alive: bool) -> None:
        """Write the 2-byte response (and close when the client asked to)."""
        self._write(OK if keep_alive else OK_CLOSE, keep_alive)

    def answer_admin(self, body: bytes, keep_alive: bool) -> None:
        """Write a JSON response."""
        connection = b"" if keep_alive else b"Connection: close\r\n"
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n%s\r\n" % (len(body), connection))
        self._write(head + body, keep_alive)

    def _write(self, data: bytes, keep_alive: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(data)
        if not keep_alive:
            self.transport.close()


async def serve(host: str, port: int, period_s: float, stall_s: float) -> StallServer:
    """Serve until SIGTERM or SIGINT; the server state, for its statistics."""
    state = StallServer(period_s, stall_s)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: StallProtocol(state), host, port, backlog=4096)
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    print(f"stall server on http://{host}:{port}/ (stall {stall_s * 1000:g} ms "
          f"every {period_s * 1000:g} ms)", flush=True)
    async with server:
        await stopped.wait()
    return state


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The server's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--stall-ms", type=float, default=250.0)
    parser.add_argument("--period-ms", type=float, default=1000.0)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the server; print the hold-time statistics when it stops."""
    args = parse_args(argv[1:])
    state = asyncio.run(serve(args.host, args.port, args.period_ms / 1000, args.stall_ms / 1000))
    print(json.dumps(summarize(state.holds_ms)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

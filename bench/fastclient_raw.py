"""Raw speed of assay's fast HTTP/1.1 client against nginx, with wrk for comparison.

    python bench/fastclient_raw.py                   # 64 connections, 5 s, pipeline 1 and 4
    python bench/fastclient_raw.py --duration 10 --pipelines 1,2,4,8
    python bench/fastclient_raw.py --repeat 5        # on a busy machine: best of 5 rounds
    python bench/fastclient_raw.py --variants        # also: wait_for per request, httpx,
                                                     # aiohttp (when importable)

nginx (``/usr/sbin/nginx``, one worker, access log off, keep-alive, a 2-byte body) runs
pinned to core 0 (``taskset -c 0``); this process pins itself to core 1 and runs a closed
loop: ``connections x pipeline`` virtual users, each awaiting its response before sending
again, every response's status checked and its latency (``perf_counter_ns``) recorded.
Then ``wrk -t1 -c64`` runs pinned to core 1 against the same server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from contextlib import contextmanager
from pathlib import Path

from assay.http.fastclient import ConnectionPool, Origin, encode_request, new_event_loop

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root};
    proxy_temp_path {root};
    fastcgi_temp_path {root};
    uwsgi_temp_path {root};
    scgi_temp_path {root};
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ default_type text/plain; return 200 "ok"; }}
    }}
}}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def nginx(core: int):
    """Run nginx pinned to ``core``; yields its base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="assay-bench-nginx-") as root:
        conf = Path(root, "nginx.conf")
        conf.write_text(NGINX_CONF.format(root=root, port=port))
        process = subprocess.Popen(["taskset", "-c", str(core), binary, "-c", str(conf),
                                    "-p", root, "-e", f"{root}/error.log"])
        try:
            _wait_listening(port, process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"nginx exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nginx did not start listening")


class Tally:
    """What the virtual users record: latencies in ns and non-200 responses."""

    __slots__ = ("latencies", "errors", "stop", "cpu")

    def __init__(self) -> None:
        self.latencies = array("q")
        self.errors = 0
        self.stop = False
        self.cpu = 0.0  # seconds of this process's CPU time during the run


async def closed_loop(url: str, connections: int, pipeline: int, duration: float,
                      wrap: str = "") -> tuple[int, Tally, float]:
    """Run ``connections * pipeline`` users for ``duration`` s; (requests, tally, seconds)."""
    origin = Origin.from_url(url)
    raw = encode_request("GET", "/", origin)
    pool = ConnectionPool(origin, max_connections=connections, pipeline=pipeline,
                          read_timeout=30.0)
    tally = Tally()
    lanes = [await pool.connection() for _ in range(connections * pipeline)]
    for lane in lanes[::pipeline]:
        await lane.request(raw)  # connect before the clock starts
    user = _user_with_wait_for if wrap == "wait_for" else _user
    loop = asyncio.get_running_loop()
    started, cpu = time.perf_counter(), time.process_time()
    loop.call_later(duration, setattr, tally, "stop", True)
    await asyncio.gather(*(user(lane, raw, tally) for lane in lanes))
    took = time.perf_counter() - started
    tally.cpu = time.process_time() - cpu
    await pool.aclose()
    return len(tally.latencies), tally, took


async def _user(lane, raw: bytes, tally: Tally) -> None:
    perf_counter_ns = time.perf_counter_ns
    record = tally.latencies.append
    while not tally.stop:
        sent = perf_counter_ns()
        response = await lane.request(raw)
        if response.status != 200:
            tally.errors += 1
        record(response.done_ns - sent)


async def _user_with_wait_for(lane, raw: bytes, tally: Tally) -> None:
    perf_counter_ns = time.perf_counter_ns
    record = tally.latencies.append
    while not tally.stop:
        sent = perf_counter_ns()
        response = await asyncio.wait_for(lane.request(raw), 30.0)
        if response.status != 200:
            tally.errors += 1
        record(response.done_ns - sent)


async def httpx_loop(url: str, connections: int, duration: float) -> tuple[int, Tally, float]:
    """The same closed loop on ``httpx.AsyncClient``, for comparison."""
    import httpx

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits) as client:
        async def get() -> int:
            return (await client.get(url)).status_code

        return await _timed(get, connections, duration)


async def aiohttp_loop(url: str, connections: int, duration: float) -> tuple[int, Tally, float]:
    """The same closed loop on ``aiohttp.ClientSession``, for comparison."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def get() -> int:
            async with session.get(url) as response:
                await response.read()
                return response.status

        return await _timed(get, connections, duration)


async def _timed(get, users: int, duration: float) -> tuple[int, Tally, float]:
    tally = Tally()

    async def user() -> None:
        while not tally.stop:
            sent = time.perf_counter_ns()
            if await get() != 200:
                tally.errors += 1
            tally.latencies.append(time.perf_counter_ns() - sent)

    asyncio.get_running_loop().call_later(duration, setattr, tally, "stop", True)
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(user() for _ in range(users)))
    took = time.perf_counter() - started
    tally.cpu = time.process_time() - cpu
    return len(tally.latencies), tally, took


def run_wrk(url: str, core: int, connections: int, duration: float) -> float | None:
    """wrk's requests/s, pinned to ``core``; ``None`` when wrk is not installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    out = subprocess.run(["taskset", "-c", str(core), wrk, "-t1", f"-c{connections}",
                          f"-d{duration:g}s", url], capture_output=True, text=True, check=True)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    return float(match.group(1)) if match else None


def describe(label: str, count: int, tally: Tally, took: float) -> float:
    """Print one result line; returns requests/s.

    ``per CPU-s`` is requests per second of this process's CPU time: what one core would
    do if the client were the only bottleneck (a fairer figure on a busy machine).
    """
    rate = count / took
    per_cpu = count / tally.cpu if tally.cpu else 0.0
    ordered = sorted(tally.latencies)
    p50 = ordered[len(ordered) // 2] / 1000 if ordered else 0
    p99 = ordered[int(len(ordered) * 0.99)] / 1000 if ordered else 0
    print(f"{label:<34} {rate:>9,.0f} req/s  ({per_cpu:>9,.0f} per CPU-s)  "
          f"p50 {p50:>6.0f} us  p99 {p99:>6.0f} us  non-200: {tally.errors}")
    return rate


def run_variants(loop: asyncio.AbstractEventLoop, url: str, connections: int,
                 duration: float) -> None:
    """Other ways to send the same requests: what the design choices are worth."""
    result = loop.run_until_complete(closed_loop(url, connections, 1, duration, wrap="wait_for"))
    describe("  same + asyncio.wait_for/request", *result)
    # httpx's pool collapses under 64 concurrent requests (~150/s here): 8 is its best.
    users = min(connections, 8)
    result = loop.run_until_complete(httpx_loop(url, users, duration))
    describe(f"  httpx.AsyncClient, {users} users", *result)
    try:
        result = loop.run_until_complete(aiohttp_loop(url, connections, duration))
    except ImportError:
        print("  aiohttp: not installed (not a dependency of assay)")
    else:
        describe("  aiohttp.ClientSession", *result)


def main() -> None:
    """Parse the options, run the measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pipelines", default="1,4")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds (client runs and wrk interleaved); best of each is kept")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--variants", action="store_true",
                        help="also measure wait_for per request, httpx and aiohttp")
    parser.add_argument("--no-wrk", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.client_core})
    loop = new_event_loop()
    print(f"python {sys.version.split()[0]}, loop {type(loop).__module__}, "
          f"{args.connections} connections, {args.duration:g} s per run, "
          f"nginx on core {args.server_core}, client on core {args.client_core}")
    best: dict[str, float] = {}
    with nginx(args.server_core) as url:
        for _ in range(args.repeat):
            run_round(loop, url, args, best)
        if args.variants:
            run_variants(loop, url, args.connections, args.duration)
    loop.close()
    wrk = best.pop("wrk", None)
    if args.repeat > 1:
        print(f"best of {args.repeat}:")
        for label, rate in best.items():
            print(f"  {label:<32} {rate:>9,.0f} req/s")
        if wrk:
            print(f"  {'wrk -t1 -c' + str(args.connections):<32} {wrk:>9,.0f} req/s")
    if wrk:
        for label, rate in best.items():
            print(f"  {label}: {rate / wrk:.2f}x wrk")


def run_round(loop: asyncio.AbstractEventLoop, url: str, args: argparse.Namespace,
              best: dict[str, float]) -> None:
    """One run per pipeline depth, then wrk; ``best`` keeps each one's best rate."""
    for pipeline in (int(p) for p in args.pipelines.split(",")):
        result = loop.run_until_complete(
            closed_loop(url, args.connections, pipeline, args.duration))
        label = f"assay fastclient, pipeline={pipeline}"
        best[label] = max(best.get(label, 0.0), describe(label, *result))
    if args.no_wrk:
        return
    wrk = run_wrk(url, args.client_core, args.connections, args.duration)
    if wrk is None:
        print("wrk: not installed")
        return
    print(f"{'wrk -t1 -c' + str(args.connections):<34} {wrk:>9,.0f} req/s")
    best["wrk"] = max(best.get("wrk", 0.0), wrk)


if __name__ == "__main__":
    main()

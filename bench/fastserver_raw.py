"""Raw speed of assay's HTTP/1.1 server core (``assay.http.fastserver``), measured with wrk.

    python bench/fastserver_raw.py                    # 64 connections, 5 s, sync handler
    python bench/fastserver_raw.py --handler async    # the handler returns a coroutine
    python bench/fastserver_raw.py --repeat 3 --duration 10

The server runs in this process, on the main thread's event loop (uvloop when installed),
pinned to core 0 (``--server-core``); its handler answers every request with one prebuilt
``ServerResponse`` (200, a 2-byte ``text/plain`` body), synchronously (the fast path) or
from a coroutine (``--handler async``: one task per request). ``wrk -t1 -c64 -d5s`` runs
pinned to core 1 (``--client-core``) as a subprocess the loop waits on; its requests/s are
printed, with the server's CPU share and requests per CPU-second (a fairer figure when
other work shares the server's core). Without wrk on PATH the script says so and exits.

Measured on the 2-core test machine (Python 3.11, uvloop 0.23, httptools 0.9), while other
jobs were running on both cores: sync handler, best 74.6k req/s (the server at 84% of its
core), 39-48k req/s typical with the core shared, 64-89k requests per CPU-second; async
handler, best 60.8k req/s, 41-50k per CPU-second. Prism serves 2.3-4.1k req/s there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import time

from assay.http.fastserver import FastServer, new_event_loop
from assay.http.serving import ServerRequest, ServerResponse

OK = ServerResponse(200, [("Content-Type", "text/plain")], b"ok")


def sync_handler(request: ServerRequest) -> ServerResponse:
    """The fast path: a prebuilt answer, returned at once."""
    return OK


async def async_handler(request: ServerRequest) -> ServerResponse:
    """The same answer from a coroutine: the server runs it as a task."""
    return OK


async def run_wrk(url: str, core: int, connections: int, duration: float) -> str:
    """wrk's output, wrk pinned to ``core``; the server keeps serving meanwhile."""
    process = await asyncio.create_subprocess_exec(
        "taskset", "-c", str(core), "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s",
        url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    return out.decode()


async def measure(args: argparse.Namespace) -> list[float]:
    """Serve, run wrk ``args.repeat`` times, print each round; the requests/s of each."""
    handler = async_handler if args.handler == "async" else sync_handler
    server = FastServer(handler)
    await server.start()
    rates = []
    try:
        for round_ in range(1, args.repeat + 1):
            cpu = time.process_time()
            out = await run_wrk(server.url + "/", args.client_core, args.connections,
                                args.duration)
            cpu = time.process_time() - cpu
            match = re.search(r"Requests/sec:\s+([\d.]+)", out)
            if match is None:
                print(out)
                raise SystemExit("could not read wrk's requests/s")
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
            rate = float(match.group(1))
            rates.append(rate)
            share = cpu / args.duration
            # Requests per second of this process's CPU time: what a core of its own would
            # do, a fairer figure when other work shares the server's core.
            per_cpu = f"{rate / share:>9,.0f}" if share else "n/a"
            print(f"round {round_}: {rate:>9,.0f} req/s  (server CPU {share:.0%}, "
                  f"{per_cpu} per CPU-s)" + (f"  {errors.group(0)}" if errors else ""))
    finally:
        await server.close()
    return rates


def main() -> None:
    """Parse the options, pin this process, serve and measure, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--handler", choices=("sync", "async"), default="sync")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        raise SystemExit("wrk and taskset must be on PATH")
    os.sched_setaffinity(0, {args.server_core})
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        loop_name = type(runner.get_loop()).__module__
        print(f"python {sys.version.split()[0]}, loop {loop_name}, {args.handler} handler, "
              f"server on core {args.server_core}, wrk -t1 -c{args.connections} "
              f"-d{args.duration:g}s on core {args.client_core}")
        rates = runner.run(measure(args))
    if len(rates) > 1:
        print(f"best of {len(rates)}: {max(rates):,.0f} req/s")


if __name__ == "__main__":
    main()

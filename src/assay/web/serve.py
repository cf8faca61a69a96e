"""Serving ``assay monitor``: the agent and the web app on one event loop, until a signal.

uvicorn serves the app; the agent runs beside it as a task. SIGINT and SIGTERM stop both
(in-flight runs finish, states are flushed, connections closed); SIGHUP reloads the
config. A port that cannot be bound is bad input (exit 2), found before monitoring starts.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
from collections.abc import Callable

import uvicorn

from ..core.errors import UsageError
from ..engine.monitor_run import MonitorAgent
from .app import create_app


def serve_monitor(agent: MonitorAgent, *, host: str, port: int, auth_token: str | None,
                  on_ready: Callable[[str], None]) -> None:
    """Run ``agent`` and its dashboard at ``host:port`` until SIGINT or SIGTERM."""
    sock = _bind(host, port)
    # Everything loaded so far (config, modules, the app) lives as long as the process:
    # keep it out of the collector's generations, so that a full collection (every ~30 s,
    # ~90 ms with 1000 monitors) does not make runs late.
    gc.collect()
    gc.freeze()
    asyncio.run(_serve(agent, sock, auth_token, on_ready))


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         location="--port") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def _serve(agent: MonitorAgent, sock: socket.socket, auth_token: str | None,
                 on_ready: Callable[[str], None]) -> None:
    app = create_app(agent, auth_token=auth_token)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # ours below: stop the agent too
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, agent.request_reload)
    web = asyncio.create_task(server.serve(sockets=[sock]))
    runner = asyncio.create_task(agent.run(stop))
    for task in (web, runner):  # either ending (a crash included) ends both
        task.add_done_callback(lambda _: stop.set())
    while not server.started and not web.done():
        await asyncio.sleep(0.01)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    on_ready(f"http://{shown}:{port}/")
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        outcomes = await asyncio.gather(web, runner, return_exceptions=True)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        sock.close()
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome,
                                                                 asyncio.CancelledError):
            raise outcome

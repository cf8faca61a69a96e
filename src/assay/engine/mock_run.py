"""Running ``assay mock``: build the handler from the config, serve until told to stop.

Everything that can be wrong with the input (the spec, the faults file, the cassette, the
port) is found before the first line is printed, so that a broken setup is exit code 2 with
one message, and ``serving <URL>`` on stdout means the mock answers.
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import ConfigError, UsageError
from ..core.secrets import Secrets
from ..http.fastserver import FastServer, new_event_loop
from ..http.selfsigned import server_context, write_self_signed
from ..mock.app import MockApp, MockOptions, Recorder
from ..mock.cassette import Cassette, load_cassette
from ..mock.faults import FaultInjector, FaultSet, load_faults
from ..mock.proxy import Upstream
from ..mock.replay import MatchRules, Replayer
from ..specs.loader import load_spec


@dataclass(frozen=True, slots=True)
class MockConfig:
    """What ``assay mock`` was asked to do."""

    spec: str | None = None
    host: str = "127.0.0.1"
    port: int = 4010
    options: MockOptions = field(default_factory=MockOptions)
    fault_seed: int | None = None
    faults: str | None = None
    proxy: str | None = None
    record: str | None = None
    replay: str | None = None
    match: MatchRules = field(default_factory=MatchRules)
    tls: bool = False
    insecure: bool = False
    timeout: float = 30.0


def build_app(config: MockConfig) -> MockApp:
    """The handler for ``config``; raises assay's errors for bad input."""
    if config.record and not config.proxy:
        raise UsageError("recording needs --proxy URL (the API to record)", location="--record")
    if config.replay and config.proxy:
        raise UsageError("--replay answers from a cassette; it does not take --proxy",
                         location="--replay")
    if not (config.spec or config.proxy or config.replay):
        raise UsageError("give an OpenAPI document, --proxy URL or --replay FILE",
                         location="SPEC")
    spec = load_spec(config.spec) if config.spec else None
    fault_set = load_faults(Path(config.faults)) if config.faults else FaultSet(())
    faults = FaultInjector(fault_set, seed=config.fault_seed)
    upstream = Upstream(config.proxy, timeout=config.timeout, verify=not config.insecure) \
        if config.proxy else None
    recorder = None
    if config.record:
        path = Path(config.record)
        cassette = load_cassette(path) if path.exists() and path.stat().st_size else Cassette()
        recorder = Recorder(cassette, path, Secrets())
    replayer = Replayer(load_cassette(_existing(config.replay, "--replay")), config.match) \
        if config.replay else None
    return MockApp(spec=spec, options=config.options, faults=faults, upstream=upstream,
                   recorder=recorder, replayer=replayer)


def serve(config: MockConfig, app: MockApp, *, on_ready: Callable[[str], None],
          on_note: Callable[[str], None]) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; ``on_ready(url)`` once it listens."""
    loop = new_event_loop()
    try:
        loop.run_until_complete(_serve(config, app, on_ready, on_note))
    finally:
        loop.close()


async def _serve(config: MockConfig, app: MockApp, on_ready: Callable[[str], None],
                 on_note: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="assay-mock-") as tmp:
        context = None
        if config.tls:
            files = write_self_signed(Path(tmp), (config.host,))
            context = server_context(files)
            on_note(f"TLS: self-signed certificate {files.cert} (trust it with "
                    f"curl --cacert {files.cert})")
        server = FastServer(app.handle, host=config.host, port=config.port,
                            ssl_context=context)
        try:
            await server.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {config.host}:{config.port}: "
                             f"{exc.strerror or exc}", location="--port") from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            on_ready(server.url + app.prefix)
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await server.close()
            await app.close()


def _existing(path: str, flag: str) -> Path:
    found = Path(path)
    if not found.is_file():
        raise ConfigError(f"no such file: {path}", location=flag)
    return found

"""What ``test_monitor_agent.py`` runs agents with: agents on a background event loop,
a target whose paths fail on a switch, a recording webhook receiver, polling with a
deadline, an ``assay monitor`` process whose stderr is collected, and store shortcuts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assay.engine.monitor_run import MonitorAgent
from assay.monitor.records import RunResult
from assay.storage.sql import SqlStore
from servers import Canned, Received, RecordingApp

# The channel every test notifies (append it to a monitors file).
HOOK = """
notify:
  - name: ops
    webhook: {hook}/hook
    failure_threshold: 2
    success_threshold: 2
    send_on_resolved: true
"""


class Switch:
    """A flag the test flips while servers in other threads read it."""

    def __init__(self, on: bool = False):
        self.on = on


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll ``condition`` (the agent runs on the real clock) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def health_app(routes: dict[str, Switch]) -> RecordingApp:
    """``GET <path>``: 503 while the path's switch is on, else 200."""
    def answer(failing: Switch) -> Callable[[Received], Canned]:
        return lambda _: Canned(503, {"status": "down"}) if failing.on else Canned(200, {})
    return RecordingApp({f"GET {path}": answer(switch) for path, switch in routes.items()})


def hook_app() -> RecordingApp:
    """The webhook receiver: 204 to every notification, each one recorded."""
    return RecordingApp({"POST /hook": Canned(204, b"")})


def notices(hook: RecordingApp, event: str | None = None,
            monitor: str | None = None) -> list[dict]:
    """The webhook bodies received, optionally only one event kind or one monitor's."""
    bodies = [json.loads(r.body) for r in list(hook.received) if r.path == "/hook"]
    return [b for b in bodies if event in (None, b["event"]) and monitor in (None, b["monitor"])]


def iso(t: float) -> str:
    """``2025-06-01T02:00:00Z``: epoch seconds as a monitors file writes a time."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def write(path: Path, text: str) -> None:
    """Replace the file at once (the agent may read it at any moment)."""
    scratch = path.with_suffix(".tmp")
    scratch.write_text(text)
    os.replace(scratch, path)


@dataclass
class Agents:
    """Agents running on one event loop in a background thread."""

    agents: list[MonitorAgent]
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    error: list[BaseException] = field(default_factory=list)


@contextmanager
def running(*agents: MonitorAgent) -> Iterator[Agents]:
    """Run ``agents`` until the block ends; then stop them as SIGINT would."""
    state = Agents(list(agents))
    ready = threading.Event()

    async def main() -> None:
        state.loop, state.stop = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        await asyncio.gather(*(agent.run(state.stop) for agent in agents))

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the test, not lost in the thread
            state.error.append(exc)
            ready.set()

    thread = threading.Thread(target=thread_main, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield state
    finally:
        if state.loop is not None and state.stop is not None and not state.loop.is_closed():
            state.loop.call_soon_threadsafe(state.stop.set)
        thread.join(timeout=20)
        assert not thread.is_alive(), "the agents did not stop"
    if state.error:
        raise state.error[0]


def agent(config: Path, store: SqlStore, location: str = "local", **options) -> MonitorAgent:
    """An agent with test-sized housekeeping intervals."""
    options = {"tick_s": 0.1, "reload_check_s": 0.2, **options}
    return MonitorAgent(str(config), store, location=location, **options)


def results(store: SqlStore, monitor: str, location: str | None = None) -> list[RunResult]:
    """Every stored result of ``monitor``, oldest first."""
    return store.results(monitor=monitor, location=location, limit=100_000,
                         newest_first=False)


def count(store: SqlStore, monitor: str, *, ok: bool | None = None,
          location: str | None = None) -> int:
    """How many results of ``monitor`` are stored (only passed or failed ones with ``ok``)."""
    return sum(1 for r in results(store, monitor, location) if ok in (None, r.ok))


def sqlite_store(tmp_path: Path) -> SqlStore:
    """A store on the test's SQLite file (open several: they share it)."""
    return SqlStore(f"sqlite:///{tmp_path / 'monitor.db'}")



class Lines(logging.Handler):
    """Keeps the messages logged (the CLI may have turned propagation off)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Process:
    """``assay monitor`` in a subprocess, its stderr collected by a thread."""

    def __init__(self, config: Path, db: Path):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "assay", "monitor", str(config), "--db", f"sqlite:///{db}",
             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.stderr.append(line)

    def dashboard(self) -> str:
        """The dashboard's base URL (the first line the process prints)."""
        assert self.popen.stdout is not None
        first = self.popen.stdout.readline()
        found = re.fullmatch(r"dashboard (\S+)\n", first)
        assert found, first + "".join(self.stderr)
        return found.group(1).rstrip("/")

    def logged(self, text: str) -> int:
        """How many stderr lines so far contain ``text``."""
        return sum(text in line for line in list(self.stderr))

    def close(self) -> None:
        """Kill the process if it still runs; close its pipes."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        self._reader.join(timeout=5)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()

"""The monitor agent: schedule, probe, store, alert, deliver; reload without losing state.

One ``MonitorAgent`` runs every monitor of a config at one location:

- the scheduler (``monitor.schedule``, pure) says which slots are due; each due slot is
  probed in its own task (``engine.monitor_probes``), at most ``max_in_flight`` at once;
- each result is stored, then fed to the alert machines (``engine.monitor_alerting``),
  in one worker thread, in order: the store is blocking, the event loop is not;
- once a second: reminders, quorum slots and SLO burn rates (``Alerting.tick``) and the
  outbox (``engine.monitor_delivery``: claims, sends, retries with backoff);
- every few seconds: the config file's digest; a changed file (or SIGHUP, through
  ``request_reload``) is loaded and swapped in; a broken one is reported and ignored;
- hourly: retention (raw results rolled up into hourly aggregates, old ones deleted).

It is also the ``MonitorView`` the web side reads (``web/view.py``): states, pause and
resume, heartbeats, SLO budgets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ..core.errors import ConfigError
from ..core.secrets import Secrets
from ..monitor.config import config_digest, config_secrets, load_config
from ..monitor.maintenance import in_maintenance
from ..monitor.model import Monitor, MonitorConfig
from ..monitor.records import RunResult
from ..monitor.schedule import Due, Scheduler
from ..monitor.slo import budget_summary, store_counts
from ..monitor.status import monitor_state
from ..storage.base import Store
from ..storage.urls import redact_url
from .monitor_alerting import SLO_EVERY_S, Alerting
from .monitor_delivery import Deliverer
from .monitor_probes import Prober

LOG = logging.getLogger("assay.monitor")
TICK_S = 1.0
RELOAD_CHECK_S = 2.0
RETENTION_EVERY_S = 3600.0
FLUSH_EVERY_S = 10.0
BATCH_WINDOW_S = 0.1  # how long the writer gathers results before one transaction
BATCH_MAX = 500


class MonitorAgent:
    """Runs the monitors of the file at ``path`` against ``store`` at ``location``.

    ``tick_s`` is how often housekeeping runs (reminders, quorum slots past their deadline,
    held notifications released, the outbox delivered), ``reload_check_s`` how often the
    file's digest is compared, ``slo_every_s`` how often SLO burn rates are evaluated:
    the defaults suit production; tests and benchmarks shorten them.
    """

    def __init__(self, path: str, store: Store, *, location: str = "local",
                 db_url: str = "memory://", verify: bool = True, max_in_flight: int = 256,
                 clock: Callable[[], float] = time.time,
                 on_result: Callable[[RunResult], None] | None = None,
                 tick_s: float = TICK_S, reload_check_s: float = RELOAD_CHECK_S,
                 slo_every_s: float = SLO_EVERY_S):
        self.path = path
        self._store = store
        self._location = location
        self._db_url = redact_url(db_url)
        self.verify = verify
        self.clock = clock
        self.on_result = on_result
        self.tick_s = tick_s
        self.reload_check_s = reload_check_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{location}"
        self.secrets = Secrets()
        self._config = load_config(path)
        self._digest = config_digest(path)
        self._register_secrets(self._config)
        self._writer = StoreWriter(self._write_results)
        self._limit = asyncio.Semaphore(max_in_flight)
        self._wake = asyncio.Event()
        self._reload_requested = False
        self.scheduler = Scheduler(self._config.monitors, clock(), paused=store.paused())
        self.alerting = Alerting(self._config, store, location=location,
                                 slo_every_s=slo_every_s)
        self.prober = Prober(self._config, location=location, secrets=self.secrets,
                             verify=verify)
        self.deliverer = self._deliverer(self._config)
        self._tasks: set[asyncio.Task] = set()
        started = clock()
        # Since when each monitor runs here: a heartbeat never received is missing only
        # `every` + `grace` after that (its agent's start, or the reload that added it).
        self._running_since = {m.name: started for m in self._config.monitors}
        self._retired: list[Prober] = []
        self._closing: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set by run()

    # -- MonitorView ---------------------------------------------------------------

    @property
    def config(self) -> MonitorConfig:
        """The configuration in force."""
        return self._config

    @property
    def store(self) -> Store:
        """The store."""
        return self._store

    @property
    def location(self) -> str:
        """This agent's location."""
        return self._location

    @property
    def db_url_redacted(self) -> str:
        """The database URL, password replaced."""
        return self._db_url

    def now(self) -> float:
        """The agent's clock."""
        return self.clock()

    def pause(self, name: str) -> None:
        """Stop running ``name`` (kept in the store across restarts). Thread-safe: the web
        calls it from a worker thread; the scheduler is only touched on the loop."""
        self._store.set_paused(name, True)
        self._on_loop(self.scheduler.pause, name)

    def resume(self, name: str) -> None:
        """Run ``name`` again from its next slot (thread-safe, as ``pause``)."""
        self._store.set_paused(name, False)
        self._on_loop(lambda: self.scheduler.resume(name, self.clock()))

    def heartbeat(self, name: str, now: float) -> None:
        """A heartbeat ping arrived."""
        self._store.record_heartbeat(name, now)

    def states(self) -> dict[str, dict[str, Any]]:
        """Per monitor: its state (``monitor.status``), the latest failure's reason and the
        next planned run."""
        now = self.clock()
        paused = self._store.paused()
        found = {}
        for monitor in self._config.monitors:
            state = monitor_state(
                self._store.latest_by_location(monitor.name),
                paused=monitor.name in paused,
                maintenance=in_maintenance(self._config.maintenance, monitor.name, now),
                firing=self.alerting.firing(monitor.name))
            state["next_run"] = self.scheduler.next_slot(monitor.name)
            found[monitor.name] = state
        return found

    def slo_budget(self, name: str) -> dict[str, Any] | None:
        """The SLO budget left over the window ending now."""
        monitor = self._config.monitor(name)
        if monitor is None or monitor.slo is None:
            return None
        return budget_summary(monitor.slo, store_counts(self._store, name, monitor.slo),
                              self.clock())

    # -- running -------------------------------------------------------------------

    def request_reload(self) -> None:
        """Reload the config file at the next chance (SIGHUP)."""
        self._reload_requested = True
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then finish in-flight runs and close."""
        self._loop = asyncio.get_running_loop()
        loops = [asyncio.create_task(self._schedule_loop(stop)),
                 asyncio.create_task(self._housekeeping_loop(stop))]
        try:
            await stop.wait()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)
            await self._in_writer(self.alerting.flush)
            await self.aclose()

    async def run_once(self) -> list[RunResult]:
        """Every unpaused monitor once, now; results stored (no alerts)."""
        now = self.clock()
        paused = self._store.paused()
        monitors = [m for m in self._config.monitors if m.name not in paused]
        try:
            results = await asyncio.gather(*(self._probe(m, now) for m in monitors))
            for result in results:
                await self._in_writer(self._store.add_result, result)
            return list(results)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close connections and the writer thread."""
        if self._closing is not None:
            self._closing.cancel()
        for prober in [*self._retired, self.prober]:
            await prober.aclose()
        self._retired.clear()
        await self.deliverer.aclose()
        self._writer.close()

    async def _schedule_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for due in self.scheduler.due(self.clock()):
                monitor = self.scheduler.monitor(due.monitor)
                if monitor is not None:
                    task = asyncio.create_task(self._run_slot(monitor, due))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            wakeup = self.scheduler.next_wakeup()
            delay = 1.0 if wakeup is None else max(0.0, wakeup - self.clock())
            self._wake.clear()
            # A timer rather than wait_for: no task per wake-up, ~100 wake-ups a second
            # with 1000 monitors every 10 s.
            timer = asyncio.get_running_loop().call_later(min(delay, 1.0), self._wake.set)
            try:
                await self._wake.wait()
            finally:
                timer.cancel()

    async def _run_slot(self, monitor: Monitor, due: Due) -> None:
        async with self._limit:
            result = await self._probe(monitor, due.planned_at)
        # Handed to the writer without waiting: it stores and alerts in batches.
        self._writer.submit_result(monitor, result)
        if self.on_result is not None:
            self.on_result(result)

    async def _probe(self, monitor: Monitor, planned_at: float) -> RunResult:
        last = None
        if monitor.kind == "heartbeat":
            # A heartbeat never received counts from when the monitor started running
            # here: a job gets its first `every` + `grace` to ping before it is missing.
            stored = await self._in_writer(self._store.last_heartbeat, monitor.name)
            last = stored if stored is not None else self._running_since.get(
                monitor.name, planned_at)
        return await self.prober.run(monitor, planned_at, last_heartbeat=last, now=self.clock)

    def _write_results(self, batch: list[tuple[Monitor, RunResult]]) -> None:
        """In the writer thread: store a batch of results in one transaction, feed them to
        the alert machines in order, then save the machines' states in one transaction
        (events are enqueued as they arise: before the states that produced them)."""
        self._store.add_results([result for _, result in batch])
        now = self.clock()
        for monitor, result in batch:
            # The configuration the alert machines hold now (the writer swaps it): a run
            # started before a reload must not rebuild a machine with the old settings,
            # and a monitor removed meanwhile has no alerts left.
            current = self.alerting.monitor(monitor.name)
            if current is not None:
                self.alerting.observe(current, result, now, commit=False)
        self.alerting.commit()

    async def _housekeeping_loop(self, stop: asyncio.Event) -> None:
        next_reload = next_flush = 0.0
        next_retention = self.clock() + 60.0
        while not stop.is_set():
            now = self.clock()
            await self._in_writer(self.alerting.tick, now)
            try:
                await self.deliverer.deliver_due()
            except Exception:  # a broken channel must not stop monitoring
                LOG.exception("delivering notifications failed")
            if now >= next_flush:
                next_flush = now + FLUSH_EVERY_S
                await self._in_writer(self.alerting.flush)
            if now >= next_reload or self._reload_requested:
                next_reload = now + self.reload_check_s
                await self._maybe_reload()
            if now >= next_retention:
                next_retention = now + RETENTION_EVERY_S
                retention = self._config.retention
                counts = await self._in_writer(self._store.apply_retention, now,
                                               retention.raw_s, retention.rollups_s)
                LOG.info("retention: %s", counts)
            await asyncio.sleep(self.tick_s)

    async def _maybe_reload(self) -> None:
        forced = self._reload_requested
        self._reload_requested = False
        try:
            digest = await asyncio.to_thread(config_digest, self.path)
        except ConfigError as exc:
            LOG.warning("config not reloaded: %s", exc)
            return
        if digest == self._digest and not forced:
            return
        try:
            config = await asyncio.to_thread(load_config, self.path)
        except ConfigError as exc:
            self._digest = digest  # say it once per change, not every 2 s
            LOG.warning("config not reloaded, the previous one stays in force: %s", exc)
            return
        self._digest = digest
        self._register_secrets(config)
        now = self.clock()
        self._running_since = {m.name: self._running_since.get(m.name, now)
                               for m in config.monitors}
        # The scheduler and the probers live on the loop, the alert machines in the writer.
        await self._in_writer(self.alerting.reconfigure, config)
        self.scheduler.replace(config.monitors, self.clock())
        old_prober = self.prober
        self.prober = Prober(config, location=self._location, secrets=self.secrets,
                             verify=self.verify)
        self.deliverer.update_channels(config.channels)
        self._config = config
        self._wake.set()
        # Runs in flight still use the old prober: close it once they are surely done.
        longest = max((m.timeout_s * (m.retries + 1) for m in config.monitors), default=10.0)
        self._retired.append(old_prober)
        self._closing = asyncio.create_task(self._close_later(old_prober, longest + 5.0))
        LOG.warning("config reloaded: %d monitors", len(config.monitors))

    async def _close_later(self, prober: Prober, delay: float) -> None:
        await asyncio.sleep(delay)
        if prober in self._retired:
            self._retired.remove(prober)
            await prober.aclose()

    def _deliverer(self, config: MonitorConfig) -> Deliverer:
        return Deliverer(self._store, config.channels, owner=self.owner, secrets=self.secrets,
                         now=self.clock)

    def _register_secrets(self, config: MonitorConfig) -> None:
        for value in config_secrets(config):
            self.secrets.add(value, "ASSAY_MONITOR_SECRET")

    async def _in_writer(self, func: Callable[..., Any], *args: Any) -> Any:
        return await self._writer.call(func, *args)

    def _on_loop(self, func: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is None or not loop.is_running():
            func(*args)  # not running yet (or --once): nothing else touches the scheduler
            return
        def call() -> None:
            func(*args)
            self._wake.set()
        loop.call_soon_threadsafe(call)


class StoreWriter:
    """One thread that does everything touching the store and the alert machines, in order.

    Results arrive through ``submit_result`` without the event loop waiting; whatever has
    queued up meanwhile is written as one batch (one transaction, one states save):
    at 100 runs a second this is what keeps the agent's CPU low. Other work (``call``) runs
    between batches, in the order it was submitted, and its result is awaited.
    """

    def __init__(self, write_results: Callable[[list[tuple[Monitor, RunResult]]], None]):
        self._write_results = write_results
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="assay-monitor-store",
                                        daemon=True)
        self._thread.start()

    def submit_result(self, monitor: Monitor, result: RunResult) -> None:
        """Queue a result to be stored and alerted on."""
        self._jobs.put(("result", (monitor, result)))

    async def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run ``func(*args)`` in the writer thread after what is queued; its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put(("call", (func, args, future, loop)))
        return await future

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        if self._thread.is_alive():
            self._jobs.put(("stop", None))
            self._thread.join()

    def _loop(self) -> None:
        while True:
            jobs = [self._jobs.get()]
            if jobs[0][0] == "result":
                # Results arrive one by one, ~10 ms apart with 1000 monitors every 10 s:
                # gather them for a moment so that a transaction carries many, not one.
                deadline = time.monotonic() + BATCH_WINDOW_S
                while len(jobs) < BATCH_MAX and (left := deadline - time.monotonic()) > 0:
                    try:
                        jobs.append(self._jobs.get(timeout=left))
                    except queue.Empty:
                        break
                    if jobs[-1][0] != "result":
                        break  # a call waits for its answer: do not hold it
            while True:
                try:
                    jobs.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            results: list[tuple[Monitor, RunResult]] = []
            for kind, payload in jobs:
                if kind == "result":
                    results.append(payload)
                    continue
                self._flush(results)
                if kind == "stop":
                    return
                self._call(*payload)
            self._flush(results)

    def _flush(self, results: list[tuple[Monitor, RunResult]]) -> None:
        if not results:
            return
        try:
            self._write_results(list(results))
        except Exception:  # a database hiccup must not kill the writer: say it, go on
            LOG.exception("storing %d results failed", len(results))
        results.clear()

    @staticmethod
    def _call(func: Callable[..., Any], args: tuple, future: asyncio.Future,
              loop: asyncio.AbstractEventLoop) -> None:
        try:
            value = func(*args)
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, value, None)


def _settle(future: asyncio.Future, value: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)

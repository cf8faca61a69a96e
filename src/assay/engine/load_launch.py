"""Starting load workers: local processes (``--workers N``) or a Dask cluster (``--cluster``).

Both launchers run the same ``run_worker`` with a ``Channel`` of their own and give the
parent the same calls: ``start`` (after every worker is ready, so the load begins at one
instant everywhere), ``receive`` (worker messages), ``stop`` (Ctrl-C, an abort) and
``close``. Local workers are spawned, not forked: a fork would copy the parent's threads
and event loop state into the child.

Dask (``pip install 'assay[distributed]'``): the workers are the cluster's; assay must be
installed on them. Messages travel through a Dask ``Queue``, the start and stop signals
through ``Event``/``Variable`` objects named per run.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import time
import traceback
import uuid
from multiprocessing.connection import Connection, wait
from typing import Any

from ..core.errors import AssayError, InternalError, UsageError
from .load_worker import WorkerJob, WorkerMessage, run_worker

# The common start is this far after the last worker said it is ready: time for the start
# signal to reach every worker.
_START_MARGIN_S = 0.2


class WorkerFailed(Exception):
    """A worker raised: ``error`` is the re-raisable assay error, when it was one."""

    def __init__(self, message: str, error: AssayError | None = None):
        super().__init__(message)
        self.error = error


class _PipeChannel:
    def __init__(self, connection: Connection):
        self.connection = connection
        self.stopped = False

    def start_time(self) -> float:
        self.connection.send(("ready", None))
        while True:
            kind, value = self.connection.recv()
            if kind == "start":
                return value
            if kind == "stop":
                self.stopped = True
                return time.time()

    def stop_requested(self) -> bool:
        while not self.stopped and self.connection.poll():
            kind, _ = self.connection.recv()
            self.stopped = kind == "stop"
        return self.stopped

    def send(self, message: WorkerMessage) -> None:
        self.connection.send(("message", message))


def _process_main(job: WorkerJob, connection: Connection) -> None:
    """Entry point of a local worker process. Ctrl-C reaches the whole process group; the
    workers ignore it and the parent stops them, so that each still sends its results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run_worker(job, _PipeChannel(connection))
    except AssayError as exc:
        connection.send(("error", (str(exc), exc)))
    except KeyboardInterrupt:
        pass  # the parent handles Ctrl-C and stops the workers itself
    except BaseException:  # noqa: BLE001 - reported to the parent, which exits 3
        connection.send(("error", (traceback.format_exc(), None)))
    finally:
        connection.close()


class ProcessLauncher:
    """N local worker processes."""

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self.processes: list[Any] = []
        self.open: set[int] = set()

    def launch(self, jobs: list[WorkerJob]) -> None:
        """Start one process per job."""
        context = multiprocessing.get_context("spawn")
        for job in jobs:
            parent, child = context.Pipe(duplex=True)
            process = context.Process(target=_process_main, args=(job, child), daemon=True,
                                      name=f"assay-load-{job.index}")
            process.start()
            child.close()
            self.connections.append(parent)
            self.processes.append(process)
        self.open = set(range(len(jobs)))

    def start(self, timeout_s: float = 60.0) -> None:
        """Wait until every worker is ready, then give them one start time."""
        ready: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while len(ready) < len(self.connections):
            left = deadline - time.monotonic()
            if left <= 0:
                raise InternalError("load workers did not start within a minute")
            for connection in wait(self.connections, timeout=min(left, 1.0)):
                index = self.connections.index(connection)
                kind, value = self._recv(index)
                if kind == "ready":
                    ready.add(index)
                elif kind == "error":
                    raise _failure(value)
        start = time.time() + _START_MARGIN_S
        for connection in self.connections:
            connection.send(("start", start))

    def receive(self, timeout_s: float) -> list[WorkerMessage]:
        """Messages that arrived within ``timeout_s``; raises ``WorkerFailed``."""
        messages = []
        live = [self.connections[i] for i in self.open]
        for connection in wait(live, timeout=timeout_s) if live else []:
            index = self.connections.index(connection)
            kind, value = self._recv(index)
            if kind == "message":
                messages.append(value)
                if value.final:
                    self.open.discard(index)
            elif kind == "error":
                raise _failure(value)
        return messages

    @property
    def running(self) -> bool:
        """True while some worker has not sent its final message."""
        return bool(self.open)

    def stop(self) -> None:
        """Ask every worker to stop starting new requests."""
        for index in self.open:
            try:
                self.connections[index].send(("stop", None))
            except OSError:
                pass

    def close(self) -> None:
        """Wait briefly for the processes, then end them."""
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        for connection in self.connections:
            connection.close()

    def _recv(self, index: int) -> tuple[str, Any]:
        try:
            return self.connections[index].recv()
        except (EOFError, OSError):
            self.open.discard(index)
            code = self.processes[index].exitcode
            raise WorkerFailed(f"load worker {index} ended unexpectedly (exit code {code})") \
                from None


def _failure(value: tuple[str, AssayError | None]) -> WorkerFailed:
    message, error = value
    return WorkerFailed(message, error)


class _DaskChannel:
    def __init__(self, run_id: str, index: int):
        from distributed import Event, Queue, Variable

        self.index = index
        self.messages = Queue(f"{run_id}-messages")
        self.ready = Queue(f"{run_id}-ready")
        self.start_event = Event(f"{run_id}-start")
        self.stop_event = Event(f"{run_id}-stop")
        self.start_variable = Variable(f"{run_id}-start-time")
        self.checked = 0.0
        self.stopped = False

    def start_time(self) -> float:
        self.ready.put(self.index)
        self.start_event.wait()
        return float(self.start_variable.get())

    def stop_requested(self) -> bool:
        # Each look is a round trip to the scheduler: at most a few per second.
        now = time.monotonic()
        if not self.stopped and now - self.checked >= 0.25:
            self.checked = now
            self.stopped = self.stop_event.is_set()
        return self.stopped

    def send(self, message: WorkerMessage) -> None:
        self.messages.put(message)


def _dask_main(job: WorkerJob, run_id: str) -> str | None:
    """The Dask task: runs the worker; returns an error message or ``None``."""
    channel = _DaskChannel(run_id, job.index)
    try:
        run_worker(job, channel)
    except AssayError as exc:
        return str(exc)
    except Exception:  # noqa: BLE001 - reported to the parent, which exits 3
        return traceback.format_exc()
    return None


class DaskLauncher:
    """One worker task per Dask worker of the cluster at ``address``."""

    def __init__(self, address: str):
        try:
            from distributed import Client, Event, Queue, Variable
        except ImportError:
            raise UsageError("needs Dask distributed: pip install 'assay[distributed]'",
                             location="--cluster") from None
        try:
            self.client = Client(address, timeout="5s")
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}",
                             location="--cluster") from None
        self.run_id = f"assay-load-{uuid.uuid4().hex}"
        self.messages = Queue(f"{self.run_id}-messages", client=self.client)
        self.ready = Queue(f"{self.run_id}-ready", client=self.client)
        self.start_event = Event(f"{self.run_id}-start", client=self.client)
        self.stop_event = Event(f"{self.run_id}-stop", client=self.client)
        self.start_variable = Variable(f"{self.run_id}-start-time", client=self.client)
        self.futures: list[Any] = []
        self.open: set[int] = set()

    def worker_count(self) -> int:
        """How many workers the cluster has now."""
        return len(self.client.scheduler_info().get("workers", {}))

    def launch(self, jobs: list[WorkerJob]) -> None:
        """Submit one task per job, each on a different worker where possible."""
        workers = list(self.client.scheduler_info().get("workers", {}))
        for job in jobs:
            where = [workers[job.index % len(workers)]] if workers else None
            self.futures.append(self.client.submit(
                _dask_main, job, self.run_id, key=f"{self.run_id}-{job.index}",
                workers=where, pure=False))
        self.open = set(range(len(jobs)))

    def start(self, timeout_s: float = 60.0) -> None:
        """Wait until every task is ready, then give them one start time."""
        for _ in self.futures:
            try:
                self.ready.get(timeout=timeout_s)
            except (TimeoutError, queue.Empty):
                self._raise_failed()
                raise InternalError("Dask workers did not start within a minute") from None
        self.start_variable.set(time.time() + _START_MARGIN_S)
        self.start_event.set()

    def receive(self, timeout_s: float) -> list[WorkerMessage]:
        """Messages that arrived within ``timeout_s``; raises ``WorkerFailed``."""
        messages = []
        try:
            first = self.messages.get(timeout=timeout_s)
        except (TimeoutError, queue.Empty):
            self._raise_failed()
            return []
        batch = [first]
        size = self.messages.qsize()
        if size:
            batch.extend(self.messages.get(batch=size))
        for message in batch:
            messages.append(message)
            if message.final:
                self.open.discard(message.index)
        return messages

    def _raise_failed(self) -> None:
        for future in self.futures:
            if future.done():
                error = future.result() if future.status == "finished" else str(
                    future.exception())
                if error:
                    raise WorkerFailed(error)

    @property
    def running(self) -> bool:
        """True while some worker has not sent its final message."""
        return bool(self.open)

    def stop(self) -> None:
        """Ask every worker to stop starting new requests."""
        self.stop_event.set()

    def close(self) -> None:
        """Wait for the tasks, then disconnect from the cluster."""
        try:
            self.client.gather(self.futures, errors="skip")
        finally:
            self.client.close()

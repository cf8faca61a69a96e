"""Fuzzing in worker processes, so that generation uses every core.

Hypothesis's generation is CPU-bound Python: in one process, worker threads share one core
(the GIL), and measured on the demo the assay process was the bottleneck while the server
sat mostly idle. So with ``--workers N`` (N > 1) and a network target, the fuzz phase forks
N processes. Each takes operations from a shared queue, fuzzes them with its own event loop,
HTTP session and check registry (the same code as in-process fuzzing), and streams its
events back; the parent reports them as if they were its own. Secrets a child learns (a
token from a login) reach the parent before any event, so reports still redact them.

Processes are forked (the children inherit the loaded spec and config, nothing is
re-parsed). Where ``fork`` is not available, and for ``--app`` targets (whose in-memory
state must stay whole in one process), fuzzing stays in threads of one process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ..checks.registry import build_registry
from ..core.events import Event, RunError
from ..core.secrets import Secrets
from ..specs.model import ApiSpec, Operation
from .config import TestConfig
from .executor import Executor
from .fuzz_run import FuzzControl, fuzz_events
from .identifiers import IdentifierPool
from .session import open_session

_DONE = "done"
_SECRETS = "secrets"
_EVENT = "event"
POLL_S = 0.2


def can_fork() -> bool:
    """True where worker processes can be forked (Linux, most Unixes)."""
    return "fork" in multiprocessing.get_all_start_methods()


@dataclass(frozen=True, slots=True)
class FuzzJob:
    """What a worker process needs; inherited through ``fork``, never pickled."""

    spec: ApiSpec
    config: TestConfig
    base_url: str
    secrets: Secrets
    control: FuzzControl


def _child(job: FuzzJob, labels: list[str], taken, out: multiprocessing.Queue) -> None:
    """A worker process: fuzz the next operation not taken yet, until none is left."""
    try:
        asyncio.run(_fuzz_labels(job, labels, taken, out))
    except KeyboardInterrupt:
        pass  # Ctrl-C reached the whole process group: the parent ends the run
    except BaseException as exc:  # report, never die silently
        out.put((_EVENT, RunError(f"fuzz worker failed: {type(exc).__name__}: {exc}")))
    finally:
        out.put((_DONE, None))
        out.close()
        out.join_thread()


async def _fuzz_labels(job: FuzzJob, labels: list[str], taken,
                       out: multiprocessing.Queue) -> None:
    by_label = {op.label: op for op in job.spec.operations}
    checks = build_registry(job.config.checks, job.config.exclude_checks)
    known = set(job.secrets.values)
    async with open_session(job.config, job.base_url, job.spec, job.secrets,
                            probe=False) as session:
        learned = [(v, env, job.secrets.descriptions.get(env, env))
                   for v, env in job.secrets.values.items() if v not in known]
        out.put((_SECRETS, learned))
        executor = Executor(job.spec, job.config, session, checks, job.base_url,
                            IdentifierPool([]))
        while True:
            with taken.get_lock():
                index = taken.value
                taken.value += 1
            if index >= len(labels):
                return
            label = labels[index]
            async for event in fuzz_events(executor, by_label[label], job.control):
                out.put((_EVENT, event))


def _next(out: multiprocessing.Queue) -> tuple | None:
    """The next message from the children, or None after ``POLL_S``: a reader thread must
    not block for ever (a cancelled run's event loop waits for its threads to end)."""
    try:
        return out.get(timeout=POLL_S)
    except queue.Empty:
        return None


async def fuzz_in_processes(job: FuzzJob, operations: list[Operation],
                            workers: int) -> AsyncIterator[Event]:
    """The events of fuzzing ``operations`` in ``workers`` forked processes."""
    context = multiprocessing.get_context("fork")
    labels = [operation.label for operation in operations]
    taken = context.Value("i", 0)
    out: multiprocessing.Queue = context.Queue()
    count = max(1, min(workers, len(operations)))
    processes = [context.Process(target=_child, args=(job, labels, taken, out), daemon=True)
                 for _ in range(count)]
    # Fork from a helper thread: the child then holds no copy of the running event loop.
    await asyncio.to_thread(lambda: [process.start() for process in processes])
    running = count
    try:
        while running:
            message = await asyncio.to_thread(_next, out)
            if message is None:
                if not any(process.is_alive() for process in processes) and out.empty():
                    break  # every child is gone without a word: nothing more will come
                continue
            kind, payload = message
            if kind == _DONE:
                running -= 1
            elif kind == _SECRETS:
                for value, env, description in payload:
                    job.secrets.add(value, env, description)
            else:
                yield payload
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        await asyncio.to_thread(lambda: [process.join(5) for process in processes])
        out.close()

"""Run one async event stream per operation, ``workers`` at a time, merged into one stream.

Operations that delete run after all the others have finished (``run_groups``): a DELETE
fuzzed next to a GET of the same resource would turn the GET's findings into a matter of
timing, and the same seed must give the same findings whatever the number of workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from ..core.events import Event
from ..specs.model import Operation

_DONE = object()


def run_groups(operations: list[Operation]) -> list[list[Operation]]:
    """Operations in document order, in two groups: the non-DELETEs, then the DELETEs."""
    first = [op for op in operations if op.method != "DELETE"]
    last = [op for op in operations if op.method == "DELETE"]
    return [group for group in (first, last) if group]


async def merged(operations: list[Operation], workers: int,
                 stream: Callable[[Operation], AsyncIterator[Event]]) -> AsyncIterator[Event]:
    """The events of ``stream(op)`` for every operation, ``workers`` operations at once."""
    for group in run_groups(operations):
        async for event in _merge_group(group, max(1, workers), stream):
            yield event


async def _merge_group(group: list[Operation], workers: int,
                       stream: Callable[[Operation], AsyncIterator[Event]]
                       ) -> AsyncIterator[Event]:
    if workers == 1:
        for operation in group:
            async for event in stream(operation):
                yield event
        return
    queue: asyncio.Queue = asyncio.Queue(maxsize=256)
    pending = list(reversed(group))

    async def worker() -> None:
        try:
            while pending:
                async for event in stream(pending.pop()):
                    await queue.put(event)
        finally:
            await queue.put(_DONE)

    tasks = [asyncio.create_task(worker()) for _ in range(min(workers, len(group)))]
    running = len(tasks)
    try:
        while running:
            item = await queue.get()
            if item is _DONE:
                running -= 1
            else:
                yield item
        for task in tasks:
            task.result()  # re-raise what a worker raised
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

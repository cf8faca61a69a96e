"""The hot path of the closed model: a virtual user driven by its connection's callbacks.

A coroutine per virtual user that awaits a future per response costs a future, a
``call_soon`` and a task step for every request: about a microsecond, a tenth of the whole
budget at 100k requests/s on one core. ``CallbackUser`` is the waiter the connection
resolves (``Connection.send_nowait``): ``set_result`` records the response and writes the
next request right there, inside the protocol's callback, as wrk does in C. Whatever the
fast path cannot do (connect, a HEAD or sampled request, an error, a ``Connection:
close``) it hands back to the user's coroutine, which does one request the ordinary way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any


class CallbackUser:
    """One virtual user's chain of requests on one connection (see the module docstring)."""

    __slots__ = ("driver", "connection", "may_continue", "finished", "key", "variant",
                 "sent", "raws", "pick", "send", "add", "passed", "plain")

    def __init__(self, driver: Any, connection: Any, may_continue: Callable[[], bool]):
        self.driver = driver
        self.connection = connection
        self.may_continue = may_continue
        self.raws = driver.raws
        self.finished: asyncio.Future | None = None
        self.key = self.variant = self.sent = 0
        # Bound once: each attribute lookup saved here is saved 100k times a second.
        self.pick = driver.pick
        self.send = connection.send_nowait
        self.add = driver.recorder.add
        self.passed = driver.passed
        # Endpoints without a spec operation need no check beyond "not an error status".
        self.plain = [operation is None for operation in driver.operations]

    async def run(self) -> Any:
        """Chain requests until the fast path stops. Returns ``False`` when the user may
        not continue, else the pick the coroutine must send the ordinary way."""
        self.finished = asyncio.get_running_loop().create_future()
        self._next()
        return await self.finished

    def _next(self) -> None:
        if not self.may_continue():
            self._finish(False)
            return
        pick = self.pick()
        key, variant, sampled = pick
        if sampled:
            self._finish(pick)
            return
        self.key, self.variant = key, variant
        self.sent = perf_counter_ns()
        if not self.send(self.raws[key][variant], self):
            self._finish(pick)

    def _finish(self, value: Any) -> None:
        finished = self.finished
        if finished is not None and not finished.done():
            finished.set_result(value)

    # The waiter protocol of fastproto.Wire.

    def done(self) -> bool:
        """Never "done" while a request of this user is outstanding."""
        return False

    def set_result(self, response: Any) -> None:
        """The response to the last request: record it and send the next one."""
        sent = self.sent
        key = self.key
        if response.status < 400 and self.plain[key]:
            self.add(key, sent, sent, response.done_ns, 0)
            self.passed[key] += 1
        else:
            self.driver.record(key, self.variant, sent, sent, response)
        if response.keep_alive:
            self._next()
        else:
            # The server closes this connection: the ordinary path opens a new one.
            self._finish(None)

    def set_exception(self, error: BaseException) -> None:
        """No response: record the failure; the ordinary path deals with the connection."""
        sent = self.sent
        self.driver.record_error(self.key, sent, sent, error)
        self._finish(None)

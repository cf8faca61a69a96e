"""Request pacing: pure logic that says how long to wait, and a thin helper that waits.

``RatePacer`` is the generic cell rate algorithm (GCRA), the token bucket expressed as one
"theoretical arrival time": ``rate`` sends per second on average, up to ``burst`` at once
after an idle spell. It never sleeps and never reads a clock; callers pass ``now``, so tests
give explicit times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RatePacer:
    """Decide when each send may start, for ``rate`` sends per second with ``burst``.

    ``reserve`` books a slot: call it once per send, in send order.

    >>> pacer = RatePacer(2.0)
    >>> [pacer.reserve(0.0) for _ in range(3)]
    [0.0, 0.5, 1.0]
    """

    __slots__ = ("rate", "burst", "_interval", "_tolerance", "_tat")

    def __init__(self, rate: float, burst: int = 1):
        if not rate > 0:
            raise ValueError(f"rate must be a positive number of requests per second, got {rate!r}")
        if not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an integer >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = burst
        self._interval = 1.0 / self.rate
        # A burst of N means N sends may start at the same instant: the Nth one is allowed
        # (N - 1) intervals ahead of its theoretical time.
        self._tolerance = (burst - 1) * self._interval
        self._tat: float | None = None

    def reserve(self, now: float) -> float:
        """Book the next send; returns the delay in seconds before it may start (>= 0)."""
        tat = now if self._tat is None else max(self._tat, now)
        delay = max(0.0, tat - self._tolerance - now)
        self._tat = tat + self._interval
        return delay


async def pace(
    pacer: RatePacer | None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Wait until ``pacer`` allows the next send (no wait when ``pacer`` is ``None``)."""
    if pacer is None:
        return
    delay = pacer.reserve(clock())
    if delay > 0:
        await sleep(delay)

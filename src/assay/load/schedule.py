"""How much load, when: stages, virtual-user plans and the arrival times of the open model.

Pure logic (HOUSE_STYLE 8): nothing here reads a clock or sleeps. Callers pass the elapsed
time and get decisions back; the executors in ``assay.engine.load_executors`` sleep and send.

Ramping follows k6: a closed shape starts at 0 virtual users (or ``start``) and moves
linearly to each stage's target over the stage's duration; an open shape does the same with
the arrival rate, from ``start_rate`` (0 by default). A stage of zero duration jumps.

The open model's arrivals are exact for a piecewise-linear rate: the n-th arrival (from 0) is
where the integral of the rate since the start reaches ``n + phase``. With the default phase
0, a constant 1000/s sends at 0, 1 ms, 2 ms... and 10 s hold exactly 10000 arrivals (the
interval is half-open: an arrival due exactly at the end is not sent). Worker ``i`` of
``count`` takes arrivals ``i, i + count, i + 2*count...``, so the workers together send the
global schedule exactly, interleaved.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..core.errors import UsageError
from ..core.units import parse_duration, parse_rate

_STAGE_HELP = "expected DURATION:TARGET such as 30s:50 or 1m:200/s"
_WHOLE = re.compile(r"\s*(\d+)\s*")
_ZERO = re.compile(r"\s*0+(?:\.0*)?\s*")
# The index "after the last arrival" of a schedule that never ends (a constant rate).
_NO_END = 2**62


@dataclass(frozen=True, slots=True)
class Stage:
    """Move to ``target`` (virtual users, or arrivals per second) over ``duration_s``."""

    duration_s: float
    target: float

    def __post_init__(self) -> None:
        if not self.duration_s >= 0 or not self.target >= 0:
            raise ValueError(f"a stage needs a duration and a target >= 0, found {self!r}")


@dataclass(frozen=True, slots=True)
class LoadShape:
    """Stages and the model they imply: ``"open"`` (rates) or ``"closed"`` (virtual users)."""

    model: str
    stages: tuple[Stage, ...]

    @property
    def duration_s(self) -> float:
        """The total duration of the stages."""
        return total_duration(self.stages)


def parse_stage(text: str) -> Stage:
    """One ``--stage`` value: ``"30s:50"`` (50 virtual users) or ``"1m:200/s"`` (a rate).

    >>> parse_stage("1m:200/s")
    Stage(duration_s=60.0, target=200.0)

    Raises ``UsageError`` (location ``--stage``) naming what was expected.
    """
    return _read_stage(text)[0]


def parse_stages(texts: Iterable[str]) -> LoadShape:
    """Every ``--stage`` value, in order, and the model: all rates make an open shape, all
    plain numbers a closed one; a mix, no stage or a total of zero seconds is a ``UsageError``.
    """
    texts = [str(text) for text in texts]
    read = [_read_stage(text) for text in texts]
    if not read:
        raise UsageError(f"{_STAGE_HELP}, found no stage", location="--stage")
    kinds = {is_rate for _, is_rate in read}
    if len(kinds) > 1:
        raise UsageError("stages mix virtual users (30s:50) and arrival rates (30s:100/s); "
                         f"expected one kind for every stage, found {' '.join(texts)}",
                         location="--stage")
    stages = tuple(stage for stage, _ in read)
    if total_duration(stages) <= 0:
        raise UsageError(f"{_STAGE_HELP} with a duration above 0s, found stages lasting 0s",
                         location="--stage")
    return LoadShape("open" if kinds == {True} else "closed", stages)


def _read_stage(text: str) -> tuple[Stage, bool]:
    """The stage in ``text`` and whether its target is a rate."""
    duration_text, colon, target_text = str(text).partition(":")
    try:
        if not colon:
            raise ValueError("no colon")
        duration = parse_duration(duration_text)
        if "/" in target_text:
            return Stage(duration, _stage_rate(target_text)), True
        match = _WHOLE.fullmatch(target_text)
        if not match:
            raise ValueError("not a whole number of virtual users")
        return Stage(duration, float(match.group(1))), False
    except ValueError as exc:
        raise UsageError(f"{_STAGE_HELP}, found {text!r}", location="--stage") from exc


def _stage_rate(text: str) -> float:
    """A stage's rate; unlike ``--rate``, a stage may ramp down to ``0/s``."""
    number, _, unit = text.partition("/")
    if _ZERO.fullmatch(number):
        parse_rate(f"1/{unit}")  # still reject an unknown unit
        return 0.0
    return parse_rate(text)


def total_duration(stages: Iterable[Stage]) -> float:
    """Seconds from the start of the first stage to the end of the last."""
    return float(sum(stage.duration_s for stage in stages))


def rate_at(stages: Sequence[Stage], t: float, start: float = 0.0) -> float:
    """The arrival rate ``t`` seconds into ramping ``stages`` that start at ``start``/s
    (after the last stage: its target)."""
    return _level_at(stages, t, float(start))


def vus_at(stages: Sequence[Stage], t: float, start: int = 0) -> int:
    """The number of virtual users ``t`` seconds into ``stages``, rounded (halves up)."""
    return math.floor(_level_at(stages, t, float(start)) + 0.5)


def _level_at(stages: Sequence[Stage], t: float, level: float) -> float:
    elapsed = 0.0
    t = max(t, 0.0)
    for stage in stages:
        if t < elapsed + stage.duration_s:
            return level + (stage.target - level) * (t - elapsed) / stage.duration_s
        elapsed += stage.duration_s
        level = stage.target
    return level


def split_vus(total: int, count: int) -> list[int]:
    """``total`` virtual users over ``count`` workers: user ``j`` goes to worker
    ``j % count``, so the shares sum to ``total`` and differ by at most 1.

    >>> split_vus(10, 3)
    [4, 3, 3]
    """
    if total < 0 or count < 1:
        raise ValueError(f"expected total >= 0 and count >= 1, found {total}, {count}")
    return [_share(total, index, count) for index in range(count)]


def split_iterations(total: int, count: int) -> list[int]:
    """``total`` iterations over ``count`` workers (as ``split_vus``)."""
    return split_vus(total, count)


def _share(total: int, index: int, count: int) -> int:
    """How many of ``0..total-1`` are ``index`` modulo ``count``."""
    return max(0, (total - index + count - 1) // count)


@dataclass(frozen=True, slots=True)
class VuPlan:
    """Ramping virtual users shared by ``count`` workers.

    Worker ``index`` runs the users ``j`` with ``j % count == index`` among the global
    target, so at every ``t`` the workers' targets sum to ``vus_at(stages, t, start)``, and a
    worker's target only grows while the global one grows.
    """

    stages: tuple[Stage, ...]
    count: int = 1
    start: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        if self.count < 1 or self.start < 0:
            raise ValueError(f"expected count >= 1 and start >= 0, found {self.count}, "
                             f"{self.start}")

    @property
    def duration_s(self) -> float:
        """The total duration of the stages."""
        return total_duration(self.stages)

    def total_at(self, t: float) -> int:
        """The global number of virtual users at ``t``."""
        return vus_at(self.stages, t, self.start)

    def vus_at(self, index: int, t: float) -> int:
        """Worker ``index``'s number of virtual users ``t`` seconds into the run."""
        return _share(self.total_at(t), index, self.count)


@dataclass(slots=True)
class _Segment:
    """A piece of the rate, linear in time: rate ``rate + slope * s`` for ``s`` in
    ``[0, duration)`` from ``start_s``; it holds the global arrivals ``first..end-1``."""

    start_s: float
    duration_s: float
    rate: float
    slope: float
    area_before: float
    first: int
    end: int
    phase: float

    def area(self, s: float) -> float:
        """The integral of the rate from the start of the run to ``s`` into the segment."""
        s = min(max(s, 0.0), self.duration_s)
        return self.area_before + self.rate * s + 0.5 * self.slope * s * s

    def time(self, n: int) -> float:
        """The time of global arrival ``n`` (which must be in this segment)."""
        return self.times(range(n, n + 1))[0]

    def times(self, ns: range) -> list[float]:
        """The times of the global arrivals in ``ns`` (all in this segment).

        The quadratic ``slope/2 s**2 + rate s = y`` is solved as
        ``s = 2y / (rate + sqrt(rate**2 + 2 slope y))``, which stays accurate when the slope
        is small or negative (no cancellation); a ramp from 0 is ``s = sqrt(2y / slope)``.
        """
        start, r, c, d = self.start_s, self.rate, self.phase - self.area_before, self.duration_s
        sqrt = math.sqrt
        # ``min(d, ...)`` keeps a time inside its segment whatever the rounding (and turns
        # the inf or nan of an absurdly small rate into the segment's end).
        if self.slope == 0.0:
            inv = 1.0 / r
            if d == math.inf:
                return [start + (n + c) * inv for n in ns]
            return [start + min(d, (n + c) * inv) for n in ns]
        if r == 0.0:
            k = 2.0 / self.slope
            return [start + min(d, sqrt(max(0.0, (n + c) * k))) for n in ns]
        r2, s2 = r * r, 2.0 * self.slope
        return [start + min(d, 2.0 * (n + c) / (r + sqrt(max(0.0, r2 + s2 * (n + c)))))
                for n in ns]


class ArrivalSchedule:
    """The intended send times of the open model, as offsets in seconds from the start.

    ``rate`` is a constant rate (no end: the caller stops at its duration), or ``stages``
    ramp from ``start_rate``. ``share=(index, count)`` keeps worker ``index``'s arrivals.
    ``next_batch(until_s)`` hands out this worker's next arrivals, in order:

    >>> ArrivalSchedule(rate=4.0, share=(1, 2)).next_batch(1.0)
    [0.25, 0.75]
    """

    __slots__ = ("index", "count", "phase", "end_s", "_segments", "_firsts", "_starts",
                 "_end", "_next", "_seg")

    def __init__(self, rate: float | None = None, stages: Sequence[Stage] = (),
                 start_rate: float = 0.0, share: tuple[int, int] = (0, 1), phase: float = 0.0):
        index, count = share
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"share must be (index, count) with 0 <= index < count, "
                             f"found {share!r}")
        if not 0.0 <= phase < 1.0:
            raise ValueError(f"phase must be in [0, 1), found {phase!r}")
        self.index, self.count, self.phase = index, count, phase
        if (rate is None) == (not stages):
            raise ValueError("expected a constant rate or rate stages (one of them)")
        if rate is not None:
            if not rate > 0:
                raise ValueError(f"rate must be above 0, found {rate!r}")
            self._segments = [self._segment(0.0, math.inf, rate, rate, 0.0)]
            self.end_s: float | None = None
        else:
            self._segments = self._ramp(stages, float(start_rate))
            self.end_s = total_duration(stages)
        self._firsts = [segment.first for segment in self._segments]
        self._starts = [segment.start_s for segment in self._segments]
        self._end = self._segments[-1].end
        self._next = index  # the next global arrival this worker sends
        self._seg = 0

    def _segment(self, start_s: float, duration: float, r0: float, r1: float,
                 area_before: float) -> _Segment:
        slope = 0.0 if r0 == r1 else (r1 - r0) / duration
        area_after = area_before + (r0 + r1) / 2 * duration
        return _Segment(start_s, duration, r0, slope, area_before,
                        self._first_at(area_before), self._first_at(area_after), self.phase)

    def _ramp(self, stages: Sequence[Stage], rate: float) -> list[_Segment]:
        if not rate >= 0:
            raise ValueError(f"start_rate must be >= 0, found {rate!r}")
        segments, start, area = [], 0.0, 0.0
        for stage in stages:
            if stage.duration_s > 0:  # a stage of zero duration only moves the rate
                segments.append(self._segment(start, stage.duration_s, rate, stage.target, area))
                area += (rate + stage.target) / 2 * stage.duration_s
                start += stage.duration_s
            rate = stage.target
        if not segments:
            raise ValueError("rate stages must last more than 0s in total")
        return segments

    def _first_at(self, area: float) -> int:
        """The first global arrival ``n`` with ``n + phase >= area``."""
        if area == math.inf:
            return _NO_END
        return max(0, math.ceil(area - self.phase))

    @property
    def total(self) -> int | None:
        """How many arrivals this worker sends in all (``None`` for a constant rate)."""
        return None if self._end == _NO_END else _share(self._end, self.index, self.count)

    @property
    def done(self) -> bool:
        """True once ``next_batch`` has handed out every arrival."""
        return self._next >= self._end

    def time_of(self, n: int) -> float:
        """The time of the ``n``-th arrival of the global schedule (from 0)."""
        if not 0 <= n < self._end:
            raise IndexError(f"arrival {n} is outside the schedule (0..{self._end - 1})")
        return self._segments[bisect_right(self._firsts, n) - 1].time(n)

    def _global_count(self, t: float) -> int:
        """How many global arrivals come before ``t`` (exactly as ``time_of`` places them)."""
        if t <= 0:
            return 0
        segment = self._segments[bisect_right(self._starts, t) - 1]
        k = min(self._end, self._first_at(segment.area(t - segment.start_s)))
        # The integral and the solved times round differently: let the times decide.
        while k > 0 and self.time_of(k - 1) >= t:
            k -= 1
        while k < self._end and self.time_of(k) < t:
            k += 1
        return k

    def count_until(self, t: float) -> int:
        """How many of this worker's arrivals fall before ``t`` seconds."""
        return _share(self._global_count(t), self.index, self.count)

    def next_batch(self, until_s: float) -> list[float]:
        """This worker's arrivals not handed out yet that fall before ``until_s``, in order."""
        stop = self._global_count(until_s)
        n, step, out = self._next, self.count, []
        while n < stop:
            segment = self._segments[self._seg]
            if n >= segment.end:
                self._seg += 1
                continue
            ns = range(n, min(stop, segment.end), step)
            out += segment.times(ns)
            n += len(ns) * step
        self._next = n
        return out

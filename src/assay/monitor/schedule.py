"""When each monitor runs: epoch-aligned, deterministic slots, and a heap that hands them out.

Pure logic (HOUSE_STYLE 8): nothing here reads a clock or sleeps. The runner asks
``Scheduler.due(now)`` what to start, sleeps until ``Scheduler.next_wakeup()`` and reports
lateness as ``lateness(due, started_at)``.

Slots are a function of the monitor's name and plan only, never of when an agent started,
so agents in different processes or locations plan the same instants (multi-location quorum
and the outbox's dedup keys rely on it):

- ``every: E``: the slots are ``offset + k*E`` for every integer ``k`` (epoch seconds),
  where ``offset = offset_for(name, E)`` lies in ``[0, E)``. The offset comes from SHA-256
  of the name, so a thousand monitors every 10 s are spread evenly over the 10 s instead of
  all firing on the same millisecond.
- ``cron: EXPR`` (UTC): each fire time ``f`` of the expression gives the slot
  ``f + offset_for(name, min(CRON_SPREAD_S, g - f))`` where ``g`` is the next fire time.
  Cron monitors commonly fire on the minute; this spreads them over its first seconds
  (at most ``CRON_SPREAD_S``), and never past the next fire time, so slots keep the
  order of their fire times (a cron with a fire every second spreads over that second).

A monitor that falls behind (the agent was down, the loop stalled) gets only its latest
missed slot: one run, not a storm of catch-up runs.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from croniter import CroniterBadDateError, CroniterError, croniter

from ..core.errors import ConfigError
from .model import Monitor

CRON_SPREAD_S = 10.0
_CRON_HELP = (
    "expected 5 fields (minute hour day-of-month month day-of-week) "
    "or 6 with seconds last, such as '*/5 * * * *'"
)


def offset_for(name: str, period: float) -> float:
    """A stable offset in ``[0, period)`` for the monitor called ``name``.

    SHA-256 of the UTF-8 name (never Python's salted ``hash()``), so every process and
    every machine computes the same value: ``offset_for("health", 10.0)`` is the same
    float everywhere.
    """
    if not period > 0:
        raise ValueError(f"a period must be > 0, found {period!r}")
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    # 53 bits: exactly representable as a float fraction in [0, 1).
    fraction = (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)
    offset = fraction * period
    # Rounding of the product could land on `period` itself, which is the next slot.
    return offset if offset < period else math.nextafter(period, 0.0)


@dataclass(frozen=True, slots=True)
class Due:
    """One planned run: ``monitor`` (its name) should start at ``planned_at`` (epoch s)."""

    monitor: str
    planned_at: float


def lateness(due: Due, started_at: float) -> float:
    """How late a run started against its own planned slot, offset included (seconds;
    negative if it started early)."""
    return started_at - due.planned_at


def cron_error(expr: str) -> str | None:
    """Why ``expr`` is not a cron expression assay accepts, or None if it is (for config
    validation: the message says what was expected)."""
    try:
        CronTimes(expr)
    except ConfigError as exc:
        return exc.message
    return None


class CronTimes:
    """The fire times of a cron expression, in UTC, as epoch seconds.

    Holds one parsed croniter (parsing costs ~5x a step) for one caller; not thread-safe.
    """

    __slots__ = ("expr", "_iter")

    def __init__(self, expr: str):
        self.expr = expr
        try:
            self._iter = croniter(expr, datetime.fromtimestamp(0, UTC), ret_type=float)
        except (CroniterError, ValueError, KeyError) as exc:
            raise ConfigError(f"invalid cron expression {expr!r}: {exc}; {_CRON_HELP}") from exc

    def after(self, t: float) -> float | None:
        """The first fire time strictly after ``t``, or None if there is none."""
        return self._step(float(math.floor(t)), forward=True)

    def at_or_before(self, t: float) -> float | None:
        """The latest fire time at or before ``t``, or None if there is none."""
        # Fire times are whole seconds, and croniter's get_prev is strictly before its start.
        return self._step(float(math.floor(t) + 1), forward=False)

    def _step(self, start: float, *, forward: bool) -> float | None:
        self._iter.set_current(datetime.fromtimestamp(start, UTC), force=True)
        try:
            return self._iter.get_next(float) if forward else self._iter.get_prev(float)
        except CroniterBadDateError:
            return None


class _Plan(Protocol):
    """A monitor's slots: a deterministic, increasing sequence of epoch times."""

    key: tuple[object, ...]

    def first_at_or_after(self, t: float) -> float | None:
        """The first slot at or after ``t``."""

    def latest_at_or_before(self, t: float) -> float | None:
        """The latest slot at or before ``t``."""

    def after(self, slot: float) -> float | None:
        """The slot that follows ``slot``."""


class _EveryPlan:
    """Slots ``offset + k*period``; always computed by that expression, so two agents that
    reach the same ``k`` from different clocks get bit-identical floats."""

    __slots__ = ("key", "period", "offset")

    def __init__(self, name: str, period: float):
        self.key = ("every", period)
        self.period = period
        self.offset = offset_for(name, period)

    def _slot(self, k: int) -> float:
        return self.offset + k * self.period

    def first_at_or_after(self, t: float) -> float:
        k = math.ceil((t - self.offset) / self.period)
        # The division rounds: step to the exact boundary.
        while self._slot(k) < t:
            k += 1
        while self._slot(k - 1) >= t:
            k -= 1
        return self._slot(k)

    def latest_at_or_before(self, t: float) -> float:
        k = math.floor((t - self.offset) / self.period)
        while self._slot(k) > t:
            k -= 1
        while self._slot(k + 1) <= t:
            k += 1
        return self._slot(k)

    def after(self, slot: float) -> float:
        return self._slot(round((slot - self.offset) / self.period) + 1)


class _CronPlan:
    """Slots at the cron's fire times plus a per-name offset (module docstring)."""

    __slots__ = ("key", "name", "times")

    def __init__(self, name: str, expr: str):
        self.key = ("cron", expr)
        self.name = name
        self.times = CronTimes(expr)

    def _slot(self, fire: float | None) -> float | None:
        if fire is None:
            return None
        following = self.times.after(fire)
        if following is None:
            return fire + offset_for(self.name, CRON_SPREAD_S)
        slot = fire + offset_for(self.name, min(CRON_SPREAD_S, following - fire))
        # Rounding at epoch magnitudes must not carry a slot onto the next fire time.
        return slot if slot < following else math.nextafter(following, 0.0)

    def first_at_or_after(self, t: float) -> float | None:
        slot = self._slot(self.times.at_or_before(t))
        if slot is not None and slot >= t:
            return slot  # t is between a fire time and its offset slot
        return self._slot(self.times.after(t))

    def latest_at_or_before(self, t: float) -> float | None:
        fire = self.times.at_or_before(t)
        slot = self._slot(fire)
        if slot is None or slot <= t:
            return slot
        # Still inside this fire's spread: the previous fire's slot is the latest one.
        return self._slot(self.times.at_or_before(fire - 1))

    def after(self, slot: float) -> float | None:
        # A slot lies before the next fire time, so its own fire is the latest one.
        fire = self.times.at_or_before(slot)
        return self._slot(self.times.after(fire if fire is not None else slot))


def _plan_for(monitor: Monitor) -> _Plan:
    where = f"line {monitor.line}" if monitor.line else None
    if (monitor.every_s is None) == (monitor.cron is None):
        raise ConfigError(
            f"monitor {monitor.name!r}: expected exactly one of 'every' or 'cron'",
            location=where,
        )
    if monitor.cron is not None:
        try:
            return _CronPlan(monitor.name, monitor.cron)
        except ConfigError as exc:
            raise ConfigError(f"monitor {monitor.name!r}: {exc.message}", location=where) from exc
    if not monitor.every_s > 0:
        raise ConfigError(
            f"monitor {monitor.name!r}: 'every' must be > 0, found {monitor.every_s!r}",
            location=where,
        )
    return _EveryPlan(monitor.name, monitor.every_s)


@dataclass(slots=True)
class _Entry:
    """A scheduled monitor. ``version`` tells current heap items from stale ones."""

    monitor: Monitor
    plan: _Plan
    slot: float | None
    version: int = 0


class Scheduler:
    """Hands out due slots in time order, cheaply: a heap keyed by each monitor's next slot.

    Stale heap items (a monitor paused, re-planned or removed) are skipped when they reach
    the top rather than searched for, so every operation is O(log n).

    >>> s = Scheduler([Monitor("health", "http", every_s=10.0)], now=0.0)
    >>> first = s.next_wakeup()
    >>> [d.monitor for d in s.due(first)]
    ['health']
    >>> s.next_wakeup() == first + 10.0
    True
    """

    def __init__(self, monitors: Iterable[Monitor], now: float, *, paused: Iterable[str] = ()):
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[float, str, int]] = []
        # Names, not entries: a paused monitor removed from the config and added back
        # stays paused (the store persists pauses by name).
        self._paused: set[str] = set(paused)
        self._counter = 0
        self.replace(monitors, now)

    @property
    def paused(self) -> frozenset[str]:
        """The names of paused monitors (including names not, or no longer, configured)."""
        return frozenset(self._paused)

    def monitor(self, name: str) -> Monitor | None:
        """The current configuration of the monitor called ``name``, if scheduled."""
        entry = self._entries.get(name)
        return entry.monitor if entry else None

    def next_slot(self, name: str) -> float | None:
        """The next planned time of ``name``; None if unknown, paused or never again."""
        entry = self._entries.get(name)
        if entry is None or name in self._paused:
            return None
        return entry.slot

    def due(self, now: float) -> list[Due]:
        """Every slot due at ``now`` (planned at or before it), oldest first, at most one per
        monitor: after a gap, only the latest missed slot. Each monitor returned moves on to
        its first slot after ``now``."""
        found: list[Due] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            slot, name, version = heapq.heappop(heap)
            entry = self._live(name, version)
            if entry is None:
                continue
            # At or after the popped slot: after a gap, the latest missed slot.
            latest = entry.plan.latest_at_or_before(now)
            planned = slot if latest is None else latest
            found.append(Due(name, planned))
            self._schedule(entry, entry.plan.after(planned))
        found.sort(key=lambda d: (d.planned_at, d.monitor))
        return found

    def next_wakeup(self) -> float | None:
        """The earliest next planned time of an unpaused monitor (None: nothing to run)."""
        heap = self._heap
        while heap:
            _, name, version = heap[0]
            if self._live(name, version) is not None:
                return heap[0][0]
            heapq.heappop(heap)
        return None

    def pause(self, name: str) -> None:
        """Stop running ``name`` until ``resume``. Unknown names are recorded too (the web
        layer checks names); pausing twice is harmless."""
        self._paused.add(name)

    def resume(self, name: str, now: float) -> None:
        """Run ``name`` again from its first slot at or after ``now`` (no catch-up run for
        the slots missed while paused). Resuming a monitor that is not paused does nothing."""
        if name not in self._paused:
            return
        self._paused.discard(name)
        entry = self._entries.get(name)
        if entry is not None:
            self._schedule(entry, entry.plan.first_at_or_after(now))

    def replace(self, monitors: Iterable[Monitor], now: float) -> None:
        """Take a reloaded configuration: an unchanged plan keeps its next slot (whatever
        else changed), a changed ``every``/``cron`` re-plans from ``now``, a new monitor gets
        its first slot at or after ``now``, and a removed one vanishes."""
        new: dict[str, Monitor] = {}
        for monitor in monitors:
            if monitor.name in new:
                raise ConfigError(f"two monitors are called {monitor.name!r}")
            new[monitor.name] = monitor
        plans = {name: _plan_for(monitor) for name, monitor in new.items()}  # all or nothing
        old = self._entries
        self._entries = {}
        for name, monitor in new.items():
            previous = old.get(name)
            if previous is not None and previous.plan.key == plans[name].key:
                previous.monitor = monitor
                self._entries[name] = previous
                continue
            entry = _Entry(monitor, plans[name], None, self._next_version())
            self._entries[name] = entry
            self._schedule(entry, entry.plan.first_at_or_after(now))

    def _live(self, name: str, version: int) -> _Entry | None:
        entry = self._entries.get(name)
        if entry is None or entry.version != version or name in self._paused:
            return None
        return entry

    def _next_version(self) -> int:
        # Versions are unique across entries, so a removed and re-added monitor's old heap
        # items can never pass for current ones.
        self._counter += 1
        return self._counter

    def _schedule(self, entry: _Entry, slot: float | None) -> None:
        entry.slot = slot
        entry.version = self._next_version()
        if slot is not None:
            heapq.heappush(self._heap, (slot, entry.monitor.name, entry.version))

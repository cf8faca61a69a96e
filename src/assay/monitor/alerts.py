"""Alert state machines: per (monitor, channel), run outcomes in, notifications out.

Pure logic (HOUSE_STYLE 8): every method takes ``now``; nothing reads a clock, sleeps or
sends. The runner feeds each slot's outcome to ``AlertMachine.observe`` (in slot order),
calls ``tick`` between results, turns each ``Transition`` into an ``AlertEvent`` with
``alert_event`` and puts it in the outbox, then saves ``to_state()``.

The rules (Gatus's thresholds, Alertmanager's repeat interval, Nagios's flap detection):

- ``failure_threshold`` consecutive failed runs make the alert *fire*: one ``firing``.
  Further failures say nothing; ``remind_every_s`` sends ``reminder`` 1, 2, ... while it fires.
- ``success_threshold`` consecutive successful runs *resolve* it: one ``resolved`` when
  ``send_on_resolved``, and the state resolves either way. A shorter success streak
  interrupted by a failure keeps the same incident firing.
- Flapping: ``flap_threshold`` run-level state changes (up -> down or down -> up between two
  consecutive runs, as Nagios counts them) within ``flap_window_s`` send one ``flapping``
  notice; then ``firing``/``resolved``/``reminder`` are held (the thresholds keep counting)
  until no state change happened for ``flap_window_s``, and then the current truth is sent
  once if it differs from what the channel was last told.

Why run-level changes rather than firing <-> resolved cycles: the storm this prevents is
caused by an unstable service, and run-level changes see the instability as it happens,
before a single notification (a service alternating up/down never reaches 3 failures in a
row, so it would never fire nor be called flapping, while it fails half of its runs); they
depend only on the stored outcomes, so every agent fed the same slots agrees; and counting
firing/resolved cycles lets ``flap_threshold`` notifications out before it acts.

Maintenance windows and silences are not this machine's business: the runner keeps
observing (the counts stay true) and holds the notifications in the outbox.

Identity and dedup keys: a transition carries ``streak_started_at``, the ``planned_at`` of
the first failed run of the incident's failing streak. Slots are the same instants on every
agent (``schedule.py``), so ``dedup_key`` is the same on every agent that sees the same
outcomes, and the same after a restart that replays a result: the outbox sends it once.

Persistence: ``to_state()`` is JSON-able and ``AlertMachine(settings, state)`` resumes
exactly. The runner enqueues a transition's event *before* saving the state: a kill in
between replays the result after the restart, whose event the outbox already holds
(nothing repeated); a kill before enqueueing loses nothing, since the state was not saved.
An observation for a slot at or before the last observed one is ignored, so a replay
never counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import AlertSettings
from .records import AlertEvent, RunResult

STATE_VERSION = 1
_FIRING = "firing"
_RESOLVED = "resolved"


@dataclass(slots=True)
class Transition:
    """One notification the machine decided on.

    ``event`` is one of ``records.EVENTS`` (here: firing, resolved, reminder, flapping);
    ``streak_started_at`` identifies the incident (for ``flapping``: the first state change
    of the unstable period); ``number`` counts reminders (1, 2, ...; 0 otherwise).
    """

    event: str
    message: str
    streak_started_at: float
    number: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def dedup_key(monitor: str, channel: str, transition: Transition) -> str:
    """The outbox key of ``transition``: ``"<monitor>|<channel>|<event>|<streak start>"``,
    plus ``"|<n>"`` for the n-th reminder.

    The time has a fixed 3 decimals: slot times computed by different agents may differ in
    the last bits of a float, never by a millisecond.

    >>> dedup_key("health", "ops", Transition("firing", "down", 1700000010.0))
    'health|ops|firing|1700000010.000'
    """
    key = f"{monitor}|{channel}|{transition.event}|{transition.streak_started_at:.3f}"
    if transition.event == "reminder":
        key += f"|{transition.number}"
    return key


def alert_event(transition: Transition, *, monitor: str, channel: str, location: str,
                at: float, result: RunResult | None = None) -> AlertEvent:
    """The ``AlertEvent`` for ``transition`` (its ``dedup_key`` included) sent at ``at``."""
    details = dict(transition.details)
    details["streak_started_at"] = transition.streak_started_at
    if transition.event == "reminder":
        details["reminder"] = transition.number
    return AlertEvent(event=transition.event, monitor=monitor, channel=channel,
                      location=location, at=at, message=transition.message,
                      dedup_key=dedup_key(monitor, channel, transition),
                      last_result=result, details=details)


class AlertMachine:
    """The alert state of one monitor on one channel (see the module docstring).

    >>> m = AlertMachine(AlertSettings(failure_threshold=2, success_threshold=1))
    >>> [t.event for t in m.observe(False, 10.0, 10.1) + m.observe(False, 20.0, 20.1)]
    ['firing']
    >>> [t.event for t in m.observe(True, 30.0, 30.1)]
    ['resolved']
    """

    __slots__ = ("settings", "_failures", "_successes", "_streak_start", "_firing",
                 "_incident", "_last_ok", "_last_planned", "_changes", "_flapping",
                 "_announced", "_announced_incident", "_announced_at", "_reminders",
                 "_last_reason")

    def __init__(self, settings: AlertSettings, state: dict[str, Any] | None = None):
        self.settings = settings
        self._failures = 0
        self._successes = 0
        self._streak_start: float | None = None
        self._firing = False
        self._incident: float | None = None
        self._last_ok: bool | None = None
        self._last_planned: float | None = None
        self._changes: list[float] = []
        self._flapping = False
        # What the channel was last told ("resolved" also when send_on_resolved kept it
        # quiet: after flapping, a resolution it never heard of must not be sent).
        self._announced = _RESOLVED
        self._announced_incident: float | None = None
        self._announced_at: float | None = None
        self._reminders = 0
        self._last_reason: str | None = None
        if state and state.get("v") == STATE_VERSION:
            self._load(state)

    @property
    def firing(self) -> bool:
        """Whether the alert fires now (the truth, even while flapping holds notices)."""
        return self._firing

    @property
    def flapping(self) -> bool:
        """Whether notifications are held because the outcome keeps changing."""
        return self._flapping

    @property
    def incident_started_at(self) -> float | None:
        """``planned_at`` of the first failed run of the firing incident (None when not firing)."""
        return self._incident if self._firing else None

    def observe(self, ok: bool, planned_at: float, now: float,
                result: RunResult | None = None) -> list[Transition]:
        """Feed the outcome of the slot ``planned_at``; returns what to notify.

        Slots must come in order; one at or before the last observed slot is ignored.
        """
        if self._last_planned is not None and planned_at <= self._last_planned:
            return []
        self._last_planned = planned_at
        self._count_change(ok, planned_at)
        self._count_streak(ok, planned_at, result)
        out = self._start_flapping(ok, planned_at)
        out += self._announce(planned_at)
        return out + self.tick(now)

    def tick(self, now: float) -> list[Transition]:
        """Decisions that need no new result: the end of flapping and reminders."""
        out: list[Transition] = []
        if self._flapping and now - self._changes[-1] >= self.settings.flap_window_s:
            self._flapping = False
            self._changes.clear()
            out += self._announce(now, note=" (no longer flapping)")
        return out + self._remind(now)

    def to_state(self) -> dict[str, Any]:
        """A JSON-able snapshot; ``AlertMachine(settings, state)`` resumes from it."""
        return {"v": STATE_VERSION, "failures": self._failures, "successes": self._successes,
                "streak_start": self._streak_start, "firing": self._firing,
                "incident": self._incident, "last_ok": self._last_ok,
                "last_planned": self._last_planned, "changes": list(self._changes),
                "flapping": self._flapping, "announced": self._announced,
                "announced_incident": self._announced_incident,
                "announced_at": self._announced_at, "reminders": self._reminders,
                "last_reason": self._last_reason}

    # -- internals -----------------------------------------------------------------
    def _load(self, state: dict[str, Any]) -> None:
        self._failures = int(state.get("failures", 0))
        self._successes = int(state.get("successes", 0))
        self._streak_start = state.get("streak_start")
        self._firing = bool(state.get("firing", False))
        self._incident = state.get("incident")
        self._last_ok = state.get("last_ok")
        self._last_planned = state.get("last_planned")
        self._changes = [float(c) for c in state.get("changes", ())]
        # A saved "flapping" with no change to measure stability from cannot end: drop it.
        self._flapping = bool(state.get("flapping", False)) and bool(self._changes)
        self._announced = _FIRING if state.get("announced") == _FIRING else _RESOLVED
        self._announced_incident = state.get("announced_incident")
        self._announced_at = state.get("announced_at")
        self._reminders = int(state.get("reminders", 0))
        self._last_reason = state.get("last_reason")

    def _count_change(self, ok: bool, planned_at: float) -> None:
        if self._last_ok is not None and ok != self._last_ok:
            self._changes.append(planned_at)
            # Only the newest flap_threshold changes can decide anything: the state stays small.
            del self._changes[:-max(1, self.settings.flap_threshold)]
        self._last_ok = ok

    def _count_streak(self, ok: bool, planned_at: float, result: RunResult | None) -> None:
        if ok:
            self._successes += 1
            self._failures = 0
            self._streak_start = None
            if self._firing and self._successes >= self.settings.success_threshold:
                self._firing = False
            return
        if self._failures == 0:
            self._streak_start = planned_at
        self._failures += 1
        self._successes = 0
        if result is not None and result.reason:
            self._last_reason = result.reason
        if not self._firing and self._failures >= self.settings.failure_threshold:
            self._firing = True
            self._incident = self._streak_start

    def _start_flapping(self, ok: bool, planned_at: float) -> list[Transition]:
        window = self.settings.flap_window_s
        if self.settings.flap_threshold < 1:  # 0 turns flap detection off
            return []
        recent = [c for c in self._changes if c >= planned_at - window]
        if self._flapping or len(recent) < self.settings.flap_threshold:
            return []
        self._flapping = True
        message = (f"flapping: {len(recent)} changes between up and down within "
                   f"{format_duration(window)} (now {'up' if ok else 'down'}); firing and "
                   f"resolved notices are held until it is stable for "
                   f"{format_duration(window)}")
        details = {"changes": len(recent), "window_s": window, "ok": ok,
                   "firing": self._firing}
        return [Transition("flapping", message, recent[0], details=details)]

    def _announce(self, at: float, note: str = "") -> list[Transition]:
        """Tell the channel the truth if it differs from what it was last told."""
        truth = _FIRING if self._firing else _RESOLVED
        if self._flapping or truth == self._announced:
            return []
        self._announced = truth
        self._reminders = 0
        if truth == _FIRING:
            self._announced_incident = self._incident
            self._announced_at = at
            transition = self._firing_transition()
            transition.message += note
            return [transition]
        incident = self._announced_incident
        if not self.settings.send_on_resolved or incident is None:
            return []
        down_for = format_duration(max(0.0, (self._last_planned or at) - incident))
        message = (f"up again: {self._successes} successful runs in a row after {down_for} "
                   f"down{note}")
        return [Transition("resolved", message, incident,
                           details={"successes": self._successes})]

    def _firing_transition(self) -> Transition:
        incident = self._incident if self._incident is not None else 0.0
        message = f"down: {self._failures} failed runs in a row"
        if self._last_reason:
            message += f" (last: {self._last_reason})"
        return Transition(_FIRING, message, incident, details={"failures": self._failures})

    def _remind(self, now: float) -> list[Transition]:
        every = self.settings.remind_every_s
        if (not every or self._flapping or self._announced != _FIRING or not self._firing
                or self._announced_at is None or self._announced_incident is None):
            return []
        # After a long pause (agent down) send one reminder, numbered by elapsed time, not
        # every missed one.
        due = int((now - self._announced_at) // every)
        if due <= self._reminders:
            return []
        self._reminders = due
        since = format_duration(max(0.0, now - self._announced_incident))
        message = f"still down after {since} (reminder {due})"
        if self._last_reason:
            message += f"; last: {self._last_reason}"
        return [Transition("reminder", message, self._announced_incident, number=due)]


def format_duration(seconds: float) -> str:
    """``"1h 2m"``, ``"5m 3s"``, ``"42s"``: a human-readable duration (two units at most).

    >>> format_duration(3723)
    '1h 2m'
    """
    total = int(round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size or (size == 1 and not parts):
            parts.append(f"{total // size}{unit}")
            total %= size
    return " ".join(parts[:2])

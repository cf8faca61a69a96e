"""From stored results to queued notifications: the monitor's alert machines, run for real.

The pure parts decide (``monitor.alerts``, ``anomaly``, ``slo``, ``quorum``,
``maintenance``); this module feeds them each slot's outcome in order, keeps their state in
the store, opens and resolves incidents, and puts every notification in the outbox, held
while a maintenance window or a silence covers the monitor.

Order matters for "nothing lost, nothing repeated" (``monitor.alerts``' docstring): each
event is enqueued before the state that produced it is saved, and the outbox's unique
``dedup_key`` turns a replay after a restart into a no-op.

A monitor with ``locations_failing: N > 1`` is judged per slot from every location's
results in the shared store (``quorum.decide_slot``): its slots wait in ``pending`` until
enough locations reported or the slot's deadline passed, and are fed in slot order (a
later slot decided early waits for an earlier undecided one: the machines ignore a slot
older than the last they saw, and every agent must feed the same slots to derive the same
dedup keys).

Held notifications (a maintenance window or a silence) stay in the outbox, ``held``, and
are all released once no monitor with a held notification is held any more. Nothing is
dropped: an alert that fired and resolved within a maintenance window is delivered after
it, its ``firing`` and its ``resolved`` (one dedup key each), so the receiver learns what
happened while it was not told. (The outbox can only release every held item at once,
``Store.release_held``: while one monitor with held items stays silenced, another's held
items wait with them.)
"""

from __future__ import annotations

import fnmatch
from typing import Any

from ..monitor.alerts import AlertMachine, Transition, alert_event
from ..monitor.anomaly import LatencyBaseline
from ..monitor.maintenance import covers, is_active
from ..monitor.model import AlertSettings, MaintenanceWindow, Monitor, MonitorConfig
from ..monitor.notification import payload
from ..monitor.quorum import QuorumPolicy, deadline_for, decide_slot
from ..monitor.records import AlertEvent, RunResult, Silence
from ..monitor.slo import SloAlerter, store_counts
from ..storage.base import Store

SLO_EVERY_S = 60.0
HELD_SCAN = 1000  # undelivered outbox items read to learn which monitors have held ones
_INCIDENT = AlertSettings(flap_threshold=0)


class Alerting:
    """The alert state of every monitor of one agent (at ``location``)."""

    def __init__(self, config: MonitorConfig, store: Store, *, location: str,
                 slo_every_s: float = SLO_EVERY_S):
        self.config = config
        self.store = store
        self.location = location
        self.slo_every_s = slo_every_s  # SLO burn rates read hours of results: not every tick
        self._states = store.load_states()
        self._machines: dict[str, AlertMachine] = {}
        self._baselines: dict[str, LatencyBaseline] = {}
        self._slos: dict[str, SloAlerter] = {}
        self._slo_due: dict[str, float] = {}
        self.pending: dict[str, list[float]] = {}
        self._dirty: set[str] = set()
        self._unsaved: dict[str, dict[str, Any]] = {}
        self._by_name = {m.name: m for m in config.monitors}

    def reconfigure(self, config: MonitorConfig) -> None:
        """A reloaded config: machines are rebuilt from their saved states with the new
        settings (counts and open incidents carry over)."""
        self.flush()
        self.config = config
        self._by_name = {m.name: m for m in config.monitors}
        self._machines.clear()  # rebuilt lazily from the saved states, with new settings
        self._baselines.clear()

    # -- results -------------------------------------------------------------------

    def observe(self, monitor: Monitor, result: RunResult, now: float, *,
                commit: bool = True) -> list[AlertEvent]:
        """Feed one of this agent's results; returns the events queued in the outbox.
        ``commit=False`` leaves the changed states for one ``commit()`` after a batch."""
        events: list[AlertEvent] = []
        verdict = self._baseline(monitor).observe_result(result)
        # A baseline changes with every run: saved with the periodic flush, not each time
        # (losing a few samples to a kill costs nothing; an alert machine's state is saved
        # at once).
        self._dirty.add(monitor.name)
        if verdict is not None and verdict.alert:
            events += [self._event(monitor, channel.name, "anomaly", verdict.describe(), now,
                                   f"{verdict.since:.3f}", result, {"z": verdict.z})
                       for channel in monitor.channels(self.config.channels)]
        if monitor.locations_failing > 1:
            self.pending.setdefault(monitor.name, []).append(result.planned_at)
            events += self._decide_pending(monitor, now)
        else:
            events += self._feed(monitor, result.ok, result.planned_at, now, result)
        queued = self._queue(monitor, events, now)
        if commit:
            self.commit()
        return queued

    def tick(self, now: float) -> list[AlertEvent]:
        """Reminders, flapping that ended, quorum slots now decidable, SLO burn rates."""
        queued: list[AlertEvent] = []
        for monitor in self.config.monitors:
            events: list[AlertEvent] = []
            if self.pending.get(monitor.name):
                events += self._decide_pending(monitor, now)
            for channel in monitor.channels(self.config.channels):
                machine = self._machine(monitor, channel.name, monitor.settings_for(channel))
                for transition in machine.tick(now):
                    events.append(self._from_transition(monitor, channel.name, transition,
                                                        now, None))
                self._save(self._key(monitor.name, channel.name), machine.to_state())
            if monitor.slo is not None and now >= self._slo_due.get(monitor.name, 0.0):
                self._slo_due[monitor.name] = now + self.slo_every_s
                events += self._slo(monitor, now)
            queued += self._queue(monitor, events, now)
        self._release_held(now)
        self.commit()
        return queued

    def flush(self) -> None:
        """Save the latency baselines that changed since the last flush."""
        for name in sorted(self._dirty):
            key = f"anomaly|{name}|{self.location}"
            baseline = self._baselines.get(key)
            if baseline is not None:
                self._save(key, baseline.to_state())
        self._dirty.clear()
        self.commit()

    def monitor(self, name: str) -> Monitor | None:
        """The monitor called ``name`` in the configuration the machines hold now."""
        return self._by_name.get(name)

    def firing(self, monitor: str) -> bool:
        """Whether ``monitor`` has an open incident (for the dashboard and metrics)."""
        machine = self._machines.get(f"incident|{monitor}")
        if machine is None:
            state = self._states.get(f"incident|{monitor}")
            machine = AlertMachine(_INCIDENT, state)
        return machine.firing

    # -- the steps -----------------------------------------------------------------

    def _feed(self, monitor: Monitor, ok: bool, planned_at: float, now: float,
              result: RunResult | None) -> list[AlertEvent]:
        incident = self._machine(monitor, None, self._incident_settings(monitor))
        for transition in incident.observe(ok, planned_at, now, result):
            if transition.event == "firing":
                self.store.open_incident(monitor.name, transition.streak_started_at,
                                         result.reason if result else None, self.location)
            elif transition.event == "resolved":
                self.store.resolve_incident(monitor.name, now)
        self._save(f"incident|{monitor.name}", incident.to_state())
        events = []
        for channel in monitor.channels(self.config.channels):
            machine = self._machine(monitor, channel.name, monitor.settings_for(channel))
            for transition in machine.observe(ok, planned_at, now, result):
                events.append(self._from_transition(monitor, channel.name, transition, now,
                                                    result))
        return events

    def _decide_pending(self, monitor: Monitor, now: float) -> list[AlertEvent]:
        period = monitor.every_s or 60.0
        policy = QuorumPolicy(monitor.locations_failing, period,
                              deadline_for(monitor.timeout_s, monitor.retries))
        slots = sorted(set(self.pending.get(monitor.name, [])))
        if not slots:
            return []
        history = self.store.results(monitor=monitor.name,
                                     since=slots[0] - (policy.slots + 2) * period,
                                     limit=100_000, newest_first=False)
        events: list[AlertEvent] = []
        left: list[float] = []
        for planned_at in slots:
            if left:  # an earlier slot waits: feeding this one first would lose that one
                left.append(planned_at)
                continue
            outcome = decide_slot(history, planned_at, now, policy)
            if outcome is None and now < planned_at + policy.deadline_s:
                left.append(planned_at)
                continue
            if outcome is not None:
                own = [r for r in history if r.planned_at == planned_at
                       and r.location == self.location]
                events += self._feed(monitor, outcome, planned_at, now,
                                     own[-1] if own else None)
        self.pending[monitor.name] = left
        return events

    def _slo(self, monitor: Monitor, now: float) -> list[AlertEvent]:
        assert monitor.slo is not None
        key = f"slo|{monitor.name}"
        alerter = self._slos.get(key)
        if alerter is None:
            alerter = SloAlerter(state=self._states.get(key))
            self._slos[key] = alerter
        alerts = alerter.update(monitor.slo, store_counts(self.store, monitor.name, monitor.slo),
                                now)
        self._save(key, alerter.to_state())
        events = []
        for alert in alerts:
            episode = int(now // alert.rule.short_s)
            for channel in monitor.channels(self.config.channels):
                events.append(self._event(
                    monitor, channel.name, "slo_burn", alert.message, now,
                    f"{alert.objective}|{alert.rule.name}|{episode}", None,
                    {"objective": alert.objective, "rule": alert.rule.name,
                     "severity": alert.rule.severity, "long_burn": alert.long_burn,
                     "short_burn": alert.short_burn}))
        return events

    def _queue(self, monitor: Monitor, events: list[AlertEvent], now: float) -> list[AlertEvent]:
        if not events:
            return []
        held = _held_by(monitor.name, self._active_windows(now),
                        self.store.silences(active_at=now))
        return [event for event in events
                if self.store.enqueue(event, payload(event), now, held=held)]

    def _active_windows(self, now: float) -> list[MaintenanceWindow]:
        # Once per call, not per monitor: a cron window costs a parse each time it is asked.
        return [w for w in self.config.maintenance if is_active(w, now)]

    def _release_held(self, now: float) -> None:
        """Release the held notifications of every monitor no window or silence holds any
        more (those of a monitor still held wait for it)."""
        silences = self.store.silences(active_at=now)
        active = self._active_windows(now)
        if not active and not silences:
            self.store.release_held(now)
            return
        free = [item.dedup_key for item in
                self.store.outbox(delivered=False, limit=HELD_SCAN)
                if item.held and not _held_by(str(item.payload.get("monitor")), active,
                                              silences)]
        if free:
            self.store.release_held(now, keys=free)

    # -- helpers -------------------------------------------------------------------

    def _from_transition(self, monitor: Monitor, channel: str, transition: Transition,
                         now: float, result: RunResult | None) -> AlertEvent:
        return alert_event(transition, monitor=monitor.name, channel=channel,
                           location=self.location, at=now, result=result)

    def _event(self, monitor: Monitor, channel: str, kind: str, message: str, now: float,
               identity: str, result: RunResult | None, details: dict[str, Any]) -> AlertEvent:
        return AlertEvent(kind, monitor.name, channel, self.location, now, message,
                          f"{monitor.name}|{channel}|{kind}|{identity}", result, details)

    def _machine(self, monitor: Monitor, channel: str | None,
                 settings: AlertSettings) -> AlertMachine:
        key = f"incident|{monitor.name}" if channel is None else self._key(monitor.name,
                                                                            channel)
        machine = self._machines.get(key)
        if machine is None:
            machine = AlertMachine(settings, self._states.get(key))
            self._machines[key] = machine
        return machine

    def _baseline(self, monitor: Monitor) -> LatencyBaseline:
        key = f"anomaly|{monitor.name}|{self.location}"
        baseline = self._baselines.get(key)
        if baseline is None:
            baseline = LatencyBaseline(monitor.anomaly, self._states.get(key))
            self._baselines[key] = baseline
        return baseline

    def _incident_settings(self, monitor: Monitor) -> AlertSettings:
        # An incident follows the first channel's thresholds (the defaults without one),
        # never flap detection: the dashboard shows what happened, not what was sent.
        channels = monitor.channels(self.config.channels)
        base = monitor.settings_for(channels[0]) if channels else _INCIDENT
        return AlertSettings(base.failure_threshold, base.success_threshold, True, None,
                             base.flap_window_s, 0)

    def _save(self, key: str, state: dict[str, Any]) -> None:
        if self._states.get(key) == state:
            return  # most ticks change nothing: no write
        self._states[key] = state
        self._unsaved[key] = state

    def commit(self) -> None:
        """Save the states changed since the last commit, in one transaction. Call it
        after the events they produced were enqueued (``observe``/``tick`` do that)."""
        if self._unsaved:
            self.store.save_states(dict(self._unsaved))
            self._unsaved.clear()

    @staticmethod
    def _key(monitor: str, channel: str) -> str:
        return f"{monitor}|{channel}"


def _held_by(name: str, windows: list[MaintenanceWindow], silences: list[Silence]) -> bool:
    """Whether one of the active ``windows`` or ``silences`` covers the monitor ``name``."""
    return any(covers(w, name) for w in windows) or any(
        fnmatch.fnmatchcase(name, silence.monitor) for silence in silences)


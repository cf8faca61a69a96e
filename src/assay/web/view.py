"""What the web side needs from a running monitor: ``MonitorView``, and ``StaticView``.

The web app never reaches into the runner: it reads and acts through this Protocol. The
runner of ``assay monitor`` implements it over its scheduler, alert state and store;
``StaticView`` implements it over a config and a store alone (tests, and a dashboard over a
database that no agent is writing to), deriving each monitor's state from stored results.

States (``states()[name]["state"]``), in the order they win when several hold:

    paused        paused through the API or the dashboard (kept in the store)
    maintenance   a maintenance window covers the monitor now
    firing        an incident is open (an alert fired and has not resolved)
    down          the latest run failed at some location
    up            the latest run passed at every location
    unknown       no run yet
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from ..monitor.maintenance import in_maintenance
from ..monitor.model import Monitor, MonitorConfig
from ..monitor.slo import budget_summary, store_counts
from ..monitor.status import monitor_state
from ..storage.base import Store
from ..storage.urls import redact_url


class MonitorView(Protocol):
    """The running monitor as the dashboard, the API and ``/metrics`` see it.

    Methods may block briefly (they read the store): the web calls them from Starlette's
    worker threads, never on the event loop, so an implementation must be safe to call
    from another thread (``pause``/``resume`` included: hand scheduler changes to the loop
    with ``call_soon_threadsafe``).
    """

    @property
    def config(self) -> MonitorConfig:
        """The configuration in force (it changes on reload)."""
        ...

    @property
    def store(self) -> Store:
        """Where results, incidents and silences are kept."""
        ...

    @property
    def location(self) -> str:
        """This agent's location (``--location``)."""
        ...

    @property
    def db_url_redacted(self) -> str:
        """The database URL with any password replaced (shown in the dashboard's footer)."""
        ...

    def now(self) -> float:
        """The current time, epoch seconds (the runner's clock)."""
        ...

    def pause(self, name: str) -> None:
        """Stop running monitor ``name`` (scheduler and store); kept across restarts."""
        ...

    def resume(self, name: str) -> None:
        """Run monitor ``name`` again."""
        ...

    def heartbeat(self, name: str, now: float) -> None:
        """A heartbeat ping for monitor ``name`` arrived at ``now``."""
        ...

    def states(self) -> dict[str, dict[str, Any]]:
        """Per monitor: ``{"state": one of monitor.status.STATES, "reason": str | None}``,
        optionally ``"next_run"`` (epoch seconds, shown on the monitor's page); other keys are ignored.
        ``reason`` is why the latest failed run failed, if one did."""
        ...

    def slo_budget(self, name: str) -> dict[str, Any] | None:
        """The SLO budget of monitor ``name``, None when it has no SLO::

            {"window_s": 2592000.0,
             "objectives": {"availability": {"target": 0.999, "remaining": 0.62},
                            "latency": {"target": 0.95, "threshold_ms": 300.0,
                                        "remaining": 1.0}}}

        ``remaining`` is the fraction of the error budget left (1 untouched, 0 spent,
        negative when overspent).
        """
        ...


class StaticView:
    """A ``MonitorView`` over a config and a store: no scheduler, states from the store.

    ``clock`` gives the time (inject a fixed one in tests); ``db_url`` is shown redacted.

    >>> view = StaticView(config, MemoryStore(), location="eu-1")  # doctest: +SKIP
    """

    def __init__(self, config: MonitorConfig, store: Store, *, location: str = "local",
                 db_url: str = "memory://", clock: Callable[[], float] = time.time):
        self._config = config
        self._store = store
        self._location = location
        self._db_url = redact_url(db_url)
        self._clock = clock

    @property
    def config(self) -> MonitorConfig:
        """The configuration."""
        return self._config

    @property
    def store(self) -> Store:
        """The store."""
        return self._store

    @property
    def location(self) -> str:
        """This view's location."""
        return self._location

    @property
    def db_url_redacted(self) -> str:
        """The database URL, password replaced."""
        return self._db_url

    def now(self) -> float:
        """The injected clock's time."""
        return self._clock()

    def pause(self, name: str) -> None:
        """Mark ``name`` paused in the store."""
        self._store.set_paused(name, True)

    def resume(self, name: str) -> None:
        """Clear ``name``'s pause in the store."""
        self._store.set_paused(name, False)

    def heartbeat(self, name: str, now: float) -> None:
        """Record the ping in the store."""
        self._store.record_heartbeat(name, now)

    def states(self) -> dict[str, dict[str, Any]]:
        """Each monitor's state, derived from the store (see the module docstring)."""
        now = self.now()
        paused = self._store.paused()
        return {m.name: self._state(m, now, paused) for m in self._config.monitors}

    def _state(self, monitor: Monitor, now: float, paused: set[str]) -> dict[str, Any]:
        newest = self._store.incidents(monitor=monitor.name, limit=1)
        open_incident = newest[0] if newest and newest[0].resolved_at is None else None
        return monitor_state(
            self._store.latest_by_location(monitor.name), paused=monitor.name in paused,
            maintenance=in_maintenance(self._config.maintenance, monitor.name, now),
            firing=open_incident is not None,
            incident_reason=open_incident.reason if open_incident else None)

    def slo_budget(self, name: str) -> dict[str, Any] | None:
        """The budget left over the SLO window ending now (``monitor.slo``)."""
        monitor = self._config.monitor(name)
        if monitor is None or monitor.slo is None:
            return None
        return slo_budget_of(monitor, self._store, self.now())


def slo_budget_of(monitor: Monitor, store: Store, now: float) -> dict[str, Any] | None:
    """``MonitorView.slo_budget``'s answer computed from ``store`` (every location)."""
    slo = monitor.slo
    if slo is None:
        return None
    return budget_summary(slo, store_counts(store, monitor.name, slo), now)

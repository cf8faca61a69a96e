"""The monitor configuration as frozen records (``config.load_config`` builds them).

A monitors file is a YAML suite (``base_url``, ``variables``, ``headers``, ``auth``,
``scenarios``: the same syntax and the same model as ``assay test``) plus ``monitors``,
``notify``, ``maintenance`` and ``retention``. A monitor with ``request:``/``expect:`` is
held as a one-step scenario, so HTTP and scenario monitors run through the same code.
Durations are seconds; percentages are fractions (``99.9%`` -> 0.999).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..suites.model import Scenario, Suite

MONITOR_KINDS = ("http", "scenario", "tcp", "tls", "heartbeat")
CHANNEL_KINDS = ("webhook", "apprise")


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """How a channel turns results into notifications (per channel, overridable per monitor).

    ``flap_window_s``/``flap_threshold``: that many state changes within the window is
    flapping: one ``flapping`` notice, then silence until it settles.
    """

    failure_threshold: int = 3
    success_threshold: int = 2
    send_on_resolved: bool = True
    remind_every_s: float | None = None
    flap_window_s: float = 600.0
    flap_threshold: int = 6


@dataclass(frozen=True, slots=True)
class Channel:
    """A notification channel: a JSON webhook (HMAC-signed when ``secret`` is set) or any
    Apprise URL (``slack://...``, ``mailto://...``)."""

    name: str
    kind: str
    url: str
    secret: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    settings: AlertSettings = field(default_factory=AlertSettings)


@dataclass(frozen=True, slots=True)
class Comparison:
    """``"> 14"``, ``"< 500ms"``: an operator and a number (seconds for durations)."""

    op: str
    value: float

    def holds(self, actual: float) -> bool:
        """Whether ``actual`` satisfies the comparison."""
        return {"<": actual < self.value, "<=": actual <= self.value,
                ">": actual > self.value, ">=": actual >= self.value,
                "==": actual == self.value, "!=": actual != self.value}[self.op]


@dataclass(frozen=True, slots=True)
class Slo:
    """``slo: {availability: 99.9%, latency: "p95 < 300ms", window: 30d}``.

    ``latency_quantile`` 0.95 and ``latency_ms`` 300 mean: at least 95% of runs within
    300 ms (a run slower, or failed, is a bad event of the latency SLO).
    """

    availability: float | None = None
    latency_quantile: float | None = None
    latency_ms: float | None = None
    window_s: float = 30 * 86400.0


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    """Latency anomalies: modified z-score over a rolling window of runs."""

    enabled: bool = True
    window: int = 100
    min_samples: int = 20
    threshold: float = 3.5
    consecutive: int = 3


@dataclass(frozen=True, slots=True)
class Monitor:
    """One monitor. ``scenario`` holds what an ``http``/``scenario`` monitor runs;
    ``host``/``port`` a ``tcp``/``tls`` one; ``cert_days_left`` a ``tls`` expectation;
    ``grace_s`` a ``heartbeat``'s tolerance past ``every_s``. ``notify`` None means every
    channel; ``overrides`` change a channel's settings for this monitor."""

    name: str
    kind: str
    every_s: float | None = None
    cron: str | None = None
    timeout_s: float = 10.0
    retries: int = 0
    scenario: Scenario | None = None
    host: str | None = None
    port: int | None = None
    cert_days_left: Comparison | None = None
    grace_s: float = 0.0
    notify: tuple[str, ...] | None = None
    overrides: tuple[tuple[str, AlertSettings], ...] = ()
    slo: Slo | None = None
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)
    locations_failing: int = 1
    group: str = "default"
    description: str = ""
    line: int = 0

    def settings_for(self, channel: Channel) -> AlertSettings:
        """The channel's settings with this monitor's overrides applied."""
        for name, settings in self.overrides:
            if name == channel.name:
                return settings
        return channel.settings

    def channels(self, all_channels: tuple[Channel, ...]) -> tuple[Channel, ...]:
        """The channels this monitor notifies."""
        if self.notify is None:
            return all_channels
        return tuple(c for c in all_channels if c.name in self.notify)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """Checks run and are stored; notifications are held. Either ``start``/``end`` (epoch)
    or ``cron`` plus ``duration_s``. ``monitors`` empty: every monitor."""

    start: float | None = None
    end: float | None = None
    cron: str | None = None
    duration_s: float | None = None
    monitors: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Retention:
    """Raw results are kept ``raw_s`` (7 days), hourly rollups ``rollups_s`` (a year)."""

    raw_s: float = 7 * 86400.0
    rollups_s: float = 365 * 86400.0


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """A whole monitors file."""

    source: str
    suite: Suite
    monitors: tuple[Monitor, ...]
    channels: tuple[Channel, ...] = ()
    maintenance: tuple[MaintenanceWindow, ...] = ()
    retention: Retention = field(default_factory=Retention)

    def monitor(self, name: str) -> Monitor | None:
        """The monitor called ``name``, if any."""
        return next((m for m in self.monitors if m.name == name), None)

    def channel(self, name: str) -> Channel | None:
        """The channel called ``name``, if any."""
        return next((c for c in self.channels if c.name == name), None)

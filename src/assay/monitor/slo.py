"""SLOs per monitor: error budgets and multiwindow, multi-burn-rate alerts (SRE workbook,
"Alerting on SLOs").

An objective of 99.9% allows 0.1% bad events over the SLO window: that is the error budget.
The *burn rate* over a window is how fast it is being spent: the window's bad fraction
divided by the budget (1x spends exactly the budget over the SLO window; 14.4x spends a
30-day budget in 50 hours). A rule fires when the burn rate is above its factor over
**both** a long window (it matters: enough budget is gone) and a short window (it is still
happening: the alert stops soon after the problem does). The default rules are the
workbook's for a 30-day window:

    page-fast   14.4x over 1h and 5m     2% of the budget in an hour
    page-slow    6x   over 6h and 30m    5% of the budget in six hours
    ticket       1x   over 3d and 6h     10% of the budget in three days

Two objectives per monitor: ``availability`` (bad = failed runs) and ``latency`` (``p95 <
300ms``: objective 0.95, bad = runs slower than 300 ms, or failed). Events are monitor runs,
so traffic is low: at one run a minute, 99.9% over 30 days allows 43 failed runs, and a
single failure spends 2.3% of that budget: it is 1/60 of the last hour (16.7x) and 1/5 of
the last 5 minutes, so page-fast fires on it. That is the workbook's arithmetic for such a
strict objective on so few events (its advice for low traffic: more probes, or a lower
objective such as 99.5%, where one failure in an hour is 3.3x).

``SloAlerter`` turns rule states into notifications: once per episode per (objective, rule),
and not while a rule of the same objective at the same or a higher severity is already
burning (Alertmanager's inhibition: one page per incident, not one per rule).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .model import Slo

OBJECTIVES = ("availability", "latency")
SEVERITIES = ("ticket", "page")  # least severe first
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class BurnRule:
    """Fire when the burn rate exceeds ``factor`` over both ``long_s`` and ``short_s``."""

    name: str
    severity: str
    factor: float
    long_s: float
    short_s: float


DEFAULT_RULES: tuple[BurnRule, ...] = (
    BurnRule("page-fast", "page", 14.4, 3600.0, 300.0),
    BurnRule("page-slow", "page", 6.0, 6 * 3600.0, 1800.0),
    BurnRule("ticket", "ticket", 1.0, 3 * 86400.0, 6 * 3600.0),
)


class Counts(Protocol):
    """Events of one objective in a window: ``(total, bad)`` in ``[since, until)``."""

    def __call__(self, since: float, until: float) -> tuple[int, int]:
        """Count the window's events."""
        ...


class CountSource(Protocol):
    """What ``store_counts`` needs: ``storage.base.Store`` has both methods."""

    def counts(self, monitor: str, since: float, until: float,
               location: str | None = None) -> tuple[int, int]:
        """``(runs, failures)``."""
        ...

    def slow_count(self, monitor: str, since: float, until: float, threshold_ms: float,
                   location: str | None = None) -> tuple[int, int]:
        """``(runs, runs slower than threshold_ms or failed)``."""
        ...


@dataclass(slots=True)
class SloAlert:
    """A rule burning over both of its windows for one objective."""

    objective: str
    rule: BurnRule
    long_burn: float
    short_burn: float
    message: str


@dataclass(slots=True)
class Burn:
    """One rule's burn rates for one objective (firing or not): what the alerter reads."""

    objective: str
    rule: BurnRule
    long_burn: float
    short_burn: float

    @property
    def firing(self) -> bool:
        """Both windows above the rule's factor."""
        return self.long_burn > self.rule.factor and self.short_burn > self.rule.factor


def burn_rate(bad: int, total: int, objective: float) -> float:
    """``(bad / total) / (1 - objective)``; 0 when there were no events.

    >>> round(burn_rate(2, 100, 0.999), 6)
    20.0
    """
    if not 0.0 <= objective < 1.0:
        raise ValueError(f"an SLO objective must be in [0, 1), got {objective!r}")
    if total <= 0:
        return 0.0
    return (bad / total) / (1.0 - objective)


def objectives(slo: Slo) -> dict[str, float]:
    """The objectives ``slo`` sets, by name: ``{"availability": 0.999, "latency": 0.95}``."""
    found: dict[str, float] = {}
    if slo.availability is not None:
        found["availability"] = slo.availability
    if slo.latency_quantile is not None and slo.latency_ms is not None:
        found["latency"] = slo.latency_quantile
    return found


def burns(slo: Slo, counts_for: Callable[[str], Counts], now: float,
          rules: Iterable[BurnRule] = DEFAULT_RULES) -> list[Burn]:
    """Every rule's burn rates for every objective of ``slo`` at ``now``, firing or not.

    Windows end at ``now`` (exclusive); a window shared by two rules is counted once.
    """
    rules = tuple(rules)
    found: list[Burn] = []
    for name, objective in objectives(slo).items():
        rate = _window_rates(counts_for(name), objective, now)
        found.extend(Burn(name, rule, rate(rule.long_s), rate(rule.short_s)) for rule in rules)
    return found


def evaluate(slo: Slo, counts_for: Callable[[str], Counts], now: float,
             rules: Iterable[BurnRule] = DEFAULT_RULES) -> list[SloAlert]:
    """The rules firing at ``now``: burn above the factor over both the long and the short
    window. ``counts_for("availability")`` and ``counts_for("latency")`` give the events."""
    return [alert_for(slo, burn) for burn in burns(slo, counts_for, now, rules) if burn.firing]


def alert_for(slo: Slo, burn: Burn) -> SloAlert:
    """The alert (and its message) for a burning rule."""
    return SloAlert(burn.objective, burn.rule, burn.long_burn, burn.short_burn,
                    _message(slo, burn))


def budget_remaining(slo: Slo, counts_for: Callable[[str], Counts], now: float
                     ) -> dict[str, float]:
    """Per objective, the fraction of the error budget left over the SLO window ending at
    ``now``: 1.0 untouched (or no events), 0.0 spent, negative when overspent."""
    since = now - slo.window_s
    left: dict[str, float] = {}
    for name, objective in objectives(slo).items():
        total, bad = counts_for(name)(since, now)
        left[name] = 1.0 - burn_rate(bad, total, objective)
    return left


def store_counts(source: CountSource, monitor: str, slo: Slo, location: str | None = None
                 ) -> Callable[[str], Counts]:
    """``counts_for`` backed by a store: availability counts failures, latency counts runs
    slower than the SLO's threshold or failed (``Store.slow_count``)."""
    threshold_ms = slo.latency_ms

    def counts_for(objective: str) -> Counts:
        if objective == "availability":
            return lambda since, until: source.counts(monitor, since, until, location)
        if objective == "latency" and threshold_ms is not None:
            return lambda since, until: source.slow_count(monitor, since, until, threshold_ms,
                                                          location)
        raise ValueError(f"no counts for the SLO objective {objective!r}")

    return counts_for


class SloAlerter:
    """Decides which burning rules become notifications, with state across restarts.

    An episode of (objective, rule) starts when the rule fires and ends when the rule's
    short window is back at or below its factor (the workbook's reset: the short window
    stops the alert soon after the problem). A starting episode is emitted unless another
    episode of the same objective at the same or a higher severity is already open: the
    workbook joins its two page rules with OR into one alert, so one incident pages once.
    """

    def __init__(self, rules: Iterable[BurnRule] = DEFAULT_RULES,
                 state: dict[str, Any] | None = None):
        # Highest severity first, so that rules starting together inhibit the lesser ones.
        self.rules = tuple(sorted(rules, key=lambda r: -_rank(r.severity)))
        self._ranks = {rule.name: _rank(rule.severity) for rule in self.rules}
        self._open: dict[tuple[str, str], float] = {}
        if state:
            self._restore(state)

    def update(self, slo: Slo, counts_for: Callable[[str], Counts], now: float
               ) -> list[SloAlert]:
        """Evaluate at ``now``; returns the alerts to send (new, uninhibited episodes)."""
        emit: list[SloAlert] = []
        configured = objectives(slo)
        # An objective taken out of the config (a reload) must not hold episodes forever.
        self._open = {key: since for key, since in self._open.items() if key[0] in configured}
        for burn in burns(slo, counts_for, now, self.rules):
            key = (burn.objective, burn.rule.name)
            if key in self._open:
                if burn.short_burn <= burn.rule.factor:
                    del self._open[key]
            elif burn.firing:
                if not self._inhibited(burn):
                    emit.append(alert_for(slo, burn))
                self._open[key] = now
        return emit

    def _inhibited(self, burn: Burn) -> bool:
        """Whether an open episode of the same objective is at least as severe."""
        rank = _rank(burn.rule.severity)
        return any(objective == burn.objective and name in self._ranks
                   and self._ranks[name] >= rank for objective, name in self._open)

    def open_episodes(self) -> dict[tuple[str, str], float]:
        """Open episodes: ``(objective, rule name) -> when it started`` (a stable part for a
        dedup key: it does not change while the episode lasts)."""
        return dict(self._open)

    def to_state(self) -> dict[str, Any]:
        """A JSON-able snapshot."""
        return {"version": STATE_VERSION,
                "open": [[objective, name, since] for (objective, name), since
                         in sorted(self._open.items())]}

    def _restore(self, state: dict[str, Any]) -> None:
        """Load a snapshot; one of another version or shape is dropped (the worst outcome
        is one repeated alert), episodes of rules no longer configured are forgotten."""
        if state.get("version") != STATE_VERSION:
            return
        names = {rule.name for rule in self.rules}
        try:
            entries = [(str(o), str(n), float(s)) for o, n, s in state.get("open", [])]
        except (TypeError, ValueError):
            return
        self._open = {(o, n): s for o, n, s in entries if n in names and o in OBJECTIVES}


def _rank(severity: str) -> int:
    """Higher is more severe; an unknown severity ranks below ``ticket``."""
    return SEVERITIES.index(severity) + 1 if severity in SEVERITIES else 0


def _window_rates(counts: Counts, objective: float, now: float) -> Callable[[float], float]:
    """Burn rate per window length, each window counted once."""
    seen: dict[float, float] = {}

    def rate(length_s: float) -> float:
        if length_s not in seen:
            total, bad = counts(now - length_s, now)
            seen[length_s] = burn_rate(bad, total, objective)
        return seen[length_s]

    return rate


def _message(slo: Slo, burn: Burn) -> str:
    """``availability SLO 99.9% over 30d burning 20.0x over 1h and 25.0x over 5m (page-fast,
    page): the budget lasts 1.5d at this rate``."""
    rule = burn.rule
    target = _target(slo, burn.objective)
    lasts = _span(slo.window_s / burn.long_burn) if burn.long_burn > 0 else "forever"
    return (f"{burn.objective} SLO {target} over {_span(slo.window_s)} burning "
            f"{burn.long_burn:.1f}x over {_span(rule.long_s)} and {burn.short_burn:.1f}x over "
            f"{_span(rule.short_s)} ({rule.name}, {rule.severity}): the budget lasts "
            f"{lasts} at this rate")


def _target(slo: Slo, objective: str) -> str:
    if objective == "latency":
        return f"p{_percent(slo.latency_quantile or 0.0)} < {slo.latency_ms:g}ms"
    return f"{_percent(slo.availability or 0.0)}%"


def _percent(fraction: float) -> str:
    return f"{round(fraction * 100, 6):g}"


def _span(seconds: float) -> str:
    """``300`` -> ``5m``, ``3600`` -> ``1h``, ``129600`` -> ``1.5d``."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{round(seconds / size, 1):g}{unit}"
    return f"{round(seconds, 1):g}s"


def budget_summary(slo: Slo, counts_for: Callable[[str], Counts], now: float
                   ) -> dict[str, Any]:
    """The SLO budget as the dashboard and the API show it::

        {"window_s": 2592000.0,
         "objectives": {"availability": {"target": 0.999, "remaining": 0.62},
                        "latency": {"target": 0.95, "threshold_ms": 300.0, "remaining": 1.0}}}
    """
    left = budget_remaining(slo, counts_for, now)
    found: dict[str, Any] = {}
    for objective, target in objectives(slo).items():
        entry: dict[str, Any] = {"target": target, "remaining": left[objective]}
        if objective == "latency":
            entry["threshold_ms"] = slo.latency_ms
        found[objective] = entry
    return {"window_s": slo.window_s, "objectives": found}

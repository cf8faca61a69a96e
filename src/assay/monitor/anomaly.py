"""Latency anomalies: a robust baseline per monitor and the modified z-score of each run.

The baseline is the last ``settings.window`` latencies of *successful* runs. A new run is
scored against the window as it was **before** the run (Iglewicz and Hoaglin's modified
z-score)::

    z = 0.6745 * (latency - median) / MAD        MAD = median(|x - median|)

0.6745 makes MAD comparable to a standard deviation for normal data, and the median and
MAD ignore up to half of the window being outliers, so a few slow runs barely move the
baseline. A run is *anomalous* when ``z > settings.threshold`` (3.5): only slower than usual
counts; a faster run is good news, never an alert. ``settings.consecutive`` anomalous runs
in a row raise one alert; the next non-anomalous run ends the episode (``normal_again``).

Choices, and why:

- **Anomalous runs still join the window.** A lasting shift (a deploy that made every
  request 40 ms slower) is reported once, then becomes the new normal once it fills about
  half of the window (the median flips), which ends the episode. Keeping anomalous runs out
  would leave a permanent shift alerting forever against a baseline that no longer exists.
- **MAD has a floor**: ``max(MAD, 1% of the median, 1 ms)``. Constant latencies (a cache,
  millisecond rounding) give MAD = 0, and one run 0.1 ms slower would score infinity; with
  the floor, a run must be at least about 5% (and 5.2 ms) slower than the median to reach
  z = 3.5. A 1 ms floor because scheduling jitter alone moves a loopback or LAN probe by a
  few milliseconds: that is not the service getting slower. The verdict reports the raw
  MAD.
- **Observing is idempotent**: a run planned at or before the last observed one is
  ignored (a replay after a restart), so the state never counts a run twice.
- Too few samples (``< settings.min_samples``): no score, never anomalous.

Failed runs are not latencies of the service working: the runner feeds only successful runs
(``observe_result`` does the filtering); a failed run neither feeds the window nor breaks a
streak, since failures are the failure alerts' business.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from statistics import median
from typing import Any

from .model import AnomalySettings
from .records import RunResult

Z_FACTOR = 0.6745  # Phi^-1(0.75): MAD / 0.6745 estimates sigma for normal data
MAD_FLOOR_FRACTION = 0.01  # of the median
MAD_FLOOR_MS = 1.0
STATE_VERSION = 1


@dataclass(slots=True)
class AnomalyVerdict:
    """What one run means for the latency baseline.

    ``z`` is the modified z-score (negative: faster than usual; None: not enough samples yet
    or the run was ignored). ``alert`` is True once, when the ``consecutive``-th anomalous run
    in a row arrives; ``normal_again`` is True once, on the first non-anomalous run after an
    alert. ``streak`` counts the anomalous runs in a row so far, ``since`` is the planned time
    of the first of them (stable for one episode: usable in a dedup key).
    """

    z: float | None
    anomalous: bool
    alert: bool
    normal_again: bool
    baseline_median: float | None
    mad: float | None
    latency_ms: float | None = None
    streak: int = 0
    since: float | None = None

    def describe(self) -> str:
        """One line for a notification, e.g. ``latency 250 ms, z 6.7 above the median 100 ms
        (MAD 2 ms), 3 runs in a row``."""
        if self.z is None or self.baseline_median is None:
            return f"latency {_ms(self.latency_ms)}, no baseline yet"
        runs = "run" if self.streak == 1 else "runs in a row"
        return (f"latency {_ms(self.latency_ms)}, z {self.z:.1f} against the median "
                f"{_ms(self.baseline_median)} (MAD {_ms(self.mad)}), {self.streak} {runs}")


class LatencyBaseline:
    """The rolling window of one monitor's latencies and its anomaly streak.

    >>> base = LatencyBaseline(AnomalySettings(window=5, min_samples=5, consecutive=1))
    >>> for i, ms in enumerate([100, 104, 96, 102, 98]):
    ...     _ = base.observe(ms, planned_at=i)
    >>> round(base.observe(111, planned_at=5).z, 4)
    3.7098
    """

    def __init__(self, settings: AnomalySettings, state: dict[str, Any] | None = None):
        self.settings = settings
        self._values: deque[float] = deque(maxlen=max(1, settings.window))
        self._streak = 0
        self._since: float | None = None
        self._alerting = False
        self._last_planned: float | None = None
        if state:
            self._restore(state)

    # -- observing -----------------------------------------------------------------
    def observe(self, latency_ms: float, planned_at: float) -> AnomalyVerdict:
        """Score one successful run against the window before it, then add it."""
        if self._last_planned is not None and planned_at <= self._last_planned:
            return self._ignored(latency_ms)
        self._last_planned = planned_at
        center, mad, z = self._score(latency_ms)
        anomalous = self.settings.enabled and z is not None and z > self.settings.threshold
        alert, normal_again = self._advance(anomalous, planned_at)
        self._values.append(float(latency_ms))
        return AnomalyVerdict(z=z, anomalous=anomalous, alert=alert, normal_again=normal_again,
                              baseline_median=center, mad=mad, latency_ms=latency_ms,
                              streak=self._streak, since=self._since)

    def observe_result(self, result: RunResult) -> AnomalyVerdict | None:
        """``observe`` for a stored run; None for a failed run or one without a latency."""
        if not result.ok or result.latency_ms is None:
            return None
        return self.observe(result.latency_ms, result.planned_at)

    def _score(self, latency_ms: float) -> tuple[float | None, float | None, float | None]:
        """``(median, raw MAD, z)`` of the current window; None while it is too small."""
        if len(self._values) < max(1, self.settings.min_samples):
            return None, None, None
        center = median(self._values)
        mad = median(abs(v - center) for v in self._values)
        scale = max(mad, MAD_FLOOR_FRACTION * abs(center), MAD_FLOOR_MS)
        return center, mad, Z_FACTOR * (latency_ms - center) / scale

    def _advance(self, anomalous: bool, planned_at: float) -> tuple[bool, bool]:
        """Move the streak on; returns ``(alert, normal_again)``."""
        if not anomalous:
            normal_again = self._alerting
            self._streak, self._since, self._alerting = 0, None, False
            return False, normal_again
        if self._streak == 0:
            self._since = planned_at
        self._streak += 1
        if not self._alerting and self._streak >= max(1, self.settings.consecutive):
            self._alerting = True
            return True, False
        return False, False

    def _ignored(self, latency_ms: float) -> AnomalyVerdict:
        return AnomalyVerdict(z=None, anomalous=False, alert=False, normal_again=False,
                              baseline_median=None, mad=None, latency_ms=latency_ms,
                              streak=self._streak, since=self._since)

    # -- reading -------------------------------------------------------------------
    @property
    def alerting(self) -> bool:
        """Whether an anomaly episode is open (alerted, no normal run since)."""
        return self._alerting

    def window(self) -> list[float]:
        """The window's latencies, oldest first."""
        return list(self._values)

    # -- state ---------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """A JSON-able snapshot (at most ``settings.window`` values, rounded to 1 µs)."""
        return {"version": STATE_VERSION, "values": [round(v, 3) for v in self._values],
                "streak": self._streak, "since": self._since, "alerting": self._alerting,
                "last_planned_at": self._last_planned}

    def _restore(self, state: dict[str, Any]) -> None:
        """Load a snapshot. One of another version or shape is dropped rather than trusted:
        a baseline rebuilds itself from new runs, a crash would stop the monitor."""
        if state.get("version") != STATE_VERSION:
            return
        try:
            values = [float(v) for v in state.get("values", [])]
            streak = int(state.get("streak", 0))
            since = _float_or_none(state.get("since"))
            alerting = bool(state.get("alerting", False))
            last = _float_or_none(state.get("last_planned_at"))
        except (TypeError, ValueError):
            return
        self._values.extend(values)  # the deque keeps the newest when the window shrank
        self._streak, self._since, self._alerting, self._last_planned = (
            streak, since, alerting, last)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f} ms" if abs(value) >= 10 else f"{value:.2g} ms"

"""Charts as inline SVG, drawn in Python: no JavaScript library, nothing fetched.

Two kinds, enough for the load report: ``time_chart`` (series over the seconds of a run,
on a left and an optional right axis, linear or logarithmic) and ``distribution_chart``
(how many requests took how long, on a logarithmic latency axis, with the cumulative share
and percentile markers on top). Colours come from CSS classes (``c-*``), so the page's
light and dark themes apply; every hover target carries an SVG ``<title>`` with the exact
values, which the browser shows as a tooltip.

Every text is escaped here: labels may come from the API (step names, error kinds).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# The drawing area, in viewBox units: the SVG scales to its container's width.
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 58, 56, 34, 30
# Human-friendly steps for a time axis, in seconds.
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600,
               43200, 86400)
_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)
_LOG_STEPS = (1.0, 2.0, 5.0)

Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a time chart: a value per slot (``None`` where nothing was measured).

    ``kind`` is ``"line"``, ``"area"`` (a line over a filled area), ``"bars"`` or
    ``"faint"`` (a thin, light line for context, such as the max); ``css`` names the colour
    class (``c-rps``...); ``axis`` is ``"left"`` or ``"right"``.
    """

    label: str
    values: Sequence[float | None]
    css: str
    kind: str = "line"
    axis: str = "left"


@dataclass(frozen=True, slots=True)
class Axis:
    """A value axis: its label, how a tick is written, and whether it is logarithmic."""

    label: str
    fmt: Format
    log: bool = False
    css: str = ""
    integer: bool = False


@dataclass(frozen=True, slots=True)
class Scale:
    """Maps values of ``[low, high]`` onto pixels ``[start, end]`` (linear or log10)."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False

    def __call__(self, value: float) -> float:
        """The pixel position of ``value`` (clamped into the domain)."""
        low, high, value = self.low, self.high, min(max(value, self.low), self.high)
        if self.log:
            low, high, value = math.log10(low), math.log10(high), math.log10(value)
        share = (value - low) / (high - low) if high > low else 0.0
        return self.start + share * (self.end - self.start)


def time_chart(title: str, slots: Sequence[float], series: Sequence[Series], *,
               left: Axis, right: Axis | None = None,
               hover: Sequence[str] = (), chart_id: str = "") -> str:
    """A chart of ``series`` over time; ``slots`` are the end times (s) of one-second slots.

    ``hover`` gives the tooltip text of each slot (exact values); each slot is a band that
    highlights under the pointer.
    """
    if not slots:
        return _empty(title, chart_id)
    x = Scale(0.0, max(max(slots), 1.0), LEFT, WIDTH - RIGHT)
    y_left = _value_scale([s for s in series if s.axis == "left"], left)
    y_right = _value_scale([s for s in series if s.axis == "right"], right) if right else None
    parts = [_grid_and_y_axis(y_left, left, side="left")]
    if right is not None and y_right is not None:
        parts.append(_grid_and_y_axis(y_right, right, side="right"))
    parts.append(_time_axis(x))
    for one in series:
        scale = y_right if one.axis == "right" and y_right is not None else y_left
        parts.append(_draw_series(one, slots, x, scale))
    parts.append(_legend([(s.label, s.css, s.kind) for s in series]))
    parts.append(_hover_bands(slots, x, hover))
    return _svg(title, "".join(parts), chart_id)


def distribution_chart(title: str, buckets: Sequence[tuple[float, int]], *,
                       markers: Sequence[tuple[str, float]] = (), chart_id: str = "") -> str:
    """Requests by latency: bars (share of requests per log-spaced bin) on a log ms axis,
    the cumulative share as a line on the right axis, and ``markers`` (``("p99", 41.5)``)
    as labelled vertical lines.

    ``buckets`` are ``(upper bound ms, count)`` pairs in ascending order, as a histogram
    gives them; a bucket's lower bound is the previous upper bound.
    """
    total = sum(count for _, count in buckets)
    if total <= 0:
        return _empty(title, chart_id)
    bins = log_bins(buckets)
    low, high = bins[0][0], bins[-1][1]
    x = Scale(low, high, LEFT, WIDTH - RIGHT, log=True)
    peak = max(count for _, _, count in bins) / total * 100
    y = _linear(peak)
    y_cum = Scale(0.0, 100.0, HEIGHT - BOTTOM, TOP)
    share_axis = Axis("% of requests", _percent_tick)
    cum_axis = Axis("cumulative", _percent_tick, css="c-cum")
    parts = [_grid_and_y_axis(y, share_axis, side="left"),
             _grid_and_y_axis(y_cum, cum_axis, side="right", ticks=[0, 25, 50, 75, 100]),
             _log_x_axis(x)]
    parts.append(_distribution_bars(bins, total, x, y))
    parts.append(_cumulative_line(bins, total, x, y_cum))
    parts.append(_markers(markers, x))
    parts.append(_legend([("requests per bin", "c-dist", "bars"),
                          ("cumulative", "c-cum", "line")]))
    return _svg(title, "".join(parts), chart_id)


def log_bins(buckets: Sequence[tuple[float, int]]) -> list[tuple[float, float, int]]:
    """Histogram buckets regrouped into bins of equal width on a log axis.

    Returns ``(low, high, count)`` per bin, from a 1-2-5 value below the fastest bucket to
    one above the slowest; each bucket counts in the bin holding its geometric middle.
    Between 5 and 20 bins per decade, about 60 bins in all.
    """
    floor = 0.001  # 1 µs: a histogram's first bucket may start at 0
    uppers = [max(upper, floor) for upper, count in buckets if count > 0]
    if not uppers:
        return []
    low = _nice_log_floor(min(uppers) / 1.05)
    high = _nice_log_ceil(max(uppers))
    if high <= low:
        high = _nice_log_ceil(low * 1.01)
    decades = math.log10(high / low)
    # Bins no finer than the buckets themselves, or every other bin would be empty.
    span = max(math.log10(max(uppers) / min(uppers)), 0.1)
    density = max(1, int(len(uppers) / span))
    per_decade = min(20, max(5, round(60 / decades)), max(density, 5))
    count = max(1, math.ceil(decades * per_decade - 1e-9))
    edges = [low * 10 ** (i / per_decade) for i in range(count + 1)]
    edges[-1] = high
    counts = [0] * count
    previous = 0.0
    for upper, n in buckets:
        middle = math.sqrt(max(previous, floor) * max(upper, floor)) if previous else upper
        previous = upper
        if n <= 0:
            continue
        position = math.log10(max(middle, low) / low) * per_decade
        counts[min(count - 1, max(0, int(position)))] += n
    return [(edges[i], edges[i + 1], counts[i]) for i in range(count)]


def format_ms(value: float | None) -> str:
    """A latency for people: ``0.412 ms``, ``4.21 ms``, ``42.1 ms``, ``421 ms``, ``1.23 s``."""
    if value is None:
        return "\u2013"
    if value >= 1000:
        return f"{value / 1000:.3g} s" if value < 100_000 else f"{value / 1000:,.0f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    return f"{value:.3g} ms"


def format_seconds(seconds: float) -> str:
    """``45s``, ``1m``, ``1m30s``, ``2h``: a compact time from the start of a run."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes}m{rest:02d}s" if rest else f"{minutes}m"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if rest else f"{hours}h"


def tick_ms(value: float) -> str:
    """An axis tick in milliseconds: ``0.5ms``, ``20ms``, ``1s``."""
    if value >= 1000:
        return f"{value / 1000:g}s"
    return f"{value:g}ms"


def tick_count(value: float) -> str:
    """An axis tick for counts and rates: ``0``, ``250``, ``1.5k``, ``2M``."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


def _percent_tick(value: float) -> str:
    return f"{value:g}%"


# Scales and ticks ------------------------------------------------------------------------

def _value_scale(series: Sequence[Series], axis: Axis) -> Scale:
    values = [v for s in series for v in s.values if v is not None]
    if axis.log:
        positive = [v for v in values if v > 0] or [1.0]
        low, high = _nice_log_floor(min(positive)), _nice_log_ceil(max(positive))
        if high <= low:
            high = _nice_log_ceil(low * 1.01)
        # Ends on labelled ticks, so that the top and bottom lines carry a value.
        steps = _log_steps(math.log10(high / low))
        low = _nice_log_floor(min(positive), steps)
        high = _nice_log_ceil(max(max(positive), low * 1.01), steps)
        return Scale(low, high, HEIGHT - BOTTOM, TOP, log=True)
    return _linear(max(values, default=0.0), integer=axis.integer)


def _linear(high: float, *, integer: bool = False) -> Scale:
    """A scale from 0 to a round value at or above ``high`` (1 when nothing is above 0)."""
    if high <= 0:
        high = 1.0
    step = _nice_step(high / 4, integer)
    top = math.ceil(high / step - 1e-9) * step
    return Scale(0.0, top, HEIGHT - BOTTOM, TOP)


def _nice_step(raw: float, integer: bool = False) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(n * magnitude for n in _NICE if n * magnitude >= raw - 1e-12)
    if integer:
        # Counts have whole ticks: no 0.5 or 2.5 steps.
        step = 1.0 if step < 1 else (2.0 if step == 2.5 else step)
    return step


def _linear_ticks(scale: Scale, integer: bool = False) -> list[float]:
    step = _nice_step((scale.high - scale.low) / 4, integer)
    count = round((scale.high - scale.low) / step)
    return [scale.low + i * step for i in range(count + 1)]


def _log_steps(decades: float) -> tuple[float, ...]:
    # About eight labels at most: 1-2-5 over two decades, 1-3 up to four, then decades.
    return _LOG_STEPS if decades <= 2.05 else ((1.0, 3.0) if decades <= 4.05 else (1.0,))


def _log_ticks(scale: Scale) -> list[float]:
    steps = _log_steps(math.log10(scale.high / scale.low))
    ticks, exponent = [], math.floor(math.log10(scale.low))
    while 10 ** exponent <= scale.high * 1.0001:
        ticks += [m * 10 ** exponent for m in steps
                  if scale.low * 0.9999 <= m * 10 ** exponent <= scale.high * 1.0001]
        exponent += 1
    return ticks


def _nice_log_floor(value: float, steps: Sequence[float] = _LOG_STEPS) -> float:
    exponent = math.floor(math.log10(value))
    return max(m * 10 ** e for e in (exponent - 1, exponent) for m in steps
               if m * 10 ** e <= value * 1.0001)


def _nice_log_ceil(value: float, steps: Sequence[float] = _LOG_STEPS) -> float:
    exponent = math.floor(math.log10(value))
    return min(m * 10 ** e for e in (exponent, exponent + 1) for m in steps
               if m * 10 ** e >= value * 0.9999)


# Pieces of a chart -----------------------------------------------------------------------

def _svg(title: str, body: str, chart_id: str) -> str:
    ident = f' id="{_e(chart_id)}"' if chart_id else ""
    return (f'<svg class="chart"{ident} viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def _empty(title: str, chart_id: str) -> str:
    return _svg(title, f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" '
                       'text-anchor="middle">nothing measured</text>', chart_id)


def _grid_and_y_axis(scale: Scale, axis: Axis, *, side: str,
                     ticks: Sequence[float] | None = None) -> str:
    ticks = list(ticks) if ticks is not None else (
        _log_ticks(scale) if scale.log else _linear_ticks(scale, axis.integer))
    left = side == "left"
    x_text, anchor = (LEFT - 6, "end") if left else (WIDTH - RIGHT + 6, "start")
    css = f"axis {axis.css}".strip()
    out = [f'<g class="{css}">']
    for tick in ticks:
        y = _r(scale(tick))
        if left:
            out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>')
        out.append(f'<text x="{x_text}" y="{y}" dy="0.32em" text-anchor="{anchor}">'
                   f"{_e(axis.fmt(tick))}</text>")
    label_x = 14 if left else WIDTH - 10
    middle = (TOP + HEIGHT - BOTTOM) / 2
    out.append(f'<text class="axis-label" transform="translate({label_x},{middle}) '
               f'rotate({-90 if left else 90})" text-anchor="middle">{_e(axis.label)}</text>')
    out.append("</g>")
    return "".join(out)


def _time_axis(x: Scale) -> str:
    span = x.high - x.low
    step = next((s for s in _TIME_STEPS if span / s <= 8), _TIME_STEPS[-1])
    out = ['<g class="axis x">',
           f'<line class="base" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" '
           f'y2="{HEIGHT - BOTTOM}"/>']
    tick = 0.0
    while tick <= x.high + 1e-9:
        px = _r(x(tick))
        out.append(f'<line x1="{px}" x2="{px}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM + 4}"/>'
                   f'<text x="{px}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                   f"{_e(format_seconds(tick))}</text>")
        tick += step
    out.append("</g>")
    return "".join(out)


def _log_x_axis(x: Scale) -> str:
    base = HEIGHT - BOTTOM
    out = ['<g class="axis x">',
           f'<line class="base" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>']
    for tick in _log_ticks(x):
        px = _r(x(tick))
        out.append(f'<line x1="{px}" x2="{px}" y1="{base}" y2="{base + 4}"/>'
                   f'<text x="{px}" y="{base + 16}" text-anchor="middle">{_e(tick_ms(tick))}</text>')
    out.append("</g>")
    return "".join(out)


def _draw_series(series: Series, slots: Sequence[float], x: Scale, y: Scale) -> str:
    if series.kind == "bars":
        return _bars(series, slots, x, y)
    runs = _runs([(x(t - 0.5), v) for t, v in zip(slots, series.values, strict=True)], y)
    out = [f'<g class="series {_e(series.css)} {series.kind}">']
    for run in runs:
        points = " ".join(f"{_r(px)},{_r(py)}" for px, py in run)
        if series.kind == "area" and len(run) > 1:
            base = _r(y(y.low))
            out.append(f'<path class="fill" d="M{_r(run[0][0])},{base} L{points} '
                       f'L{_r(run[-1][0])},{base} Z"/>')
        if len(run) == 1:
            out.append(f'<circle cx="{_r(run[0][0])}" cy="{_r(run[0][1])}" r="2"/>')
        else:
            out.append(f'<polyline points="{points}"/>')
    out.append("</g>")
    return "".join(out)


def _runs(points: Sequence[tuple[float, float | None]], y: Scale) -> list[list[tuple[float, float]]]:
    """Consecutive measured points as separate runs: a gap breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for px, value in points:
        if value is None or (y.log and value <= 0):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((px, y(value)))
    return [run for run in runs if run]


def _bars(series: Series, slots: Sequence[float], x: Scale, y: Scale) -> str:
    width = max(1.0, (x(1.0) - x(0.0)) * 0.7)
    base = y(y.low)
    out = [f'<g class="series {_e(series.css)} bars">']
    for t, value in zip(slots, series.values, strict=True):
        if not value:
            continue
        top = y(value)
        out.append(f'<rect x="{_r(x(t - 0.5) - width / 2)}" y="{_r(top)}" width="{_r(width)}" '
                   f'height="{_r(max(base - top, 0.5))}"/>')
    out.append("</g>")
    return "".join(out)


def _legend(items: Sequence[tuple[str, str, str]]) -> str:
    out, x = ['<g class="legend">'], float(LEFT)
    for label, css, kind in items:
        swatch = (f'<rect x="{_r(x)}" y="10" width="12" height="10" rx="2"/>' if kind == "bars"
                  else f'<line x1="{_r(x)}" x2="{_r(x + 14)}" y1="15" y2="15"/>')
        out.append(f'<g class="{_e(css)} {kind}">{swatch}<text x="{_r(x + 18)}" y="15" '
                   f'dy="0.32em">{_e(label)}</text></g>')
        x += 32 + 6.4 * len(label)
    out.append("</g>")
    return "".join(out)


def _hover_bands(slots: Sequence[float], x: Scale, hover: Sequence[str]) -> str:
    if not hover:
        return ""
    out = ['<g class="hover">']
    for t, text in zip(slots, hover, strict=True):
        left, right = x(t - 1.0), x(t)
        out.append(f'<rect x="{_r(left)}" y="{TOP}" width="{_r(max(right - left, 0.5))}" '
                   f'height="{HEIGHT - TOP - BOTTOM}"><title>{_e(text)}</title></rect>')
    out.append("</g>")
    return "".join(out)


def _distribution_bars(bins: Sequence[tuple[float, float, int]], total: int,
                       x: Scale, y: Scale) -> str:
    base = y(0.0)
    out = ['<g class="series c-dist bars">']
    for low, high, count in bins:
        if not count:
            continue
        share = count / total * 100
        left, right, top = x(low), x(high), y(share)
        out.append(
            f'<rect x="{_r(left + 0.5)}" y="{_r(top)}" width="{_r(max(right - left - 1, 0.8))}" '
            f'height="{_r(max(base - top, 1.5))}"><title>{_e(format_ms(low))} \u2013 '
            f"{_e(format_ms(high))}: {count:,} requests ({share:.2f}%)</title></rect>")
    out.append("</g>")
    return "".join(out)


def _cumulative_line(bins: Sequence[tuple[float, float, int]], total: int,
                     x: Scale, y: Scale) -> str:
    seen, points = 0, [f"{_r(x(bins[0][0]))},{_r(y(0.0))}"]
    for _, high, count in bins:
        seen += count
        points.append(f"{_r(x(high))},{_r(y(seen / total * 100))}")
    return f'<g class="series c-cum line"><polyline points="{" ".join(points)}"/></g>'


def _markers(markers: Sequence[tuple[str, float]], x: Scale) -> str:
    out = ['<g class="markers">']
    shown = [(label, value) for label, value in markers if value is not None and value > 0]
    for index, (label, value) in enumerate(shown):
        px = x(value)
        # Labels alternate between two rows so that close percentiles do not overlap.
        y_text = TOP + 10 + 12 * (index % 2)
        out.append(f'<g class="marker"><title>{_e(label)}: {_e(format_ms(value))}</title>'
                   f'<line x1="{_r(px)}" x2="{_r(px)}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
                   f'<text x="{_r(px + 3)}" y="{y_text}">{_e(label)}</text></g>')
    out.append("</g>")
    return "".join(out)


def _r(value: float) -> str:
    """A coordinate with one decimal, no trailing zero: compact markup."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _e(value: object) -> str:
    return escape(str(value), quote=True)

"""The dashboard's charts as inline SVG drawn in Python: a sparkline per monitor, and the
latency percentiles of one monitor over time.

Colours come from CSS classes (``c-p50``, ``c-p95``, ``c-p99``, ``c-err``), so the page's
light and dark themes apply; hover targets carry an SVG ``<title>`` with the exact values.
Every text is escaped here: labels may come from the config or the API.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from html import escape

from ..reporting.svgcharts import Scale, format_ms, tick_ms

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 30, 28
PERCENTILES = (("p50", "c-p50"), ("p95", "c-p95"), ("p99", "c-p99"))
SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def sparkline(values: Sequence[float | None], *, label: str) -> str:
    """A small line of ``values`` (None: no data there), with ``label`` as its tooltip."""
    measured = [v for v in values if v is not None]
    if not measured:
        return f'<span class="spark-empty" title="{_e(label)}">no data</span>'
    high = max(measured) or 1.0
    x = Scale(0, max(len(values) - 1, 1), 1, SPARK_WIDTH - 1)
    y = Scale(0, high, SPARK_HEIGHT - 2, 2)
    lines = "".join(f'<polyline points="{points}"/>'
                    for points in _runs([(x(i), v) for i, v in enumerate(values)], y))
    return (f'<svg class="spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" role="img" '
            f'aria-label="{_e(label)}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{_e(label)}</title>{lines}</svg>")


def percentile_chart(buckets: Sequence[dict], since: float, bucket_s: float, count: int,
                     *, title: str) -> str:
    """Latency p50/p95/p99 per bucket (``Store.latency_buckets`` rows, ms), the buckets with
    failures marked along the top; ``count`` buckets of ``bucket_s`` from ``since``."""
    slots = _slots(buckets, since, bucket_s, count)
    highest = max((row.get(key) or 0.0 for row in slots if row for key, _ in PERCENTILES),
                  default=0.0)
    if highest <= 0:
        return _svg(title, f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" '
                           'text-anchor="middle">no runs in this period</text>')
    x = Scale(since, since + count * bucket_s, LEFT, WIDTH - RIGHT)
    y = Scale(0.0, _nice_ceiling(highest), HEIGHT - BOTTOM, TOP)
    middle = [since + (i + 0.5) * bucket_s for i in range(count)]
    parts = [_y_axis(y), _x_axis(x, since, count * bucket_s)]
    for key, css in PERCENTILES:
        points = [(x(t), row.get(key) if row else None) for t, row in zip(middle, slots,
                                                                            strict=True)]
        lines = "".join(f'<polyline points="{p}"/>' for p in _runs(points, y))
        parts.append(f'<g class="series {css}">{lines}</g>')
    parts.append(_failures(slots, x, since, bucket_s))
    parts.append(_legend())
    parts.append(_hover(slots, x, since, bucket_s))
    return _svg(title, "".join(parts))


def _slots(buckets: Sequence[dict], since: float, bucket_s: float, count: int
           ) -> list[dict | None]:
    """The rows placed on a full grid of ``count`` buckets (None where nothing ran)."""
    slots: list[dict | None] = [None] * count
    for row in buckets:
        index = int((row["t"] - since) // bucket_s)
        if 0 <= index < count:
            slots[index] = row
    return slots


def _runs(points: Sequence[tuple[float, float | None]], y: Scale) -> list[str]:
    """Polyline point lists, broken where a value is missing."""
    runs: list[list[str]] = [[]]
    for px, value in points:
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{px:.1f},{y(value):.1f}")
    # A lone point still shows: a line of zero length with round caps is a dot.
    return [" ".join(run if len(run) > 1 else run * 2) for run in runs if run]


def _nice_ceiling(value: float) -> float:
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _y_axis(y: Scale) -> str:
    out = ['<g class="axis">']
    for i in range(5):
        value = y.high * i / 4
        py = y(value)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" '
                   f'y2="{py:.1f}"/><text x="{LEFT - 6}" y="{py:.1f}" dy="0.32em" '
                   f'text-anchor="end">{_e(tick_ms(value))}</text>')
    out.append("</g>")
    return "".join(out)


def _x_axis(x: Scale, since: float, span: float) -> str:
    fmt = "%H:%M" if span <= 2 * 86400 else "%m-%d"
    step = span / 6
    out = ['<g class="axis x">']
    for i in range(7):
        t = since + i * step
        px = x(t)
        out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{HEIGHT - BOTTOM}" '
                   f'y2="{HEIGHT - BOTTOM + 4}"/><text x="{px:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                   f'text-anchor="middle">{_e(time.strftime(fmt, time.gmtime(t)))}</text>')
    out.append("</g>")
    return "".join(out)


def _failures(slots: Sequence[dict | None], x: Scale, since: float, bucket_s: float) -> str:
    out = ['<g class="series c-err failures">']
    for i, row in enumerate(slots):
        if row and row.get("failures"):
            left, right = x(since + i * bucket_s), x(since + (i + 1) * bucket_s)
            out.append(f'<rect x="{left:.1f}" y="{TOP - 8}" width="{max(right - left, 1):.1f}" '
                       f'height="5"/>')
    out.append("</g>")
    return "".join(out)


def _legend() -> str:
    out, x = ['<g class="legend">'], float(LEFT)
    for key, css in (*PERCENTILES, ("failures", "c-err")):
        out.append(f'<g class="{css}"><rect x="{x:.1f}" y="4" width="12" height="8" rx="2"/>'
                   f'<text x="{x + 16:.1f}" y="8" dy="0.32em">{key}</text></g>')
        x += 30 + 7 * len(key)
    out.append("</g>")
    return "".join(out)


def _hover(slots: Sequence[dict | None], x: Scale, since: float, bucket_s: float) -> str:
    out = ['<g class="hover">']
    for i, row in enumerate(slots):
        if not row:
            continue
        start = since + i * bucket_s
        left, right = x(start), x(start + bucket_s)
        text = (f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(start))} UTC: "
                f"p50 {format_ms(row.get('p50'))}, p95 {format_ms(row.get('p95'))}, "
                f"p99 {format_ms(row.get('p99'))}; {row.get('count', 0)} runs, "
                f"{row.get('failures', 0)} failed")
        out.append(f'<rect x="{left:.1f}" y="{TOP}" width="{max(right - left, 1):.1f}" '
                   f'height="{HEIGHT - TOP - BOTTOM}"><title>{_e(text)}</title></rect>')
    out.append("</g>")
    return "".join(out)


def _svg(title: str, body: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def _e(value: object) -> str:
    return escape(str(value), quote=True)

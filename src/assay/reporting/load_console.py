"""The console side of ``assay load``: a live panel while it runs, a summary at the end.

``LiveProgress`` shows one compact panel refreshed with each ``Progress`` the engine sends
(once a second) on a terminal; in a log (not a terminal) it prints one plain line every
``log_every_s`` seconds of the run instead of redrawing; ``quiet`` shows nothing.
``print_load_summary`` prints the end-of-run figures the way k6 and wrk do, readable in a CI
log. Names that came from the user or the API go through ``Secrets`` and
``rich.markup.escape``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from rich import box
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..core.events import RunResult
from ..core.secrets import Secrets
from ..load.results import LoadResult, Progress
from .json_report import redact_url
from .svgcharts import format_ms, format_seconds

_METRIC = re.compile(r"\s*(p\d+(?:\.\d+)?|[a-z_]+)")
_SUMMARY_KEYS = ("p50", "p90", "p95", "p99", "p99.9", "max")
FINDINGS_LISTED = 10


class LiveProgress:
    """A context manager that shows the progress of a load run.

    >>> from io import StringIO
    >>> with LiveProgress(Console(file=StringIO()), quiet=True) as live:
    ...     live.update(Progress(1.0, 10.0, 100, 0, 100.0, 1.0, 2.0, 3.0))
    """

    def __init__(self, console: Console, *, quiet: bool = False, log_every_s: float = 10.0):
        self.console = console
        self.quiet = quiet
        self.log_every_s = log_every_s
        self._live: Live | None = None
        self._next_log = 0.0

    def __enter__(self) -> LiveProgress:
        if not self.quiet and self.console.is_terminal:
            self._live = Live(console=self.console, auto_refresh=False, transient=True)
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def update(self, progress: Progress) -> None:
        """Show ``progress``: redraw the panel, or print a line when its time has come."""
        if self.quiet:
            return
        if self._live is not None:
            # The engine sends progress once a second: redrawing on each update is the
            # one-second refresh, with no thread of our own.
            self._live.update(progress_panel(progress), refresh=True)
        elif progress.elapsed_s >= self._next_log:
            self.console.print(progress_line(progress), highlight=False)
            self._next_log = progress.elapsed_s + self.log_every_s


def progress_panel(progress: Progress) -> Panel:
    """The live panel: elapsed bar, requests and rate, percentiles, errors, concurrency."""
    p = progress
    total = p.duration_s if p.duration_s else None
    bar = ProgressBar(total=total, completed=min(p.elapsed_s, total or p.elapsed_s), width=40)
    clock = format_seconds(p.elapsed_s) + (f" / {format_seconds(total)}" if total else "")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    elapsed = Table.grid(padding=(0, 2))
    elapsed.add_row(bar, Text(clock, style="bold"))
    grid.add_row("elapsed", elapsed)
    grid.add_row("requests", Text.assemble((format_count(p.requests), "bold"), "   ",
                                           (f"{p.rps:,.1f}/s", "bold cyan")))
    latency = Text("   ".join(f"{name} {format_ms(value)}" for name, value in
                               (("p50", p.p50), ("p95", p.p95), ("p99", p.p99))))
    latency.append("   last second", style="dim")
    grid.add_row("latency", latency)
    rate = p.errors / p.requests if p.requests else 0.0
    errors = Text.assemble((format_count(p.errors), "bold red" if p.errors else "bold"),
                           f" ({format_percent(rate)})")
    if p.errors_by_kind:
        errors.append("   " + _kinds(p.errors_by_kind), style="red")
    grid.add_row("errors", errors)
    grid.add_row(*_concurrency(p))
    return Panel(grid, title="[bold]assay load[/] \u00b7 " + escape(p.model) + " model",
                 title_align="left", border_style="blue", expand=False)


def _concurrency(p: Progress) -> tuple[str, Text]:
    if p.model == "open":
        text = Text.assemble(f"{format_count(p.active)} in flight   backlog ",
                             (format_count(p.backlog), "bold yellow" if p.backlog else ""),
                             f"   late starts {format_count(p.late_starts)}")
        return "load", text
    return "load", Text(f"{format_count(p.active)} VUs   late starts "
                        f"{format_count(p.late_starts)}")


def progress_line(progress: Progress) -> Text:
    """One plain line of progress for logs: time, requests, rate, percentiles, errors."""
    p = progress
    clock = format_seconds(p.elapsed_s) + (f"/{format_seconds(p.duration_s)}"
                                           if p.duration_s else "")
    load = (f"{p.active} in flight, backlog {p.backlog}" if p.model == "open"
            else f"{p.active} VUs")
    errors = f"errors {format_count(p.errors)}"
    if p.errors_by_kind:
        errors += f" ({_kinds(p.errors_by_kind, sep=', ')})"
    return Text(f"[{clock}] {format_count(p.requests)} requests \u00b7 {p.rps:,.1f}/s \u00b7 "
                f"p50 {format_ms(p.p50)} p95 {format_ms(p.p95)} p99 {format_ms(p.p99)} "
                f"\u00b7 {errors} \u00b7 {load} \u00b7 late starts {format_count(p.late_starts)}")


def print_load_summary(console: Console, result: RunResult,
                       secrets: Secrets | None = None, *, quiet: bool = False) -> None:
    """Print the end of a load run: figures, latency table, thresholds with \u2713/\u2717,
    the per-step table, the findings (counted, the first few named) and the verdict.
    ``quiet`` (``--quiet``): the crossed thresholds and the verdict only."""
    secrets = secrets or Secrets()
    load: LoadResult | None = result.load
    target = escape(redact_url(result.target, secrets) or "(no target)")
    if load is None:
        console.print(f"[bold]assay {escape(result.command)}[/] \u2192 {target}: nothing measured")
        return
    if quiet:
        for threshold in load.thresholds:
            if not threshold.ok:
                value = format_threshold_value(threshold.expr, threshold.value)
                console.print(f"  \u2717 {escape(threshold.expr)}  {escape(value)}")
        _verdict(console, result, load)
        return
    console.print()
    console.print(f"[bold]assay load[/] \u2192 {target}")
    shape = secrets.redact(describe_run(load.settings, load.model, load.workers))
    console.print(f"  {escape(shape)}", style="dim", highlight=False)
    console.print()
    console.print(_figures(load, secrets))
    console.print()
    console.print(_latency_table(load))
    if load.thresholds:
        console.print()
        console.print(_thresholds(load))
    if load.by_step:
        console.print()
        console.print(_steps_table(load, secrets))
    console.print()
    _findings(console, result, secrets)
    _verdict(console, result, load)


def _figures(load: LoadResult, secrets: Secrets) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(no_wrap=False)
    table.add_row("  requests", f"[bold]{format_count(load.requests)}[/]  "
                                f"({load.rps:,.1f}/s over {load.duration_s:.1f} s)")
    errors = f"[bold]{format_count(load.errors)}[/]  ({format_percent(load.error_rate)})"
    if load.errors_by_kind:
        errors += f"  {escape(secrets.redact(_kinds(load.errors_by_kind, sep=', ')))}"
    table.add_row("  errors", errors)
    if load.checks_rate is not None:
        table.add_row("  checks", f"{format_percent(load.checks_rate)}  "
                                  f"({format_count(load.checks_passed)} passed, "
                                  f"{format_count(load.checks_failed)} failed)")
    late = format_count(load.late_starts)
    if load.max_backlog:
        late += f"  (backlog up to {format_count(load.max_backlog)})"
    table.add_row("  late starts", late)
    if load.aborted:
        table.add_row("  stopped", f"[yellow]{escape(secrets.redact(load.aborted))}[/]")
    return table


def _latency_table(load: LoadResult) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), show_edge=False)
    table.add_column("  ms", style="dim", no_wrap=True)
    for key in _SUMMARY_KEYS:
        table.add_column(key, justify="right", no_wrap=True)
    table.add_row("  latency", *(_ms(load.latency.get(k)) for k in _SUMMARY_KEYS))
    table.add_row("  service time", *(_ms(load.service_time.get(k)) for k in _SUMMARY_KEYS))
    return table


def _thresholds(load: LoadResult) -> Table:
    table = Table(title="  thresholds", title_justify="left", title_style="bold", box=None,
                  show_header=False, padding=(0, 1), pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for threshold in load.thresholds:
        mark = "  [green]\u2713[/]" if threshold.ok else "  [bold red]\u2717[/]"
        table.add_row(mark, escape(threshold.expr),
                      format_threshold_value(threshold.expr, threshold.value))
    return table


def _steps_table(load: LoadResult, secrets: Secrets) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), show_edge=False)
    # Names like "GET /books/{bookId}" must stay readable in an 80-column CI log: the
    # name column keeps its width and the figures share the rest.
    longest = max((len(name) for name in load.by_step), default=4) + 2
    table.add_column("  step", overflow="fold", min_width=min(longest, 28))
    for name in ("requests", "errors", "err %", "p50", "p95", "p99", "max", "checks"):
        table.add_column(name, justify="right", no_wrap=True)
    for name, step in load.by_step.items():
        errors = format_count(step.errors)
        checks_total = step.checks_passed + step.checks_failed
        checks = (f"{format_count(step.checks_failed)} failed" if step.checks_failed
                  else ("ok" if checks_total else "\u2013"))
        table.add_row("  " + escape(redact_url(name, secrets) or ""),
                      format_count(step.requests),
                      f"[red]{errors}[/]" if step.errors else errors,
                      format_percent(step.errors / step.requests if step.requests else 0.0),
                      *(_ms(step.latency.get(k)) for k in ("p50", "p95", "p99", "max")),
                      f"[red]{checks}[/]" if step.checks_failed else checks)
    return table


def _findings(console: Console, result: RunResult, secrets: Secrets) -> None:
    if not result.findings:
        console.print("  findings: none")
        return
    new = len(result.new_findings)
    known = f", {len(result.findings) - new} known" if new != len(result.findings) else ""
    console.print(f"  findings: [bold]{len(result.findings)}[/] ({new} new{known})")
    for finding in result.findings[:FINDINGS_LISTED]:
        seen = f" \u00d7{finding.count}" if finding.count > 1 else ""
        first_line = (finding.message.splitlines() or [""])[0]
        console.print(f"    {escape(finding.check)}  {escape(secrets.redact(finding.operation))}"
                      f"{seen}: {escape(secrets.redact(first_line))}", highlight=False)
    if len(result.findings) > FINDINGS_LISTED:
        console.print(f"    \u2026 and {len(result.findings) - FINDINGS_LISTED} more "
                      "(see the report)")


def _verdict(console: Console, result: RunResult, load: LoadResult) -> None:
    crossed = sum(1 for t in load.thresholds if not t.ok)
    reasons = []
    if crossed:
        reasons.append(f"{crossed} of {len(load.thresholds)} thresholds crossed")
    if result.new_findings:
        reasons.append(_plural(len(result.new_findings), "new finding"))
    if result.errors:
        reasons.append(_plural(len(result.errors), "error"))
    summary = (f"{format_count(load.requests)} requests, {load.rps:,.1f}/s, "
               f"p99 {format_ms(load.latency.p99)}")
    console.print()
    if result.failed:
        console.print(f"[bold red]FAILED[/]: {', '.join(reasons) or 'see above'} ({summary})")
    else:
        held = f"{_plural(len(load.thresholds), 'threshold')} held, " if load.thresholds else ""
        console.print(f"[bold green]PASSED[/]: {held}{summary}")
        if result.findings and not load.thresholds:
            # Under load the exit code follows the thresholds; say how to gate on checks.
            console.print("  (findings do not fail a load run by themselves: add "
                          "--threshold 'checks>99%' or 'error_rate<1%' to gate on them)")


def describe_run(settings: Mapping[str, Any], model: str, workers: int = 1) -> str:
    """The run's shape in one line: ``closed model · 50 VUs · 30 s · 2 workers``."""
    parts = [f"{model} model"]
    if "vus" in settings:
        parts.append(_plural(int(settings["vus"]), "VU"))
    if settings.get("rate") is not None:
        parts.append(f"{float(settings['rate']):g} requests/s")
    if settings.get("stages"):
        parts.append("stages " + " \u2192 ".join(str(s) for s in settings["stages"]))
    if settings.get("duration_s") is not None:
        parts.append(format_seconds(float(settings["duration_s"])))
    if settings.get("iterations") is not None:
        parts.append(_plural(int(settings["iterations"]), "iteration"))
    if workers > 1:
        parts.append(_plural(workers, "worker"))
    if settings.get("cluster"):
        parts.append(f"cluster {settings['cluster']}")
    return " \u00b7 ".join(parts)


def format_threshold_value(expr: str, value: float | None) -> str:
    """A threshold's measured value in its unit: ``212 ms``, ``0.04%``, ``1,021.3/s``."""
    if value is None:
        return "not measured"
    match = _METRIC.match(expr)
    metric = match[1] if match else ""
    if metric in ("error_rate", "checks"):
        return format_percent(value)
    if metric == "rps":
        return f"{value:,.1f}/s"
    return format_ms(value)


def format_count(count: int) -> str:
    """``12,345``."""
    return f"{count:,}"


def format_percent(fraction: float) -> str:
    """A fraction as a percentage for people: ``0%``, ``0.04%``, ``12.5%``, ``100%``."""
    percent = fraction * 100
    if percent == 0:
        return "0%"
    if percent < 0.01:
        return f"{percent:.2g}%"
    return f"{percent:.2f}".rstrip("0").rstrip(".") + "%"


def _kinds(kinds: Mapping[str, int], sep: str = " \u00b7 ") -> str:
    ordered = sorted(kinds.items(), key=lambda item: (-item[1], item[0]))
    return sep.join(f"{kind} {format_count(count)}" for kind, count in ordered)


def _ms(value: float | None) -> str:
    return format_ms(value).replace(" ms", "") if value is not None and value < 1000 else (
        format_ms(value))


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"

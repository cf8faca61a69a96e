"""The console reporter: live progress from events, then findings and a summary.

Everything that came from the API or the user goes through ``rich.markup.escape`` (so a
``[bold]`` in a body is text, not markup) and through ``Secrets.redact``.
"""

from __future__ import annotations

import time
from collections import Counter

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..core.events import (
    CaseFinished,
    Event,
    PhaseFinished,
    PhaseStarted,
    RunError,
    RunResult,
    RunStarted,
    RunWarning,
)
from ..core.records import Finding
from ..core.secrets import Secrets

SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow",
                  "low": "cyan", "info": "dim"}
PROGRESS_AFTER_S = 1.0


class ConsoleReporter:
    """Prints a run as it goes (``handle``) and its result at the end (``finish``)."""

    def __init__(self, console: Console, secrets: Secrets, *, quiet: bool = False,
                 dry_run: bool = False):
        self.console = console
        self.secrets = secrets
        self.quiet = quiet
        self.dry_run = dry_run
        self._progress: Progress | None = None
        self._task = None
        self._phase_started = 0.0
        self._phase_total = 0
        self._phase_done = 0
        self._seen: set[tuple[str, str, str]] = set()
        self._phase_new = 0
        self._seed: int | None = None

    def text(self, value: object) -> str:
        """``value`` as safe console text: secrets redacted, markup escaped."""
        return escape(self.secrets.redact(str(value)))

    def handle(self, event: Event) -> None:
        """Show one event."""
        if isinstance(event, RunStarted):
            self._seed = event.seed
        if isinstance(event, RunStarted) and not self.quiet:
            target = self.text(event.target or "")
            self.console.print(f"[bold]assay {event.command}[/] → {target} "
                               f"({plural(event.operations, 'operation')}, phases: "
                               f"{', '.join(event.phases)})")
        elif isinstance(event, PhaseStarted):
            self._phase_started, self._phase_total, self._phase_done = (
                time.monotonic(), event.total, 0)
            self._phase_new = 0
        elif isinstance(event, CaseFinished):
            self._case(event)
        elif isinstance(event, PhaseFinished):
            self._stop_progress()
            if not self.quiet:
                self.console.print(f"  {event.phase}: {plural(event.cases, 'case')}, "
                                   f"{plural(self._phase_new, 'new finding')} "
                                   f"({plural(event.failures, 'failed check')})")
        elif isinstance(event, RunWarning) and not self.quiet:
            self._print(f"[yellow]warning:[/] {self.text(event.message)}")
        elif isinstance(event, RunError) and not self.quiet:
            self._print(f"[red]error:[/] {self.text(event.message)}")

    def _print(self, markup: str) -> None:
        if self._progress is not None:
            self._progress.console.print(markup)
        else:
            self.console.print(markup)

    def _case(self, event: CaseFinished) -> None:
        self._phase_done += 1
        for failure in event.failures:
            key = (event.operation, failure.check, failure.cause)
            if key not in self._seen:
                self._seen.add(key)
                self._phase_new += 1
        if self.dry_run:
            request = event.exchange.request
            source = f"  [dim]({self.text(event.case.source)})[/]" if event.case else ""
            self.console.print(f"  {request.method} {self.text(request.url)}{source}")
            return
        if self.quiet or not self.console.is_terminal:
            return
        if self._progress is None and time.monotonic() - self._phase_started > PROGRESS_AFTER_S:
            self._start_progress(event.phase)
        if self._progress is not None:
            self._progress.update(self._task, completed=self._phase_done)

    def _start_progress(self, phase: str) -> None:
        self._progress = Progress(TextColumn(f"  {phase}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=self.console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(phase, total=self._phase_total or None,
                                             completed=self._phase_done)

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def finish(self, result: RunResult) -> None:
        """Print every finding, the errors, a summary table and the verdict."""
        self._stop_progress()
        for index, finding in enumerate(result.findings, 1):
            self._finding(index, finding)
        if result.errors:
            self.console.print("\n[bold red]Errors[/]")
            for error in result.errors:
                where = f"{self.text(error.operation)}: " if error.operation else ""
                self.console.print(f"  {where}{self.text(error.message)}")
        if not self.quiet:
            self._summary(result)
        self._verdict(result)

    def _finding(self, index: int, finding: Finding) -> None:
        style = SEVERITY_STYLE.get(finding.severity, "")
        seen = f" · seen {finding.count}×" if finding.count > 1 else ""
        status = f" · status {finding.status}" if finding.status is not None else ""
        known = " [dim](known: in the baseline)[/]" if finding.known else ""
        phase = f" · {finding.phase}" if finding.phase else ""
        self.console.print(f"\n[bold]{index}. {self.text(finding.operation)}[/] "
                           f"[{style}]{finding.severity}[/] {finding.check}{status}{seen}"
                           f"{phase}{known}")
        self.console.print(f"   {self.text(finding.message)}")
        for step in finding.steps:
            self.console.print(f"   [dim]after {step.method} {self.text(step.url)} → "
                               f"{step.status}[/]")
        for line in finding.reproduce.splitlines():
            self.console.print(f"   [dim]$[/] {escape(line)}", soft_wrap=True)

    def _summary(self, result: RunResult) -> None:
        table = Table(title="Summary", show_header=False, title_justify="left")
        summary = result.summary
        by_check = Counter(f.check for f in result.findings)
        table.add_row("operations", str(summary.operations))
        table.add_row("cases", str(summary.cases))
        table.add_row("findings", str(summary.findings))
        for check, count in sorted(by_check.items()):
            table.add_row(f"  {check}", str(count))
        table.add_row("errors", str(len(result.errors)))
        table.add_row("warnings", str(len(result.warnings)))
        table.add_row("duration", f"{summary.duration_s:.2f} s")
        self.console.print()
        self.console.print(table)

    def _verdict(self, result: RunResult) -> None:
        summary = result.summary
        stopped = " (interrupted)" if result.interrupted else ""
        if self.dry_run:
            self.console.print(f"[bold]DRY RUN[/]: {plural(summary.cases, 'request')} listed, "
                               "none sent")
        elif result.failed:
            new = len(result.new_findings)
            known = f" ({summary.findings - new} known)" if new != summary.findings else ""
            self.console.print(f"[bold red]FAILED[/]: {plural(new, 'new finding')}{known}, "
                               f"{plural(len(result.errors), 'error')} in "
                               f"{plural(summary.cases, 'case')}, "
                               f"{summary.duration_s:.2f} s{stopped}")
        else:
            found = (f"{plural(summary.findings, 'known finding')}" if summary.findings
                     else "no findings")
            self.console.print(f"[bold green]PASSED[/]: {plural(summary.cases, 'case')}, "
                               f"{found}, {summary.duration_s:.2f} s{stopped}")
        if summary.seed is not None and not self.quiet:
            self.console.print(f"[dim]seed {summary.seed}: --seed {summary.seed} repeats the "
                               "generated cases[/]")


def plural(count: int, noun: str) -> str:
    """``1 case``, ``2 cases``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"

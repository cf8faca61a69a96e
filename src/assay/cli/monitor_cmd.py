"""``assay monitor``: run monitors on a schedule, serve the dashboard; ``--once`` for CI.

``assay monitor FILE`` runs; ``assay monitor notify-test FILE --channel NAME`` sends a test
notification. The first word decides: a file name runs, ``notify-test`` tests a channel.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..core.errors import UsageError
from .errors import handle_errors

DEFAULT_DB = "sqlite:///assay-monitor.db"


class _MonitorGroup(click.Group):
    """A group whose first argument is a subcommand or, when it is not, a file to run."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("assay monitor", "FILE [OPTIONS] | notify-test FILE --channel NAME")


@click.group(cls=_MonitorGroup)
def monitor() -> None:
    """Run the monitors of FILE (a YAML suite with monitors and notify channels) on their
    schedule, store every result, alert, and serve a dashboard, an API and /metrics.

    \b
    assay monitor monitors.yaml                  SQLite ./assay-monitor.db, dashboard on 127.0.0.1:8700
    assay monitor monitors.yaml --db postgresql+psycopg://user:pw@127.0.0.1/assay --location eu-1
    assay monitor monitors.yaml --once           every monitor once; exit 0 if all passed, else 1
    assay monitor notify-test monitors.yaml --channel ops

    \b
    Options of a run (`assay monitor FILE --help` for details):
      --db URL           sqlite:///FILE (default ./assay-monitor.db) or postgresql+psycopg://...
      --location NAME    this agent's location (default local)
      --host, --port     the dashboard, API and /metrics (default 127.0.0.1:8700)
      --auth-token TOKEN require a bearer token (or $ASSAY_MONITOR_TOKEN)
      --once             every monitor once; exit 0 if all passed, else 1
      -k, --insecure     do not verify TLS certificates
    """


@monitor.command("run", hidden=True)
@click.argument("file")
@click.option("--db", "db_url", metavar="URL",
              help=f"Database: sqlite:///FILE or postgresql+psycopg://... (default "
                   f"{DEFAULT_DB}; with --once, in memory unless given).")
@click.option("--location", default="local", show_default=True,
              help="Name of this agent's location (results and alerts carry it).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address of the dashboard, API and /metrics.")
@click.option("--port", type=int, default=8700, show_default=True, help="Their port.")
@click.option("--auth-token", envvar="ASSAY_MONITOR_TOKEN", metavar="TOKEN",
              help="Require 'Authorization: Bearer TOKEN' for the dashboard and API (not "
                   "/status, /metrics, heartbeats). Also $ASSAY_MONITOR_TOKEN.")
@click.option("--once", is_flag=True, help="Run every monitor once, print the results, "
              "exit 0 when all passed, 1 otherwise (a CI smoke test).")
@click.option("-k", "--insecure", is_flag=True, help="Do not verify TLS certificates.")
@click.option("--no-color", is_flag=True, help="Plain output.")
@handle_errors
def run(file: str, **options: Any) -> None:
    """Run the monitors of FILE."""
    from ..engine.monitor_run import MonitorAgent
    from ..storage.urls import open_store

    once = bool(options.get("once"))
    db_url = options.get("db_url") or ("memory://" if once else DEFAULT_DB)
    port = options["port"]
    if not 0 <= port <= 65535:
        raise UsageError(f"expected a port number from 0 to 65535, got {port}",
                         location="--port")
    _configure_logging()
    store = open_store(db_url)
    try:
        agent = MonitorAgent(file, store, location=options["location"], db_url=db_url,
                             verify=not options.get("insecure"))
        if once:
            results = asyncio.run(agent.run_once())
            _print_once(results, no_color=bool(options.get("no_color")))
            raise SystemExit(0 if all(r.ok for r in results) else 1)
        from ..web.serve import serve_monitor

        serve_monitor(agent, host=options["host"], port=port,
                      auth_token=options.get("auth_token"),
                      on_ready=lambda url: click.echo(f"dashboard {url}", err=False))
    finally:
        store.close()


@monitor.command("notify-test")
@click.argument("file")
@click.option("--channel", required=True, metavar="NAME", help="The notify channel to test.")
@handle_errors
def notify_test(file: str, channel: str) -> None:
    """Send a test notification to CHANNEL of FILE; exit 1 if it could not be delivered."""
    from ..engine.monitor_notify_test import send_test_notification

    error = asyncio.run(send_test_notification(file, channel))
    if error is not None:
        click.echo(f"not delivered to {channel}: {error}", err=True)
        raise SystemExit(1)
    click.echo(f"test notification delivered to {channel}")


def _print_once(results: list, *, no_color: bool) -> None:
    console = Console(no_color=no_color, highlight=False, soft_wrap=True)
    table = Table("monitor", "outcome", "status", "latency", "reason", box=None)
    for result in results:
        latency = f"{result.latency_ms:.0f} ms" if result.latency_ms is not None else "-"
        outcome = "[green]up[/]" if result.ok else "[red]down[/]"
        table.add_row(result.monitor, outcome, str(result.status or "-"), latency,
                      result.reason or "")
    console.print(table)
    failed = sum(not r.ok for r in results)
    console.print(f"{len(results) - failed} up, {failed} down")


def _configure_logging() -> None:
    for name in ("assay.monitor", "assay.web"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
            logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False

"""``assay test``: run a spec or a suite against an API and report what fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..core.errors import UsageError
from ..core.events import RunResult
from ..core.secrets import Secrets
from ..engine.run import TestTarget, load_target, run_test
from ..reporting.console import ConsoleReporter
from ..reporting.html import write_html
from ..reporting.json_report import write_json
from ..reporting.junit import write_junit
from .errors import handle_errors
from .options import build_config, parse_reports

WRITERS = {"json": (write_json, "report.json"), "junit": (write_junit, "junit.xml"),
           "html": (write_html, "report.html")}


def _filter_options(func: Callable) -> Callable:
    for dimension, help_name in (("path", "path template"), ("method", "HTTP method"),
                                 ("tag", "tag"), ("operation-id", "operationId")):
        for side in ("exclude", "include"):
            func = click.option(f"--{side}-{dimension}-regex", multiple=True,
                                metavar="REGEX",
                                help=f"{side.title()} operations whose {help_name} matches.")(func)
            func = click.option(f"--{side}-{dimension}", multiple=True,
                                help=f"{side.title()} operations with this {help_name}.")(func)
    return func


def request_options(func: Callable) -> Callable:
    """``-H``, ``--auth-bearer``, ``--auth-basic``, ``--api-key``, ``--timeout``: shared by
    every command that sends requests."""
    options = [
        click.option("-H", "--header", multiple=True, metavar="'NAME: VALUE'",
                     help="Header for every request (repeatable)."),
        click.option("--auth-bearer", envvar="ASSAY_TOKEN", metavar="TOKEN",
                     help="Bearer token (or env ASSAY_TOKEN)."),
        click.option("--auth-basic", envvar="ASSAY_BASIC_AUTH", metavar="USER:PASS",
                     help="HTTP basic credentials (or env ASSAY_BASIC_AUTH)."),
        click.option("--api-key", multiple=True, metavar="SCHEME=VALUE",
                     help="API key for the spec's security scheme SCHEME (repeatable)."),
        click.option("--timeout", metavar="DURATION", help="Per-request timeout (default 10s)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def report_options(func: Callable) -> Callable:
    """``--report``, ``--report-dir``, ``--json``, ``--junit``, ``--html``, ``--quiet``,
    ``--no-color``: shared by every command that writes reports."""
    options = [
        click.option("--report", "report", metavar="FORMATS",
                     help="Write reports: json,junit,html (comma-separated) into --report-dir."),
        click.option("--report-dir", default="assay-report", show_default=True,
                     type=click.Path(file_okay=False), help="Directory for --report files."),
        click.option("--json", "json_path", type=click.Path(dir_okay=False),
                     help="Write the JSON report to this file."),
        click.option("--junit", "junit_path", type=click.Path(dir_okay=False),
                     help="Write the JUnit XML report to this file."),
        click.option("--html", "html_path", type=click.Path(dir_okay=False),
                     help="Write the HTML report to this file."),
        click.option("-q", "--quiet", is_flag=True, help="Only findings, errors and the verdict."),
        click.option("--no-color", is_flag=True, help="No colors or styles in the output."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command()
@click.argument("source")
@click.option("-u", "--url", help="Base URL of the API, path included; replaces the spec's "
              "server URL and the suite's base_url.")
@click.option("--app", metavar="MODULE:ATTR",
              help="Test an ASGI or WSGI app in-process (e.g. mypkg.main:app).")
@request_options
@click.option("--rate-limit", metavar="N/s", help="At most N requests per second.")
@click.option("-k", "--insecure", is_flag=True, help="Do not verify TLS certificates.")
@click.option("--retries", type=int, default=0, help="Retries on connection errors only.")
@click.option("--checks", multiple=True, metavar="NAMES",
              help="Checks to run, comma-separated (default: all).")
@click.option("--exclude-checks", multiple=True, metavar="NAMES", help="Checks to skip.")
@click.option("--max-response-time", metavar="DURATION",
              help="Fail responses slower than this (e.g. 500ms).")
@click.option("--phases", metavar="NAMES", help="Phases to run, comma-separated "
              "(default: examples).")
@_filter_options
@click.option("--dry-run", is_flag=True, help="List the requests without sending them.")
@click.option("--max-failures", type=int, help="Stop after N distinct failures.")
@click.option("--var", multiple=True, metavar="KEY=VALUE", help="Suite variable (repeatable).")
@click.option("--seed", type=int, help="Seed for generated data (recorded in reports).")
@click.option("--max-examples", type=int, default=100, show_default=True,
              help="Fuzz requests per operation, shrinking included.")
@click.option("--max-time", metavar="DURATION", help="Time budget of the whole run (60s, 5m).")
@click.option("--workers", metavar="N", help="Operations tested at once (default: all cores).")
@click.option("--no-replay", is_flag=True,
              help="Do not replay stored failures first, nor store new ones.")
@click.option("--failures-db", metavar="PATH", default=".assay/failures.db", show_default=True,
              envvar="ASSAY_FAILURES_DB", help="Where failing cases are stored for replay.")
@click.option("--baseline", metavar="FILE", help="Known findings: reported, not failing.")
@click.option("--baseline-update", is_flag=True, help="Write the run's findings to --baseline.")
@report_options
@handle_errors
def test(source: str, **options: Any) -> None:
    """Test the API described by SOURCE: an OpenAPI/Swagger document (file or URL) or a
    YAML suite of scenarios."""
    config = build_config(options)
    reports = parse_reports(options.get("report"))
    target = load_target(source, variables=dict(config.variables))
    exit_code = execute(target, config, options, reports)
    raise SystemExit(exit_code)


def execute(target: TestTarget, config: Any, options: dict[str, Any],
            reports: tuple[str, ...], *, secrets: Secrets | None = None) -> int:
    """Run the test, print it, write reports; return the exit code (0 or 1)."""
    secrets = secrets or Secrets()
    paths = report_paths(options, reports)
    # soft_wrap: long URLs and messages stay on one line in CI logs (grep, copy-paste).
    console = Console(no_color=options.get("no_color"), highlight=False, soft_wrap=True,
                      force_terminal=None if not options.get("no_color") else False)
    reporter = ConsoleReporter(console, secrets, quiet=bool(options.get("quiet")),
                               dry_run=config.dry_run)
    result = asyncio.run(run_test(target, config, secrets, [reporter.handle]))
    reporter.finish(result)
    for path in write_reports(result, secrets, paths):
        if not options.get("quiet"):
            console.print(f"report written: {path}")
    if config.dry_run:
        return 0
    return 1 if result.failed else 0


def report_paths(options: dict[str, Any], reports: tuple[str, ...]) -> list[tuple[str, Path]]:
    """Every report to write, as (format, path); the folders are created now, so that an
    unusable path fails before the run rather than after it."""
    wanted: list[tuple[str, Path, str]] = []
    directory = Path(options.get("report_dir") or "assay-report")
    for fmt in reports:
        wanted.append((fmt, directory / WRITERS[fmt][1], "--report-dir"))
    for fmt, key in (("json", "json_path"), ("junit", "junit_path"), ("html", "html_path")):
        if options.get(key):
            wanted.append((fmt, Path(options[key]), f"--{fmt}"))
    for _, path, flag in wanted:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the folder for {path}: {exc.strerror}",
                             location=flag) from exc
        if path.is_dir():
            raise UsageError(f"{path} is a folder, expected a file path", location=flag)
    return [(fmt, path) for fmt, path, _ in wanted]


def write_reports(result: RunResult, secrets: Secrets,
                  paths: list[tuple[str, Path]], *, load: bool = False) -> list[Path]:
    """Write every requested report; return the paths written. A load run's HTML report
    has plots of its own."""
    for fmt, path in paths:
        writer = WRITERS[fmt][0]
        if load and fmt == "html":
            from ..reporting.load_html import write_load_html

            writer = write_load_html
        writer(result, path, secrets)
    return [path for _, path in paths]

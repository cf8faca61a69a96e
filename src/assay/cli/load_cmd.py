"""``assay load``: put a URL, a spec's operations or a suite's scenarios under load."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from ..core.errors import UsageError
from ..core.secrets import Secrets
from ..engine.run import load_target
from .errors import handle_errors
from .options import parse_pairs, parse_reports
from .test_cmd import report_options, report_paths, request_options, write_reports


@click.command()
@click.argument("source")
@click.option("-u", "--url", help="Base URL of the API (with a spec or suite), path included.")
@click.option("-X", "--method", "method", default="GET", show_default=True,
              help="HTTP method (with a URL).")
@click.option("-d", "--data", help="Request body, sent as given (with a URL).")
@request_options
@click.option("-k", "--insecure", is_flag=True, help="Do not verify TLS certificates.")
@click.option("--vus", type=int, help="Closed model: this many virtual users.")
@click.option("--rate", metavar="N/s", help="Open model: this many arrivals per second.")
@click.option("--stage", multiple=True, metavar="DURATION:TARGET",
              help="Ramp to TARGET over DURATION: 30s:50 (users) or 1m:500/s (rate).")
@click.option("--duration", metavar="DURATION", help="How long to run (10s, 5m).")
@click.option("--iterations", type=int, help="Stop after this many iterations in all.")
@click.option("--max-connections", type=int,
              help="Connections per worker (open model; default 1000). Beyond, requests "
                   "wait, and the wait counts in their latency.")
@click.option("--pipeline", type=int, default=1, show_default=True,
              help="Requests in flight per connection (HTTP/1.1 pipelining).")
@click.option("--workers", metavar="N", help="Worker processes (default: all cores; with "
              "--cluster, one per Dask worker).")
@click.option("--cluster", metavar="tcp://HOST:8786",
              help="Run the workers on this Dask scheduler's cluster.")
@click.option("--scenario", multiple=True, metavar="NAME",
              help="Suite scenario to run (repeatable; default: all).")
@click.option("--weight", multiple=True, metavar="OPERATION=N",
              help="Weight of a spec operation (operationId or 'GET /path').")
@click.option("--methods", metavar="METHODS", default="GET,HEAD", show_default=True,
              help="Spec operations with these methods are sent.")
@click.option("--threshold", multiple=True, metavar="EXPR",
              help="Pass/fail rule: p95<300ms, error_rate<1%, rps>1000, checks>99%, "
                   "p95{step:create}<200ms (repeatable).")
@click.option("--abort-on-fail", is_flag=True,
              help="Stop early when a threshold is crossed (after --abort-grace).")
@click.option("--abort-grace", metavar="DURATION", default="10s", show_default=True,
              help="With --abort-on-fail: no stop before this much of the run.")
@click.option("--var", multiple=True, metavar="KEY=VALUE", help="Suite variable (repeatable).")
@click.option("--seed", type=int, help="Seed for the order of requests and think times.")
@report_options
@handle_errors
def load(source: str, **options: Any) -> None:
    """Put load on SOURCE: a URL (like wrk or hey), an OpenAPI document (its GET operations,
    or --methods) or a YAML suite (its scenarios).

    \b
    assay load http://127.0.0.1:8080/ --vus 64 --duration 10s
    assay load http://127.0.0.1:8080/ --rate 2000/s --duration 1m
    assay load suite.yaml --rate 200/s --duration 5m --threshold 'p95<300ms'
    """
    # The load machinery (uvloop, numpy, the reports' charts) loads only for this command.
    from ..engine.load_run import run_load_sync
    from ..reporting.load_console import LiveProgress, print_load_summary
    from .load_options import build_load_config

    config = build_load_config(options)
    reports = parse_reports(options.get("report"))
    target = _target(source, options)
    paths = report_paths(options, reports)
    quiet = bool(options.get("quiet"))
    console = Console(no_color=options.get("no_color"), highlight=False, soft_wrap=True,
                      force_terminal=None if not options.get("no_color") else False)
    secrets = Secrets()
    with LiveProgress(console, quiet=quiet) as live:
        result = run_load_sync(target, config, secrets, on_progress=live.update)
    print_load_summary(console, result, secrets, quiet=quiet)
    for path in write_reports(result, secrets, paths, load=True):
        if not quiet:
            console.print(f"report written: {path}")
    raise SystemExit(1 if result.failed else 0)


def _target(source: str, options: dict[str, Any]) -> Any:
    from ..engine.load_run import LoadTarget
    from ..load.targets import parse_weights
    from .load_options import is_target_url

    method = (options.get("method") or "GET").upper()
    data = options.get("data")
    scenarios = tuple(options.get("scenario") or ())
    weights = parse_weights(options.get("weight") or ())
    methods = tuple(m.strip().upper() for m in (options.get("methods") or "").split(",")
                    if m.strip())
    if is_target_url(source, options.get("url")):
        for flag, given in (("--scenario", scenarios), ("--weight", weights),
                            ("--url", options.get("url"))):
            if given:
                raise UsageError(f"applies to a spec or a suite, not to a URL ({source})",
                                 location=flag)
        return LoadTarget(source, method=method, data=data)
    if data is not None or method != "GET":
        raise UsageError("-X and -d apply to a URL; a spec or a suite says what to send",
                         location="-X/-d")
    variables = dict(_pairs(options.get("var") or ()))
    test_target = load_target(source, variables=variables)
    if test_target.suite is None and scenarios:
        raise UsageError("applies to a YAML suite, not to an API description",
                         location="--scenario")
    if test_target.suite is not None and weights:
        raise UsageError("applies to an API description; a suite's scenarios have "
                         "'weight:' keys", location="--weight")
    return LoadTarget(source, url=options.get("url"), test_target=test_target,
                      scenarios=scenarios, methods=methods or ("GET", "HEAD"), weights=weights)


def _pairs(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return list(parse_pairs(values, "--var"))

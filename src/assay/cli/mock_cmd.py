"""``assay mock``: serve a mock of an API from its spec, a proxy, or a recording."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from ..core.errors import UsageError
from .errors import handle_errors


@click.command()
@click.argument("spec", required=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("-p", "--port", type=int, default=4010, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--seed", type=int,
              help="Seed for generated bodies (default 0) and for fault draws (default: "
                   "fresh randomness each run).")
@click.option("--stateful", is_flag=True,
              help="POST stores, GET reads and lists, PUT/PATCH change, DELETE removes.")
@click.option("--faults", metavar="FILE", help="Fault rules: latency, errors, broken "
              "connections (YAML; change them at run time with /__assay/faults).")
@click.option("--proxy", metavar="URL", help="Forward every request to this API.")
@click.option("--record", metavar="FILE", help="With --proxy: save every exchange to this "
              "cassette (YAML).")
@click.option("--replay", metavar="FILE", help="Answer from this cassette.")
@click.option("--match", "match_rules", metavar="RULES",
              help="With --replay: how requests match recordings, e.g. "
                   "query=ignore,body=json,headers=accept.")
@click.option("--validate/--no-validate", default=None,
              help="Validate requests against the spec (on by default with a spec; with "
                   "--proxy, also the answers, reported in X-Assay-Violations).")
@click.option("--strict", is_flag=True,
              help="With --proxy --validate: answer 502 with the violations instead.")
@click.option("--tls", is_flag=True, help="Serve HTTPS with a generated self-signed "
              "certificate.")
@click.option("-k", "--insecure", is_flag=True,
              help="With --proxy: do not verify the upstream's TLS certificate.")
@click.option("--timeout", type=float, default=30.0, show_default=True,
              help="With --proxy: seconds to wait for the upstream.")
@click.option("--journal-size", type=int, default=1000, show_default=True,
              help="Requests kept for GET /__assay/requests (0: none).")
@click.option("--no-cors", is_flag=True, help="Do not answer CORS preflights or add CORS "
              "headers.")
@click.option("--log", "log_requests", is_flag=True, help="Print one line per request "
              "on stderr.")
@handle_errors
def mock(spec: str | None, **options: Any) -> None:
    """Serve a mock of the API in SPEC (an OpenAPI document), or proxy/record/replay one.

    \b
    assay mock openapi.yaml --port 4010           examples, else generated bodies
    assay mock openapi.yaml --stateful            POST stores, GET reads, DELETE removes
    assay mock openapi.yaml --faults faults.yaml  latency, errors, resets
    assay mock --proxy https://api.example --record cassette.yaml
    assay mock --replay cassette.yaml
    assay mock openapi.yaml --proxy http://127.0.0.1:8000 --validate

    The first line on stdout is `serving <URL>`; admin routes live under /__assay/.
    """
    from ..engine.mock_run import build_app, serve

    config = _config(spec, options)
    app = build_app(config)
    _configure_logging(bool(options.get("log_requests")))
    for warning in app.warnings:
        click.echo(f"warning: {warning}", err=True)

    def ready(url: str) -> None:
        click.echo(f"serving {url}")
        sys.stdout.flush()
        what = (f"{len(app.spec.operations)} operations from {spec}" if app.spec else "")
        mode = ("replaying " + str(config.replay) if config.replay
                else f"proxying to {config.proxy}" if config.proxy else "")
        parts = [p for p in (what, mode, "stateful" if config.options.stateful else "") if p]
        root = url[:len(url) - len(app.prefix)] if app.prefix else url
        parts.append(f"journal at {root}/__assay/requests; Ctrl-C stops")
        click.echo("; ".join(parts), err=True)

    serve(config, app, on_ready=ready, on_note=lambda text: click.echo(text, err=True))


def _config(spec: str | None, options: dict[str, Any]) -> Any:
    from ..engine.mock_run import MockConfig
    from ..mock.app import MockOptions
    from ..mock.replay import MatchRules, parse_match_rules

    validate = options.get("validate")
    proxy = options.get("proxy")
    if validate and not spec:
        raise UsageError("validation needs the spec: assay mock SPEC --proxy URL --validate",
                         location="--validate")
    if options.get("strict") and not (proxy and validate):
        raise UsageError("applies to a validating proxy (--proxy URL --validate)",
                         location="--strict")
    if options.get("match_rules") and not options.get("replay"):
        raise UsageError("applies to --replay", location="--match")
    port = options["port"]
    if not 0 <= port <= 65535:
        raise UsageError(f"expected a port number from 0 to 65535, got {port}",
                         location="--port")
    if options["journal_size"] < 0:
        raise UsageError("expected 0 or more", location="--journal-size")
    seed = options.get("seed")
    mock_options = MockOptions(
        validate=(validate is not False) if not proxy else bool(validate),
        stateful=bool(options.get("stateful")), strict=bool(options.get("strict")),
        seed=seed if seed is not None else 0, journal_size=options["journal_size"],
        cors=not options.get("no_cors"), log_requests=bool(options.get("log_requests")),
    )
    match = parse_match_rules(options["match_rules"]) if options.get("match_rules") \
        else MatchRules()
    return MockConfig(
        spec=spec, host=options["host"], port=port, options=mock_options, fault_seed=seed,
        faults=options.get("faults"), proxy=proxy, record=options.get("record"),
        replay=options.get("replay"), match=match, tls=bool(options.get("tls")),
        insecure=bool(options.get("insecure")), timeout=options["timeout"],
    )


def _configure_logging(verbose: bool) -> None:
    logger = logging.getLogger("assay.mock")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False

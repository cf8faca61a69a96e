"""``assay demo``: the bundled demo API, tested, served or written out."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..core.auth import BearerAuth
from ..core.errors import AssayError, UsageError
from ..core.secrets import Secrets
from ..demo import spec_text
from ..engine.config import TestConfig
from ..engine.run import TestTarget
from ..specs import load_spec_text
from .errors import handle_errors
from .options import parse_reports, parse_workers
from .test_cmd import execute, report_options

DEMO_TOKEN = "demo-token"


@contextmanager
def serve_in_background(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; yields its base URL."""
    import uvicorn  # only the demo needs a server: `assay test` starts faster without it

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssayError(f"the demo API could not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@click.group(invoke_without_command=True)
@click.option("--fixed", is_flag=True, help="Test the fixed twin (no seeded defects).")
@report_options
@click.pass_context
@handle_errors
def demo(ctx: click.Context, fixed: bool, **options: Any) -> None:
    """Start the bundled demo API on a free loopback port and test it.

    \b
    assay demo                 test the demo (it has seeded defects: real findings)
    assay demo serve           serve it for your own tries
    assay demo spec            print its OpenAPI document
    """
    if ctx.invoked_subcommand is not None:
        return
    reports = parse_reports(options.get("report"))
    spec = load_spec_text(spec_text(), source="assay demo spec (openapi.yaml)")
    secrets = Secrets()
    from ..demo.app import create_app  # imported when used: it loads Starlette

    with serve_in_background(create_app(fixed=fixed, token=DEMO_TOKEN)) as url:
        # A fresh server each time: nothing to replay, nothing worth storing.
        config = TestConfig(base_url=url, auth=(BearerAuth(DEMO_TOKEN),), replay=False,
                            workers=parse_workers(None))
        execute(TestTarget("assay demo", spec), config, options, reports, secrets=secrets)
    click.echo(
        "\nNext: `assay demo serve --port 8000` and `assay demo spec > openapi.yaml`, then\n"
        "`ASSAY_TOKEN=demo-token assay test openapi.yaml --url http://127.0.0.1:8000` "
        "(add --fixed to serve the defect-free twin, --report html for a report)."
    )


def ensure_port_free(host: str, port: int) -> None:
    """Raise ``UsageError`` naming ``--port`` when ``host:port`` cannot be bound."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}",
                         location="--port") from exc


@demo.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--fixed", is_flag=True, help="Serve the fixed twin (no seeded defects).")
@handle_errors
def serve(host: str, port: int, fixed: bool) -> None:
    """Serve the demo API until Ctrl-C (bearer token for writes: demo-token)."""
    ensure_port_free(host, port)
    variant = "fixed twin" if fixed else "seeded defects"
    click.echo(f"serving the demo API ({variant}) on http://{host}:{port} "
               f"(token: {DEMO_TOKEN}); Ctrl-C to stop")
    import uvicorn

    from ..demo.app import create_app

    uvicorn.run(create_app(fixed=fixed, token=DEMO_TOKEN), host=host, port=port,
                log_level="warning")


@demo.command()
def spec() -> None:
    """Print the demo's OpenAPI document (YAML)."""
    click.echo(spec_text(), nl=False)

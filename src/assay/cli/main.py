"""The ``assay`` command: a click group of thin adapters over the engine."""

from __future__ import annotations

import click

from .. import __version__
from .demo_cmd import demo
from .inspect_cmd import inspect
from .load_cmd import load
from .mock_cmd import mock
from .monitor_cmd import monitor
from .test_cmd import test


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="assay")
def cli() -> None:
    """assay tests and monitors HTTP APIs from one description: an OpenAPI document or a
    YAML suite.

    \b
    Start here:
      assay demo                          test the bundled demo API
      assay inspect openapi.yaml          what assay understood of a document
      assay test openapi.yaml --url URL   test an API
      assay test suite.yaml               run hand-written scenarios
      assay load URL --vus 64 --duration 10s   put load on an API
      assay mock openapi.yaml             serve a mock of an API
      assay monitor monitors.yaml         run monitors, alert, serve a dashboard
    """


cli.add_command(test)
cli.add_command(inspect)
cli.add_command(demo)
cli.add_command(load)
cli.add_command(mock)
cli.add_command(monitor)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="assay")

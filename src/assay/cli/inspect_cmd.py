"""``assay inspect``: what assay understood of one or more API descriptions."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ..core.errors import AssayError
from ..specs import load_spec
from ..specs.summary import spec_summary


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("-v", "--verbose", is_flag=True, help="Also list every operation.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def inspect(files: tuple[str, ...], verbose: bool, fmt: str) -> None:
    """Print, for each FILE (path or URL), its title, spec version, operations and warnings.

    Exit code 0 when every document loaded, 2 when any could not be.
    """
    console = Console(highlight=False, soft_wrap=True)
    documents: list[dict[str, Any]] = []
    failed = False
    for source in files:
        try:
            summary = spec_summary(load_spec(source))
        except AssayError as exc:
            failed = True
            documents.append({"source": source, "error": str(exc), "operations": 0})
            if fmt == "text":
                click.echo(f"error: {exc}", err=True)
            continue
        documents.append(summary)
        if fmt == "text":
            _print_text(console, summary, verbose)
    if fmt == "json":
        if not verbose:
            documents = [{k: v for k, v in d.items() if k != "operation_list"} for d in documents]
        click.echo(json.dumps(documents, indent=2, default=str))
    raise SystemExit(2 if failed else 0)


def _print_text(console: Console, summary: dict[str, Any], verbose: bool) -> None:
    warnings = summary.get("warnings") or []
    console.print(f"[bold]{escape(summary['source'])}[/]: {escape(str(summary['title']))} "
                  f"{escape(str(summary.get('version') or ''))} · "
                  f"{'Swagger' if summary['spec_version'].startswith('2') else 'OpenAPI'} "
                  f"{escape(summary['spec_version'])} · {summary['operations']} operations · "
                  f"{len(warnings)} warnings")
    if not verbose:
        return
    servers = summary.get("servers") or []
    if servers:
        console.print(f"  servers: {escape(', '.join(servers))}")
    for name, scheme in (summary.get("security_schemes") or {}).items():
        console.print(f"  security scheme {escape(name)}: {escape(json.dumps(scheme))}")
    for op in summary.get("operation_list") or []:
        params = ", ".join(
            f"{p['name']} ({p['in']}{', required' if p.get('required') else ''})"
            for p in op.get("parameters", [])
        )
        body = ", ".join(op.get("request_body") or [])
        auth = " · auth: " + " | ".join(
            "+".join(alt) or "none" for alt in op["security"]) if op.get("security") else ""
        console.print(f"  [bold]{escape(op['operation'])}[/]"
                      f"{' · ' + escape(params) if params else ''}"
                      f"{' · body: ' + escape(body) if body else ''}"
                      f" · responses: {escape(', '.join(op.get('responses') or []))}"
                      f"{escape(auth)}")
    for warning in warnings:
        console.print(f"  [yellow]warning:[/] {escape(str(warning))}")

"""``--baseline FILE``: findings already known, which do not fail the run.

The file is YAML, one entry per finding, sorted, so that it reads and diffs well in review::

    # assay baseline: known findings. CI fails only on findings not listed here.
    - operation: GET /books
      check: not_a_server_error
      cause: '500:IndexError: list index out of range'
      message: 'Server error 500: IndexError: list index out of range'

Findings match by (operation, check, cause); ``message`` is for the reader only.
``--baseline-update`` rewrites the file with the run's findings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from ..core.errors import ConfigError
from ..core.records import Finding

HEADER = ("# assay baseline: known findings. CI fails only on findings not listed here.\n"
          "# Entries match by operation, check and cause; regenerate with --baseline-update.\n")


def load_baseline(path: str) -> set[tuple[str, str, str]]:
    """The (operation, check, cause) keys listed in the baseline file."""
    try:
        data = yaml.safe_load(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the baseline: {exc.strerror}", source=path) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=path) from exc
    if data is None:
        return set()
    if not isinstance(data, list):
        raise ConfigError("expected a list of findings (operation, check, cause)",
                          source=path)
    keys = set()
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k), str) for k in ("operation", "check")):
            raise ConfigError(f"entry {index}: expected a mapping with string keys "
                              "'operation', 'check' and 'cause'", source=path)
        keys.add((entry["operation"], entry["check"], str(entry.get("cause", ""))))
    return keys


def write_baseline(path: str, findings: list[Finding],
                   redact: Callable[[str], str] = str) -> None:
    """Write ``findings`` as the new baseline (sorted by operation, check and cause);
    ``redact`` hides secrets in the text written."""
    entries = [{"operation": f.operation, "check": f.check, "cause": redact(f.cause),
                "message": redact(f.message.splitlines()[0]) if f.message else ""}
               for f in sorted(findings, key=lambda f: f.key)]
    text = HEADER + (yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=100)
                     if entries else "[]\n")
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, "utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the baseline: {exc.strerror}", source=path) from exc


def mark_known(findings: list[Finding], known: set[tuple[str, str, str]]) -> None:
    """Flag the findings the baseline lists."""
    for finding in findings:
        finding.known = finding.key in known

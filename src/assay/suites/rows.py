"""``parametrize:`` rows: inline mappings, or a CSV or JSON file next to the suite.

CSV files have a header row and give every value as a string (CSV has no types); JSON files
are a list of objects and keep their types. Row keys become variables, so they must be
variable names.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from ..core.errors import SuiteError
from .yamlio import KeyPath, SourceMap

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def load_rows(spec: Any, base_dir: Path, path: KeyPath, where: SourceMap) -> tuple[dict, ...]:
    """The rows of a validated ``parametrize:`` value (a list, or ``{file: ...}``)."""
    if isinstance(spec, list):
        return tuple(dict(row) for row in spec)
    file = base_dir / spec["file"]
    try:
        text = file.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise where.error((*path, "file"), f"cannot read parametrize file {str(file)!r}: "
                                           f"{reason}") from exc
    rows = _csv_rows(text, str(file)) if file.suffix.lower() == ".csv" else _json_rows(
        text, str(file))
    if not rows:
        raise where.error((*path, "file"), f"parametrize file {str(file)!r} has no rows")
    return rows


def _csv_rows(text: str, source: str) -> tuple[dict, ...]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise SuiteError("empty CSV file (expected a header row, then one row per case)",
                         source=source, location="line 1")
    header = [name.strip() for name in header]
    for name in header:
        if not _NAME.fullmatch(name):
            raise SuiteError(
                f"invalid column name {name!r} (expected a variable name: letters, digits, "
                "_ and -, not starting with a digit)", source=source, location="line 1")
    rows = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue  # blank lines, common at the end of hand-edited files
        if len(values) != len(header):
            raise SuiteError(
                f"expected {len(header)} values (one per column: {', '.join(header)}), "
                f"found {len(values)}", source=source, location=f"line {reader.line_num}")
        rows.append(dict(zip(header, values, strict=True)))
    return tuple(rows)


def _json_rows(text: str, source: str) -> tuple[dict, ...]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise SuiteError(f"invalid JSON: {getattr(exc, 'msg', exc)}", source=source,
                         location=f"line {line}" if line else None) from exc
    if not isinstance(data, list):
        raise SuiteError("expected a list of objects (one per case), found "
                         f"{_short(data)}", source=source)
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise SuiteError(f"expected an object, found {_short(row)}",
                             source=source, location=f"/{index}")
        for key in row:
            if not _NAME.fullmatch(key):
                raise SuiteError(f"invalid key {key!r} (expected a variable name)",
                                 source=source, location=f"/{index}")
    return tuple(data)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."

"""Entry points: load a suite file, and tell a suite from an OpenAPI document."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import SuiteError
from .build import build_suite
from .model import Suite
from .validate import validate_suite
from .variables import check_variables
from .yamlio import SuiteLoader, parse_yaml

_SCENARIOS_LINE = re.compile(r"^scenarios\s*:", re.MULTILINE)


def load_suite(path: str | os.PathLike[str], *, overrides: dict[str, str] | None = None,
               env: Mapping[str, str] | None = None) -> Suite:
    """Load, validate and build the suite at ``path``.

    ``overrides`` are ``--var key=value`` pairs (they win over ``variables:``); ``env``
    supplies ``${VAR}`` values (default: ``os.environ``). Raises ``SuiteError`` naming the
    file, the line and key path, what was expected and what was found.

    >>> suite = load_suite("tests/data/suites/books.yaml")  # doctest: +SKIP
    >>> suite.scenarios[0].steps[0].request.method  # doctest: +SKIP
    'POST'
    """
    source = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SuiteError(f"cannot read the suite: {reason}", source=source) from exc
    data, where = parse_yaml(text, source=source, env=os.environ if env is None else env)
    validate_suite(data, where)
    suite = build_suite(data, where, base_dir=Path(path).parent, overrides=overrides)
    check_variables(suite)
    return suite


def is_suite_document(data: Any) -> bool:
    """True when a parsed document is a suite: a mapping with ``scenarios``."""
    return isinstance(data, dict) and "scenarios" in data


def looks_like_suite(path: str | os.PathLike[str]) -> bool:
    """True when the file at ``path`` is a suite rather than an API description.

    Environment variables are not substituted (the file is not loaded yet). A file that
    does not parse still counts as a suite when a line starts with ``scenarios:``, so that
    a broken suite is reported as a suite error; an unreadable file is not a suite.
    """
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if text.lstrip().startswith("{"):
        try:
            # JSON parses far faster than YAML: large OpenAPI documents are often JSON.
            return is_suite_document(json.loads(text))
        except ValueError:
            pass
    try:
        # SuiteLoader is a SafeLoader: no Python objects are built from the file.
        return is_suite_document(yaml.load(text, Loader=SuiteLoader))
    except yaml.YAMLError:
        return _SCENARIOS_LINE.search(text) is not None

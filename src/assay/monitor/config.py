"""Reading a monitors file into a ``MonitorConfig``.

The file is a YAML suite (read by the suites' own reader: line numbers, ``${ENV}``
substitution, YAML 1.2 scalars) plus ``monitors``, ``notify``, ``maintenance`` and
``retention``. It is checked in two passes: ``monitors.schema.json`` (which takes the
suite keys from ``suite.schema.json`` by reference) for shapes, then the cross-checks a
schema cannot express (unknown scenario or channel, duplicate names, cron syntax, every
versus cron, percentages). Either pass raises one ``ConfigError`` that names the file, the
line and the key path (``monitors[1].every``), what was expected and what was found.

>>> config = load_config("monitors.yaml")  # doctest: +SKIP
>>> [(m.name, m.kind, m.every_s) for m in config.monitors]  # doctest: +SKIP
[('health', 'http', 1.0), ('book flow', 'scenario', 30.0)]
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ..core.errors import ConfigError
from ..suites.build import build_suite
from ..suites.validate import describe, explain, suite_schema
from ..suites.variables import check_variables
from ..suites.yamlio import SourceMap, parse_yaml
from .config_alerts import build_channels, build_maintenance, build_retention
from .config_monitors import build_monitors
from .config_secrets import config_secrets
from .config_values import config_error
from .model import MonitorConfig

__all__ = ["config_digest", "config_secrets", "load_config", "monitors_schema",
           "parse_config", "validate_config"]

# Base URIs under which the two schemas meet: monitors.schema.json refers to the suite
# schema as "../suites/suite.schema.json", which also resolves beside the installed file
# for editors that open it from disk.
_MONITORS_URI = "https://assay.invalid/schemas/monitor/monitors.schema.json"
_SUITE_URI = "https://assay.invalid/schemas/suites/suite.schema.json"


def load_config(path: str | os.PathLike[str], *,
                env: Mapping[str, str] | None = None) -> MonitorConfig:
    """Read, validate and build the monitors file at ``path``.

    ``env`` supplies ``${VAR}`` values (default: ``os.environ``). Raises ``ConfigError``
    (``SuiteError`` for problems of the suite part, a subclass) naming the file, the line
    and the key path.
    """
    source = str(path)
    text = _text(path)
    data, where = parse_yaml(text, source=source, env=os.environ if env is None else env)
    return parse_config(data, source, where, base_dir=Path(path).parent)


def parse_config(data: Any, source: str, where: SourceMap, *, base_dir: Path) -> MonitorConfig:
    """The ``MonitorConfig`` of an already parsed document (``where`` maps key paths to
    lines; ``base_dir`` is where relative files such as parametrize rows are found)."""
    validate_config(data, where)
    suite = build_suite(data, where, base_dir=base_dir)
    check_variables(suite)
    channels = build_channels(data.get("notify") or [], where)
    monitors = build_monitors(data["monitors"], suite, channels, where, base_dir)
    # A request monitor's templates may use variables: and setup captures, like a suite step.
    check_variables(replace(suite, scenarios=tuple(
        m.scenario for m in monitors if m.kind == "http" and m.scenario is not None)))
    return MonitorConfig(
        source=source,
        suite=suite,
        monitors=monitors,
        channels=channels,
        maintenance=build_maintenance(data.get("maintenance") or [], where,
                                      [m.name for m in monitors]),
        retention=build_retention(data.get("retention"), where),
    )


def config_digest(path: str | os.PathLike[str]) -> str:
    """A SHA-256 of the file's bytes (hex): the runner reloads when it changes.

    >>> config_digest("monitors.yaml")  # doctest: +SKIP
    '3f2a...'
    """
    return hashlib.sha256(_read(path)).hexdigest()


def validate_config(data: Any, where: SourceMap) -> None:
    """Raise ``ConfigError`` for the most relevant way ``data`` breaks ``monitors.schema.json``."""
    if not isinstance(data, dict):
        raise config_error(where, (), f"a monitors file must be a mapping with 'monitors', "
                                      f"found {describe(data)}")
    if "monitors" not in data:
        raise config_error(where, (), "no 'monitors' in the file (expected a list of "
                                      "monitors, each with a name, what to check, and every "
                                      "or cron)")
    error = best_match(_validator().iter_errors(data))
    if error is not None:
        path, message = explain(error)
        raise config_error(where, path, message)


def monitors_schema() -> dict[str, Any]:
    """The JSON Schema of the monitors file, as shipped (suite keys by reference)."""
    text = resources.files("assay.monitor").joinpath("monitors.schema.json").read_text("utf-8")
    return json.loads(text)


def _validator() -> Draft202012Validator:
    schema = {**monitors_schema(), "$id": _MONITORS_URI}
    registry: Registry = Registry().with_resources([
        (_MONITORS_URI, Resource.from_contents(schema, default_specification=DRAFT202012)),
        (_SUITE_URI, Resource.from_contents(suite_schema(), default_specification=DRAFT202012)),
    ])
    return Draft202012Validator(schema, registry=registry)


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot read the monitors file: {reason}", source=str(path)) from exc


def _text(path: str | os.PathLike[str]) -> str:
    try:
        return _read(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read the monitors file: not UTF-8 text ({exc.reason} at "
                          f"byte {exc.start})", source=str(path)) from exc

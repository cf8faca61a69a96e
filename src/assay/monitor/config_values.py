"""Single values of a monitors file: durations with days, percentages, comparisons,
``host:port`` endpoints, cron expressions and ISO 8601 times.

The JSON Schema has checked each value's shape; these functions give it its meaning and
check what a pattern cannot (a port in range, a cron field in range, a timezone present).
Each raises ``ConfigError`` naming the file, the line and the key path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from croniter import CroniterBadDateError, CroniterError, croniter

from ..core.errors import ConfigError
from ..core.units import parse_duration
from ..suites.yamlio import KeyPath, SourceMap, format_key_path
from .model import Comparison

_DAYS = re.compile(r"\s*(\d+(?:\.\d+)?)\s*d\s*")
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")
_COMPARISON = re.compile(r"\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*")
_ENDPOINT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^:\s\[\]/]+)(?::(\d{1,5}))?")
_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CRON_HINT = ("expected 5 fields: minute hour day-of-month month day-of-week, such as "
              "'*/5 * * * *' or '0 2 * * SUN', or one of " + ", ".join(_CRON_MACROS))


def config_error(where: SourceMap, path: KeyPath, message: str) -> ConfigError:
    """A ``ConfigError`` located like the suites' errors: ``line N, key monitors[1].every``."""
    location = f"line {where.line_of(path)}"
    if path:
        location += f", key {format_key_path(path)}"
    return ConfigError(message, source=where.source, location=location)


def seconds(value: Any, path: KeyPath, where: SourceMap) -> float:
    """Seconds in a duration: ``30s``, ``5m``, ``1h``, ``7d`` or a number of seconds.

    ``core.units.parse_duration`` stops at hours; retention and SLO windows are in days.
    """
    try:
        if isinstance(value, str):
            days = _DAYS.fullmatch(value)
            if days:
                return float(days.group(1)) * 86400.0
        return parse_duration(value)
    except ValueError as exc:
        raise config_error(where, path, f"expected a duration such as 30s, 5m, 1h or 7d, "
                                        f"found {value!r}") from exc


def positive_seconds(value: Any, path: KeyPath, where: SourceMap) -> float:
    """Like ``seconds``, and more than zero (an interval, a timeout, a window)."""
    result = seconds(value, path, where)
    if result <= 0:
        raise config_error(where, path, f"expected a duration longer than 0, found {value!r}")
    return result


def percentage(value: str, path: KeyPath, where: SourceMap) -> float:
    """``"99.9%"`` -> 0.999 (exactly: computed in decimal), between 0% and 100%."""
    match = _PERCENT.fullmatch(str(value))
    try:
        number = Decimal(match.group(1)) if match else None
    except InvalidOperation:
        number = None
    if number is None or number > 100:
        raise config_error(where, path, f"expected a percentage between 0% and 100% such as "
                                        f"99.9%, found {value!r}")
    return float(number / 100)


def comparison(value: Any, path: KeyPath, where: SourceMap) -> Comparison:
    """``"> 14"`` -> ``Comparison(">", 14.0)``; a number alone means at least that much."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Comparison(">=", float(value))
    match = _COMPARISON.fullmatch(str(value))
    if not match:
        raise config_error(where, path, f"expected a comparison such as '> 14', found {value!r}")
    return Comparison(match.group(1), float(match.group(2)))


def endpoint(value: Any, path: KeyPath, where: SourceMap,
             default_port: int | None) -> tuple[str, int]:
    """``"host:port"``, ``"[::1]:443"``, ``"host"`` (when there is a default port) or
    ``{host, port}`` -> (host, port); IPv6 brackets are removed."""
    if isinstance(value, dict):
        return value["host"], int(value.get("port", default_port))
    match = _ENDPOINT.fullmatch(str(value))
    port_text = match.group(2) if match else None
    if match is None or (port_text is None and default_port is None):
        shape = "'host:port'" if default_port is None else "'host' or 'host:port'"
        raise config_error(where, path, f"expected {shape}, found {value!r}")
    port = default_port if port_text is None else int(port_text)
    if not 1 <= port <= 65535:
        raise config_error(where, path, f"expected a port from 1 to 65535, found {port} "
                                        f"in {value!r}")
    return match.group(1).strip("[]"), port


def cron_expression(value: str, path: KeyPath, where: SourceMap) -> str:
    """A validated 5-field cron expression (or macro), as written.

    Six- and seven-field forms are refused: croniter reads a sixth field as seconds at the
    end, Quartz as seconds at the start; sub-minute schedules are what ``every`` is for.
    """
    text = value.strip()
    if text.lower() in _CRON_MACROS:
        return text
    if len(text.split()) != 5:
        raise config_error(where, path, f"invalid cron expression {value!r} ({_CRON_HINT})")
    try:
        # From a fixed date, not now: whether the expression ever fires (30 February never
        # does) does not depend on the clock.
        croniter(text, datetime(2000, 1, 1, tzinfo=UTC)).get_next(float)
    except CroniterBadDateError as exc:
        raise config_error(where, path, f"cron expression {value!r} never fires "
                                        "(expected a date that exists)") from exc
    except (CroniterError, ValueError, KeyError) as exc:
        raise config_error(where, path,
                           f"invalid cron expression {value!r}: {exc} ({_CRON_HINT})") from exc
    return text


def epoch(value: str, path: KeyPath, where: SourceMap) -> float:
    """UNIX seconds of an ISO 8601 time that names its timezone (``Z`` or ``+02:00``).

    A time without a timezone is refused rather than guessed: the agent's local time and
    the author's may differ, and a maintenance window an hour off pages someone.
    """
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise config_error(where, path, f"expected an ISO 8601 time such as "
                                        f"2025-06-01T02:00:00Z, found {value!r}") from exc
    if moment.tzinfo is None:
        raise config_error(where, path, f"expected a time with a timezone (2025-06-01T02:00:00Z "
                                        f"or +02:00 at the end), found {value!r}")
    return moment.timestamp()

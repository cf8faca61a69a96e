"""The faults file of ``assay mock``: its rules as records, parsed and rendered.

A faults file (``--faults faults.yaml``) and the admin API (``GET``/``PUT``/``DELETE
/__assay/faults``, the same shape in JSON) hold an ordered list of rules::

    faults:
      - match: {operation: "GET /books/{bookId}"}   # or method / path; omit for all requests
        latency: {distribution: lognormal, median: 80ms, sigma: 0.4, max: 2s}
      - match: {method: POST}
        probability: 0.05
        error: {status: 503, headers: {Retry-After: "2"}}
      - probability: 0.01
        fault: connection_reset

A rule has a ``latency``, an ``error`` or a ``fault`` (``http.serving.FAULT_KINDS``), or a
latency with one of the other two. Latency is ``100ms`` (fixed), ``{distribution: fixed,
value: 100ms}``, ``{distribution: uniform, min: 10ms, max: 50ms}`` or ``{distribution:
lognormal, median: 80ms, sigma: 0.4, max: 2s}`` (``max`` optional). An error is a status,
optional headers and an optional body (a string is sent as text/plain, other JSON values as
application/json; none: an application/problem+json body). How rules match and combine is
``mock.faults``'s business (see its docstring). ``faults.schema.json``, shipped beside this
module, describes the file for editors; the parser here checks it with messages that name
the key and line (a test keeps the two in agreement).
"""

from __future__ import annotations

import math
import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from statistics import NormalDist
from typing import Any

from ..core.errors import ConfigError, SuiteError
from ..core.units import parse_duration
from ..http.serving import FAULT_KINDS
from ..suites.validate import describe
from ..suites.yamlio import KeyPath, SourceMap, format_key_path, parse_yaml

DISTRIBUTIONS = ("fixed", "uniform", "lognormal")
NO_BODY_STATUSES = (204, 304)
_RULE_KEYS = ("match", "probability", "latency", "error", "fault")
_MATCH_KEYS = ("operation", "method", "path")
_ERROR_KEYS = ("status", "headers", "body")
_LATENCY_KEYS = {"fixed": ("distribution", "value"), "uniform": ("distribution", "min", "max"),
                 "lognormal": ("distribution", "median", "sigma", "max")}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_OPERATION = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (/\S*)")
_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Match:
    """Which requests a rule applies to; ``None`` fields match anything."""

    operation: str | None = None
    method: str | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Latency:
    """A delay distribution, in seconds: ``fixed`` (``value``), ``uniform`` (``low``..``high``,
    written ``min``/``max``) or ``lognormal`` (``median``, ``sigma``, optional cap ``max``)."""

    distribution: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    median: float | None = None
    sigma: float | None = None
    max: float | None = None

    def sample(self, rng: random.Random) -> float:
        """One delay in seconds (no draw for ``fixed``, exactly one ``rng.random()`` else)."""
        if self.distribution == "fixed":
            return self.value or 0.0
        if self.distribution == "uniform":
            return self.low + (self.high - self.low) * rng.random()
        # Inverse CDF rather than rng.lognormvariate: exactly one draw per sample.
        p = rng.random() or 5e-324
        delay = self.median * math.exp(self.sigma * _STANDARD_NORMAL.inv_cdf(p))
        return delay if self.max is None else min(delay, self.max)


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """An injected HTTP error: status, extra headers, and a body (``None``: a problem+json)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One rule of a faults file (``mock.faults`` says how rules match and combine)."""

    match: Match = Match()
    probability: float | None = None
    latency: Latency | None = None
    error: ErrorSpec | None = None
    fault: str | None = None


@dataclass(frozen=True, slots=True)
class FaultSet:
    """The ordered rules of a faults file or of the admin API."""

    rules: tuple[FaultRule, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``{"faults": [...]}`` in the file's shape (durations like ``"80ms"``);
        ``parse_faults(s.to_json(), ...) == s``."""
        return {"faults": [_rule_json(rule) for rule in self.rules]}


def parse_faults(data: Any, source: str, *, lines: SourceMap | None = None) -> FaultSet:
    """The rules in ``data`` (a parsed faults file or admin API body).

    Raises ``ConfigError`` naming ``source``, the key path (and the line, given ``lines``)
    and what was expected, e.g. ``faults[1].latency.median: expected a duration ...``.
    """
    where = _Where(source, lines)
    if not isinstance(data, dict):
        raise where.error((), f"expected a mapping with a 'faults' list, found {describe(data)}")
    _check_keys(data, ("faults",), (), where)
    items = data.get("faults")
    if items is None:
        return FaultSet()
    if not isinstance(items, list):
        raise where.error(("faults",), f"expected a list of rules, found {describe(items)}")
    return FaultSet(tuple(_parse_rule(item, ("faults", i), where) for i, item in enumerate(items)))


def load_faults(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> FaultSet:
    """The rules of the YAML faults file at ``path``.

    As in suites, ``${VAR}`` and ``${VAR:-default}`` are substituted from ``env`` (default:
    ``os.environ``). Raises ``ConfigError`` with the file, line and key path.
    """
    source = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read the faults file: {reason}", source=source) from exc
    try:
        data, lines = parse_yaml(text, source=source, env=os.environ if env is None else env)
    except SuiteError as exc:  # the YAML reader is shared with suites; this is not a suite
        raise ConfigError(exc.message, source=exc.source, location=exc.location) from exc
    return parse_faults(data, source, lines=lines)


def normalise_operation(label: str) -> str:
    """``"get /books/{id}"`` -> ``"GET /books/{id}"``: an operation label as the spec writes it."""
    verb, _, template = label.partition(" ")
    return f"{verb.upper()} {template}"


# --- parsing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Where:
    """Turns a key path into a located ``ConfigError``."""

    source: str
    lines: SourceMap | None

    def error(self, path: KeyPath, message: str) -> ConfigError:
        location = format_key_path(path) or None
        if self.lines is not None:
            line = f"line {self.lines.line_of(path)}"
            location = f"{line}, key {location}" if location else line
        return ConfigError(message, source=self.source, location=location)


def _check_keys(data: dict, known: tuple[str, ...], path: KeyPath, where: _Where) -> None:
    for key in data:
        if key not in known:
            raise where.error((*path, key), f"unknown key {key!r} (known keys here: "
                                            f"{', '.join(known)})")


def _parse_rule(data: Any, path: KeyPath, where: _Where) -> FaultRule:
    if not isinstance(data, dict):
        raise where.error(path, f"expected a rule (a mapping with latency, error or fault), "
                                f"found {describe(data)}")
    _check_keys(data, _RULE_KEYS, path, where)
    if not any(data.get(key) is not None for key in ("latency", "error", "fault")):
        raise where.error(path, "a rule needs at least one of latency, error or fault")
    if data.get("error") is not None and data.get("fault") is not None:
        raise where.error(path, "a rule may have error or fault, not both (write two rules)")
    fault = data.get("fault")
    if fault is not None and fault not in FAULT_KINDS:
        raise where.error((*path, "fault"), f"expected one of {', '.join(FAULT_KINDS)}, "
                                            f"found {describe(fault)}")
    return FaultRule(
        match=_parse_match(data.get("match"), (*path, "match"), where),
        probability=_parse_probability(data.get("probability"), (*path, "probability"), where),
        latency=_parse_latency(data.get("latency"), (*path, "latency"), where),
        error=_parse_error(data.get("error"), (*path, "error"), where),
        fault=fault,
    )


def _parse_match(data: Any, path: KeyPath, where: _Where) -> Match:
    if data is None:
        return Match()
    if not isinstance(data, dict):
        raise where.error(path, f"expected a mapping with operation, method or path, "
                                f"found {describe(data)}")
    _check_keys(data, _MATCH_KEYS, path, where)
    values = {key: data.get(key) for key in _MATCH_KEYS}
    checks = {"operation": (_OPERATION.fullmatch, "an operation such as 'GET /books/{bookId}'"),
              "method": (_TOKEN.fullmatch, "an HTTP method such as POST"),
              "path": (lambda v: v[:1] in ("/", "*"), "a path glob starting with / or *")}
    for key, (valid, expected) in checks.items():
        value = values[key]
        if value is not None and not (isinstance(value, str) and valid(value)):
            raise where.error((*path, key), f"expected {expected}, found {describe(value)}")
    if values["operation"]:
        values["operation"] = normalise_operation(values["operation"])
    return Match(**values)


def _parse_probability(value: Any, path: KeyPath, where: _Where) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise where.error(path, f"expected a probability between 0 and 1, found {describe(value)}")
    return float(value)


def _parse_latency(data: Any, path: KeyPath, where: _Where) -> Latency | None:
    if data is None:
        return None
    if not isinstance(data, dict):  # the shorthand "latency: 100ms"
        return Latency("fixed", value=_duration(data, path, where))
    kind = data.get("distribution", "fixed")
    if kind not in DISTRIBUTIONS:
        raise where.error((*path, "distribution"), f"expected one of {', '.join(DISTRIBUTIONS)}"
                                                   f", found {describe(kind)}")
    _check_keys(data, _LATENCY_KEYS[kind], path, where)
    for key in _LATENCY_KEYS[kind][1:]:
        if data.get(key) is None and not (kind == "lognormal" and key == "max"):
            raise where.error((*path, key), f"a {kind} latency needs {key}")
    if kind == "fixed":
        return Latency(kind, value=_duration(data["value"], (*path, "value"), where))
    if kind == "uniform":
        low = _duration(data["min"], (*path, "min"), where)
        high = _duration(data["max"], (*path, "max"), where)
        if high < low:
            raise where.error((*path, "max"), f"expected max >= min ({data['min']}), "
                                              f"found {describe(data['max'])}")
        return Latency(kind, low=low, high=high)
    median = _duration(data["median"], (*path, "median"), where)
    sigma = data["sigma"]
    if median <= 0:
        raise where.error((*path, "median"), "expected a median above zero")
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or sigma < 0:
        raise where.error((*path, "sigma"), f"expected a number >= 0 (the standard deviation "
                                            f"of the log of the delay), found {describe(sigma)}")
    cap = data.get("max")
    cap = None if cap is None else _duration(cap, (*path, "max"), where)
    return Latency(kind, median=median, sigma=float(sigma), max=cap)


def _duration(value: Any, path: KeyPath, where: _Where) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise where.error(path, str(exc)) from exc
    if seconds < 0 or not math.isfinite(seconds):
        raise where.error(path, f"expected a duration of zero or more, found {describe(value)}")
    return seconds


def _parse_error(data: Any, path: KeyPath, where: _Where) -> ErrorSpec | None:
    if data is None:
        return None
    if not isinstance(data, dict) or "status" not in data:
        raise where.error(path, f"expected a mapping with a status, found {describe(data)}")
    _check_keys(data, _ERROR_KEYS, path, where)
    status = data["status"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise where.error((*path, "status"), f"expected an HTTP status from 100 to 599, "
                                             f"found {describe(status)}")
    body = data.get("body")
    if body is not None and (status < 200 or status in NO_BODY_STATUSES):
        raise where.error((*path, "body"), f"a {status} response has no body")
    return ErrorSpec(status, _parse_headers(data.get("headers"), (*path, "headers"), where), body)


def _parse_headers(data: Any, path: KeyPath, where: _Where) -> tuple[tuple[str, str], ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise where.error(path, f"expected a mapping of header names to values, "
                                f"found {describe(data)}")
    headers = []
    for name, value in data.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise where.error((*path, str(name)), f"invalid header name {name!r}")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise where.error((*path, name), f"expected a string, found {describe(value)}")
        text = str(value)
        if "\r" in text or "\n" in text:  # would split the response's header block
            raise where.error((*path, name), "a header value cannot contain a line break")
        headers.append((name, text))
    return tuple(headers)


# --- rendering -------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """The shortest of ``"80ms"``, ``"2s"``, ``"250us"`` that parses back to ``seconds``."""
    candidates = []
    for unit, factor in (("ms", 1e-3), ("s", 1.0), ("us", 1e-6)):
        text = f"{_plain(round(seconds / factor, 9))}{unit}"
        if parse_duration(text) == seconds:
            candidates.append(text)
    return min(candidates, key=len) if candidates else f"{_plain(seconds)}s"


def _plain(number: float) -> str:
    """A float without an exponent (the duration syntax has none): ``1e-05`` -> ``0.00001``."""
    text = format(Decimal(repr(number)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _rule_json(rule: FaultRule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    match = {key: getattr(rule.match, key) for key in _MATCH_KEYS
             if getattr(rule.match, key) is not None}
    if match:
        out["match"] = match
    if rule.probability is not None:
        out["probability"] = rule.probability
    if rule.latency is not None:
        out["latency"] = _latency_json(rule.latency)
    if rule.error is not None:
        error: dict[str, Any] = {"status": rule.error.status}
        if rule.error.headers:
            error["headers"] = dict(rule.error.headers)
        if rule.error.body is not None:
            error["body"] = rule.error.body
        out["error"] = error
    if rule.fault is not None:
        out["fault"] = rule.fault
    return out


def _latency_json(latency: Latency) -> dict[str, Any]:
    if latency.distribution == "fixed":
        return {"distribution": "fixed", "value": format_duration(latency.value or 0.0)}
    if latency.distribution == "uniform":
        return {"distribution": "uniform", "min": format_duration(latency.low),
                "max": format_duration(latency.high)}
    out = {"distribution": "lognormal", "median": format_duration(latency.median),
           "sigma": latency.sigma}
    if latency.max is not None:
        out["max"] = format_duration(latency.max)
    return out


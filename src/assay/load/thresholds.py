"""Thresholds of `assay load`: ``p95<300ms``, ``error_rate<1%``, ``rps>1000``, ``checks>99%``.

A threshold is ``METRIC[{SCOPE}] OP VALUE``:

- latency metrics ``p50 p90 p95 p99 p99.9 max mean min`` take a time in ``ms`` or ``s``; a
  bare number is milliseconds (as in k6), and the canonical unit is milliseconds;
- ``error_rate`` and ``checks`` take a percentage (``1%``) or a fraction (``0.01``); the
  canonical unit is a fraction 0..1;
- ``rps`` takes requests per second (``1000`` or ``1000/s``);
- ``OP`` is ``<``, ``<=``, ``>`` or ``>=``; whitespace is allowed between the parts;
- ``{step:NAME}`` or ``{endpoint:METHOD /path}`` limits it to one step or endpoint (braces
  inside the name are fine: ``p95{endpoint:GET /books/{id}}<200ms``).

Evaluation and the abort decision are pure: they read a ``LoadResult`` (final, or the run so
far) and return results and decisions; the runner decides when to look.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..core.errors import UsageError
from .results import LoadResult, Percentiles, ThresholdResult

LATENCY_METRICS = ("p50", "p90", "p95", "p99", "p99.9", "max", "mean", "min")
METRICS = LATENCY_METRICS + ("error_rate", "rps", "checks")
SCOPES = ("step", "endpoint")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_EXAMPLES = "for example p95<300ms, error_rate<1%, rps>1000, checks>99%, p95{step:create}<200ms"
_METRIC = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)")
_OP = re.compile(r"\s*(<=|>=|<|>)")
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_TIME = re.compile(rf"\s*{_NUMBER}\s*(ms|s)?\s*")
_FRACTION = re.compile(rf"\s*{_NUMBER}\s*(%)?\s*")
_RPS = re.compile(rf"\s*{_NUMBER}\s*(/\s*s)?\s*")


@dataclass(frozen=True, slots=True)
class Threshold:
    """One parsed threshold: ``expr`` as written, ``value`` in the metric's canonical unit
    (ms, fraction or requests/s), ``scope`` ``None`` or ``("step", name)`` /
    ``("endpoint", "GET /x")``."""

    expr: str
    metric: str
    op: str
    value: float
    scope: tuple[str, str] | None = None

    def holds(self, value: float) -> bool:
        """Whether a measured ``value`` (canonical unit) satisfies the threshold."""
        return _OPS[self.op](value, self.value)

    @property
    def can_abort(self) -> bool:
        """Whether a failure during the run may stop it (``--abort-on-fail``).

        Only ceilings on latency and errors and floors on checks: these fail because the
        API misbehaves. Throughput (``rps``) and floors on latency (``p99>...``) are judged
        at the end: a ramp starts slow and the rate so far catches up.
        """
        if self.metric in LATENCY_METRICS or self.metric == "error_rate":
            return self.op in ("<", "<=")
        if self.metric == "checks":
            return self.op in (">", ">=")
        return False


def parse_threshold(text: str, *, location: str = "--threshold") -> Threshold:
    """The threshold in ``text`` (see the module docstring for the grammar).

    >>> parse_threshold("p95 < 0.3s")
    Threshold(expr='p95 < 0.3s', metric='p95', op='<', value=300.0, scope=None)

    Raises ``UsageError`` at ``location`` naming what was expected, with examples.
    """
    expr = str(text).strip()
    match = _METRIC.match(expr)
    if not match:
        raise _error(f"expected METRIC OP VALUE, found {expr!r}", location)
    metric = match.group(1).lower()
    if metric not in METRICS:
        raise _error(f"unknown metric {match.group(1)!r} in {expr!r}: expected one of "
                     f"{', '.join(METRICS)}", location)
    scope, pos = _read_scope(expr, match.end(), location)
    op_match = _OP.match(expr, pos)
    if not op_match:
        raise _error(f"expected an operator <, <=, > or >= after {expr[:pos].strip()!r}, "
                     f"found {expr!r}", location)
    value = _read_value(metric, expr[op_match.end():], expr, location)
    return Threshold(expr, metric, op_match.group(1), value, scope)


def parse_thresholds(texts: Iterable[str], *, location: str = "--threshold"
                     ) -> tuple[Threshold, ...]:
    """Every threshold in ``texts``, in order."""
    return tuple(parse_threshold(text, location=location) for text in texts)


def _error(message: str, location: str) -> UsageError:
    return UsageError(f"{message} ({_EXAMPLES})", location=location)


def _read_scope(expr: str, pos: int, location: str) -> tuple[tuple[str, str] | None, int]:
    """The ``{kind:name}`` at ``pos`` (if any) and the position after it."""
    while pos < len(expr) and expr[pos].isspace():
        pos += 1
    if pos >= len(expr) or expr[pos] != "{":
        return None, pos
    close = _matching_brace(expr, pos)
    if close is None:
        raise _error(f"unclosed '{{' in {expr!r}: expected {{step:NAME}} or "
                     "{endpoint:METHOD /path}", location)
    kind, colon, name = expr[pos + 1:close].partition(":")
    kind, name = kind.strip().lower(), name.strip()
    if not colon or kind not in SCOPES or not name:
        raise _error(f"expected a scope {{step:NAME}} or {{endpoint:METHOD /path}}, found "
                     f"{expr[pos:close + 1]!r} in {expr!r}", location)
    return (kind, name), close + 1


def _matching_brace(text: str, start: int) -> int | None:
    """The index of the ``}`` closing the ``{`` at ``start`` (nested braces counted)."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def _read_value(metric: str, text: str, expr: str, location: str) -> float:
    """The value in ``text`` for ``metric``, in the metric's canonical unit."""
    if metric in LATENCY_METRICS:
        match = _TIME.fullmatch(text)
        if match:
            return float(match.group(1)) * (1000.0 if match.group(2) == "s" else 1.0)
        expected = "a time in ms or s such as 300ms or 1.5s (a bare number is milliseconds)"
    elif metric == "rps":
        match = _RPS.fullmatch(text)
        if match:
            return float(match.group(1))
        expected = "requests per second such as 1000 or 1000/s"
    else:
        match = _FRACTION.fullmatch(text)
        if match:
            number, percent = float(match.group(1)), match.group(2)
            fraction = number / 100.0 if percent else number
            if fraction <= 1.0:
                return fraction
        expected = "a percentage such as 1% or a fraction such as 0.01 (at most 100%)"
    raise _error(f"expected {expected} for {metric}, found {text.strip()!r} in {expr!r}",
                 location)


def evaluate(thresholds: Iterable[Threshold], result: LoadResult) -> tuple[ThresholdResult, ...]:
    """Each threshold checked against ``result``: the measured value in the threshold's unit;
    a threshold with nothing measured (no requests, no checks, an unknown step or
    endpoint) fails with ``value=None``."""
    out = []
    for threshold in thresholds:
        value = measure(threshold, result)
        ok = value is not None and threshold.holds(value)
        out.append(ThresholdResult(threshold.expr, ok, value))
    return tuple(out)


def measure(threshold: Threshold, result: LoadResult) -> float | None:
    """What ``result`` measured for ``threshold``'s metric and scope (``None``: nothing).

    Scoped thresholds read ``result.by_step``, which is keyed by step name or endpoint label
    alike; a step's ``rps`` is its requests over the whole run's duration.
    """
    if threshold.scope is None:
        return _metric(threshold.metric, result.latency, result.requests, result.errors,
                       result.checks_passed, result.checks_failed, result.duration_s)
    stats = result.by_step.get(threshold.scope[1])
    if stats is None:
        return None
    return _metric(threshold.metric, stats.latency, stats.requests, stats.errors,
                   stats.checks_passed, stats.checks_failed, result.duration_s)


def _metric(metric: str, latency: Percentiles, requests: int, errors: int, passed: int,
            failed: int, duration_s: float) -> float | None:
    if metric in LATENCY_METRICS:
        return latency.get(metric)
    if metric == "error_rate":
        return errors / requests if requests else None
    if metric == "rps":
        return requests / duration_s if duration_s > 0 else None
    checks = passed + failed
    return passed / checks if checks else None


@dataclass(frozen=True, slots=True)
class AbortPolicy:
    """``--abort-on-fail``: stop the run once a threshold fails, after ``grace_s`` seconds
    (the first seconds of a run are noisy: connections warm up, caches fill).

    Only thresholds whose failure means the API misbehaves stop a run (see
    ``Threshold.can_abort``); a threshold with nothing measured yet never does.
    """

    grace_s: float

    def __post_init__(self) -> None:
        if not self.grace_s >= 0:
            raise ValueError(f"grace_s must be >= 0, found {self.grace_s!r}")

    def should_abort(self, results: Iterable[ThresholdResult], elapsed_s: float) -> bool:
        """Whether to stop now, given the thresholds evaluated on the run so far."""
        return self.reason(results, elapsed_s) is not None

    def reason(self, results: Iterable[ThresholdResult], elapsed_s: float) -> str | None:
        """Why to stop now (for ``LoadResult.aborted``), ``None`` to go on."""
        if elapsed_s < self.grace_s:
            return None
        for result in results:
            if result.ok or result.value is None:
                continue
            # ``expr`` came out of parse_threshold, so it parses again; this keeps the
            # decision a function of the results alone.
            if parse_threshold(result.expr).can_abort:
                return (f"threshold {result.expr} failed (value {result.value:g}) after "
                        f"{elapsed_s:.1f}s")
        return None

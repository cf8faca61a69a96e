"""Fault injection for ``assay mock``: per request, the latency and the error or fault to inject.

The rules come from a faults file or the admin API (``mock.faultrules`` reads and renders
them; its names are re-exported here). Matching: every key of a rule's ``match`` must hold.
``operation`` is the spec's label, compared exactly but for the method's case; ``method`` is
compared case-insensitively; ``path`` is a glob on the request path relative to the mock's
base path: ``*`` and ``?`` stay within one segment, ``**`` spans segments (``/books/**``
matches ``/books`` and everything under it).

Evaluation, for each request, in rule order: a rule *fires* when it matches and its
``probability`` draw hits (no ``probability``: always). Every firing rule adds its latency;
the first firing rule with an ``error`` or ``fault`` decides the answer. The random stream is
drawn from in a fixed pattern, so that a seed reproduces the same decisions for the same
sequence of requests: per matching rule, one ``random()`` when it has a ``probability``
(skipped, with no draw, when it could only add an error or fault and one is already chosen);
per firing latency, none for ``fixed`` and one for ``uniform`` and ``lognormal``; then 64
bytes when the answer is ``random_data_then_close``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from ..http.serving import ConnectionFault, ServerResponse
from .faultrules import (
    NO_BODY_STATUSES,
    ErrorSpec,
    FaultRule,
    FaultSet,
    Latency,
    Match,
    format_duration,
    load_faults,
    normalise_operation,
    parse_faults,
)

__all__ = ["Decision", "ErrorSpec", "FaultInjector", "FaultRule", "FaultSet", "Latency",
           "Match", "format_duration", "glob_regex", "load_faults", "parse_faults"]

RANDOM_DATA_SIZE = 64


@dataclass(slots=True)
class Decision:
    """What to do with one request: wait ``delay`` seconds, then answer normally (both
    ``None``), with ``response``, or with ``fault``; ``rule_index`` names the deciding rule."""

    delay: float
    response: ServerResponse | None = None
    fault: ConnectionFault | None = None
    rule_index: int | None = None


class FaultInjector:
    """Decides, request by request, the latency and the error or fault to inject.

    ``seed`` makes the decisions reproducible; ``None`` draws fresh randomness. Replacing
    the rules restarts a seeded stream, so that a test that sets rules through the admin API
    sees the same faults whatever traffic came before.
    """

    def __init__(self, faults: FaultSet, *, seed: int | None = None):
        self._seed = seed
        self._rng = random.Random(seed)
        self._faults = faults
        self._compiled = tuple(_compile(rule, i) for i, rule in enumerate(faults.rules))

    @property
    def faults(self) -> FaultSet:
        """The rules in force."""
        return self._faults

    def replace(self, faults: FaultSet) -> None:
        """Put ``faults`` in force (an empty ``FaultSet`` clears them)."""
        compiled = tuple(_compile(rule, i) for i, rule in enumerate(faults.rules))
        if self._seed is not None:
            self._rng = random.Random(self._seed)
        self._faults, self._compiled = faults, compiled

    def decide(self, method: str, path: str, operation: str | None) -> Decision:
        """The decision for a request; ``path`` is relative to the mock's base path, and
        ``operation`` the matched spec label (``None`` when no operation matched)."""
        compiled = self._compiled
        if not compiled:
            return Decision(0.0)
        method = method.upper()
        if operation is not None:
            operation = normalise_operation(operation)
        rng = self._rng
        decision = Decision(0.0)
        chosen = False
        for rule in compiled:
            if not rule.matches(method, path, operation) or (chosen and rule.latency is None):
                continue
            if rule.probability is not None and rng.random() >= rule.probability:
                continue
            if rule.latency is not None:
                decision.delay += rule.latency.sample(rng)
            if not chosen and rule.answers:
                chosen = True
                decision.rule_index = rule.index
                _apply(rule, decision, rng)
        return decision


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A rule ready for ``decide``: matchers normalised, globs compiled, error bytes built."""

    index: int
    method: str | None
    operation: str | None
    path: Callable[[str], Any] | None
    probability: float | None
    latency: Latency | None
    response: tuple[int, tuple[tuple[str, str], ...], bytes] | None
    fault: str | None

    @property
    def answers(self) -> bool:
        return self.response is not None or self.fault is not None

    def matches(self, method: str, path: str, operation: str | None) -> bool:
        return ((self.method is None or self.method == method)
                and (self.operation is None or self.operation == operation)
                and (self.path is None or self.path(path) is not None))


def _compile(rule: FaultRule, index: int) -> _Compiled:
    match = rule.match
    return _Compiled(
        index=index,
        method=match.method.upper() if match.method else None,
        operation=normalise_operation(match.operation) if match.operation else None,
        path=glob_regex(match.path).fullmatch if match.path else None,
        probability=rule.probability,
        latency=rule.latency,
        response=_response_parts(rule.error, index) if rule.error else None,
        fault=rule.fault,
    )


def _apply(rule: _Compiled, decision: Decision, rng: random.Random) -> None:
    if rule.response is not None:
        status, headers, body = rule.response
        decision.response = ServerResponse(status, list(headers), body)
    elif rule.fault == "random_data_then_close":
        decision.fault = ConnectionFault(rule.fault, rng.randbytes(RANDOM_DATA_SIZE))
    else:
        decision.fault = ConnectionFault(rule.fault)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The regex of a path glob: ``*``/``?`` within a segment, ``**`` across segments.

    >>> bool(glob_regex("/books/**").fullmatch("/books"))
    True
    """
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("/**", i) and (i + 3 == len(pattern) or pattern[i + 3] == "/"):
            parts.append("(?:/.*)?")  # "/**" may match no segment at all
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] in "*?":
            parts.append("[^/]*" if pattern[i] == "*" else "[^/]")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts), re.DOTALL)


def _response_parts(error: ErrorSpec, index: int) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
    headers = list(error.headers)
    has_type = any(name.lower() == "content-type" for name, _ in headers)
    if error.status < 200 or error.status in NO_BODY_STATUSES:
        return error.status, tuple(headers), b""
    if error.body is None:
        content_type = "application/problem+json"
        body = json.dumps({"type": "about:blank", "title": _reason(error.status),
                           "status": error.status,
                           "detail": f"injected by assay mock fault rule {index}"})
    elif isinstance(error.body, str):
        content_type, body = "text/plain; charset=utf-8", error.body
    else:
        content_type, body = "application/json", json.dumps(error.body, ensure_ascii=False)
    if not has_type:
        headers.append(("Content-Type", content_type))
    return error.status, tuple(headers), body.encode("utf-8")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Status {status}"

"""Which operations a run covers: ``--include-*`` / ``--exclude-*`` and their ``-regex`` forms.

An operation is selected when it matches every include dimension that was given (any value
within one dimension), and no exclude value of any dimension.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.errors import UsageError
from ..specs.model import Operation

DIMENSIONS = ("path", "method", "tag", "operation_id")


@dataclass(frozen=True, slots=True)
class Matcher:
    """Exact values and regexes for one dimension (``path``, ``method``, ``tag``, ``operation_id``)."""

    values: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.values or self.patterns)

    def matches(self, candidates: list[str], *, casefold: bool = False) -> bool:
        """Whether any candidate equals a value or is searched by a pattern."""
        values = {v.lower() for v in self.values} if casefold else set(self.values)
        for candidate in candidates:
            if (candidate.lower() if casefold else candidate) in values:
                return True
            if any(p.search(candidate) for p in self.patterns):
                return True
        return False


@dataclass(frozen=True, slots=True)
class OperationFilter:
    """Include and exclude matchers per dimension."""

    include: dict[str, Matcher] = field(default_factory=dict)
    exclude: dict[str, Matcher] = field(default_factory=dict)

    def selects(self, operation: Operation) -> bool:
        """Whether ``operation`` is part of the run."""
        for dimension, matcher in self.include.items():
            if matcher and not _match(matcher, dimension, operation):
                return False
        return not any(
            matcher and _match(matcher, dimension, operation)
            for dimension, matcher in self.exclude.items()
        )

    def apply(self, operations: list[Operation]) -> list[Operation]:
        """The selected operations, in their order."""
        return [op for op in operations if self.selects(op)]


def _match(matcher: Matcher, dimension: str, operation: Operation) -> bool:
    if dimension == "path":
        return matcher.matches([operation.path])
    if dimension == "method":
        return matcher.matches([operation.method], casefold=True)
    if dimension == "tag":
        return matcher.matches(list(operation.tags))
    return matcher.matches([operation.operation_id] if operation.operation_id else [])


def build_matcher(values: tuple[str, ...], regexes: tuple[str, ...], flag: str) -> Matcher:
    """A ``Matcher``; a regex that does not compile is a ``UsageError`` naming ``flag``."""
    patterns = []
    for text in regexes:
        try:
            patterns.append(re.compile(text))
        except re.error as exc:
            raise UsageError(f"invalid regular expression {text!r}: {exc}", location=flag) from exc
    return Matcher(tuple(values), tuple(patterns))

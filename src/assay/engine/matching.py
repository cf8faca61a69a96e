"""Finding the spec operation a suite step's request belongs to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..specs.model import ApiSpec, Operation

_PARAM = re.compile(r"\{[^}/]+\}")


@dataclass(slots=True)
class OperationMatcher:
    """Matches concrete paths (``/books/7``) to path templates (``/books/{bookId}``).

    Literal segments win over parameters, so ``/books/search`` is ``GET /books/search``
    and not ``GET /books/{bookId}``.
    """

    spec: ApiSpec
    _compiled: list[tuple[tuple[int, int], re.Pattern[str], Operation]] = field(
        default_factory=list
    )

    def __post_init__(self) -> None:
        for op in self.spec.operations:
            parts = _PARAM.split(op.path)
            pattern = "[^/]+".join(re.escape(part) for part in parts)
            rank = (len(parts) - 1, -len(op.path))
            self._compiled.append((rank, re.compile(pattern + "/?"), op))
        self._compiled.sort(key=lambda item: item[0])

    def match(self, method: str, path: str) -> Operation | None:
        """The operation for ``method`` and a concrete ``path`` (no query), if any."""
        method = method.upper()
        for _, pattern, op in self._compiled:
            if op.method == method and pattern.fullmatch(path):
                return op
        return None

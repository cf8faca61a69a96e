"""JSONPath (RFC 9535) as suites use it, through python-jsonpath in strict mode.

Strict mode keeps the syntax to the standard, so a suite means the same in any tool that
follows RFC 9535. Compiling is cheap (tens of microseconds), so nothing is cached.
"""

from __future__ import annotations

from typing import Any

import jsonpath


def compile_jsonpath(expression: str) -> jsonpath.JSONPath | jsonpath.CompoundJSONPath:
    """The compiled query; raises ``ValueError`` with a one-line reason when it is invalid."""
    env = jsonpath.JSONPathEnvironment(strict=True)
    try:
        return env.compile(expression)
    except jsonpath.JSONPathError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"invalid JSONPath {expression!r}: {reason}") from exc


def find_all(expression: str, document: Any) -> list[tuple[str, Any]]:
    """(normalized path, value) of every node ``expression`` selects in ``document``."""
    query = compile_jsonpath(expression)
    return [(match.path, match.obj) for match in query.finditer(document)]

"""``unsupported_method``: a method a path does not declare must get 405 with ``Allow``.

The engine sends such a request with ``Case.probe == "unsupported_method"`` (RFC 9110
section 15.5.6: a 405 response MUST carry an ``Allow`` header).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.records import Case, Failure, Response

if TYPE_CHECKING:
    from .registry import CheckContext


def unsupported_method(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """An undeclared method answered with something else than 405, or 405 without Allow.

    A 5xx is left to ``not_a_server_error``; a 401 or 403 is accepted (servers may check
    credentials before routing).
    """
    if case is None or case.probe != "unsupported_method":
        return []
    status = response.status
    if status >= 500 or status in (401, 403):
        return []
    if status != 405:
        return [Failure(
            "unsupported_method",
            f"Undeclared method {case.method} answered {status} instead of 405",
            cause=str(status),
            severity="low" if 400 <= status < 500 else "medium",
        )]
    if response.header("allow") is None:
        return [Failure(
            "unsupported_method",
            f"405 to undeclared method {case.method} without the required Allow header",
            cause="405 without Allow",
            severity="low",
        )]
    return []

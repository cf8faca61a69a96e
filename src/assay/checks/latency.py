"""``max_response_time``: the whole exchange must finish within ``--max-response-time``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.records import Case, Failure, Response

if TYPE_CHECKING:
    from .registry import CheckContext


def max_response_time(ctx: CheckContext, response: Response, case: Case | None) -> list[Failure]:
    """Fails when the response took longer than the configured limit (off when unset)."""
    limit = ctx.max_response_time
    if limit is None or response.timings.total <= limit:
        return []
    return [
        Failure(
            "max_response_time",
            f"Response took {_ms(response.timings.total)} (limit {_ms(limit)})",
            cause="",
            severity="medium",
        )
    ]


def _ms(seconds: float) -> str:
    """Milliseconds with the precision that tells the two numbers apart (``1.27 ms``)."""
    millis = seconds * 1000
    return f"{millis:.0f} ms" if millis >= 100 else f"{millis:.3g} ms"

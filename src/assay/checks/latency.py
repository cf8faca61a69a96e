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
            f"Response took {response.timings.total * 1000:.0f} ms "
            f"(limit {limit * 1000:.0f} ms)",
            cause="",
            severity="medium",
        )
    ]

"""Stateful checks, judged on the last request of a sequence.

The stateful phase marks that request with ``Case.probe``: ``read_after_delete`` (a read of
a resource that a DELETE just removed with a 2xx) and ``read_after_create`` (a read of a
resource that a create just answered with a 2xx).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.records import Case, Failure, Response

if TYPE_CHECKING:
    from .registry import CheckContext

GONE = (404, 410)


def use_after_free(ctx: CheckContext, response: Response, case: Case | None) -> list[Failure]:
    """A resource deleted with a 2xx must not be readable afterwards."""
    if case is None or case.probe != "read_after_delete" or not 200 <= response.status < 300:
        return []
    return [Failure(
        "use_after_free",
        f"A deleted resource is still served: {response.status} after a successful DELETE",
        cause=str(response.status),
        severity="high",
    )]


def ensure_resource_availability(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """A resource just created (2xx) must be readable: a 404 or 410 right after is a bug."""
    if case is None or case.probe != "read_after_create" or response.status not in GONE:
        return []
    return [Failure(
        "ensure_resource_availability",
        f"A resource just created is not available: {response.status} on reading it back",
        cause=str(response.status),
        severity="high",
    )]

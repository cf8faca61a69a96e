"""Input checks: does the API tell valid input from invalid input?

- ``negative_data_rejection``: a case invalid in one named way (``Case.negative``) must not
  be accepted with a 2xx.
- ``missing_required_header``: the same, for a required header parameter left out; it has
  its own name because users triage it differently.
- ``positive_data_acceptance``: a valid generated case must not be rejected with a 4xx.
  Statuses that depend on identity, state, size or rate rather than on the input's validity
  do not count (see ``STATE_DEPENDENT``): rejecting a valid id with 404 is normal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.records import Case, Failure, Response

if TYPE_CHECKING:
    from .registry import CheckContext

STATE_DEPENDENT = frozenset({
    401, 403,            # identity: who is asking, not what was asked
    404, 409, 410, 412, 423, 428,   # state: the resource is absent, busy or changed
    408, 429,            # time and rate
    413, 414, 431,       # size limits of the server, not of the document
})
"""4xx statuses that never make ``positive_data_acceptance`` fail."""


def _missing_header(case: Case) -> bool:
    negative = case.negative
    return (negative is not None and negative.kind == "missing_required"
            and negative.location == "header")


def negative_data_rejection(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """Invalid input accepted: a negative case answered with a 2xx."""
    if case is None or case.negative is None or _missing_header(case):
        return []
    if not 200 <= response.status < 300:
        return []
    negative = case.negative
    return [Failure(
        "negative_data_rejection",
        f"Invalid input accepted with {response.status}: {negative.message}",
        cause=negative.cause,
        severity="medium",
        reason=negative.message,
    )]


def missing_required_header(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """A request without a header the document marks required, answered with a 2xx."""
    if case is None or not _missing_header(case) or not 200 <= response.status < 300:
        return []
    negative = case.negative
    return [Failure(
        "missing_required_header",
        f"Accepted with {response.status} without the required header {negative.name!r}",
        cause=negative.name.lower(),
        severity="medium",
        reason=negative.message,
    )]


def positive_data_acceptance(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """Valid input rejected: a valid case of a documented operation answered with a 4xx that
    is not about identity, state, size or rate."""
    if case is None or case.negative is not None or case.probe is not None:
        return []
    if ctx.operation is None or not 400 <= response.status < 500:
        return []
    if response.status in STATE_DEPENDENT:
        return []
    where = f" ({case.source})" if case.source else ""
    return [Failure(
        "positive_data_acceptance",
        f"Valid input rejected with {response.status}{where}",
        cause=str(response.status),
        severity="medium",
    )]

"""Auth checks: ``ignored_auth``.

For an operation whose document requires credentials, the engine sends an otherwise valid
request once without credentials (``Case.probe == "no_credentials"``) and once with invalid
ones (``"invalid_credentials"``). A 2xx to either means the API ignored the requirement.
Other answers (401, 403, and also 400/404/422 from servers that validate before they
authenticate) are not reported: they do not show that the API served the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.records import Case, Failure, Response

if TYPE_CHECKING:
    from .registry import CheckContext

AUTH_PROBES = {
    "no_credentials": "without credentials",
    "invalid_credentials": "with invalid credentials",
}


def ignored_auth(ctx: CheckContext, response: Response, case: Case | None) -> list[Failure]:
    """A secured operation answered a request without valid credentials with a 2xx."""
    if case is None or case.probe not in AUTH_PROBES or not 200 <= response.status < 300:
        return []
    how = AUTH_PROBES[case.probe]
    return [Failure(
        "ignored_auth",
        f"Authentication ignored: {response.status} to a request {how}",
        cause=case.probe,
        severity="critical",
    )]

"""``content_type_conformance``: the Content-Type must be one the operation documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.records import Case, Failure, Response

if TYPE_CHECKING:
    from .registry import CheckContext


def media_type_matches(actual: str, documented: str) -> bool:
    """Whether ``actual`` (no parameters) is covered by ``documented``.

    Wildcards (``*/*``, ``application/*``) match, and so do parameters on the documented
    side (``application/json; charset=utf-8``).

    >>> media_type_matches("application/json", "application/*")
    True
    """
    documented = documented.split(";", 1)[0].strip().lower()
    if documented in ("*/*", "*"):
        return True
    doc_type, _, doc_sub = documented.partition("/")
    act_type, _, act_sub = actual.partition("/")
    if doc_type != act_type:
        return False
    return doc_sub in ("*", act_sub)


def content_type_conformance(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """A response with a body must declare a documented media type."""
    spec = ctx.documented(response.status)
    if spec is None or not spec.content:
        return []
    documented = list(spec.content)
    actual = response.media_type
    if actual is None:
        if not response.body:
            return []
        return [
            Failure(
                "content_type_conformance",
                f"Missing Content-Type header (documented: {', '.join(documented)})",
                cause="missing",
                severity="medium",
            )
        ]
    if any(media_type_matches(actual, doc) for doc in documented):
        return []
    return [
        Failure(
            "content_type_conformance",
            f"Undocumented Content-Type {actual!r} (documented: {', '.join(documented)})",
            cause=actual,
            severity="medium",
        )
    ]

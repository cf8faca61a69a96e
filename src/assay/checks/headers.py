"""``response_headers_conformance``: documented required headers present, and every
documented header that is present valid against its schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.records import Case, Failure, Response
from ..specs.coerce import coerce_text

if TYPE_CHECKING:
    from .registry import CheckContext

# Content-Type is checked by content_type_conformance; OpenAPI says it is ignored here.
_IGNORED = {"content-type"}


def response_headers_conformance(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """Missing required headers and invalid header values, one failure per header."""
    spec = ctx.documented(response.status)
    if spec is None:
        return []
    failures = []
    for name, header in spec.headers.items():
        if name.lower() in _IGNORED:
            continue
        value = response.header(name)
        if value is None:
            if header.required:
                failures.append(
                    Failure(
                        "response_headers_conformance",
                        f"Missing required header {name!r}",
                        cause=f"missing:{name.lower()}",
                        severity="medium",
                    )
                )
            continue
        failures.extend(_invalid(ctx, name, value, header.schema))
    return failures


def _invalid(ctx: CheckContext, name: str, value: str, schema: object) -> list[Failure]:
    if schema is True or schema == {}:
        return []
    validator = ctx.validator(schema, "header")
    error = next(iter(validator.iter_errors(coerce_text(value, schema, ctx.registry))), None)
    if error is None:
        return []
    return [
        Failure(
            "response_headers_conformance",
            f"Header {name!r} value {value!r} does not match its schema: {error.message}",
            cause=f"invalid:{name.lower()}",
            severity="medium",
        )
    ]

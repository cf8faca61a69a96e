"""``response_schema_conformance``: a JSON body must be valid against its documented schema.

Validation follows the response direction (writeOnly properties are not required) and checks
formats. Each distinct failing schema location is its own failure (the cause), so that one
response breaking two rules reports two bugs, and the same rule broken by many responses
reports one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from jsonschema.exceptions import ValidationError, relevance

from ..core.records import Case, Failure, Response
from ..specs.model import MediaType
from ..specs.validators import schema_validator
from .content import media_type_matches

if TYPE_CHECKING:
    from .registry import CheckContext

MAX_FAILURES_PER_RESPONSE = 5


def is_json_media_type(media_type: str) -> bool:
    """``application/json``, ``application/problem+json``, ``text/json`` and the like."""
    media_type = media_type.split(";", 1)[0].strip().lower()
    return media_type.endswith("/json") or media_type.endswith("+json")


def response_schema_conformance(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """Schema violations of a JSON response body, one failure per failing schema path."""
    media = _documented_media(ctx, response)
    if media is None or media.schema is None or media.schema is True:
        return []
    if not response.body.strip():
        return []
    try:
        instance = json.loads(response.body)
    except ValueError as exc:
        return [
            Failure(
                "response_schema_conformance",
                f"Response body is not valid JSON: {exc}",
                cause="invalid_json",
                severity="medium",
            )
        ]
    return _violations(ctx, media.schema, instance)


def _documented_media(ctx: CheckContext, response: Response) -> MediaType | None:
    operation = ctx.operation
    actual = response.media_type
    if operation is None or actual is None or not is_json_media_type(actual):
        return None
    spec = operation.response_for(response.status)
    if spec is None:
        return None
    exact = spec.content.get(actual)
    if exact is not None:
        return exact
    for documented, media in spec.content.items():
        if media_type_matches(actual, documented):
            return media
    return None


def _violations(ctx: CheckContext, schema: Any, instance: Any) -> list[Failure]:
    key = ("response", id(schema))
    validator = ctx.validators.get(key)
    if validator is None:
        validator = schema_validator(schema, ctx.registry, direction="response")
        ctx.validators[key] = validator
    by_cause: dict[str, ValidationError] = {}
    for error in sorted(validator.iter_errors(instance), key=relevance, reverse=True):
        cause = "/".join(str(part) for part in error.absolute_schema_path)
        by_cause.setdefault(cause, error)
        if len(by_cause) >= MAX_FAILURES_PER_RESPONSE:
            break
    return [
        Failure(
            "response_schema_conformance",
            f"{_instance_path(error)}: {_short(error.message)}",
            cause=cause,
            severity="medium",
        )
        for cause, error in by_cause.items()
    ]


def _instance_path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."

"""``response_schema_conformance``: a JSON body must be valid against its documented schema.

Validation follows the response direction (writeOnly properties are not required) and checks
formats. Each distinct failing schema location is its own failure (the cause), so that one
response breaking two rules reports two bugs, and the same rule broken by many responses
reports one.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from jsonschema.exceptions import ValidationError, relevance

from ..core.records import Case, Failure, Response
from ..http.body import is_json_media_type
from ..specs.model import MediaType
from .content import media_type_matches

if TYPE_CHECKING:
    from .registry import CheckContext

MAX_FAILURES_PER_RESPONSE = 5
MEMO_BYTES = 65536
"""Bodies up to this size have their result remembered (per operation and schema)."""
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def response_schema_conformance(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """Schema violations of a JSON response body, one failure per failing schema path."""
    media = _documented_media(ctx, response)
    if media is None or media.schema is None or media.schema is True:
        return []
    if not response.body.strip():
        return []
    key = ("schema", id(media.schema), response.body) if len(response.body) <= MEMO_BYTES \
        else None
    if key is not None and key in ctx.memo:
        return list(ctx.memo[key])
    failures = _check_body(ctx, media, response)
    if key is not None:
        ctx.memo[key] = tuple(failures)
    return failures


def _check_body(ctx: CheckContext, media: MediaType, response: Response) -> list[Failure]:
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
    actual = response.media_type
    if actual is None or not is_json_media_type(actual):
        return None
    spec = ctx.documented(response.status)
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
    return [
        Failure("response_schema_conformance", f"{path}: {_short(message)}", cause=cause,
                severity="medium")
        for cause, path, message in schema_violations(ctx.validator(schema, "response"),
                                                      instance)
    ]


def schema_violations(validator: Any, instance: Any,
                      limit: int = MAX_FAILURES_PER_RESPONSE) -> list[tuple[str, str, str]]:
    """(schema path, instance path, message) of each distinct failing schema location, most
    relevant first, at most ``limit``. The schema path is the cause that tells bugs apart."""
    by_cause: dict[str, ValidationError] = {}
    for error in sorted(validator.iter_errors(instance), key=relevance, reverse=True):
        by_cause.setdefault("/".join(str(part) for part in error.absolute_schema_path), error)
        if len(by_cause) >= limit:
            break
    return [(cause, instance_path(error), json_message(error))
            for cause, error in by_cause.items()]


def json_message(error: ValidationError) -> str:
    """jsonschema's message, with values shown as JSON (``null``, ``true``) rather than as
    Python (``None``, ``True``) for the common keywords: readers of an API report think JSON."""
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{_json(error.instance)} is not of type {expected}"
    if error.validator == "enum":
        return f"{_json(error.instance)} is not one of {_json(error.validator_value)}"
    if error.validator == "const":
        return f"{_json(error.instance)} is not {_json(error.validator_value)}"
    return error.message


def _json(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def instance_path(error: ValidationError) -> str:
    """Where in the instance ``error`` is, as a JSONPath (``$.items[0].price``)."""
    path = "$"
    for part in error.absolute_path:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _NAME.fullmatch(part):
            path += f".{part}"
        else:
            path += f"[{part!r}]"
    return path


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."

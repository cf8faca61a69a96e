"""Status checks: ``not_a_server_error`` and ``status_code_conformance``."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from ..core.records import Case, Failure, Response

if TYPE_CHECKING:
    from .registry import CheckContext

_VOLATILE = re.compile(r"0x[0-9a-fA-F]+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|\d+")
_ERROR_FIELDS = ("error", "message", "detail", "title", "exception", "type")


def not_a_server_error(ctx: CheckContext, response: Response, case: Case | None) -> list[Failure]:
    """A 5xx answer is a server error. The cause is the status plus an error signature, so
    two different crashes of one operation are two findings, and one crash seen with many
    inputs is one."""
    if response.status < 500:
        return []
    line = error_line(response)
    message = f"Server error {response.status}"
    if line:
        message += f": {line}"
    return [
        Failure(
            "not_a_server_error",
            message,
            cause=f"{response.status}:{error_signature(response)}",
            severity="high",
        )
    ]


def error_line(response: Response, limit: int = 200) -> str:
    """The line that says what went wrong: the JSON error field, the last line of a
    traceback, or the first line of text."""
    text = response.text.strip()
    if not text:
        return ""
    return (_json_error(text) or _text_error(text))[:limit]


def error_signature(response: Response, limit: int = 120) -> str:
    """``error_line`` with numbers and ids masked, so that the same bug met with different
    inputs gives the same signature (the finding's cause), and different bugs do not."""
    return _VOLATILE.sub("#", error_line(response))[:limit]


def _json_error(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return ""
    if isinstance(data, dict):
        for key in _ERROR_FIELDS:
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
    return ""


def _text_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith("Traceback"):
        return lines[-1]
    first = re.sub(r"<[^>]+>", " ", lines[0]) if lines else ""
    return " ".join(first.split())


def status_code_conformance(
    ctx: CheckContext, response: Response, case: Case | None
) -> list[Failure]:
    """The status must be documented: exactly, by a ``4XX``-style range, or by ``default``.

    An undocumented 5xx is not reported here: a server error is one defect, reported by
    ``not_a_server_error`` (the registry drops this check's failure when that one fires).
    """
    operation = ctx.operation
    if operation is None or not operation.responses:
        return []
    if operation.response_for(response.status) is not None:
        return []
    documented = ", ".join(operation.responses)
    return [
        Failure(
            "status_code_conformance",
            f"Undocumented status {response.status} (documented: {documented})",
            cause=str(response.status),
            severity="medium",
        )
    ]

"""The mock's request journal: what it received, for client tests to assert on.

``GET /__assay/requests`` lists the entries, oldest first; ``DELETE`` clears them. The
journal is bounded (``--journal-size``, the oldest entries leave first) so that a mock left
running under load keeps a steady memory (a body is kept up to 64 KiB). Credentials are not kept: sensitive headers keep
their scheme word and lose their value (``Bearer <redacted>``), so a test can still assert
that a token was sent, never read it back.
"""

from __future__ import annotations

import base64
import json
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.secrets import is_sensitive_name
from ..http.serving import ServerRequest

REDACTED = "<redacted>"
BODY_LIMIT = 64 * 1024


@dataclass(slots=True)
class Entry:
    """One request the mock received and how it answered.

    The request is kept as received and redacted when shown: recording costs the mock a
    tuple's worth of work per request, not a copy of every header.
    """

    at: float
    request: ServerRequest
    operation: str | None
    status: int | None
    fault: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    body_size: int = 0

    def to_json(self) -> dict[str, Any]:
        """The entry as ``GET /__assay/requests`` shows it (credentials redacted)."""
        request = self.request
        return {
            "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at))
            + f".{int(self.at % 1 * 1000):03d}Z",
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": [[name, redact_header(name, value)] for name, value in request.headers],
            "body": body_json(request.body, request.header("content-type")),
            "body_size": self.body_size,
            "body_truncated": self.body_size > len(request.body),
            "operation": self.operation,
            "status": self.status,
            "fault": self.fault,
            "problems": self.problems,
        }


class Journal:
    """The last ``size`` requests (``size=0`` keeps none)."""

    def __init__(self, size: int = 1000):
        self.size = size
        self._entries: deque[Entry] = deque(maxlen=max(size, 1))

    def record(self, request: ServerRequest, *, operation: str | None, status: int | None,
               fault: str | None = None, problems: list[dict[str, str]] | None = None) -> None:
        """Add what the mock received for ``request`` and what it answered."""
        if self.size <= 0:
            return
        size = len(request.body)
        if size > BODY_LIMIT:  # 1000 uploads of 10 MB must not stay in memory
            request = replace(request, body=request.body[:BODY_LIMIT])
        self._entries.append(Entry(time.time(), request, operation, status, fault,
                                   problems or [], size))

    def entries(self) -> list[Entry]:
        """Every entry, oldest first."""
        return list(self._entries)

    def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        count = len(self._entries)
        self._entries.clear()
        return count


def redact_header(name: str, value: str) -> str:
    """``value`` with its secret part replaced when ``name`` carries credentials.

    >>> redact_header("Authorization", "Bearer abc.def")
    'Bearer <redacted>'
    >>> redact_header("Accept", "text/plain")
    'text/plain'
    """
    if not is_sensitive_name(name):
        return value
    scheme, _, rest = value.partition(" ")
    if rest and scheme.isalpha() and name.lower() in ("authorization", "proxy-authorization"):
        return f"{scheme} {REDACTED}"
    return REDACTED


def body_json(body: bytes, content_type: str | None) -> Any:
    """A body as JSON can show it: parsed JSON, else text, else ``{"base64": ...}``."""
    if not body:
        return None
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(body)
        except ValueError:
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}

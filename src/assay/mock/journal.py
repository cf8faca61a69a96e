"""The mock's request journal: what it received, for client tests to assert on.

``GET /__assay/requests`` lists the entries, oldest first; ``DELETE`` clears them. The
journal is bounded (``--journal-size``, the oldest entries leave first) so that a mock left
running under load keeps a steady memory. Credentials are not kept: sensitive headers keep
their scheme word and lose their value (``Bearer <redacted>``), so a test can still assert
that a token was sent, never read it back.
"""

from __future__ import annotations

import base64
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..core.secrets import is_sensitive_name
from ..http.serving import ServerRequest

REDACTED = "<redacted>"


@dataclass(slots=True)
class Entry:
    """One request the mock received and how it answered."""

    at: float
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: Any
    operation: str | None
    status: int | None
    fault: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The entry as ``GET /__assay/requests`` shows it."""
        return {
            "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at))
            + f".{int(self.at % 1 * 1000):03d}Z",
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": [[name, value] for name, value in self.headers],
            "body": self.body,
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
        self._entries.append(Entry(
            at=time.time(), method=request.method, path=request.path, query=request.query,
            headers=[(name, redact_header(name, value)) for name, value in request.headers],
            body=body_json(request.body, request.header("content-type")),
            operation=operation, status=status, fault=fault, problems=problems or [],
        ))

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

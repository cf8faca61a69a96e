"""The records of assay's HTTP/1.1 server core: a request as received, what to answer.

``http.fastserver`` (the mock server's engine) parses requests into ``ServerRequest`` and
calls a handler; the handler answers with a ``ServerResponse`` or, to simulate a broken
server, a ``ConnectionFault``. They live apart from the server so that the mock's logic can
build and inspect them without importing the server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from ..core.records import first_header

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "host", "content-length",
})
"""Headers that belong to one connection (RFC 9110 section 7.6.1), plus ``Host`` and
``Content-Length``, which the next hop sets itself: a proxy does not forward them and a
recording does not keep them."""

FAULT_KINDS = ("connection_reset", "empty_response", "malformed_chunk",
               "random_data_then_close", "timeout")


@dataclass(slots=True)
class ServerRequest:
    """One request as the server received it.

    ``path`` is the raw (still percent-encoded) path of the request target and ``query``
    its raw query string without ``?``: a path parameter may hold an encoded ``/``, so
    decoding is left to whoever splits the path. ``headers`` keep order, duplicates and the
    names' case as sent.
    """

    method: str
    path: str
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    client: tuple[str, int] | None = None
    http_version: str = "1.1"

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        return first_header(self.headers, name)

    def header_values(self, name: str) -> list[str]:
        """All values of header ``name`` (case-insensitive), in order."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def query_pairs(self) -> list[tuple[str, str]]:
        """The query string as decoded ``(name, value)`` pairs, blanks kept, in order."""
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def target(self) -> str:
        """The request target as sent: path and, when there is one, ``?query``."""
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(slots=True)
class ServerResponse:
    """An answer. The server adds ``Content-Length`` (and ``Date``); ``headers`` hold the rest.

    For ``HEAD`` the server sends the headers of this response without its body.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        return first_header(self.headers, name)


@dataclass(frozen=True, slots=True)
class ConnectionFault:
    """Answer a request by breaking the connection instead (``kind`` in ``FAULT_KINDS``).

    - ``connection_reset``: the connection is reset (TCP RST) before any byte of a response;
    - ``empty_response``: the connection is closed (FIN) without a response;
    - ``malformed_chunk``: a chunked response whose first chunk has an invalid size line;
    - ``random_data_then_close``: ``data`` (bytes that are not HTTP), then the connection closes;
    - ``timeout``: no answer at all; the connection is held until the client gives up.
    """

    kind: str
    data: bytes = b""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}; "
                             f"got {self.kind!r}")


Answer = ServerResponse | ConnectionFault
# A handler answers at once (a plain return: the fast path, no task per request) or
# returns an awaitable (a delay, a proxied call), which the server awaits in order.
Handler = Callable[[ServerRequest], "Answer | Awaitable[Answer]"]

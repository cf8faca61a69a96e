"""Answers to bytes for assay's HTTP/1.1 server core (``http.fastserver``).

``ResponseEncoder.encode`` builds the whole head and body of a ``ServerResponse`` in one
``bytes``: the status line with its standard reason phrase, the handler's headers as given,
then what the server adds unless the handler set it (``Content-Length``, ``Date`` formatted
at most once a second, ``Server``, ``Connection``).
"""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

from .serving import ServerResponse

# Lengths of the response header names the server looks at: a cheap filter before lower().
_WATCHED = frozenset({4, 6, 10, 14, 17})  # date, server, connection, content-length, t-e
_TEXT = ("Content-Type", "text/plain; charset=utf-8")


class ResponseEncoder:
    """Answers to bytes for one server: status lines, the Date (cached per second), Server.

    ``failed`` is the 500 answer given when the handler fails.
    """

    __slots__ = ("server_line", "status_lines", "second", "date_line", "failed",
                 "last_headers", "last_block")

    def __init__(self, server_name: str):
        if not server_name or any(c in server_name for c in "\r\n\x00"):
            raise ValueError(f"server_name must be one line of text, got {server_name!r}")
        self.server_line = f"Server: {server_name}\r\n".encode("latin-1")
        self.status_lines = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode("latin-1")
                             for s in HTTPStatus}
        self.second = -1
        self.date_line = b""
        self.failed = ServerResponse(500, [_TEXT], b"Internal Server Error: the mock's handler "
                                                   b"failed (see the server's log)\n")
        self.last_headers: list[tuple[str, str]] | None = None
        self.last_block = _header_block([])

    def date(self) -> bytes:
        """The ``Date`` header line, formatted again only when the second changed."""
        now = int(time.time())
        if now != self.second:
            self.date_line = f"Date: {formatdate(now, usegmt=True)}\r\n".encode("latin-1")
            self.second = now
        return self.date_line

    def status_line(self, status: int) -> bytes:
        """``HTTP/1.1 <status> <reason>``; an unregistered status gets an empty reason."""
        line = self.status_lines.get(status)
        if line is None:
            if type(status) is not int or not 100 <= status <= 999:
                raise ValueError(f"invalid HTTP status {status!r}")
            line = self.status_lines[status] = b"HTTP/1.1 %d \r\n" % status
        return line

    def encode(self, response: ServerResponse, head_only: bool, keep_alive: bool,
               http10: bool) -> tuple[bytes, bool]:
        """The bytes of ``response`` and whether the connection closes after it.

        ``ValueError`` (or ``TypeError``, ``UnicodeEncodeError``) for a response that cannot
        go on the wire: a bad status, a line break in a header, a body that is not bytes.
        """
        status = response.status
        headers = response.headers
        # A mock answers with the same few header lists again and again: the last one's
        # encoding is kept, keyed by a copy (tuples of strings: equal means same bytes).
        if headers == self.last_headers:
            block = self.last_block
        else:
            block = _header_block(headers)
            self.last_headers, self.last_block = list(headers), block
        text, framed, has_date, has_server, connection = block
        close = not keep_alive or connection is True
        out = [self.status_line(status), text]
        bodiless = status < 200 or status == 204 or status == 304
        body = response.body
        if not framed and not bodiless:
            out.append(b"Content-Length: %d\r\n" % len(body))
        if not has_date:
            out.append(self.date())
        if not has_server:
            out.append(self.server_line)
        if connection is None:
            if close:
                out.append(b"Connection: close\r\n")
            elif http10:
                out.append(b"Connection: keep-alive\r\n")
        out.append(b"\r\n")
        if body and not head_only and not bodiless:
            out.append(body)
        return b"".join(out), close

    def error(self, status: int, message: str) -> bytes:
        """A short text answer that closes the connection (400, 413...)."""
        return self.encode(ServerResponse(status, [_TEXT], f"{message}\n".encode()),
                           False, False, False)[0]

    def malformed_chunk(self) -> bytes:
        """A chunked 200 whose first chunk size line is not hexadecimal."""
        return (self.status_lines[200] + b"Content-Type: text/plain\r\n"
                b"Transfer-Encoding: chunked\r\n" + self.date() + self.server_line
                + b"\r\nzz\r\nthis chunk has no hexadecimal size\r\n")


def _header_block(headers: list[tuple[str, str]]) -> tuple[bytes, bool, bool, bool, bool | None]:
    """The handler's header lines as bytes, and what they settle: whether the body is
    framed (``Content-Length`` or ``Transfer-Encoding``), whether ``Date`` and ``Server`` are
    set, and ``Connection`` (``None``: not set; ``True``: it says close)."""
    framed = has_date = has_server = False
    connection = None
    parts = []
    for name, value in headers:
        parts.append(f"{name}: {value}\r\n")
        if len(name) in _WATCHED:
            lowered = name.lower()
            if lowered in ("content-length", "transfer-encoding"):
                framed = True
            elif lowered == "date":
                has_date = True
            elif lowered == "server":
                has_server = True
            elif lowered == "connection":
                connection = connection is True or "close" in value.lower()
    text = "".join(parts)
    if text.count("\n") != len(parts) or text.count("\r") != len(parts):
        raise ValueError("a response header name or value holds a line break")
    return text.encode("latin-1"), framed, has_date, has_server, connection

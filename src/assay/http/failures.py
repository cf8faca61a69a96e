"""Translate what httpx (and the sockets under it) raise into ``TransportFailure`` records.

This is the one place where third-party transport exceptions become assay's vocabulary
(the model is httpx's own ``map_httpcore_exceptions``). A target that refuses, resets, times
out or speaks broken HTTP is something to report, never an exception that escapes a run.

Kinds (see ``assay.core.records.TransportFailure``)::

    connection_refused   nothing listens on host:port
    connection_reset     the peer closed or reset the connection before a full response
    timeout              no connection / no response within the timeout
    tls                  the TLS handshake failed (untrusted certificate, not TLS at all...)
    invalid_http         the bytes received are not HTTP, or the request could not be sent
    dns                  the host name does not resolve
    connection           anything else that prevented a connection (bad URL, proxy error)
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx

from assay.core.records import TransportFailure


def failure_from_exception(
    exc: BaseException, *, url: str, timeout: float | None, phase: str = ""
) -> TransportFailure:
    """The ``TransportFailure`` for an exception raised while sending to ``url``.

    ``phase`` is what the transport was doing when it failed (``"tls"`` while the TLS
    handshake ran), known from httpcore's trace events; it tells a reset during the handshake
    (a TLS problem) from a reset after the request was sent.

    >>> failure_from_exception(httpx.ReadTimeout("x"), url="http://h:1/", timeout=5.0).message
    'no response within 5.0 s'
    """
    origin = origin_of(url)
    if isinstance(exc, httpx.TimeoutException):
        return _timeout_failure(exc, origin, timeout)
    if isinstance(exc, httpx.ConnectError):
        return _connect_failure(exc, origin, phase)
    if isinstance(exc, httpx.RemoteProtocolError):
        return _remote_protocol_failure(exc, origin)
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return TransportFailure("connection_reset", f"connection reset by {origin}")
    if isinstance(exc, httpx.LocalProtocolError):
        return TransportFailure("invalid_http", f"could not send the request: {_text(exc)}")
    if isinstance(exc, httpx.DecodingError):
        return TransportFailure("invalid_http", f"cannot decode the response body: {_text(exc)}")
    if isinstance(exc, httpx.TooManyRedirects):
        return TransportFailure("invalid_http", f"too many redirects from {origin}")
    if isinstance(exc, httpx.ProxyError):
        return TransportFailure("connection", f"proxy error for {origin}: {_text(exc)}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return TransportFailure("connection", f"cannot send to {url}: {_text(exc)}")
    if isinstance(exc, OSError):
        return failure_from_os_error(exc, origin, phase)
    return TransportFailure("connection", f"cannot talk to {origin}: {_describe(exc)}")


def failure_from_os_error(exc: BaseException, origin: str, phase: str = "") -> TransportFailure:
    """Classify a socket-level error (the cause of an httpx ``ConnectError``, or raw)."""
    causes = list(_causes(exc))
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
        cert = next(c for c in causes if isinstance(c, ssl.SSLCertVerificationError))
        reason = cert.verify_message or _text(cert)
        return TransportFailure("tls", f"TLS certificate of {origin} not trusted: {reason}")
    if any(isinstance(c, ssl.SSLError) for c in causes) or phase == "tls":
        ssl_error = next((c for c in causes if isinstance(c, ssl.SSLError)), exc)
        reason = getattr(ssl_error, "reason", None) or _text(ssl_error)
        return TransportFailure("tls", f"TLS handshake with {origin} failed: {reason}")
    if any(isinstance(c, socket.gaierror) for c in causes):
        host = origin.rsplit(":", 1)[0]
        return TransportFailure("dns", f"cannot resolve host {host}")
    leaves = [c for c in causes if isinstance(c, OSError) and not _is_wrapper(c)]
    if leaves and all(isinstance(c, ConnectionRefusedError) for c in leaves):
        return TransportFailure("connection_refused", f"connection refused by {origin}")
    if any(isinstance(c, ConnectionResetError | BrokenPipeError) for c in causes):
        return TransportFailure("connection_reset", f"connection reset by {origin}")
    if any(isinstance(c, TimeoutError) for c in causes):
        return TransportFailure("timeout", f"no connection to {origin} in time")
    return TransportFailure("connection", f"cannot connect to {origin}: {_describe(exc)}")


def origin_of(url: str) -> str:
    """``host:port`` of ``url``, with the scheme's default port (``"127.0.0.1:9"``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    host = parts.hostname or url
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"


def _timeout_failure(
    exc: httpx.TimeoutException, origin: str, timeout: float | None
) -> TransportFailure:
    within = f" within {timeout} s" if timeout is not None else " in time"
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportFailure("timeout", f"no connection to {origin}{within}")
    if isinstance(exc, httpx.WriteTimeout):
        return TransportFailure("timeout", f"could not send the request to {origin}{within}")
    if isinstance(exc, httpx.PoolTimeout):
        return TransportFailure("timeout", f"no free connection to {origin}{within}")
    return TransportFailure("timeout", f"no response{within}")


def _connect_failure(exc: httpx.ConnectError, origin: str, phase: str) -> TransportFailure:
    failure = failure_from_os_error(exc, origin, phase)
    if failure.kind == "connection" and "ssl" in _text(exc).lower():
        return TransportFailure("tls", f"TLS handshake with {origin} failed: {_text(exc)}")
    return failure


def _remote_protocol_failure(exc: httpx.RemoteProtocolError, origin: str) -> TransportFailure:
    text = _text(exc)
    # h11 says "Server disconnected without sending a response." when the peer closes
    # cleanly before answering: that is a dropped connection, not malformed HTTP.
    if "without sending" in text or "disconnected" in text.lower():
        return TransportFailure(
            "connection_reset", f"{origin} closed the connection without a response"
        )
    if "peer closed connection without" in text:
        return TransportFailure(
            "connection_reset", f"{origin} closed the connection before the whole body came"
        )
    return TransportFailure("invalid_http", f"invalid HTTP response from {origin}: {text}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and the members of exception groups among them."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


def _is_wrapper(exc: OSError) -> bool:
    # anyio raises OSError("All connection attempts failed") from the real errors.
    return exc.errno is None and (exc.__cause__ is not None or exc.__context__ is not None)


def _describe(exc: BaseException) -> str:
    text = _text(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_BYTES_REPR = re.compile(r"bytearray\(b(['\"])(.*?)\1\)|\bb(['\"])(.*?)\3")


def _text(exc: BaseException) -> str:
    """A one-line message without the ``[Errno N]`` prefix or ``bytearray(b'...')`` noise."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc)
    text = _BYTES_REPR.sub(lambda m: repr(m.group(2) if m.group(2) is not None else m.group(4)),
                           text)
    return " ".join(text.split())

"""ensure_reachable: a connection is enough (even to a server answering 404), and no
request is sent; no connection at all is TargetUnreachable with a one-line reason."""

from __future__ import annotations

import asyncio
import socket

import pytest

from assay.core.errors import TargetUnreachable, UsageError
from assay.http import HttpOptions, ensure_reachable
from servers import RecordingApp, serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection_is_unreachable():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(TargetUnreachable) as info:
        asyncio.run(ensure_reachable(url, HttpOptions(timeout=2, trust_env=False)))
    assert str(info.value) == f"cannot reach {url}: connection refused"


def test_any_server_is_reachable_and_sees_no_request():
    app = RecordingApp()  # answers 404 to everything
    with serve(app) as base:
        asyncio.run(ensure_reachable(base + "/v2", HttpOptions(timeout=2, trust_env=False)))
    assert app.received == []


def test_https_to_a_plain_http_server_fails_the_tls_handshake():
    with serve(RecordingApp()) as base:
        url = base.replace("http://", "https://")
        with pytest.raises(TargetUnreachable, match="TLS handshake with 127.0.0.1:.* failed"):
            asyncio.run(ensure_reachable(url, HttpOptions(timeout=2, trust_env=False)))


@pytest.mark.parametrize("url", ["ftp://h/", "not a url", "http://h:99999/"])
def test_a_bad_url_is_a_usage_error(url):
    with pytest.raises(UsageError, match="--url"):
        asyncio.run(ensure_reachable(url, HttpOptions(timeout=2)))


def test_a_proxy_from_the_environment_is_what_must_be_reachable(monkeypatch):
    port = free_port()
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with serve(RecordingApp()) as base:
        # The target itself listens, but every connection would go through the dead proxy.
        with pytest.raises(TargetUnreachable, match="connection refused"):
            asyncio.run(ensure_reachable(base, HttpOptions(timeout=2, trust_env=True)))
        asyncio.run(ensure_reachable(base, HttpOptions(timeout=2, trust_env=False)))

"""Pure ASGI middleware: the ``--auth-token`` gate, and security headers on every response.

With a token, every path but the public ones (``/status``, ``/api/heartbeat/...``,
``/metrics``) needs ``Authorization: Bearer <token>``. Pages (anything outside ``/api/``)
also accept a session cookie, so that a browser can use the dashboard: open any page once
with ``?token=<token>``; the app answers 303 to the same URL without the token and sets
``assay_session``, an HttpOnly, SameSite=Strict cookie holding an HMAC of the token (not the
token itself, so the cookie is no bearer token for the API). The API takes the bearer
header only: a cookie there would let other sites' pages act through a logged-in browser.
Anything else gets 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem

PUBLIC_PATHS = ("/status", "/metrics")
PUBLIC_PREFIXES = ("/api/heartbeat/",)
SESSION_COOKIE = "assay_session"
TOKEN_PARAMETER = "token"
# Sent with every response: pages add their own Content-Security-Policy (with a nonce).
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
DEFAULT_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def is_public(path: str) -> bool:
    """Whether ``path`` is served without credentials."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def session_value(token: str) -> str:
    """The cookie value of a browser session for ``token`` (an HMAC, not the token)."""
    return hmac.new(token.encode(), b"assay dashboard session", hashlib.sha256).hexdigest()


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` and, unless the response has one, a CSP that allows
    nothing (JSON and problem documents need no scripts, styles or frames)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", DEFAULT_CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TokenAuth:
    """The ``--auth-token`` gate (see the module docstring); ``token`` None lets all in."""

    def __init__(self, app: ASGIApp, token: str | None):
        self.app = app
        self.token = token
        self.session = session_value(token) if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        page = not scope["path"].startswith("/api/")
        if self._bearer_ok(headers) or (page and self._cookie_ok(headers)):
            await self.app(scope, receive, send)
            return
        if page and scope["method"] in ("GET", "HEAD") and self._query_token_ok(scope):
            await _redirect_with_cookie(scope, send, self.session or "")
            return
        response = problem(401, "Send 'Authorization: Bearer <token>' (the token given to "
                                "--auth-token); in a browser, open a page once with "
                                "?token=<token>.",
                           headers={"WWW-Authenticate": 'Bearer realm="assay"'})
        await response(scope, receive, send)

    def _bearer_ok(self, headers: Headers) -> bool:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and _same(credentials.strip(), self.token or "")

    def _cookie_ok(self, headers: Headers) -> bool:
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # http.cookies raises CookieError on malformed headers
            return False
        morsel = cookie.get(SESSION_COOKIE)
        return morsel is not None and _same(morsel.value, self.session or "")

    def _query_token_ok(self, scope: Scope) -> bool:
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        return _same(query.get(TOKEN_PARAMETER, ""), self.token or "")


def _same(given: str, expected: str) -> bool:
    # compare_digest: the time taken must not tell how much of the secret was right.
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


async def _redirect_with_cookie(scope: Scope, send: Send, session: str) -> None:
    query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                           keep_blank_values=True) if k != TOKEN_PARAMETER]
    # raw_path: the path as the client wrote it (percent-encoded), fit for a header.
    path = scope.get("raw_path") or quote(scope["path"]).encode()
    location = scope.get("root_path", "").encode() + path + (
        b"?" + urlencode(query).encode() if query else b"")
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    cookie = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict{secure}"
    headers: list[Any] = [(b"location", location),
                          (b"set-cookie", cookie.encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})

"""Authenticator against real local servers: static credentials, OAuth2 client credentials
with a counting token endpoint, login with re-login after a 401; secrets registration."""

from __future__ import annotations

import asyncio
import base64
import socket
from urllib.parse import parse_qs

import pytest

from assay.core.auth import ApiKeyAuth, BasicAuth, BearerAuth, LoginAuth, OAuth2ClientCredentials
from assay.core.errors import ConfigError, UsageError
from assay.core.records import Request
from assay.core.secrets import Secrets
from assay.http import Authenticator, CachedToken, HttpOptions, HttpxTransport, refresh_due
from assay.specs.model import SecurityScheme
from servers import Canned, Received, RecordingApp, serve

SCHEMES = {
    "apiKeyHeader": SecurityScheme("apiKeyHeader", "apiKey", location="header",
                                   param_name="X-API-Key"),
    "apiKeyQuery": SecurityScheme("apiKeyQuery", "apiKey", location="query", param_name="key"),
    "apiKeyCookie": SecurityScheme("apiKeyCookie", "apiKey", location="cookie",
                                   param_name="key"),
    "bearer": SecurityScheme("bearer", "http", scheme="bearer"),
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(coro):
    return asyncio.run(coro)


async def authenticated_send(base: str, auths, *, schemes=None, secrets=None, request=None):
    secrets = secrets if secrets is not None else Secrets()
    async with HttpxTransport(HttpOptions(trust_env=False, timeout=5)) as transport:
        authenticator = Authenticator(auths, schemes, transport, base, secrets)
        prepared = await authenticator.apply(request or Request("GET", base + "/me"))
        return await transport.send(prepared)


# -- static credentials ----------------------------------------------------------------------


def test_static_credentials_reach_the_server_and_are_registered_as_secrets():
    app = RecordingApp()
    secrets = Secrets()
    auths = [
        BasicAuth("ann", "pa55word"),
        ApiKeyAuth("key-header-123", scheme="apiKeyHeader"),
        ApiKeyAuth("key-query-456", scheme="apiKeyQuery"),
        ApiKeyAuth("key-cookie-789", name="sid", location="cookie"),
    ]
    with serve(app) as base:
        request = Request("GET", base + "/me?x=1", [("Cookie", "theme=dark")])
        run(authenticated_send(base, auths, schemes=SCHEMES, secrets=secrets, request=request))
    received = app.received[0]
    user, password = base64.b64decode(received.headers["authorization"][6:]).decode().split(":")
    assert (user, password) == ("ann", "pa55word")
    assert received.headers["x-api-key"] == "key-header-123"
    assert parse_qs(received.query) == {"x": ["1"], "key": ["key-query-456"]}
    assert received.headers["cookie"] == "theme=dark; sid=key-cookie-789"
    assert secrets.values["pa55word"] == "ASSAY_PASSWORD"
    assert secrets.values[base64.b64encode(b"ann:pa55word").decode()] == "ASSAY_PASSWORD"
    assert "ann" not in secrets.values
    assert secrets.env_names().keys() >= {"ASSAY_USERNAME", "ASSAY_PASSWORD",
                                          "ASSAY_API_KEY_APIKEYHEADER",
                                          "ASSAY_API_KEY_APIKEYQUERY", "ASSAY_API_KEY_SID"}


def test_bearer_and_single_api_key_names():
    app = RecordingApp()
    secrets = Secrets()
    with serve(app) as base:
        run(authenticated_send(base, [BearerAuth("t0ken-abc"), ApiKeyAuth("k3y-value")],
                               schemes={"only": SCHEMES["apiKeyHeader"]}, secrets=secrets))
    assert app.received[0].headers["authorization"] == "Bearer t0ken-abc"
    assert app.received[0].headers["x-api-key"] == "k3y-value"
    assert secrets.values == {"t0ken-abc": "ASSAY_TOKEN", "k3y-value": "ASSAY_API_KEY"}


def test_a_header_already_on_the_request_is_kept():
    app = RecordingApp()
    with serve(app) as base:
        request = Request("GET", base + "/me", [("authorization", "Bearer deliberately-wrong")])
        run(authenticated_send(base, [BearerAuth("good-token")], request=request))
    assert app.received[0].headers["authorization"] == "Bearer deliberately-wrong"


def test_unknown_api_key_scheme_names_the_flag_and_the_known_schemes():
    with pytest.raises(UsageError) as info:
        Authenticator([ApiKeyAuth("v", scheme="nope")], SCHEMES, None, "http://h", Secrets())
    message = str(info.value)
    assert message.startswith("--api-key: unknown security scheme 'nope'")
    assert "apiKeyHeader, apiKeyQuery, apiKeyCookie, bearer" in message
    with pytest.raises(UsageError, match="--api-key"):
        Authenticator([ApiKeyAuth("v")], SCHEMES, None, "http://h", Secrets())


# -- OAuth2 client credentials ---------------------------------------------------------------


def test_refresh_decision_with_explicit_times():
    token = CachedToken.issued("t", expires_in=100, now=1000.0)
    assert not refresh_due(token, 1069.9)
    assert refresh_due(token, 1070.0)  # 30 s before it expires
    assert refresh_due(None, 0.0)
    assert not refresh_due(CachedToken.issued("t", None, now=0.0), 1e9)
    short = CachedToken.issued("t", expires_in=20, now=0.0)
    assert not refresh_due(short, 9.9) and refresh_due(short, 10.0)


def token_endpoint(requests: list[Received], expires_in=100):
    def handler(request: Received) -> Canned:
        requests.append(request)
        return Canned(200, {"access_token": f"oauth-token-{len(requests)}",
                            "token_type": "Bearer", "expires_in": expires_in})

    return handler


def test_client_credentials_token_is_fetched_cached_and_refreshed():
    token_requests: list[Received] = []
    app = RecordingApp({"POST /oauth/token": token_endpoint(token_requests)})
    clock = Clock()
    secrets = Secrets()
    config = OAuth2ClientCredentials("/oauth/token", "my client", "client-s3cret",
                                     scopes=("read", "write"), audience="books-api")

    async def go(base):
        async with HttpxTransport(HttpOptions(trust_env=False, timeout=5)) as transport:
            auth = Authenticator([config], None, transport, base, secrets, clock=clock)
            sent = []
            for now in (0.0, 60.0, 75.0):
                clock.now = now
                request = await auth.apply(Request("GET", base + "/books"))
                sent.append(request.header("authorization"))
                await transport.send(request)
            return sent

    with serve(app) as base:
        sent = run(go(base))
    assert sent == ["Bearer oauth-token-1", "Bearer oauth-token-1", "Bearer oauth-token-2"]
    assert len(token_requests) == 2
    first = token_requests[0]
    assert parse_qs(first.body.decode()) == {
        "grant_type": ["client_credentials"], "scope": ["read write"], "audience": ["books-api"]
    }
    basic = base64.b64decode(first.headers["authorization"].removeprefix("Basic ")).decode()
    assert basic == "my%20client:client-s3cret"
    api_calls = [r for r in app.received if r.path == "/books"]
    assert [r.headers["authorization"] for r in api_calls] == sent
    assert secrets.values["client-s3cret"] == "ASSAY_CLIENT_SECRET"
    assert secrets.values["oauth-token-2"] == "ASSAY_TOKEN"


def test_token_endpoint_refusal_is_a_config_error():
    app = RecordingApp({"POST /oauth/token": Canned(401, {"error": "invalid_client"})})
    config = OAuth2ClientCredentials("/oauth/token", "id", "bad-secret")
    with serve(app) as base, pytest.raises(ConfigError) as info:
        run(authenticated_send(base, [config]))
    assert "answered 401" in str(info.value) and "invalid_client" in str(info.value)


def test_unreachable_token_endpoint_is_a_config_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = OAuth2ClientCredentials(f"http://127.0.0.1:{port}/token", "id", "secret")
    with pytest.raises(ConfigError, match="connection refused"):
        run(authenticated_send("http://127.0.0.1:1", [config]))


# -- login -----------------------------------------------------------------------------------


class LoginServer:
    """``POST /login`` issues L1, L2...; ``GET /me`` accepts only the token marked valid."""

    def __init__(self, accept_new_tokens: bool = True):
        self.logins = 0
        self.valid: str | None = None
        self.accept_new_tokens = accept_new_tokens
        self.app = RecordingApp({"POST /login": self.login, "GET /me": self.me})

    def login(self, request: Received) -> Canned:
        assert request.json() == {"user": "ann", "password": "login-pa55"}
        self.logins += 1
        token = f"L{self.logins}-token"
        self.valid = token if self.accept_new_tokens else None
        return Canned(200, {"data": {"token": token}}, {"X-Auth-Token": token})

    def me(self, request: Received) -> Canned:
        ok = self.valid is not None and request.headers.get("authorization") == (
            f"Bearer {self.valid}")
        return Canned(200, {"me": "ann"}) if ok else Canned(401, {"error": "unauthorized"})


LOGIN = LoginAuth(request={"method": "POST", "path": "/login",
                           "json": {"user": "ann", "password": "login-pa55"}},
                  token="$.data.token")


def test_login_then_relogin_after_a_401_once_the_token_had_worked():
    server = LoginServer()
    secrets = Secrets()

    async def go(base):
        async with HttpxTransport(HttpOptions(trust_env=False, timeout=5)) as transport:
            auth = Authenticator([LOGIN], None, transport, base, secrets)

            async def call(request):
                exchange = await transport.send(request)
                return exchange, await auth.on_response(request, exchange)

            first = await auth.apply(Request("GET", base + "/me"))
            ok, retry_ok = await call(first)
            server.valid = None  # the server forgets the session
            second = await auth.apply(Request("GET", base + "/me"))
            expired, retry_expired = await call(second)
            again = await auth.apply(second)
            renewed, _ = await call(again)
            anonymous, retry_anonymous = await call(Request("GET", base + "/me"))
            return (ok, retry_ok, expired, retry_expired, again, renewed, retry_anonymous)

    with serve(server.app) as base:
        ok, retry_ok, expired, retry_expired, again, renewed, retry_anonymous = run(go(base))
    assert (ok.response.status, retry_ok) == (200, False)
    assert (expired.response.status, retry_expired) == (401, True)
    assert again.header("authorization") == "Bearer L2-token"
    assert renewed.response.status == 200
    assert retry_anonymous is False  # no token sent: a 401 is the API's answer, not ours
    assert server.logins == 2
    assert secrets.values["L1-token"] == "ASSAY_TOKEN"
    assert secrets.values["L2-token"] == "ASSAY_TOKEN"


def test_a_token_that_never_worked_is_not_renewed_again_and_again():
    server = LoginServer(accept_new_tokens=False)

    async def go(base):
        async with HttpxTransport(HttpOptions(trust_env=False, timeout=5)) as transport:
            auth = Authenticator([LOGIN], None, transport, base, Secrets())
            request = await auth.apply(Request("GET", base + "/me"))
            exchange = await transport.send(request)
            return exchange, await auth.on_response(request, exchange)

    with serve(server.app) as base:
        exchange, retry = run(go(base))
    assert exchange.response.status == 401
    assert retry is False
    assert server.logins == 1


def test_login_token_from_a_header_into_a_custom_header():
    server = LoginServer()
    config = LoginAuth(request=LOGIN.request, token="header:X-Auth-Token",
                       header="X-Session", template="{token}")
    with serve(server.app) as base:
        run(authenticated_send(base, [config]))
    assert server.app.received[-1].headers["x-session"] == "L1-token"


def test_failed_login_is_a_config_error():
    app = RecordingApp({"POST /login": Canned(403, {"error": "locked"})})
    with serve(app) as base, pytest.raises(ConfigError, match="login request .* answered 403"):
        run(authenticated_send(base, [LOGIN]))


def test_login_response_without_the_token_is_a_config_error():
    app = RecordingApp({"POST /login": Canned(200, {"data": {}})})
    with serve(app) as base, pytest.raises(ConfigError, match=r"no token at \$.data.token"):
        run(authenticated_send(base, [LOGIN]))

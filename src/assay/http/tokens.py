"""Tokens fetched at run time: OAuth2 client credentials and login requests.

The refresh decision is pure (``refresh_due`` takes ``now``); fetching goes through the
run's ``Transport``, so a token endpoint gets the same TLS, proxy and timeout settings as
the API. A token that cannot be had is a ``ConfigError``: the run cannot go on without it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import jsonpath

from assay.core.auth import LoginAuth, OAuth2ClientCredentials
from assay.core.errors import ConfigError
from assay.core.records import NOT_SET, Exchange, Request, Response
from assay.core.secrets import Secrets

from .body import encode_form
from .build import build_raw_request, join_url
from .transport import Transport

REFRESH_MARGIN = 30.0


@dataclass(slots=True)
class CachedToken:
    """A token and the (monotonic) time after which it should be replaced (``None``: never)."""

    value: str
    refresh_at: float | None = None

    @classmethod
    def issued(cls, value: str, expires_in: float | None, now: float) -> CachedToken:
        """A token received at ``now`` that expires ``expires_in`` seconds later.

        It is refreshed 30 s before it expires; a token living under a minute is refreshed
        at half its life instead, so that it is still used at all.
        """
        if expires_in is None:
            return cls(value, None)
        margin = min(REFRESH_MARGIN, expires_in / 2)
        return cls(value, now + expires_in - margin)


def refresh_due(token: CachedToken | None, now: float) -> bool:
    """True when a new token must be fetched before the next request."""
    if token is None:
        return True
    return token.refresh_at is not None and now >= token.refresh_at


def client_credentials_request(config: OAuth2ClientCredentials, base_url: str) -> Request:
    """The token request of RFC 6749 section 4.4: client id and secret as HTTP Basic
    (each form-encoded first, as section 2.3.1 asks), scopes space-separated."""
    form: dict[str, str] = {"grant_type": "client_credentials"}
    if config.scopes:
        form["scope"] = " ".join(config.scopes)
    if config.audience:
        form["audience"] = config.audience
    pair = f"{quote(config.client_id, safe='')}:{quote(config.client_secret, safe='')}"
    basic = base64.b64encode(pair.encode("utf-8")).decode("ascii")
    url = config.token_url if urlsplit(config.token_url).scheme else join_url(
        base_url, config.token_url
    )
    headers = [
        ("Authorization", f"Basic {basic}"),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
    ]
    return Request("POST", url, headers, encode_form(form), "oauth2 token")


async def fetch_client_credentials(
    config: OAuth2ClientCredentials, transport: Transport, base_url: str, secrets: Secrets,
    now: float,
) -> CachedToken:
    """Fetch a token from ``config.token_url``; registers it in ``secrets`` as ASSAY_TOKEN."""
    request = client_credentials_request(config, base_url)
    response = _successful(await transport.send(request), "OAuth2 token", secrets)
    try:
        payload = response.json()
        token = payload["access_token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"the OAuth2 token response from {request.url} has no access_token "
            f"(expected JSON with access_token, found {_excerpt(response, secrets)})",
            location="oauth2.token_url",
        ) from exc
    secrets.add(str(token), "ASSAY_TOKEN", "access token (fetched at run time)")
    return CachedToken.issued(str(token), _lifetime(payload.get("expires_in")), now)


def login_request(config: LoginAuth, base_url: str) -> Request:
    """The login request a ``LoginAuth`` describes (``path`` or absolute ``url``)."""
    spec: dict[str, Any] = dict(config.request)
    target = spec.get("url") or spec.get("path")
    if not target:
        raise ConfigError("expected a path or url for the login request", location="auth.login")
    return build_raw_request(
        str(spec.get("method", "POST")),
        str(target),
        base_url,
        headers=spec.get("headers"),
        json=spec.get("json", NOT_SET),
        form=spec.get("form"),
        body=spec.get("body"),
        operation_label="login",
    )


async def fetch_login_token(
    config: LoginAuth, transport: Transport, base_url: str, secrets: Secrets
) -> str:
    """Send the login request and extract the token; registers it as ASSAY_TOKEN."""
    request = login_request(config, base_url)
    response = _successful(await transport.send(request), "login", secrets)
    token = extract_token(response, config.token)
    if not token:
        raise ConfigError(
            f"the login response from {request.url} has no token at {config.token} "
            f"(found {_excerpt(response, secrets)})",
            location="auth.login.token",
        )
    secrets.add(token, "ASSAY_TOKEN", "token from the login request (fetched at run time)")
    return token


def extract_token(response: Response, where: str) -> str | None:
    """The token at ``where``: ``header:Name`` or a JSONPath into the JSON body."""
    if where.lower().startswith("header:"):
        return response.header(where.split(":", 1)[1].strip())
    try:
        matches = jsonpath.findall(where, response.json())
    except ValueError:
        return None
    except jsonpath.JSONPathError as exc:
        raise ConfigError(
            f"expected a JSONPath such as $.access_token or header:Name, found {where!r}: {exc}",
            location="auth.login.token",
        ) from exc
    if not matches or matches[0] is None or isinstance(matches[0], dict | list):
        return None
    return str(matches[0])


def _successful(exchange: Exchange, what: str, secrets: Secrets) -> Response:
    url = exchange.request.url
    if exchange.failure is not None:
        raise ConfigError(f"the {what} request to {url} failed: {exchange.failure.message}",
                          location=_where(what))
    assert exchange.response is not None
    response = exchange.response
    if not 200 <= response.status < 300:
        raise ConfigError(
            f"the {what} request to {url} answered {response.status} "
            f"(expected 2xx): {_excerpt(response, secrets)}",
            location=_where(what),
        )
    return response


def _lifetime(value: Any) -> float | None:
    """``expires_in`` in seconds, when the server gave a usable one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _where(what: str) -> str:
    return "oauth2.token_url" if what.startswith("OAuth2") else "auth.login"


def _excerpt(response: Response, secrets: Secrets, limit: int = 200) -> str:
    text = secrets.redact(" ".join(response.text.split()))
    return (text[:limit] + "...") if len(text) > limit else (text or "an empty body")

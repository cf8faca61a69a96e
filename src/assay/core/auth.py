"""Authentication settings, as given by flags, environment variables or a suite's ``auth:``.

These are plain frozen records; ``assay.http.auth`` turns them into headers, query
parameters and cookies on each request (and fetches and refreshes tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class BearerAuth:
    """``Authorization: Bearer <token>``."""

    token: str


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """``Authorization: Basic base64(user:password)``."""

    username: str
    password: str


@dataclass(frozen=True, slots=True)
class ApiKeyAuth:
    """An API key. ``scheme`` names the spec's security scheme (which says where it goes);
    without a spec, ``location`` (header, query, cookie) and ``name`` say it."""

    value: str
    scheme: str | None = None
    name: str | None = None
    location: str = "header"


@dataclass(frozen=True, slots=True)
class OAuth2ClientCredentials:
    """OAuth2 client credentials: a token fetched from ``token_url`` and refreshed before
    it expires (``expires_in`` of the token response, minus a margin)."""

    token_url: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ()
    audience: str | None = None


@dataclass(frozen=True, slots=True)
class LoginAuth:
    """A login request whose response yields a token through a capture.

    ``request`` is a mapping with ``method``, ``path`` (or absolute ``url``) and optionally
    ``json``, ``form``, ``headers`` (secrets already substituted). ``token`` is a JSONPath
    into the response body (``$.access_token``) or ``header:Name``. The token is sent as
    header ``header`` formatted by ``template`` (``"Bearer {token}"``). The login runs once
    and again when a request gets 401 after having worked.
    """

    request: dict[str, Any] = field(default_factory=dict)
    token: str = "$.token"
    header: str = "Authorization"
    template: str = "Bearer {token}"


Auth = BearerAuth | BasicAuth | ApiKeyAuth | OAuth2ClientCredentials | LoginAuth

"""``Authenticator``: turns ``assay.core.auth`` records into headers, query parameters and
cookies on each request, fetching and refreshing tokens as needed.

Every secret is registered in the run's ``Secrets`` with the environment variable a
reproduction uses instead of the value:

=================================== =============================================
secret                              environment variable
=================================== =============================================
bearer, login and OAuth2 tokens     ``ASSAY_TOKEN``
basic auth password (and base64)    ``ASSAY_PASSWORD`` (user name: ``ASSAY_USERNAME``,
                                    named but not secret)
API key                             ``ASSAY_API_KEY`` (``ASSAY_API_KEY_<SCHEME>`` when
                                    several)
OAuth2 client secret                ``ASSAY_CLIENT_SECRET``
=================================== =============================================
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from assay.core.auth import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    LoginAuth,
    OAuth2ClientCredentials,
)
from assay.core.errors import UsageError
from assay.core.records import Exchange, Request
from assay.core.secrets import Secrets
from assay.specs.model import SecurityScheme

from .tokens import CachedToken, fetch_client_credentials, fetch_login_token, refresh_due
from .transport import Transport

API_KEY_FLAG = "--api-key"


@dataclass(frozen=True, slots=True)
class Credential:
    """One thing to add to a request: ``location`` is header, query or cookie; ``scheme``
    is the spec's security scheme it was given for (``--api-key SCHEME=VALUE``), if any."""

    location: str
    name: str
    value: str
    scheme: str | None = None


@dataclass(slots=True)
class _Fetched:
    """A token fetched at run time (OAuth2 or login) and what we know about it."""

    auth: OAuth2ClientCredentials | LoginAuth
    token: CachedToken | None = None
    # True once a request carrying the current token got an answer other than 401: only a
    # token that has worked is worth a fresh login when it stops working.
    worked: bool = False
    issued: set[str] = field(default_factory=set)

    @property
    def header(self) -> str:
        """The header the token travels in."""
        return self.auth.header if isinstance(self.auth, LoginAuth) else "Authorization"

    def header_value(self) -> str | None:
        """The header's value for the current token (``None`` before the first fetch)."""
        if self.token is None:
            return None
        if isinstance(self.auth, LoginAuth):
            return self.auth.template.format(token=self.token.value)
        return f"Bearer {self.token.value}"


class Authenticator:
    """Applies the run's authentication to requests.

    Static credentials (bearer, basic, API keys) are resolved at construction, so a wrong
    ``--api-key`` scheme fails at once with a ``UsageError``. Tokens are fetched on first
    use (or by ``prepare``); a token endpoint or login that fails raises ``ConfigError``.
    ``clock`` is the monotonic clock token lifetimes are measured with.

    A request that already carries a header, query parameter or cookie of the same name
    keeps it (a negative case may send a wrong token on purpose), unless the value is a
    token this authenticator issued earlier: that one is replaced by the current token.
    """

    def __init__(
        self,
        auths: Sequence[Auth],
        security_schemes: Mapping[str, SecurityScheme] | None,
        transport: Transport,
        base_url: str,
        secrets: Secrets,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._transport = transport
        self._base_url = base_url
        self._secrets = secrets
        self._clock = clock
        self._lock = asyncio.Lock()
        api_keys = [a for a in auths if isinstance(a, ApiKeyAuth)]
        self._static: list[Credential] = []
        self._fetched: list[_Fetched] = []
        for auth in auths:
            if isinstance(auth, OAuth2ClientCredentials | LoginAuth):
                self._fetched.append(_Fetched(auth))
                if isinstance(auth, OAuth2ClientCredentials):
                    secrets.add(auth.client_secret, "ASSAY_CLIENT_SECRET", "OAuth2 client secret")
            else:
                self._static.append(
                    _static_credential(auth, security_schemes or {}, secrets, len(api_keys) > 1)
                )

    async def prepare(self) -> None:
        """Fetch every token now, so that a failing login stops the run before it starts."""
        for fetched in self._fetched:
            await self._current(fetched)

    async def apply(self, request: Request, schemes: Collection[str] | None = None) -> Request:
        """A copy of ``request`` with the credentials added.

        ``schemes`` are the security schemes the operation accepts (``None``: unknown, add
        everything): a key given for another scheme stays off the request.
        """
        credentials = [c for c in self._static
                       if schemes is None or c.scheme is None or c.scheme in schemes]
        replaceable: set[str] = set()
        for fetched in self._fetched:
            await self._current(fetched)
            value = fetched.header_value()
            assert value is not None
            credentials.append(Credential("header", fetched.header, value))
            replaceable |= fetched.issued
        result = Request(request.method, request.url, list(request.headers), request.body,
                         request.operation)
        for credential in credentials:
            _add(result, credential, replaceable)
        return result

    async def on_response(self, request: Request, exchange: Exchange) -> bool:
        """Call after every exchange; True when the caller should send ``request`` again
        (through ``apply``): it got 401 with a token that had worked before, and a fresh
        token was obtained. A token that never worked is not fetched again (no loops)."""
        response = exchange.response
        if response is None:
            return False
        retry = False
        for fetched in self._fetched:
            sent = request.header(fetched.header)
            if sent is None or fetched.token is None:
                continue
            if response.status != 401:
                if sent == fetched.header_value():
                    fetched.worked = True
                continue
            retry = await self._renew(fetched, sent) or retry
        return retry

    async def _renew(self, fetched: _Fetched, sent: str) -> bool:
        async with self._lock:
            if sent != fetched.header_value():
                # Renewed already (by a concurrent request): just send again.
                return sent in fetched.issued
            if not fetched.worked:
                return False
            fetched.token = None
            await self._fetch(fetched)
            return True

    async def _current(self, fetched: _Fetched) -> None:
        if not refresh_due(fetched.token, self._clock()):
            return
        async with self._lock:
            if refresh_due(fetched.token, self._clock()):
                await self._fetch(fetched)

    async def _fetch(self, fetched: _Fetched) -> None:
        auth = self._transport, self._base_url, self._secrets
        if isinstance(fetched.auth, OAuth2ClientCredentials):
            fetched.token = await fetch_client_credentials(fetched.auth, *auth, self._clock())
        else:
            value = await fetch_login_token(fetched.auth, *auth)
            fetched.token = CachedToken(value)
        fetched.worked = False
        header_value = fetched.header_value()
        assert header_value is not None
        fetched.issued.add(header_value)


def _static_credential(
    auth: Auth, schemes: Mapping[str, SecurityScheme], secrets: Secrets, several_keys: bool
) -> Credential:
    if isinstance(auth, BearerAuth):
        secrets.add(auth.token, "ASSAY_TOKEN", "bearer token")
        return Credential("header", "Authorization", f"Bearer {auth.token}")
    if isinstance(auth, BasicAuth):
        return _basic_credential(auth, secrets)
    assert isinstance(auth, ApiKeyAuth)
    return _api_key_credential(auth, schemes, secrets, several_keys)


def _basic_credential(auth: BasicAuth, secrets: Secrets) -> Credential:
    encoded = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode("ascii")
    secrets.add(auth.password, "ASSAY_PASSWORD", "basic auth password")
    secrets.add(encoded, "ASSAY_PASSWORD", "basic auth password")
    # The user name is not secret, but a reproduction (curl -u) still names the variable.
    secrets.descriptions.setdefault("ASSAY_USERNAME", "basic auth user name")
    return Credential("header", "Authorization", f"Basic {encoded}")


def _api_key_credential(
    auth: ApiKeyAuth, schemes: Mapping[str, SecurityScheme], secrets: Secrets, several: bool
) -> Credential:
    location, name, value = auth.location, auth.name, auth.value
    if auth.scheme is not None:
        scheme = schemes.get(auth.scheme)
        if scheme is None or not _usable_with_key(scheme):
            raise UsageError(
                f"unknown security scheme {auth.scheme!r}; expected one the document defines "
                f"for API keys: {_key_scheme_names(schemes)}",
                location=API_KEY_FLAG,
            )
        if scheme.type == "http":
            location, name, value = "header", "Authorization", f"Bearer {auth.value}"
        else:
            location, name = scheme.location or "header", scheme.param_name
    elif name is None:
        candidates = [s for s in schemes.values() if s.type == "apiKey"]
        if len(candidates) != 1:
            raise UsageError(
                "expected a security scheme name or a header name with the API key; the "
                f"document defines: {_key_scheme_names(schemes)}",
                location=API_KEY_FLAG,
            )
        location, name = candidates[0].location or "header", candidates[0].param_name
    if location not in ("header", "query", "cookie") or not name:
        raise UsageError(
            f"expected an API key location of header, query or cookie, found {location!r}",
            location=API_KEY_FLAG,
        )
    label = auth.scheme or name
    env = "ASSAY_API_KEY_" + re.sub(r"[^A-Z0-9]+", "_", label.upper()) if several else "ASSAY_API_KEY"
    secrets.add(auth.value, env, f"API key ({label})")
    return Credential(location, name, value, auth.scheme)


def _usable_with_key(scheme: SecurityScheme) -> bool:
    return scheme.type == "apiKey" or (scheme.type == "http" and scheme.scheme == "bearer")


def _key_scheme_names(schemes: Mapping[str, SecurityScheme]) -> str:
    names = [name for name, scheme in schemes.items() if _usable_with_key(scheme)]
    return ", ".join(names) if names else "none"


def _add(request: Request, credential: Credential, replaceable: set[str]) -> None:
    if credential.location == "header":
        _add_header(request, credential.name, credential.value, replaceable)
    elif credential.location == "query":
        _add_query(request, credential.name, credential.value)
    else:
        _add_cookie(request, credential.name, credential.value)


def _add_header(request: Request, name: str, value: str, replaceable: set[str]) -> None:
    lowered = name.lower()
    for index, (key, current) in enumerate(request.headers):
        if key.lower() == lowered:
            if current in replaceable:
                request.headers[index] = (key, value)
            return
    request.headers.append((name, value))


def _add_query(request: Request, name: str, value: str) -> None:
    parts = urlsplit(request.url)
    if any(key == name for key, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return
    piece = f"{quote(name, safe='')}={quote(value, safe='')}"
    query = f"{parts.query}&{piece}" if parts.query else piece
    request.url = urlunsplit(parts._replace(query=query))


def _add_cookie(request: Request, name: str, value: str) -> None:
    pair = f"{name}={value}"
    for index, (key, current) in enumerate(request.headers):
        if key.lower() == "cookie":
            names = {c.split("=", 1)[0].strip() for c in current.split(";")}
            if name not in names:
                request.headers[index] = (key, f"{current}; {pair}" if current else pair)
            return
    request.headers.append(("Cookie", pair))

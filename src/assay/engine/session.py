"""The HTTP side of a run: transport (network or in-process app), auth and default headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core.errors import UsageError
from ..core.records import Exchange, Request
from ..core.secrets import Secrets, is_sensitive_name
from ..http.auth import Authenticator
from ..http.probe import ensure_reachable
from ..http.transport import AppTransport, HttpxTransport, Transport
from ..specs.model import ApiSpec, Operation
from .config import TestConfig

APP_HOST = "http://assay.app"


@dataclass(slots=True)
class Session:
    """Sends requests with the run's default headers and authentication applied."""

    transport: Transport
    headers: tuple[tuple[str, str], ...] = ()
    authenticator: Authenticator | None = None

    async def send(self, request: Request, *, timeout: float | None = None,
                   authenticate: bool = True, schemes: Collection[str] | None = None,
                   anonymous: bool = False) -> Exchange:
        """Send ``request``; a 401 after a login that had worked triggers one re-login and retry.

        ``authenticate=False`` sends it without the run's credentials (an operation whose
        spec says it needs none); ``schemes`` limits keys given per scheme to those the
        operation accepts. ``anonymous=True`` also leaves out default headers that carry
        credentials (``-H 'Authorization: ...'``): the ``ignored_auth`` probes need that.
        """
        request = self._with_defaults(request, anonymous=anonymous)
        if not authenticate or anonymous:
            return await self.transport.send(request, timeout=timeout)
        if self.authenticator is not None:
            request = await self.authenticator.apply(request, schemes)
        exchange = await self.transport.send(request, timeout=timeout)
        if self.authenticator is not None and exchange.response is not None:
            if await self.authenticator.on_response(request, exchange):
                request = await self.authenticator.apply(request, schemes)
                exchange = await self.transport.send(request, timeout=timeout)
        return exchange

    async def prepared(self, request: Request, *, authenticate: bool = True,
                       schemes: Collection[str] | None = None) -> Request:
        """``request`` with the default headers and credentials that ``send`` would add
        (a load run encodes its requests once, then sends them many times)."""
        request = self._with_defaults(request)
        if authenticate and self.authenticator is not None:
            request = await self.authenticator.apply(request, schemes)
        return request

    def _with_defaults(self, request: Request, *, anonymous: bool = False) -> Request:
        present = {name.lower() for name, _ in request.headers}
        extra = [(k, v) for k, v in self.headers if k.lower() not in present
                 and not (anonymous and is_sensitive_name(k))]
        if extra:
            request.headers = [*request.headers, *extra]
        return request


def accepted_schemes(operation: Operation) -> set[str] | None:
    """The security schemes ``operation`` accepts, or ``None`` when it names none."""
    names = {name for alternative in operation.security for name in alternative}
    return names or None


def needs_credentials(spec: ApiSpec, operation: Operation) -> bool:
    """Whether to send the run's credentials with ``operation``: when it has a security
    requirement, or when the document declares no security schemes at all (many documents
    never describe their auth; sending the credentials then is what the user meant)."""
    return bool(operation.security) or not spec.security_schemes


def resolve_base_url(config: TestConfig, spec: ApiSpec | None, suite_base: str | None) -> str:
    """``--url`` wins; else the spec's first server, else the suite's ``base_url``.

    With ``--app`` and no URL, requests go to a placeholder host with the server's path.
    """
    if config.base_url:
        return _check_url(config.base_url, "--url")
    server = spec.servers[0] if spec is not None and spec.servers else None
    if config.app:
        candidate = server or suite_base or ""
        return APP_HOST + (urlsplit(candidate).path.rstrip("/") if candidate else "")
    if suite_base:
        return _check_url(suite_base, "base_url")
    if server and urlsplit(server).scheme in ("http", "https"):
        return server
    where = f" (the document's server is {server!r}, not an absolute URL)" if server else ""
    raise UsageError(f"no base URL to send requests to{where}: pass --url "
                     "http://HOST:PORT/PATH, or --app module:attr", location="--url")


def _check_url(url: str, flag: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"expected an http(s) URL such as http://127.0.0.1:8000, found {url!r}",
                         location=flag)
    return url


def register_header_secrets(headers: tuple[tuple[str, str], ...], secrets: Secrets) -> None:
    """Values of sensitive ``-H`` headers (Authorization, cookies, keys, tokens) are secrets."""
    for name, value in headers:
        if is_sensitive_name(name):
            env = "ASSAY_HEADER_" + re.sub(r"\W", "_", name).upper()
            token = value.split(" ", 1)[1] if name.lower() == "authorization" and " " in value \
                else value
            secrets.add(token, env, f"value of the {name} header")


def register_url_secrets(url: str, secrets: Secrets) -> None:
    """Credentials written into a URL (``http://user:pass@host``) are secrets."""
    parts = urlsplit(url)
    if parts.password:
        secrets.add(parts.password, "ASSAY_URL_PASSWORD", "password in the base URL")
        secrets.add(f"{parts.username}:{parts.password}", "ASSAY_URL_CREDENTIALS",
                    "user:password in the base URL")


@asynccontextmanager
async def open_session(config: TestConfig, base_url: str, spec: ApiSpec | None,
                       secrets: Secrets, *, auth: tuple = (),
                       headers: tuple[tuple[str, str], ...] = (),
                       probe: bool = True) -> AsyncIterator[Session]:
    """The session of one run: probes the target first (unless in-process, a dry run, or
    ``probe=False`` in a worker process whose parent already did).

    ``headers`` are added after the ``-H`` ones (a suite's ``headers:``); ``-H`` wins.
    """
    all_headers = (*config.headers, *headers)
    register_header_secrets(all_headers, secrets)
    register_url_secrets(base_url, secrets)
    if config.app:
        transport: Transport = AppTransport.from_path(
            config.app, timeout=config.http.timeout, rate_limit=config.http.rate_limit)
    else:
        if probe and not config.dry_run:
            await ensure_reachable(base_url, config.http)
        transport = HttpxTransport(config.http)
    async with transport:
        schemes = spec.security_schemes if spec is not None else None
        auths = tuple(config.auth) + tuple(auth)
        authenticator = (
            Authenticator(auths, schemes, transport, base_url, secrets) if auths else None
        )
        if authenticator is not None and not config.dry_run:
            await authenticator.prepare()
        yield Session(transport, all_headers, authenticator)

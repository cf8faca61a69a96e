"""Every credential a monitors file holds, so the runner can register it for redaction.

Channel secrets, credentials inside webhook and Apprise URLs, sensitive headers and the
suite's ``auth:`` values: none may appear on the dashboard, in logs or in a notification.
Values still holding ``{{ templates }}`` are not secrets yet (their rendered values are
registered when a run renders them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..core.auth import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    LoginAuth,
    OAuth2ClientCredentials,
)
from ..core.secrets import is_sensitive_name
from ..suites.model import Suite
from .model import Channel, MonitorConfig

# Beyond core's names: query parameters that webhook services use for credentials
# (Azure Functions' ?code=, signed URLs' sig=, ?key=).
_SENSITIVE_QUERY = re.compile(r"key|sig|code|auth|pass|credential|private", re.IGNORECASE)
# A path segment that looks generated rather than chosen (Slack and Discord webhook URLs
# carry their token in the path).
_TOKEN_SEGMENT = re.compile(r"(?=[^/]*[0-9])(?=[^/]*[A-Za-z])[A-Za-z0-9_-]{20,}")
_URL_PARTS = re.compile(r"[/:@?&=#]")


def config_secrets(config: MonitorConfig) -> list[str]:
    """Every secret value of ``config``, each once, in the order found.

    >>> config_secrets(load_config("monitors.yaml"))  # doctest: +SKIP
    ['hmac-key', 'xoxb-...', 'p4ssw0rd']
    """
    found: list[str] = []
    for channel in config.channels:
        found.extend(channel_secrets(channel))
    found.extend(suite_secrets(config.suite))
    for monitor in config.monitors:
        if monitor.kind == "http" and monitor.scenario is not None:
            for step in monitor.scenario.steps:
                found.extend(_mapping_secrets(step.request.headers))
                found.extend(_mapping_secrets(step.request.query, _SENSITIVE_QUERY))
    return [value for value in dict.fromkeys(found) if value and "{{" not in value]


def channel_secrets(channel: Channel) -> list[str]:
    """The HMAC secret, sensitive headers and URL credentials of one channel."""
    found = [channel.secret] if channel.secret else []
    found.extend(_mapping_secrets(dict(channel.headers)))
    if channel.kind == "apprise":
        found.extend(apprise_url_secrets(channel.url))
    found.extend(url_secrets(channel.url))
    return found


def suite_secrets(suite: Suite) -> list[str]:
    """The suite part's credentials: ``auth:``, sensitive ``headers:`` and ``variables:``
    (a variable named ``api_token`` holds one), a password in ``base_url``."""
    found: list[str] = []
    for auth in suite.auth:
        found.extend(_auth_secrets(auth))
    found.extend(_mapping_secrets(suite.headers))
    found.extend(_mapping_secrets(suite.variables))
    if suite.base_url:
        found.extend(url_secrets(suite.base_url))
    return found


def url_secrets(url: str) -> list[str]:
    """Credentials in a URL: the password (and ``user:password``), sensitive query values,
    token-like path segments."""
    parts = urlsplit(url)
    found: list[str] = []
    if parts.password:
        found += [unquote(parts.password), f"{unquote(parts.username or '')}:"
                                            f"{unquote(parts.password)}"]
    for name, value in parse_qsl(parts.query):
        if is_sensitive_name(name) or _SENSITIVE_QUERY.search(name):
            found.append(value)
    found.extend(unquote(segment) for segment in parts.path.split("/")
                 if _TOKEN_SEGMENT.fullmatch(segment))
    return found


def apprise_url_secrets(url: str) -> list[str]:
    """The parts of an Apprise URL that Apprise itself masks in its private form.

    Apprise knows which fields of each service are credentials (``slack://A/B/C`` is all
    tokens, ``mailto://user:pass@host`` only the password): the URL it prints with
    ``privacy=True`` differs from the plain one exactly there.
    """
    from apprise import Apprise  # loads its plugins on first use: only when there is one

    plugin = Apprise.instantiate(url)
    if plugin is None:
        return []
    plain = _URL_PARTS.split(plugin.url(privacy=False))
    masked = _URL_PARTS.split(plugin.url(privacy=True))
    if len(plain) != len(masked):
        return []
    written = unquote(url)
    # Only values the user wrote: Apprise also masks defaults it fills in ("Apprise").
    return [value for value in (unquote(a) for a, b in zip(plain, masked, strict=True) if a != b)
            if value and value in written]


def _auth_secrets(auth: Auth) -> list[str]:
    if isinstance(auth, BearerAuth):
        return [auth.token]
    if isinstance(auth, BasicAuth):
        return [auth.password, f"{auth.username}:{auth.password}"]
    if isinstance(auth, ApiKeyAuth):
        return [auth.value]
    if isinstance(auth, OAuth2ClientCredentials):
        return [auth.client_secret]
    if isinstance(auth, LoginAuth):
        return list(_nested_secrets(auth.request))
    return []


def _nested_secrets(value: Any, sensitive: bool = False) -> Iterator[str]:
    """Values under sensitive keys anywhere in a login request (json, form, headers)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _nested_secrets(item, sensitive or is_sensitive_name(str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _nested_secrets(item, sensitive)
    elif sensitive and isinstance(value, str):
        yield from _header_value_secrets(value)


def _mapping_secrets(values: Mapping[str, Any], extra: re.Pattern[str] | None = None
                     ) -> Iterable[str]:
    for name, value in values.items():
        if isinstance(value, str) and (is_sensitive_name(str(name))
                                       or (extra is not None and extra.search(str(name)))):
            yield from _header_value_secrets(value)


def _header_value_secrets(value: str) -> list[str]:
    """``Bearer abc`` -> ``abc`` (the scheme is not secret); other values whole."""
    scheme, _, token = value.partition(" ")
    if token and scheme.lower() in ("bearer", "basic", "token", "digest", "apikey"):
        return [token.strip()]
    return [value]

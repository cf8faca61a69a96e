"""Does a request carry the credentials its operation's security requires?

Only presence and form are checked, never the value (a mock knows no real tokens):

============================ ===================================================
scheme                       present when the request has
============================ ===================================================
http ``bearer``              ``Authorization: Bearer <something>``
http ``basic``               ``Authorization: Basic <base64 of user:password>``
other http schemes           ``Authorization: <Scheme> ...``
apiKey                       the header, query parameter or cookie it names
oauth2, openIdConnect        ``Authorization: Bearer <something>``
mutualTLS                    always (the TLS layer's business, not the request's)
============================ ===================================================

``security`` lists alternatives; one whose schemes are all present is enough, and an
empty alternative (``{}``) lets anonymous requests in.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Protocol

from ..specs.model import ApiSpec, Operation, SecurityScheme


class RequestParts(Protocol):
    """The parts of a request a credential may sit in."""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""

    def query(self) -> dict[str, list[str]]:
        """The query string's values by name."""

    def cookies(self) -> dict[str, list[str]]:
        """The cookies' values by name."""


@dataclass(slots=True)
class SecurityPlan:
    """An operation's security alternatives, each a list of ``(name, scheme)``; a scheme
    the document does not define is ``None`` (and counts as present: it cannot be
    checked). ``message`` and ``challenges`` say what a request without them lacks."""

    alternatives: list[list[tuple[str, SecurityScheme | None]]]
    message: str
    challenges: tuple[str, ...]

    def satisfied(self, request: RequestParts) -> bool:
        """Whether one alternative has all its credentials in ``request``."""
        return any(all(scheme is None or present(scheme, request) for _, scheme in alternative)
                   for alternative in self.alternatives)

    def parameter_names(self) -> list[tuple[str, str]]:
        """``(location, name)`` of the apiKey credentials (``("query", "api_key")``)."""
        return [(scheme.location, scheme.param_name)
                for alternative in self.alternatives for _, scheme in alternative
                if scheme is not None and scheme.type == "apiKey"
                and scheme.location and scheme.param_name]


def security_plan(operation: Operation, spec: ApiSpec) -> SecurityPlan | None:
    """The ``SecurityPlan`` of ``operation``; ``None`` when anonymous requests are allowed."""
    if not operation.security or any(not alt for alt in operation.security):
        return None
    alternatives = [[(name, spec.security_schemes.get(name)) for name in alt]
                    for alt in operation.security]
    wanted = " or ".join(" and ".join(_describe(name, scheme) for name, scheme in alt)
                         for alt in alternatives)
    realm = spec.title.replace("\\", "\\\\").replace('"', '\\"') or "assay"
    challenges = tuple(dict.fromkeys(
        challenge(scheme, realm) for alt in alternatives for _, scheme in alt
        if scheme is not None))
    return SecurityPlan(alternatives, f"credentials are missing: expected {wanted}",
                        challenges)


def present(scheme: SecurityScheme, request: RequestParts) -> bool:
    """Whether ``request`` carries a credential of ``scheme`` in the expected form."""
    kind = scheme.type
    if kind == "mutualTLS":
        return True
    if kind == "apiKey":
        name = scheme.param_name or ""
        if scheme.location == "query":
            return any(request.query().get(name, ()))
        if scheme.location == "cookie":
            return any(request.cookies().get(name, ()))
        return bool((request.header(name) or "").strip())
    auth_scheme, _, credentials = (request.header("authorization") or "").strip().partition(" ")
    wanted = (scheme.scheme or "bearer").lower() if kind == "http" else "bearer"
    if auth_scheme.lower() != wanted:
        return False
    if wanted == "basic":
        return _is_basic(credentials.strip())
    return wanted != "bearer" or bool(credentials.strip())


def _is_basic(credentials: str) -> bool:
    try:
        return b":" in base64.b64decode(credentials, validate=True)
    except (binascii.Error, ValueError):
        return False


def challenge(scheme: SecurityScheme, realm: str) -> str:
    """A ``WWW-Authenticate`` challenge for ``scheme`` (``Bearer realm="Bookshelf"``)."""
    if scheme.type == "apiKey":
        # No registered HTTP scheme exists for API keys; this common form names the key.
        return f'ApiKey realm="{realm}", in="{scheme.location}", name="{scheme.param_name}"'
    if scheme.type == "http" and scheme.scheme:
        return f'{scheme.scheme.capitalize()} realm="{realm}"'
    return f'Bearer realm="{realm}"'


def _describe(name: str, scheme: SecurityScheme | None) -> str:
    if scheme is None:
        return name
    if scheme.type == "apiKey":
        where = {"query": "query parameter", "cookie": "cookie"}.get(scheme.location or "",
                                                                    "header")
        return f"{where} {scheme.param_name} ({name})"
    if scheme.type == "http" and scheme.scheme:
        return f"Authorization: {scheme.scheme.capitalize()} ... ({name})"
    if scheme.type == "mutualTLS":
        return f"a client certificate ({name})"
    return f"Authorization: Bearer ... ({name})"

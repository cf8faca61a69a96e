"""A suite's ``auth:`` section, turned into the records of ``assay.core.auth``.

Values are rendered with the suite's own variables (``variables:`` and ``--var``) when the
file is loaded, so ``bearer: "{{ token }}"`` with ``--var token=...`` works; captures do not
exist yet at that point, so a template naming one is an error here.
"""

from __future__ import annotations

from typing import Any

from ..core.auth import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    LoginAuth,
    OAuth2ClientCredentials,
)
from .template import TemplateError, render
from .yamlio import KeyPath, SourceMap


def build_auth(data: Any, path: KeyPath, where: SourceMap,
               variables: dict[str, Any]) -> tuple[Auth, ...]:
    """The auth records of a validated ``auth:`` value (a mapping or a list of them)."""
    if data is None:
        return ()
    groups = data if isinstance(data, list) else [data]
    records: list[Auth] = []
    for index, group in enumerate(groups):
        here = (*path, index) if isinstance(data, list) else path
        for kind, spec in group.items():
            try:
                spec = render(spec, variables)
            except TemplateError as exc:
                raise where.error((*here, kind), f"{exc.message} (auth may only use "
                                                 "variables: and --var values)") from exc
            records.append(_record(kind, spec))
    return tuple(records)


def _record(kind: str, spec: Any) -> Auth:
    if kind == "bearer":
        return BearerAuth(str(spec))
    if kind == "basic":
        return BasicAuth(str(spec["username"]), str(spec["password"]))
    if kind == "api_key":
        return ApiKeyAuth(
            value=str(spec["value"]),
            scheme=spec.get("scheme"),
            name=spec.get("name"),
            location=spec.get("in", "header"),
        )
    if kind == "oauth2_client_credentials":
        scopes = spec.get("scopes", ())
        if isinstance(scopes, str):
            scopes = scopes.split()
        return OAuth2ClientCredentials(
            token_url=spec["token_url"],
            client_id=str(spec["client_id"]),
            client_secret=str(spec["client_secret"]),
            scopes=tuple(scopes),
            audience=spec.get("audience"),
        )
    request = dict(spec["request"])
    if "method" in request:
        request["method"] = str(request["method"]).upper()
    return LoginAuth(
        request=request,
        token=spec.get("token", "$.token"),
        header=spec.get("header", "Authorization"),
        template=spec.get("template", "Bearer {token}"),
    )

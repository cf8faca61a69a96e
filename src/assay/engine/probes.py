"""Special requests of the coverage phase that are not about input values.

- ``unsupported_method``: for each path, one method it does not declare (PATCH first: it is
  the method servers most often route by mistake), sent to a real path (the base case's
  path parameters), expecting 405 with ``Allow``.
- ``no_credentials`` / ``invalid_credentials``: for each operation whose document requires
  credentials (no anonymous alternative), its valid base case sent without the run's
  credentials, then with well-formed but wrong ones for the scheme it names.
"""

from __future__ import annotations

import base64
from dataclasses import replace

from ..core.records import PARAMETER_FIELDS, Case
from ..specs.model import ApiSpec, Operation, SecurityScheme

METHOD_ORDER = ("PATCH", "PUT", "DELETE", "POST", "GET")
INVALID_SECRET = "assay-invalid-credentials"


def undeclared_method(spec: ApiSpec, path: str) -> str | None:
    """The first method of ``METHOD_ORDER`` that no operation of ``path`` declares."""
    declared = {op.method for op in spec.operations if op.path == path}
    return next((m for m in METHOD_ORDER if m not in declared), None)


def unsupported_method_case(spec: ApiSpec, base: Case) -> Case | None:
    """The ``unsupported_method`` probe for the path of ``base``, or None (all declared)."""
    method = undeclared_method(spec, base.path)
    if method is None:
        return None
    return Case(f"{method} {base.path}", method, base.path, path_params=dict(base.path_params),
                phase=base.phase, source=f"undeclared method {method}",
                probe="unsupported_method")


def requires_credentials(operation: Operation) -> bool:
    """True when every security alternative of ``operation`` names a scheme."""
    return bool(operation.security) and all(operation.security)


def auth_probe_cases(spec: ApiSpec, operation: Operation, base: Case) -> list[Case]:
    """The ``ignored_auth`` probes of ``operation`` (none when it allows anonymous calls)."""
    if not requires_credentials(operation):
        return []
    cases = [replace(base, probe="no_credentials", source="without credentials")]
    invalid = _with_invalid_credentials(spec, operation, base)
    if invalid is not None:
        cases.append(invalid)
    return cases


def _with_invalid_credentials(spec: ApiSpec, operation: Operation, base: Case) -> Case | None:
    for alternative in operation.security:
        schemes = [spec.security_schemes.get(name) for name in alternative]
        if not schemes or any(s is None or not _forgeable(s) for s in schemes):
            continue
        case = replace(base, headers=dict(base.headers), query=dict(base.query),
                       cookies=dict(base.cookies), probe="invalid_credentials",
                       source="with invalid credentials")
        for scheme in schemes:
            _forge(scheme, case)
        return case
    return None


def _forgeable(scheme: SecurityScheme) -> bool:
    if scheme.type == "apiKey":
        return bool(scheme.param_name) and scheme.location in ("header", "query", "cookie")
    if scheme.type == "http":
        return (scheme.scheme or "").lower() in ("bearer", "basic")
    return scheme.type in ("oauth2", "openIdConnect")


def _forge(scheme: SecurityScheme, case: Case) -> None:
    if scheme.type == "apiKey":
        getattr(case, PARAMETER_FIELDS[scheme.location])[scheme.param_name] = INVALID_SECRET
    elif scheme.type == "http" and (scheme.scheme or "").lower() == "basic":
        token = base64.b64encode(f"assay:{INVALID_SECRET}".encode()).decode()
        case.headers["Authorization"] = f"Basic {token}"
    else:
        case.headers["Authorization"] = f"Bearer {INVALID_SECRET}"

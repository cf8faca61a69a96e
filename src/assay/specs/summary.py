"""A plain, JSON-ready summary of a loaded ``ApiSpec`` (what ``assay inspect`` prints)."""

from __future__ import annotations

from typing import Any

from assay.core.errors import SpecError

from .model import ApiSpec, Operation, Parameter, SecurityScheme, SpecWarning
from .resolve import follow_ref


def spec_summary(spec: ApiSpec) -> dict[str, Any]:
    """The document's identity, servers, security schemes, warnings and operations.

    >>> spec_summary(spec)["operation_list"][0]  # doctest: +SKIP
    {'operation': 'GET /pets', 'operationId': 'listPets', 'tags': ['pets'],
     'parameters': [{'name': 'limit', 'in': 'query', 'required': False, 'type': 'integer'}],
     'request_body': [], 'responses': ['200', 'default'], 'security': [{'bearer': []}]}
    """
    return {
        "source": spec.source,
        "title": spec.title,
        "version": spec.version,
        "spec_version": spec.spec_version,
        "operations": len(spec.operations),
        "warnings": [format_warning(warning) for warning in spec.warnings],
        "servers": list(spec.servers),
        "security_schemes": {
            name: _scheme(scheme) for name, scheme in spec.security_schemes.items()
        },
        "operation_list": [_operation(spec, operation) for operation in spec.operations],
    }


def format_warning(warning: SpecWarning) -> str:
    """One line: ``"GET /pets: message"`` (or the pointer when no operation is named)."""
    where = warning.operation or warning.pointer
    return f"{where}: {warning.message}" if where else warning.message


def _scheme(scheme: SecurityScheme) -> dict[str, Any]:
    summary: dict[str, Any] = {"type": scheme.type}
    if scheme.type == "http":
        summary["scheme"] = scheme.scheme
    elif scheme.type == "apiKey":
        summary["in"] = scheme.location
        summary["name"] = scheme.param_name
    elif scheme.type == "oauth2":
        summary["flows"] = list(scheme.flows)
    elif scheme.type == "openIdConnect":
        summary["url"] = scheme.flows.get("openIdConnectUrl")
    return summary


def _operation(spec: ApiSpec, operation: Operation) -> dict[str, Any]:
    body = operation.request_body
    return {
        "operation": operation.label,
        "operationId": operation.operation_id,
        "tags": list(operation.tags),
        "parameters": [_parameter(spec, parameter) for parameter in operation.parameters],
        "request_body": list(body.content) if body is not None else [],
        "responses": list(operation.responses),
        "security": [dict(alternative) for alternative in operation.security],
    }


def _parameter(spec: ApiSpec, parameter: Parameter) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "in": parameter.location,
        "required": parameter.required,
        "type": schema_type(spec, parameter.schema),
    }


def schema_type(spec: ApiSpec, schema: Any) -> str | None:
    """The ``type`` of a schema (its ref followed) as text: ``"integer"``, ``"string|null"``."""
    try:
        schema = follow_ref(spec, schema)
    except SpecError:
        return None
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        return "|".join(str(item) for item in kind)
    return kind if isinstance(kind, str) else None

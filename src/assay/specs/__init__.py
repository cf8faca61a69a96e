"""Loading API descriptions (OpenAPI 3.0/3.1, Swagger 2.0) into the operation model."""

from .loader import load_spec, load_spec_text
from .model import (
    ApiSpec,
    Example,
    Header,
    MediaType,
    Operation,
    Parameter,
    RequestBody,
    ResponseSpec,
    SecurityScheme,
    SpecWarning,
)
from .resolve import follow_ref, lookup_ref, resolve_schema
from .summary import spec_summary

__all__ = [
    "ApiSpec",
    "Example",
    "Header",
    "MediaType",
    "Operation",
    "Parameter",
    "RequestBody",
    "ResponseSpec",
    "SecurityScheme",
    "SpecWarning",
    "follow_ref",
    "load_spec",
    "load_spec_text",
    "lookup_ref",
    "resolve_schema",
    "spec_summary",
]

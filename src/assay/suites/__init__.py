"""YAML suites: hand-written scenarios, their model, loading and ``{{ template }}`` rendering.

``load_suite`` reads and validates a file (against ``suite.schema.json``, shipped here for
editors too) into a frozen ``Suite``; ``render`` fills templates at run time.
"""

from .loader import is_suite_document, load_suite, looks_like_suite
from .model import (
    JSON_TYPES,
    OPERATORS,
    Capture,
    Expect,
    FilePart,
    Matcher,
    RequestTemplate,
    Retry,
    Scenario,
    Step,
    Suite,
)
from .template import TemplateError, render, render_request
from .validate import suite_schema

__all__ = [
    "JSON_TYPES",
    "OPERATORS",
    "Capture",
    "Expect",
    "FilePart",
    "Matcher",
    "RequestTemplate",
    "Retry",
    "Scenario",
    "Step",
    "Suite",
    "TemplateError",
    "is_suite_document",
    "load_suite",
    "looks_like_suite",
    "render",
    "render_request",
    "suite_schema",
]

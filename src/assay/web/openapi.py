"""The API's own OpenAPI 3.1 document (``openapi.yaml`` beside this module).

It is read once when an app is built and served as JSON at ``/api/openapi.json``. Without
``--auth-token`` the API asks for no credentials, so the served document drops its security
requirement: the document always says what the running API does.
"""

from __future__ import annotations

import copy
from importlib.resources import files
from typing import Any

import yaml

from ..core.errors import InternalError

DOCUMENT = "openapi.yaml"


def document_text() -> str:
    """The document as written (YAML)."""
    return files(__package__).joinpath(DOCUMENT).read_text(encoding="utf-8")


def load_document(*, auth: bool) -> dict[str, Any]:
    """The document for an app that requires a bearer token (``auth``) or not."""
    try:
        document = yaml.safe_load(document_text())
    except yaml.YAMLError as exc:  # a packaging bug, not a user's mistake
        raise InternalError(f"assay's API document {DOCUMENT} is not valid YAML: {exc}",
                            source=DOCUMENT) from exc
    return document if auth else without_security(document)


def without_security(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with no security requirement nor scheme."""
    found = copy.deepcopy(document)
    found.pop("security", None)
    found.get("components", {}).pop("securitySchemes", None)
    for operations in found.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return found

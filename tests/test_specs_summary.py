"""``spec_summary``: what ``assay inspect`` prints about a loaded document."""

from __future__ import annotations

import json
from pathlib import Path

from assay.specs import load_spec, spec_summary

DATA = Path(__file__).parent / "data" / "specs"


def test_summary_of_an_openapi_document() -> None:
    source = str(DATA / "petstore30.yaml")
    summary = spec_summary(load_spec(source))
    assert json.loads(json.dumps(summary)) == summary  # plain JSON data
    assert {k: summary[k] for k in ("source", "title", "version", "spec_version",
                                    "operations", "warnings", "servers")} == {
        "source": source, "title": "Petstore 3.0", "version": "2.1", "spec_version": "3.0.3",
        "operations": 3, "warnings": [], "servers": ["https://eu.example.com/v2", "/relative"],
    }
    assert summary["security_schemes"] == {
        "bearer": {"type": "http", "scheme": "bearer"},
        "key": {"type": "apiKey", "in": "query", "name": "api_key"},
        "oidc": {"type": "openIdConnect",
                 "url": "https://auth.example.com/.well-known/openid-configuration"},
    }
    first, create, one = summary["operation_list"]
    assert first["operation"] == "GET /pets"
    assert first["operationId"] == "listPets"
    assert first["tags"] == ["pets"]
    assert first["parameters"][:2] == [
        {"name": "limit", "in": "query", "required": False, "type": "integer"},
        {"name": "X-Request-Id", "in": "header", "required": True, "type": "string"},
    ]
    assert first["responses"] == ["200", "2XX", "default"]
    assert first["security"] == [{"bearer": []}]
    assert (create["request_body"], create["security"]) == (["application/json"], [])
    assert one["parameters"] == [{"name": "petId", "in": "path", "required": True,
                                  "type": "integer"}]


def test_summary_lists_warnings_and_follows_refs_for_types() -> None:
    summary = spec_summary(load_spec(str(DATA / "multi" / "api.yaml")))
    assert summary["operation_list"][0]["parameters"] == [
        {"name": "limit", "in": "query", "required": False, "type": "integer"}]  # via a $ref
    imperfect = spec_summary(load_spec(str(DATA / "imperfect.yaml")))
    assert "PUT /a: a parameter has no name; expected a non-empty string 'name'" in imperfect[
        "warnings"]
    swagger = spec_summary(load_spec(str(DATA / "swagger_petstore.yaml")))
    assert swagger["security_schemes"]["oauth"] == {"type": "oauth2",
                                                    "flows": ["authorizationCode"]}

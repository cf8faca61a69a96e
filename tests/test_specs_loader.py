"""Loading Swagger 2.0, OpenAPI 3.0 and 3.1 documents into the operation model."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from assay.specs import ApiSpec, load_spec

DATA = Path(__file__).parent / "data" / "specs"


def _ref(spec: ApiSpec, pointer: str) -> dict:
    return {"$ref": f"{spec.base_uri}#{pointer}"}


def _registry_schema(spec: ApiSpec, pointer: str) -> dict:
    return spec.registry.resolver().lookup(f"{spec.base_uri}#{pointer}").contents


def _valid(spec: ApiSpec, schema: object, instance: object) -> bool:
    return Draft202012Validator(schema, registry=spec.registry).is_valid(instance)


@pytest.fixture(scope="module")
def swagger() -> ApiSpec:
    return load_spec(str(DATA / "swagger_petstore.yaml"))


@pytest.fixture(scope="module")
def oas30() -> ApiSpec:
    return load_spec(str(DATA / "petstore30.yaml"))


# Swagger 2.0 -----------------------------------------------------------------------------

def test_swagger_identity_and_servers(swagger: ApiSpec) -> None:
    assert (swagger.title, swagger.version, swagger.spec_version) == (
        "Swagger Petstore", "1.0.0", "2.0")
    assert swagger.servers == ["https://petstore.example.com/v1", "http://petstore.example.com/v1"]
    assert swagger.base_uri == (DATA / "swagger_petstore.yaml").absolute().as_uri()
    assert swagger.warnings == []
    assert [op.label for op in swagger.operations] == [
        "GET /pets", "POST /pets", "GET /pets/{petId}", "POST /pets/{petId}/photo",
        "PUT /pets/{petId}/tags",
    ]


def test_swagger_collection_formats_map_to_styles(swagger: ApiSpec) -> None:
    op = swagger.operation("get", "/pets")
    styles = {p.name: (p.location, p.style, p.explode) for p in op.parameters}
    assert styles == {
        "limit": ("query", "form", True),
        "tags": ("query", "form", False),  # csv is the Swagger default for arrays
        "ids": ("query", "form", True),  # multi
        "words": ("query", "spaceDelimited", False),
        "flags": ("query", "pipeDelimited", False),
        "X-Trace": ("header", "simple", False),
    }
    limit = op.parameter("limit", "query")
    assert limit.schema == {"type": "integer", "minimum": 1, "exclusiveMaximum": 100}
    assert [e.value for e in limit.examples] == [20]
    path_param = swagger.operation("GET", "/pets/{petId}").parameter("petId", "path")
    assert (path_param.required, path_param.style, path_param.explode) == (True, "simple", False)


def test_swagger_body_parameter_becomes_request_body(swagger: ApiSpec) -> None:
    op = swagger.operation("POST", "/pets")
    assert op.parameters == []
    assert op.request_body.required is True
    assert list(op.request_body.content) == ["application/json"]
    assert op.request_body.content["application/json"].schema == _ref(swagger, "/definitions/NewPet")
    assert op.security == []
    assert op.responses["201"].content["application/json"].schema == _ref(
        swagger, "/definitions/Pet")


def test_swagger_form_with_file_is_multipart(swagger: ApiSpec) -> None:
    body = swagger.operation("POST", "/pets/{petId}/photo").request_body
    assert list(body.content) == ["multipart/form-data"]
    schema = body.content["multipart/form-data"].schema
    assert schema == {
        "type": "object",
        "properties": {"caption": {"type": "string"},
                       "file": {"type": "string", "format": "binary"}},
        "required": ["file"],
    }
    assert body.required is True


def test_swagger_form_without_file_is_urlencoded(swagger: ApiSpec) -> None:
    op = swagger.operation("PUT", "/pets/{petId}/tags")
    media = op.request_body.content["application/x-www-form-urlencoded"]
    assert list(op.request_body.content) == ["application/x-www-form-urlencoded"]
    assert media.schema["properties"]["name"]["type"] == ["string", "null"]
    assert media.schema["required"] == ["name"]
    assert media.encoding == {"labels": {"style": "form", "explode": True}}
    assert op.servers == ["http://petstore.example.com/v1"]  # the operation's own schemes


def test_swagger_responses_produces_headers_examples(swagger: ApiSpec) -> None:
    listing = swagger.operation("GET", "/pets").responses
    assert list(listing) == ["200", "default"]
    ok = listing["200"]
    assert ok.headers["X-Rate-Limit"].schema == {"type": "integer", "format": "int32"}
    media = ok.content["application/json"]
    assert [e.value for e in media.examples] == [[{"id": 1, "name": "Rex"}]]
    assert media.examples[0].pointer == "/paths/~1pets/get/responses/200/examples/application~1json"
    one = swagger.operation("GET", "/pets/{petId}").responses
    assert list(one["200"].content) == ["application/json", "application/xml"]
    assert one["404"].content == {}


def test_swagger_definitions_translated_in_registry(swagger: ApiSpec) -> None:
    pet = _registry_schema(swagger, "/definitions/Pet")
    assert pet["properties"]["id"] == {"type": "integer", "format": "int64", "exclusiveMinimum": 0}
    assert pet["properties"]["name"]["examples"] == ["Rex"]
    assert pet["properties"]["owner"] == {
        "anyOf": [_ref(swagger, "/definitions/Owner"), {"type": "null"}]}
    schema = swagger.operation("GET", "/pets").responses["200"].content["application/json"].schema
    assert _valid(swagger, schema, [{"id": 1, "name": "a", "tag": None, "owner": None}])
    assert not _valid(swagger, schema, [{"id": 0, "name": "a"}])


def test_swagger_security_definitions(swagger: ApiSpec) -> None:
    schemes = swagger.security_schemes
    assert (schemes["basicAuth"].type, schemes["basicAuth"].scheme) == ("http", "basic")
    key = schemes["apiKey"]
    assert (key.type, key.location, key.param_name) == ("apiKey", "header", "X-API-Key")
    assert schemes["oauth"].flows == {"authorizationCode": {
        "authorizationUrl": "https://auth.example.com/authorize",
        "tokenUrl": "https://auth.example.com/token",
        "scopes": {"read:pets": "read your pets"},
    }}
    assert swagger.operation("GET", "/pets").security == [{"apiKey": []}]


# OpenAPI 3.0 -----------------------------------------------------------------------------

def test_oas30_identity_servers_and_yaml_scalars(oas30: ApiSpec) -> None:
    assert (oas30.title, oas30.version, oas30.spec_version) == ("Petstore 3.0", "2.1", "3.0.3")
    assert oas30.servers == ["https://eu.example.com/v2", "/relative"]
    assert oas30.warnings == []
    create = oas30.operation("POST", "/pets")
    # YAML 1.1 would have made this {"name": "Rex", True: True}.
    assert create.request_body.content["application/json"].examples[0].value == {
        "name": "Rex", "on": "yes"}
    assert create.servers == ["https://upload.example.com"]
    assert create.security == []
    listing = oas30.operation("GET", "/pets").responses["200"].content["application/json"]
    assert listing.examples[0].value == [{"id": 1, "name": "Rex", "born": "2020-01-02"}]


def test_oas30_schema_translation(oas30: ApiSpec) -> None:
    pet = _registry_schema(oas30, "/components/schemas/Pet")
    props = pet["properties"]
    assert props["id"] == {"type": "integer", "exclusiveMinimum": 0, "readOnly": True}
    assert props["name"] == {"type": "string", "examples": ["Rex"]}
    assert props["nickname"] == {"type": ["string", "null"]}
    assert props["status"] == {"type": ["string", "null"], "enum": ["available", "sold", None]}
    owner = _ref(oas30, "/components/schemas/Owner")
    assert props["owner"] == {"anyOf": [owner, {"type": "null"}]}
    assert props["friend"] == owner  # 3.0 ignores siblings of $ref
    assert props["anything"] == {}
    assert props["born"] == {"type": "string", "format": "date", "examples": ["2020-01-02"]}
    assert props["x-extra"] == {"x-vendor": "kept"}
    assert pet["x-entity"] == "pet"
    assert pet["discriminator"]["mapping"]["owner"] == owner["$ref"]
    assert _valid(oas30, pet, {"id": 1, "name": "Rex", "nickname": None, "status": None,
                               "owner": None})
    assert not _valid(oas30, pet, {"id": 0, "name": "Rex"})
    assert not _valid(oas30, pet, {"id": 1, "name": "Rex", "status": "lost"})


def test_oas30_parameters_merged_and_defaulted(oas30: ApiSpec) -> None:
    op = oas30.operation("GET", "/pets")
    assert [(p.name, p.location) for p in op.parameters] == [
        ("limit", "query"), ("X-Request-Id", "header"), ("session", "cookie"),
        ("filter", "query"), ("sort", "query"),
    ]  # Accept is ignored, as OpenAPI 3 says
    limit = op.parameter("limit", "query")
    assert limit.schema == {"type": "integer", "minimum": 1, "exclusiveMaximum": 100}
    assert [(e.name, e.value) for e in limit.examples] == [(None, 10), ("small", 2)]
    assert limit.examples[1].pointer == "/paths/~1pets/get/parameters/0/examples/small/value"
    header = op.parameter("x-request-id", "header")
    assert (header.required, header.style, header.explode) == (True, "simple", False)
    cookie = op.parameter("session", "cookie")
    assert (cookie.style, cookie.explode) == ("form", True)
    content_param = op.parameter("filter", "query")
    assert content_param.media_type == "application/json"
    assert content_param.examples[0].value == {"color": "red"}
    assert (op.parameter("sort", "query").style, op.parameter("sort", "query").explode) == (
        "pipeDelimited", False)
    path_param = oas30.operation("GET", "/pets/{petId}").parameters[0]
    assert path_param.required is True  # path parameters always are


def test_oas30_responses_headers_links_security(oas30: ApiSpec) -> None:
    op = oas30.operation("GET", "/pets")
    assert list(op.responses) == ["200", "2XX", "default"]
    ok = op.responses["200"]
    assert list(ok.headers) == ["X-Next"]
    assert ok.headers["X-Next"].required is True
    assert ok.headers["X-Next"].schema == {"type": ["string", "null"]}
    assert ok.links["first"]["operationId"] == "getPet"
    assert op.response_for(204) is op.responses["2XX"]
    assert op.security == [{"bearer": []}]
    assert (op.operation_id, op.tags, op.pointer) == ("listPets", ["pets"], "/paths/~1pets/get")
    schemes = oas30.security_schemes
    assert (schemes["bearer"].scheme, schemes["bearer"].bearer_format) == ("bearer", "JWT")
    assert (schemes["key"].location, schemes["key"].param_name) == ("query", "api_key")
    assert schemes["oidc"].type == "openIdConnect"


# OpenAPI 3.1 -----------------------------------------------------------------------------

def test_oas31_schemas_kept_refs_rewritten() -> None:
    spec = load_spec(str(DATA / "oas31.yaml"))
    assert spec.spec_version == "3.1.0"
    assert [op.label for op in spec.operations] == ["GET /items/{id}"]  # webhooks are not paths
    op = spec.operations[0]
    assert op.parameters[0].schema == {"type": "integer", "exclusiveMinimum": 0}
    schema = op.responses["200"].content["application/json"].schema
    assert schema == {**_ref(spec, "/components/schemas/Item"), "description": "kept in 3.1"}
    item = _registry_schema(spec, "/components/schemas/Item")
    assert item["properties"]["name"] == {"type": ["string", "null"]}
    assert item["examples"] == [{"name": "a"}]
    good = {"name": None, "price": {"amount": 1, "currency": "EUR"}, "tags": ["a"]}
    assert _valid(spec, schema, good)
    # currency.json is resolved against the $id of Price (an embedded resource).
    assert not _valid(spec, schema, {**good, "price": {"currency": "XXX"}})
    assert not _valid(spec, schema, {**good, "tags": ["a", "b"]})

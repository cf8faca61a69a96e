"""``$ref``s: other files, URLs, recursive schemas, refs to OpenAPI objects, broken refs."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from assay.core.errors import SpecError
from assay.specs import ApiSpec, follow_ref, load_spec, load_spec_text, resolve_schema
from servers import Canned, RecordingApp, serve

DATA = Path(__file__).parent / "data" / "specs"
MULTI = DATA / "multi"

ITEM = {"name": "pen", "price": {"amount": 2.5, "currency": "EUR"}, "note": None}


def _validator(spec: ApiSpec, schema: object) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=spec.registry)


def _response_schema(spec: ApiSpec, method: str, path: str, status: str = "200") -> object:
    return spec.operation(method, path).responses[status].content["application/json"].schema


def test_multi_file_refs_resolve_relative_to_the_file_holding_them() -> None:
    spec = load_spec(str(MULTI / "api.yaml"))
    assert spec.warnings == []
    assert [op.label for op in spec.operations] == ["GET /items", "GET /items/{id}"]
    listing = spec.operation("GET", "/items")
    assert listing.operation_id == "listItems"  # from paths/items.yaml
    limit = listing.parameter("limit", "query")  # ../parameters.yaml, then its own ref
    assert limit.schema == {"$ref": (MULTI / "schemas/common/limit.yaml").absolute().as_uri()}
    assert _validator(spec, limit.schema).is_valid(5)
    assert not _validator(spec, limit.schema).is_valid(0)
    many = _validator(spec, _response_schema(spec, "GET", "/items"))
    assert many.is_valid([ITEM])
    # money.yaml is reached from schemas/item.yaml as common/money.yaml, and refers back
    # into itself (#/Currency) and up to ../api.yaml (a 3.0 nullable, translated).
    errors = [e.message for e in many.iter_errors([{**ITEM, "price": {"amount": None,
                                                                      "currency": "eur"}}])]
    assert errors == ["'eur' does not match '^[A-Z]{3}$'"]
    one = _validator(spec, _response_schema(spec, "GET", "/items/{id}"))
    assert one.is_valid(ITEM)
    assert not one.is_valid({**ITEM, "note": 3})


def test_circular_schemas_validate_nested_instances() -> None:
    spec = load_spec(str(DATA / "circular.yaml"))
    tree = _validator(spec, _response_schema(spec, "GET", "/tree"))
    deep = {"value": 1, "children": [{"value": 2, "children": [{"value": 3, "children": []}]}]}
    assert tree.is_valid(deep)
    broken = {"value": 1, "children": [{"value": 2, "children": [{"children": []}]}]}
    assert [e.message for e in tree.iter_errors(broken)] == ["'value' is a required property"]
    people = _validator(spec, _response_schema(spec, "GET", "/people"))
    assert people.is_valid({"name": "a", "employer": {"staff": [{"name": "b", "employer": None}]}})
    assert not people.is_valid({"employer": {"staff": [{"name": 5}]}})


def test_resolve_schema_inlines_refs_to_a_depth() -> None:
    spec = load_spec(str(DATA / "circular.yaml"))
    schema = _response_schema(spec, "GET", "/tree")
    node = follow_ref(spec, schema)
    assert node["required"] == ["value"]
    inlined = resolve_schema(spec, schema, max_depth=2)
    child = inlined["properties"]["children"]["items"]
    assert child["required"] == ["value"]
    # Beyond the depth the ref stays, and still resolves.
    tail = child["properties"]["children"]["items"]
    assert tail == {"$ref": f"{spec.base_uri}#/components/schemas/Node"}
    assert schema == {"$ref": f"{spec.base_uri}#/components/schemas/Node"}  # not modified


def test_refs_where_openapi_objects_are_expected() -> None:
    spec = load_spec(str(DATA / "refs_objects.yaml"))
    assert [op.label for op in spec.operations] == [
        "GET /things", "POST /things", "GET /things/{id}"]
    listing = spec.operation("GET", "/things")  # a $ref path item
    assert listing.pointer == "/paths/~1things/get"
    assert listing.parameter("limit", "query").schema == {"type": "integer"}  # ref to a ref
    ok = listing.responses["200"]  # a $ref response with a $ref header
    assert ok.headers["X-Total"].required is True
    assert ok.description == "things"
    create = spec.operation("POST", "/things")  # a $ref request body
    assert create.request_body.required is True
    one = spec.operation("GET", "/things/{id}")  # a $ref operation, a $ref example
    assert one.operation_id == "getThing"
    assert one.parameter("id", "path").schema == {"type": "integer"}
    assert [(e.name, e.value) for e in one.responses["200"].content["application/json"].examples
            ] == [("one", {"id": 1, "name": "one"})]
    assert spec.security_schemes["key"].param_name == "X-Key"  # a $ref security scheme
    # Two parameters referring to each other: that operation alone is skipped.
    [warning] = spec.warnings
    assert warning.operation == "DELETE /things/{id}"
    assert "cycle" in warning.message
    assert warning.pointer == "/paths/~1things~1{id}/delete/parameters/0"


def test_broken_refs_skip_only_the_operations_that_use_them() -> None:
    spec = load_spec(str(DATA / "broken_ref.yaml"))
    assert [op.label for op in spec.operations] == ["GET /ok"]
    skipped = {w.operation: w for w in spec.warnings if w.operation}
    assert set(skipped) == {"GET /missing-param", "GET /missing-schema", "GET /missing-deep",
                            "POST /missing-file"}
    assert "#/components/schemas/Missing" in skipped["GET /missing-deep"].message
    assert skipped["GET /missing-deep"].pointer == "/paths/~1missing-deep/get"
    assert "file not found" in skipped["POST /missing-file"].message
    assert "#/components/parameters/Nope" in skipped["GET /missing-param"].message
    [unused] = [w for w in spec.warnings if w.operation is None]
    assert "AlsoMissing" in unused.message and "/components/schemas/Unused" in unused.message
    ok = _validator(spec, _response_schema(spec, "GET", "/ok"))
    assert ok.is_valid({"next": {"next": {}}})
    assert not ok.is_valid({"next": {"next": 1}})


def test_relative_ref_in_memory_needs_a_base_uri() -> None:
    text = (MULTI / "api.yaml").read_text()
    spec = load_spec_text(text, source="api.yaml")
    assert spec.operations == []
    assert {w.operation for w in spec.warnings} == {"/items", "GET /items/{id}"}
    assert all("base_uri" in w.message for w in spec.warnings)
    based = load_spec_text(text, base_uri=(MULTI / "api.yaml").absolute().as_uri())
    assert len(based.operations) == 2 and based.warnings == []


def _static_site(folder: Path, prefix: str) -> RecordingApp:
    routes = {
        f"GET {prefix}/{path.relative_to(folder).as_posix()}": Canned(
            200, path.read_bytes(), {"content-type": "application/yaml"})
        for path in folder.rglob("*.yaml")
    }
    return RecordingApp(routes)


def test_load_from_url_follows_relative_refs_over_http() -> None:
    app = _static_site(MULTI, "/specs")
    with serve(app) as base:
        spec = load_spec(f"{base}/specs/api.yaml")
    assert spec.base_uri == f"{base}/specs/api.yaml"
    assert [op.label for op in spec.operations] == ["GET /items", "GET /items/{id}"]
    fetched = sorted(r.path for r in app.received)
    assert fetched == ["/specs/api.yaml", "/specs/parameters.yaml", "/specs/paths/items.yaml",
                       "/specs/schemas/common/limit.yaml", "/specs/schemas/common/money.yaml",
                       "/specs/schemas/item.yaml"]  # each document once
    schema = _response_schema(spec, "GET", "/items/{id}")
    assert schema == {"$ref": f"{base}/specs/schemas/item.yaml"}
    assert _validator(spec, schema).is_valid(ITEM)
    assert not _validator(spec, schema).is_valid({**ITEM, "price": {"amount": 1}})


def test_local_document_refers_to_an_absolute_url() -> None:
    app = _static_site(MULTI, "/specs")
    with serve(app) as base:
        document = (
            'openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n'
            "      responses:\n        '200':\n          description: ok\n          content:\n"
            "            application/json:\n"
            f"              schema: {{$ref: '{base}/specs/schemas/item.yaml'}}\n"
        )
        spec = load_spec_text(document, base_uri=(DATA / "inline.yaml").absolute().as_uri())
    assert spec.warnings == []
    assert sorted(r.path for r in app.received) == [
        "/specs/api.yaml", "/specs/schemas/common/money.yaml", "/specs/schemas/item.yaml"]
    validator = _validator(spec, _response_schema(spec, "GET", "/a"))
    assert validator.is_valid(ITEM)
    assert not validator.is_valid({**ITEM, "name": 1})


def test_remote_document_cannot_refer_to_local_files() -> None:
    local = (DATA / "circular.yaml").absolute().as_uri()
    document = (
        'openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n'
        "      responses:\n        '200':\n          description: ok\n          content:\n"
        "            application/json:\n"
        f"              schema: {{$ref: '{local}#/components/schemas/Node'}}\n"
    )
    app = RecordingApp({"GET /api.yaml": Canned(200, document)})
    with serve(app) as base:
        spec = load_spec(f"{base}/api.yaml")
    assert spec.operations == []
    assert "local file" in spec.warnings[0].message


def test_url_errors_are_spec_errors() -> None:
    with serve(RecordingApp()) as base:
        with pytest.raises(SpecError) as info:
            load_spec(f"{base}/missing.yaml")
    assert "HTTP 404" in str(info.value)
    assert info.value.source == f"{base}/missing.yaml"

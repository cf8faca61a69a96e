"""The conformance checks, on response records built by hand (pure logic)."""

from __future__ import annotations

import json

import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from assay.checks.registry import CheckContext, build_registry
from assay.checks.status import error_signature
from assay.core.errors import UsageError
from assay.core.records import Response, Timings
from assay.specs.model import Header, MediaType, Operation, ResponseSpec

BOOK = {
    "type": "object",
    "required": ["id", "title", "password"],
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "title": {"type": "string"},
        "published": {"type": ["integer", "null"]},
        "password": {"type": "string", "writeOnly": True},
        "created": {"type": "string", "format": "date-time"},
    },
}


def response(status=200, body=b"", content_type="application/json", headers=(), total=0.01):
    hdrs = [("content-type", content_type)] if content_type else []
    hdrs.extend(headers)
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return Response(status, hdrs, body, Timings(total=total))


def operation(**responses):
    return Operation("GET", "/books/{id}", responses=responses or {
        "200": ResponseSpec("200", content={"application/json": MediaType("application/json", BOOK)},
                            headers={"X-Rate": Header("X-Rate", True, {"type": "integer"})}),
        "4XX": ResponseSpec("4XX", content={"application/problem+json": MediaType(
            "application/problem+json", {"type": "object"})}),
    })


def run(check, resp, op=None, **ctx):
    registry = build_registry([check])
    return registry.run(CheckContext(op or operation(), **ctx), resp, None)


def test_server_error_is_found_with_a_stable_signature():
    tb = b"Traceback (most recent call last):\n  File 'x', line 12\nKeyError: 'limit 51'"
    first = run("not_a_server_error", response(500, tb, "text/plain"))
    again = run("not_a_server_error", response(500, tb.replace(b"51", b"77"), "text/plain"))
    assert [f.check for f in first] == ["not_a_server_error"]
    assert first[0].message == "Server error 500: KeyError: 'limit 51'"
    assert again[0].message.endswith("'limit 77'")
    assert first[0].cause == again[0].cause
    assert run("not_a_server_error", response(404, {"x": 1})) == []


def test_error_signature_prefers_json_error_fields():
    resp = response(503, {"error": "database 42 unavailable"})
    assert error_signature(resp) == "database # unavailable"


def test_a_server_error_is_not_also_an_undocumented_status():
    registry = build_registry(["all"])
    failures = registry.run(CheckContext(operation()), response(500, b"boom", "text/plain"), None)
    assert [f.check for f in failures] == ["not_a_server_error"]
    alone = build_registry(["status_code_conformance"])
    failures = alone.run(CheckContext(operation()), response(500, b"boom", "text/plain"), None)
    assert [f.check for f in failures] == ["status_code_conformance"]


def test_status_code_conformance_accepts_exact_ranges_and_default():
    assert run("status_code_conformance", response(200, {})) == []
    assert run("status_code_conformance", response(404, {})) == []  # 4XX range
    failures = run("status_code_conformance", response(500, {}))
    assert failures[0].cause == "500" and "200, 4XX" in failures[0].message
    op = operation(default=ResponseSpec("default"))
    assert run("status_code_conformance", response(500, {}), op) == []


def test_content_type_conformance():
    assert run("content_type_conformance", response(200, {}, "application/json; charset=utf-8")) == []
    failures = run("content_type_conformance", response(200, b"ok", "text/plain"))
    assert failures[0].cause == "text/plain"
    missing = run("content_type_conformance", response(200, b"ok", None))
    assert missing[0].cause == "missing"
    assert run("content_type_conformance", response(200, b"", None)) == []


def test_required_header_missing_and_invalid():
    ok = response(200, {"id": 1, "title": "t"}, headers=[("X-Rate", "10")])
    assert run("response_headers_conformance", ok) == []
    missing = run("response_headers_conformance", response(200, {}))
    assert missing[0].cause == "missing:x-rate"
    invalid = run("response_headers_conformance", response(200, {}, headers=[("x-rate", "ten")]))
    assert invalid[0].cause == "invalid:x-rate"


def test_schema_conformance_handles_write_only_and_nullable():
    # writeOnly 'password' is required but never sent by a server: not a violation.
    body = {"id": 1, "title": "Dune", "published": None}
    assert run("response_schema_conformance", response(200, body)) == []


def test_schema_violations_are_one_failure_per_schema_path():
    body = {"id": "1", "title": 5, "created": "yesterday"}
    failures = run("response_schema_conformance", response(200, body))
    causes = sorted(f.cause for f in failures)
    assert causes == ["properties/created/format", "properties/id/type", "properties/title/type"]
    assert any(f.message.startswith("$.id:") for f in failures)


def test_schema_conformance_reports_invalid_json():
    failures = run("response_schema_conformance", response(200, b"{nope"))
    assert failures[0].cause == "invalid_json"


def test_schema_refs_resolve_through_the_registry():
    uri = "file:///api.json"
    doc = {"components": {"schemas": {"Node": {"type": "object", "properties": {
        "child": {"$ref": f"{uri}#/components/schemas/Node"}, "v": {"type": "integer"}}}}}}
    registry = Registry().with_resource(uri, Resource(doc, DRAFT202012))
    op = operation(**{"200": ResponseSpec("200", content={"application/json": MediaType(
        "application/json", {"$ref": f"{uri}#/components/schemas/Node"})})})
    good = {"v": 1, "child": {"v": 2, "child": {"v": 3}}}
    bad = {"v": 1, "child": {"v": 2, "child": {"v": "x"}}}
    assert run("response_schema_conformance", response(200, good), op, registry=registry) == []
    failures = run("response_schema_conformance", response(200, bad), op, registry=registry)
    assert failures and "$.child.child.v" in failures[0].message


def test_max_response_time_only_when_configured():
    slow = response(200, {}, total=0.8)
    assert run("max_response_time", slow) == []
    failures = run("max_response_time", slow, max_response_time=0.5)
    assert "800 ms" in failures[0].message and "500 ms" in failures[0].message


def test_registry_selection_and_unknown_names():
    names = build_registry(["all"], ["max_response_time"]).names
    assert "max_response_time" not in names and "not_a_server_error" in names
    assert build_registry(["not_a_server_error,status_code_conformance"]).names == (
        "not_a_server_error", "status_code_conformance")
    with pytest.raises(UsageError) as info:
        build_registry(["not_a_check"])
    assert "--checks" in str(info.value) and "not_a_check" in str(info.value)


def test_instance_paths_quote_keys_that_are_not_names():
    schema = {"type": "object", "properties": {"a b": {"type": "integer"},
                                               "items": {"items": {"type": "string"}}}}
    op = operation(**{"200": ResponseSpec("200", content={"application/json": MediaType(
        "application/json", schema)})})
    failures = run("response_schema_conformance", response(200, {"a b": "x", "items": [1]}), op)
    assert sorted(f.message.split(":")[0] for f in failures) == ["$.items[0]", "$['a b']"]


def test_messages_show_values_as_json():
    body = {"id": 1, "title": "t", "published": True}
    op = operation(**{"200": ResponseSpec("200", content={"application/json": MediaType(
        "application/json", {"type": "object", "properties": {
            "published": {"type": ["integer", "null"]},
            "kind": {"enum": ["a", None]}}})})})
    [failure] = run("response_schema_conformance", response(200, body), op)
    assert failure.message == "$.published: true is not of type integer or null"
    [failure] = run("response_schema_conformance", response(200, {"kind": "b"}), op)
    assert failure.message == '$.kind: "b" is not one of ["a", null]'

"""Negative values (generation/negative.py): named, verified invalid, and sendable."""

from __future__ import annotations

import importlib.resources
import math
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from assay.core.records import Case
from assay.generation.coverage import boundary_values
from assay.generation.negative import (
    KIND_KEYWORDS,
    NegativeValue,
    negative_value_strategy,
    negative_values,
)
from assay.generation.wire import received
from assay.http.build import build_request
from assay.specs import load_spec
from assay.specs.coerce import coerce_text
from assay.specs.model import Operation, Parameter
from assay.specs.validators import schema_validator
from corpus import CORPUS, request_schemas
from servers import RecordingApp, serve

R = Registry()

NODE_DOC = {"$defs": {"Node": {
    "type": "object", "required": ["value"],
    "properties": {
        "value": {"type": "integer", "minimum": 0, "maximum": 9},
        "next": {"$ref": "urn:test#/$defs/Node"},
        "children": {"type": "array", "maxItems": 3, "items": {"$ref": "urn:test#/$defs/Node"}},
    }}}}
NODE_REGISTRY = Registry().with_resource("urn:test", Resource(NODE_DOC, DRAFT202012))
NODE = {"$ref": "urn:test#/$defs/Node"}

REPRESENTATIVE = [
    {"type": "integer", "minimum": 1, "maximum": 100},
    {"type": "integer", "minimum": 3, "maximum": 99, "multipleOf": 5},
    {"type": "number", "exclusiveMinimum": 0, "maximum": 2.5},
    {"type": "integer", "format": "int32"},
    {"type": "string", "minLength": 2, "maxLength": 5},
    {"type": "string", "pattern": r"^[A-Z]{2}-\d{3}$"},
    {"type": "string", "format": "date"},
    {"type": "string", "format": "email", "maxLength": 20},
    {"enum": ["a", "b"]},
    {"type": "integer", "enum": [1, 2, 3]},
    {"const": "fixed"},
    {"type": ["string", "null"], "maxLength": 3},
    {"oneOf": [{"type": "string", "maxLength": 2}, {"type": "integer", "minimum": 10}]},
    {"type": "array", "items": {"type": "integer", "minimum": 0}, "uniqueItems": True,
     "minItems": 2, "maxItems": 4},
    {"type": "object", "additionalProperties": False, "required": ["a"],
     "properties": {"a": {"type": "string", "maxLength": 3}, "b": {"type": "boolean"}}},
    {"type": "object", "additionalProperties": {"type": "integer"}},
    {"type": "object", "minProperties": 1, "maxProperties": 2,
     "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "integer"}}},
    {"allOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
               {"properties": {"n": {"type": "integer", "minimum": 1, "maximum": 2}}}]},
]


@pytest.fixture(scope="module")
def demo():
    return load_spec(str(importlib.resources.files("assay.demo") / "openapi.yaml"))


def found(schema, registry=R, **kwargs):
    return {(n.kind, n.pointer, repr(n.value)) for n in negative_values(schema, registry, **kwargs)}


def by_kind(schema, registry=R, **kwargs):
    result: dict[tuple[str, str], list] = {}
    for negative in negative_values(schema, registry, **kwargs):
        result.setdefault((negative.kind, negative.pointer), []).append(negative.value)
    return result


def test_integer_bounds_give_the_values_just_outside():
    negatives = negative_values({"type": "integer", "minimum": 1, "maximum": 100}, R)
    out = {n.value: n.message for n in negatives if n.kind == "out_of_range"}
    assert out == {0: "0 is below the minimum 1", 101: "101 is above the maximum 100"}
    assert ("not-a-number", "wrong_type") in [(n.value, n.kind) for n in negatives]


def test_exclusive_bounds_are_themselves_out_of_range():
    out = by_kind({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1})
    assert out[("out_of_range", "")] == [0, 1]


def test_out_of_range_keeps_the_step_and_off_step_is_named():
    out = by_kind({"type": "integer", "minimum": 3, "maximum": 99, "multipleOf": 5})
    assert out[("out_of_range", "")] == [0, 100]
    assert out[("multiple_of", "")] == [6]


def test_string_lengths_pattern_and_format():
    lengths = by_kind({"type": "string", "minLength": 2, "maxLength": 5})
    assert lengths[("too_short", "")] == ["a"]
    assert lengths[("too_long", "")] == ["aaaaaa"]
    assert by_kind({"type": "string", "pattern": "^[a-z]+$"})[("pattern", "")] == ["~"]
    assert by_kind({"type": "string", "format": "date"})[("format", "")] == ["not-a-date"]


def test_enum_and_const_misses():
    assert by_kind({"enum": ["a", "b"]})[("enum", "")] == ["not-in-enum"]
    assert by_kind({"type": "integer", "enum": [1, 5]})[("enum", "")] == [6]
    assert by_kind({"const": "fixed"})[("const", "")] == ["not-in-enum"]


def test_nullable_schemas_do_not_get_null_as_a_negative():
    values = [n.value for n in negative_values({"type": ["string", "null"], "maxLength": 3}, R)]
    assert None not in values
    assert "aaaa" in values and 12345 in values


def test_demo_new_book(demo):
    schema = demo.operation("POST", "/books").request_body.content["application/json"].schema
    out = by_kind(schema, demo.registry)
    assert out[("missing_required", "/title")] == [{"author": "a"}]
    assert out[("missing_required", "/author")] == [{"title": "a"}]
    assert {"title": "a", "author": "a", "published": 2101} in out[("out_of_range", "/published")]
    assert {"title": "a", "author": "a", "published": -1} in out[("out_of_range", "/published")]
    assert out[("too_long", "/title")] == [{"title": "a" * 201, "author": "a"}]
    assert ("pattern", "/isbn") in out
    assert len(out[("too_many_items", "/tags")][0]["tags"]) == 11
    assert ("wrong_type", "/tags/0") in out
    messages = {n.message for n in negative_values(schema, demo.registry)}
    assert "2101 is above the maximum 2100" in messages
    assert "required property 'title' is missing" in messages


def test_optional_properties_are_not_nulled_but_required_ones_are(demo):
    schema = demo.operation("POST", "/books").request_body.content["application/json"].schema
    nulled = {n.pointer for n in negative_values(schema, demo.registry)
              if n.kind == "wrong_type" and n.message.startswith("null")}
    assert nulled == {"", "/title", "/author", "/tags/0"}  # an item is never optional


def test_read_only_properties_are_never_mutated_in_requests(demo):
    book = demo.operation("GET", "/books/{bookId}").responses["200"].content[
        "application/json"].schema
    pointers = {n.pointer for n in negative_values(book, demo.registry)}
    assert "/title" in pointers
    assert not any(p.startswith(("/id", "/created_at")) for p in pointers)


def test_extra_property_where_additional_properties_is_false():
    out = by_kind({"type": "object", "additionalProperties": False,
                   "properties": {"a": {"type": "boolean"}}})
    assert out[("extra_property", "/unexpected_property")] == [
        {"unexpected_property": "unexpected"}]


def test_arrays_too_many_too_few_not_unique_and_bad_items():
    out = by_kind({"type": "array", "items": {"type": "integer", "minimum": 0},
                   "uniqueItems": True, "minItems": 2, "maxItems": 4})
    assert out[("too_few_items", "")] == [[0]]
    assert out[("too_many_items", "")] == [[0, 1, 2, 3, 4]]
    assert out[("not_unique", "")] == [[0, 0]]
    assert [-1, 1] in out[("out_of_range", "/0")]
    assert ("wrong_type", "") in out  # an object where an array belongs


def test_recursive_refs_terminate_with_deep_pointers():
    negatives = negative_values(NODE, NODE_REGISTRY)
    pointers = {n.pointer for n in negatives}
    assert {"/value", "/next/value", "/children/0/value"} <= pointers
    validator = schema_validator(NODE, NODE_REGISTRY, direction="request")
    assert not any(validator.is_valid(n.value) for n in negatives)


@pytest.mark.parametrize("schema", REPRESENTATIVE)
def test_every_negative_value_is_invalid_for_its_named_reason_only(schema):
    negatives = negative_values(schema, R)
    assert negatives
    validator = schema_validator(schema, R, direction="request")
    for negative in negatives:
        errors = list(validator.iter_errors(negative.value))
        assert errors, negative
        if negative.kind in KIND_KEYWORDS and all(e.validator not in ("oneOf", "anyOf")
                                                  for e in errors):
            assert {e.validator for e in errors} <= KIND_KEYWORDS[negative.kind], negative


@pytest.mark.parametrize("schema", REPRESENTATIVE)
def test_negative_values_are_deterministic(schema):
    assert negative_values(schema, R) == negative_values(schema, R)


@pytest.mark.parametrize("location", ["path", "query", "header", "cookie"])
@pytest.mark.parametrize("schema", [{"type": "string"}, {}, True,
                                    {"type": "string", "format": "password"}])
def test_unconstrained_parameters_get_no_negative_values(schema, location):
    assert negative_values(schema, R, location=location) == []
    assert negative_value_strategy(schema, R, location=location) is None


def test_an_integer_sent_as_text_for_a_string_parameter_is_not_negative():
    assert 12345 in [n.value for n in negative_values({"type": "string"}, R)]
    query = negative_values({"type": "string", "maxLength": 3}, R, location="query")
    assert [(n.kind, n.value) for n in query] == [("too_long", "aaaa")]


def test_integer_parameters_get_text_that_is_not_an_integer():
    values = {n.value: n.kind for n in negative_values(
        {"type": "integer", "minimum": 1, "maximum": 100}, R, location="query")}
    assert values == {"not-a-number": "wrong_type", 1.5: "wrong_type", 0: "out_of_range",
                      101: "out_of_range"}


def test_parameter_values_are_sendable():
    schema = {"type": "string", "minLength": 1, "maxLength": 4, "format": "uri"}
    assert by_kind(schema, location="path").get(("too_short", "")) is None  # no empty segment
    for location in ("header", "cookie"):
        for negative in negative_values(schema, R, location=location):
            text = str(negative.value)
            assert text and text.isascii() and text.isprintable() and text == text.strip()
    for negative in negative_values({"type": "number", "maximum": 1e308}, R):
        assert not (isinstance(negative.value, float) and not math.isfinite(negative.value))


def test_form_fields_are_judged_as_text():
    schema = {"type": "object", "required": ["n"],
              "properties": {"n": {"type": "integer", "maximum": 5}, "s": {"type": "string"}}}
    out = by_kind(schema, location="form")
    assert out[("wrong_type", "/n")] == [{"n": "not-a-number"}, {"n": 0.5}]
    assert out[("out_of_range", "/n")] == [{"n": 6}]
    assert not any(pointer == "/s" for _kind, pointer in out)  # 12345 arrives as "12345"
    assert ("wrong_type", "") not in out  # a form body is always an object


def test_object_parameters_get_no_extra_property():
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"a": {"type": "integer"}}}
    assert ("extra_property", "/unexpected_property") in by_kind(schema)
    assert not any(kind == "extra_property" for kind, _ in by_kind(schema, location="query"))


def test_missing_schema_gives_nothing():
    assert negative_values(None, R) == []
    assert boundary_values(None, R) == []


def test_negative_value_is_a_frozen_record():
    negative = NegativeValue(0, "out_of_range", "", "0 is below the minimum 1")
    with pytest.raises(AttributeError):
        negative.kind = "x"  # type: ignore[misc]


@pytest.mark.parametrize("location", ["body", "query"])
def test_strategy_draws_are_all_invalid(location, demo):
    schema = demo.operation("POST", "/books").request_body.content["application/json"].schema
    if location == "query":
        schema, registry = {"type": "integer", "minimum": 1, "maximum": 100}, R
    else:
        registry = demo.registry
    validator = schema_validator(schema, registry, direction="request")
    strategy = negative_value_strategy(schema, registry, location=location)
    kinds: set[str] = set()

    @settings(max_examples=150, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    def check(negative):
        kinds.add(negative.kind)
        arrived = received(negative.value, schema, registry, location)
        assert not validator.is_valid(arrived), negative

    check()
    assert {"wrong_type", "out_of_range"} <= kinds


def test_strategy_varies_beyond_the_deterministic_values():
    schema = {"type": "integer", "minimum": 1, "maximum": 100}
    fixed = {n.value for n in negative_values(schema, R)}
    drawn: set = set()

    @settings(max_examples=100, database=None, derandomize=True)
    @given(negative_value_strategy(schema, R))
    def collect(negative):
        drawn.add(repr(negative.value))

    collect()
    assert len(drawn - {repr(v) for v in fixed}) > 10


OPERATION = Operation("GET", "/items/{itemId}", parameters=[
    Parameter("itemId", "path", required=True, schema={"type": "integer", "minimum": 1},
              style="simple", explode=False),
    Parameter("limit", "query", schema={"type": "integer", "minimum": 1, "maximum": 100}),
    Parameter("day", "query", schema={"type": "string", "format": "date"}),
    Parameter("name", "query", schema={"type": "string", "maxLength": 4}),
    Parameter("ids", "query", schema={"type": "array", "items": {"type": "integer"},
                                      "maxItems": 2}),
    Parameter("X-Rate", "header", schema={"type": "number", "exclusiveMinimum": 0},
              style="simple", explode=False),
    Parameter("session", "cookie", schema={"type": "string", "pattern": "^[a-f0-9]{4}$"}),
])
BASE = {"itemId": 1, "limit": 10, "day": "2024-01-01", "name": "ab", "ids": [1],
        "X-Rate": 1.5, "session": "abcd"}


def arrived_text(param: Parameter, seen) -> object:
    """The parameter's value as the server's framework hands it over (text or texts)."""
    if param.location == "path":
        return unquote(seen.path.rsplit("/", 1)[1])
    if param.location == "header":
        return seen.headers[param.name.lower()]
    if param.location == "cookie":
        cookie = SimpleCookie()
        cookie.load(seen.headers["cookie"])
        return cookie[param.name].value
    texts = parse_qs(seen.query, keep_blank_values=True)[param.name]
    return texts if param.schema.get("type") == "array" else texts[0]


def server_value(param: Parameter, text: object) -> object:
    if isinstance(text, list):
        return [coerce_text(t, param.schema["items"], R) for t in text]
    return coerce_text(text, param.schema, R)


def make_case(param: Parameter, value: object) -> Case:
    values = {**BASE, param.name: value}
    case = Case(OPERATION.label, "GET", OPERATION.path)
    for p in OPERATION.parameters:
        slot = {"path": case.path_params, "query": case.query, "header": case.headers,
                "cookie": case.cookies}[p.location]
        slot[p.name] = values[p.name]
    return case


def test_values_judged_on_what_a_real_server_receives():
    app = RecordingApp()
    sent = []
    with serve(app) as base_url, httpx.Client() as client:
        for param in OPERATION.parameters:
            for negative in negative_values(param.schema, R, location=param.location):
                sent.append((param, negative.value, False))
            for boundary in boundary_values(param.schema, R, location=param.location):
                sent.append((param, boundary.value, True))
        for param, value, _valid in sent:
            request = build_request(make_case(param, value), OPERATION, base_url)
            client.request(request.method, request.url, headers=request.headers)
    assert len(app.received) == len(sent)
    kinds = {param.name for param, _value, valid in sent if not valid}
    assert kinds == {"itemId", "limit", "day", "name", "ids", "X-Rate", "session"}
    for (param, value, valid), seen in zip(sent, app.received, strict=True):
        arrived = server_value(param, arrived_text(param, seen))
        validator = schema_validator(param.schema, R, direction="request")
        assert validator.is_valid(arrived) is valid, (param.name, value, arrived)


@pytest.mark.slow
def test_corpus_negative_values_are_invalid():
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    sample = request_schemas(start=1)
    assert len(sample) > 500
    total = 0
    for spec, schema, location in sample:
        validator = schema_validator(schema, spec.registry, direction="request")
        for negative in negative_values(schema, spec.registry, location=location):
            total += 1
            arrived = received(negative.value, schema, spec.registry, location)
            assert not validator.is_valid(arrived), (spec.source, location, negative)
    assert total > len(sample) // 2

"""The examples phase's case builder and minimal values (pure logic)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry

from assay.core.records import NOT_SET
from assay.generation.examples import example_cases
from assay.generation.minimal import CannotGenerate, minimal_value
from assay.generation.regex import RegexTooHard, minimal_match
from assay.specs.model import Example, MediaType, Operation, Parameter, RequestBody

R = Registry()

SCHEMAS = [
    {"type": "integer", "minimum": 5, "maximum": 9},
    {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 7},
    {"type": "number", "maximum": -2.5},
    {"type": "string", "minLength": 4, "format": "email"},
    {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2,4}$"},
    {"type": "array", "minItems": 2, "items": {"type": "boolean"}},
    {"type": ["null", "string"], "format": "date"},
    {"enum": ["b", "c"]},
    {"allOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
               {"required": ["b"], "properties": {"b": {"type": "integer", "minimum": 1}}}]},
    {"oneOf": [{"type": "string", "maxLength": 2}, {"type": "integer"}]},
    {"type": "object", "minProperties": 1, "properties": {"x": {"type": "string"}}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_minimal_values_are_valid(schema):
    value = minimal_value(schema, R)
    assert Draft202012Validator(schema).is_valid(value), value


def test_minimal_object_leaves_read_only_properties_out_of_requests():
    schema = {"type": "object", "required": ["id", "name"],
              "properties": {"id": {"type": "integer", "readOnly": True},
                             "name": {"type": "string", "minLength": 2}}}
    assert minimal_value(schema, R) == {"name": "aa"}


def test_unsatisfiable_schema_raises():
    with pytest.raises(CannotGenerate):
        minimal_value(False, R)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([r"^\d{3}$", r"^[a-f0-9]{8}$", r"^(GET|POST)$", r"^x[^y]z$",
                        r"^\w+@\w+\.(com|org)$", r"[A-Z]", r"^ab?c*d+$"]),
       st.integers(min_value=0, max_value=12))
def test_regex_minimal_match_matches(pattern, min_length):
    text = minimal_match(pattern, min_length=min_length)
    assert re.search(pattern, text)


def test_regex_with_lookahead_is_refused():
    with pytest.raises(RegexTooHard):
        minimal_match(r"^(?=a)b$")


def _op(**kwargs):
    return Operation("POST", "/books/{id}", **kwargs)


def test_one_case_per_example_and_invalid_examples_skipped():
    limit = Parameter("limit", "query", schema={"type": "integer", "maximum": 100},
                      examples=[Example(10, "ten"), Example(500, "too-big"), Example(20)])
    book_id = Parameter("id", "path", required=True, schema={"type": "integer", "minimum": 1})
    plan = example_cases(_op(parameters=[limit, book_id]), R)
    assert [c.query["limit"] for c in plan.cases] == [10, 20]
    assert all(c.path_params == {"id": 1} for c in plan.cases)
    assert len(plan.warnings) == 1 and "too-big" in plan.warnings[0]
    assert plan.cases[0].source == "example 'ten'"


def test_body_examples_and_schema_examples():
    schema = {"type": "object", "required": ["title"],
              "properties": {"title": {"type": "string", "examples": ["Dune"]},
                             "year": {"type": "integer", "examples": [1965]}}}
    body = RequestBody(True, {"application/json": MediaType("application/json", schema)})
    plan = example_cases(_op(request_body=body), R)
    assert [c.body for c in plan.cases] == [{"title": "Dune", "year": 1965}]
    assert plan.cases[0].media_type == "application/json"
    media = MediaType("application/json", schema, [Example({"title": "Emma"}, "emma")])
    plan = example_cases(_op(request_body=RequestBody(True, {"application/json": media})), R)
    assert [c.body for c in plan.cases] == [{"title": "Emma"}]


def test_optional_parameters_without_examples_are_left_out_and_headers_ignored():
    params = [Parameter("q", "query", schema={"type": "string"}),
              Parameter("Authorization", "header", required=True, schema={"type": "string"})]
    plan = example_cases(Operation("GET", "/s", parameters=params), R)
    case = plan.cases[0]
    assert case.query == {} and case.headers == {} and case.body is NOT_SET
    assert case.source == "minimal valid request"


def test_operation_skipped_when_no_valid_request_can_be_built():
    param = Parameter("code", "query", required=True,
                      schema={"type": "string", "pattern": "^(?!x)y$"})
    plan = example_cases(Operation("GET", "/c", parameters=[param]), R)
    assert plan.cases == [] and "operation skipped" in plan.warnings[0]


def test_required_path_header_and_cookie_values_are_not_empty():
    params = [Parameter(name, where, required=True, schema={"type": "string"})
              for name, where in (("id", "path"), ("X-Tenant", "header"), ("sid", "cookie"),
                                  ("q", "query"))]
    [case] = example_cases(Operation("GET", "/items/{id}", parameters=params), R).cases
    assert case.path_params == {"id": "a"}
    assert case.headers == {"X-Tenant": "a"} and case.cookies == {"sid": "a"}
    assert case.query == {"q": ""}

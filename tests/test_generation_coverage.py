"""Boundary values (generation/coverage.py): the expected edges appear, and all are valid."""

from __future__ import annotations

import importlib.resources

import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from assay.generation.coverage import MAX_BOUNDARIES, Boundary, boundary_values
from assay.generation.wire import received
from assay.specs import load_spec
from assay.specs.coerce import coerce_text
from assay.specs.validators import schema_validator
from corpus import CORPUS, request_schemas

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
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    {"type": "number", "minimum": -2.5, "maximum": 7.25, "multipleOf": 0.25},
    {"type": "integer", "format": "int32"},
    {"type": "string", "minLength": 2, "maxLength": 5},
    {"type": "string", "pattern": r"^[A-Z]{2}-\d{3,6}$", "maxLength": 8},
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "email", "maxLength": 64},
    {"enum": ["a", "b", 3]},
    {"type": ["integer", "null"], "minimum": 0},
    {"oneOf": [{"type": "string", "maxLength": 2}, {"type": "integer", "minimum": 10}]},
    {"anyOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}]},
    {"type": "array", "items": {"type": "integer", "minimum": 0}, "uniqueItems": True,
     "minItems": 2, "maxItems": 5},
    {"type": "object", "additionalProperties": False, "required": ["a"],
     "properties": {"a": {"type": "string", "maxLength": 3}, "b": {"type": "boolean"}}},
    {"type": "object", "additionalProperties": {"type": "integer", "maximum": 3}},
    {"allOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
               {"properties": {"n": {"type": "integer", "minimum": 1, "maximum": 2}}}]},
    {"type": "object", "properties": {"inner": {"type": "object", "required": ["x"],
                                                "properties": {"x": {"type": "integer",
                                                                     "maximum": 7}}}}},
]


@pytest.fixture(scope="module")
def demo():
    return load_spec(str(importlib.resources.files("assay.demo") / "openapi.yaml"))


def values(schema, registry=R, **kwargs):
    return [b.value for b in boundary_values(schema, registry, **kwargs)]


def labels(schema, registry=R, **kwargs):
    return {b.label: b.value for b in boundary_values(schema, registry, **kwargs)}


def test_integer_bounds_are_both_present():
    found = labels({"type": "integer", "minimum": 1, "maximum": 100})
    assert found["minimum 1"] == 1
    assert found["maximum 100"] == 100


def test_exclusive_float_bounds_are_nudged_inside():
    found = values({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1})
    assert 0.01 in found and 0.99 in found
    assert 0 not in found and 1 not in found


def test_bounds_respect_multiple_of():
    found = values({"type": "integer", "minimum": 3, "maximum": 99, "multipleOf": 5})
    assert 5 in found and 95 in found
    assert 3 not in found and 99 not in found


def test_int32_format_gives_its_range_edges():
    found = values({"type": "integer", "format": "int32"})
    assert -(2**31) in found and 2**31 - 1 in found


def test_string_lengths_at_both_ends_and_non_ascii():
    found = labels({"type": "string", "minLength": 2, "maxLength": 5})
    assert found["minLength 2"] == "aa"
    assert found["maxLength 5"] == "aaaaa"
    assert found["maxLength 5 (non-ASCII)"] == "ééééé"


def test_string_lengths_keep_the_pattern():
    found = values({"type": "string", "pattern": r"^[0-9-]{10,17}$", "maxLength": 12})
    assert "0000000000" in found and "000000000000" in found


def test_formats_give_valid_format_values():
    found = values({"type": "string", "format": "date"})
    assert "2024-01-01" in found and "2024-02-29" in found


def test_every_enum_value_appears_once():
    found = boundary_values({"type": "string", "enum": ["a", "b", "c"]}, R)
    assert [b.value for b in found] == ["a", "b", "c"]
    assert found[1].label == "enum value 'b'"


def test_nullable_gives_null_and_the_other_type():
    found = labels({"type": ["integer", "null"], "minimum": 4})
    assert found["type null"] is None
    assert found["minimum 4"] == 4


def test_each_branch_of_a_union_appears():
    found = values({"oneOf": [{"type": "string", "maxLength": 2}, {"type": "integer",
                                                                     "minimum": 10}]})
    assert any(isinstance(v, str) for v in found)
    assert 10 in found


def test_empty_values_where_valid():
    assert "" in values({"type": "string"})
    assert [] in values({"type": "array", "items": {"type": "integer"}})
    assert {} in values({"type": "object", "properties": {"a": {"type": "integer"}}})
    assert [] not in values({"type": "array", "minItems": 1, "items": {"type": "integer"}})


def test_unique_arrays_are_filled_with_distinct_items():
    found = labels({"type": "array", "items": {"type": "integer", "minimum": 0},
                    "uniqueItems": True, "minItems": 2, "maxItems": 5})
    assert found["minItems 2"] == [0, 1]
    assert found["maxItems 5"] == [0, 1, 2, 3, 4]


def test_demo_new_book(demo):
    schema = demo.operation("POST", "/books").request_body.content["application/json"].schema
    found = labels(schema, demo.registry)
    assert found["minimal object"] == {"title": "a", "author": "a"}
    assert found["optional 'tags' present"] == {"title": "a", "author": "a", "tags": []}
    assert set(found["all properties present"]) == {"title", "author", "published", "isbn",
                                                    "tags"}
    assert found["/title maxLength 200"]["title"] == "a" * 200
    assert found["/published maximum 2100"]["published"] == 2100
    assert len(found["/tags maxItems 10"]["tags"]) == 10


def test_read_only_properties_are_left_out_of_requests(demo):
    book = demo.operation("GET", "/books/{bookId}").responses["200"].content[
        "application/json"].schema
    for value in values(book, demo.registry):
        assert "id" not in value and "created_at" not in value
    assert any("id" in v for v in values(book, demo.registry, direction="response"))


def test_nested_property_boundaries_are_placed_into_a_minimal_object():
    found = labels({"type": "object", "properties": {"inner": {
        "type": "object", "required": ["x"], "properties": {"x": {"type": "integer",
                                                                    "maximum": 7}}}}})
    assert found["/inner/x maximum 7"] == {"inner": {"x": 7}}


def test_additional_properties_false_never_gets_extra_keys():
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    for value in values(schema):
        assert set(value) <= {"a", "b"}


def test_recursive_refs_terminate_and_stay_bounded():
    found = boundary_values(NODE, NODE_REGISTRY)
    assert 5 < len(found) <= MAX_BOUNDARIES
    assert {"value": 9} in [b.value for b in found]
    validator = schema_validator(NODE, NODE_REGISTRY, direction="request")
    assert all(validator.is_valid(b.value) for b in found)


@pytest.mark.parametrize("schema", REPRESENTATIVE)
def test_every_boundary_value_is_valid_and_distinct(schema):
    found = boundary_values(schema, R)
    validator = schema_validator(schema, R, direction="request")
    assert found
    for boundary in found:
        assert validator.is_valid(boundary.value), boundary
    keys = [repr((type(b.value), b.value)) for b in found]
    assert len(keys) == len(set(keys))
    assert len(found) <= MAX_BOUNDARIES


@pytest.mark.parametrize("schema", REPRESENTATIVE)
def test_boundary_values_are_deterministic(schema):
    assert boundary_values(schema, R) == boundary_values(schema, R)


def test_path_parameters_get_no_empty_or_slashed_values():
    found = values({"type": "string"}, location="path")
    assert found and "" not in found
    assert all("/" not in v for v in found)


def test_query_parameters_get_no_empty_values():
    # OpenAPI forbids empty query values unless allowEmptyValue.
    found = values({"type": "string"}, location="query")
    assert "a" in found and "" not in found


def test_form_fields_travel_as_text():
    schema = {"type": "object", "required": ["n"],
              "properties": {"n": {"type": "integer", "maximum": 5}, "s": {"type": "string"}}}
    found = values(schema, location="form")
    assert {"n": 5} in found
    assert all(v.get("s") != "" for v in found)


def test_header_values_are_printable_ascii_without_padding():
    found = values({"type": "string", "maxLength": 10}, location="header")
    assert "a" * 10 in found
    for value in found:
        assert value and value.isascii() and value.isprintable() and value == value.strip()


def test_parameter_values_survive_the_trip_through_text():
    schema = {"type": ["integer", "null"], "minimum": 2, "maximum": 8}
    found = values(schema, location="query")
    assert 2 in found and 8 in found
    assert None not in found  # "null" has no agreed text form in a query
    validator = schema_validator(schema, R, direction="request")
    for value in found:
        assert validator.is_valid(coerce_text(str(value), schema, R))


def test_boundary_value_is_a_frozen_record():
    boundary = Boundary(1, "minimum 1")
    with pytest.raises(AttributeError):
        boundary.value = 2  # type: ignore[misc]


def test_unknown_location_is_refused():
    with pytest.raises(ValueError, match="location"):
        boundary_values({"type": "integer"}, R, location="fragment")


@pytest.mark.slow
def test_corpus_boundary_values_are_valid():
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    sample = request_schemas(start=0)
    assert len(sample) > 500
    total = 0
    for spec, schema, location in sample:
        validator = schema_validator(schema, spec.registry, direction="request")
        for boundary in boundary_values(schema, spec.registry, location=location):
            total += 1
            arrived = received(boundary.value, schema, spec.registry, location)
            assert validator.is_valid(arrived), (spec.source, location, boundary)
    assert total > len(sample)

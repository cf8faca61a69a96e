"""Schema translation to JSON Schema 2020-12, and YAML read as JSON-compatible data."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from assay.specs.parsing import parse_document
from assay.specs.schemas import OPENAPI30, OPENAPI31, SWAGGER2, SchemaTranslator

BASE = "file:///specs/api.yaml"


def _translate(schema: object, dialect: str = OPENAPI30) -> object:
    return SchemaTranslator(dialect).translate(schema, BASE).schema


def test_nullable_forms() -> None:
    assert _translate({"type": "integer", "nullable": True}) == {"type": ["integer", "null"]}
    assert _translate({"type": "string", "x-nullable": True}, SWAGGER2) == {
        "type": ["string", "null"], "x-nullable": True}
    assert _translate({"enum": ["a"], "nullable": True}) == {"enum": ["a", None]}
    assert _translate({"$ref": "#/components/schemas/A", "nullable": True}) == {
        "anyOf": [{"$ref": BASE + "#/components/schemas/A"}, {"type": "null"}]}
    assert _translate({"nullable": True, "description": "anything"}) == {
        "description": "anything"}


def test_bounds_examples_and_files() -> None:
    assert _translate({"minimum": 1, "exclusiveMinimum": True, "maximum": 9,
                       "exclusiveMaximum": False}) == {"exclusiveMinimum": 1, "maximum": 9}
    assert _translate({"type": "string", "example": "x"}) == {"type": "string",
                                                               "examples": ["x"]}
    assert _translate({"type": "file"}, SWAGGER2) == {"type": "string", "format": "binary"}


def test_nested_schemas_are_translated_everywhere() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "nullable": True}},
        "patternProperties": {"^x": {"type": "integer", "nullable": True}},
        "additionalProperties": {"$ref": "other.yaml#/B"},
        "allOf": [{"items": {"type": "number", "nullable": True}}],
        "not": {"example": 1},
        "enum": [{"nullable": True}],  # data, not a schema: left alone
    }
    out = _translate(schema)
    assert out["properties"]["a"]["type"] == ["string", "null"]
    assert out["patternProperties"]["^x"]["type"] == ["integer", "null"]
    assert out["additionalProperties"] == {"$ref": "file:///specs/other.yaml#/B"}
    assert out["allOf"][0]["items"]["type"] == ["number", "null"]
    assert out["not"] == {"examples": [1]}
    assert out["enum"] == [{"nullable": True}]


def test_refs_are_reported_with_their_targets() -> None:
    translated = SchemaTranslator(OPENAPI30).translate(
        {"items": {"$ref": "common/x.yaml#/X%20Y"}, "not": {"$ref": "#plain"}}, BASE)
    assert translated.refs == {("file:///specs/common/x.yaml", "/X Y"): "common/x.yaml#/X%20Y"}
    assert translated.schema["items"] == {"$ref": "file:///specs/common/x.yaml#/X%20Y"}
    assert "JSON pointer" in translated.invalid["#plain"]


def test_values_that_would_crash_a_validator_are_repaired() -> None:
    translator = SchemaTranslator(OPENAPI30)
    out = translator.translate({
        "type": "object",
        "required": True,
        "properties": {
            "n": {"type": "int", "minimum": "3", "multipleOf": 0},
            "d": {"type": "dateTime"},
            "w": {"type": "whatever"},
            "p": {"type": "string", "pattern": "^\\p{L}+$"},
            "e": {"enum": "a"},
            "bad": "not a schema",
        },
        "items": [{"type": "string"}],
        "additionalItems": False,
        "$schema": "http://json-schema.org/draft-04/schema#",
    }, BASE).schema
    assert "required" not in out and "$schema" not in out
    props = out["properties"]
    assert props["n"] == {"type": "integer", "minimum": 3}
    assert props["d"] == {"type": "string", "format": "date-time"}
    assert props["w"] == {}
    assert props["p"] == {"type": "string"}
    assert props["e"] == {}
    assert props["bad"] is True
    assert (out["prefixItems"], out["items"]) == ([{"type": "string"}], False)
    assert translator.dropped_patterns == 1
    validator = Draft202012Validator(out)
    for instance in (None, {}, {"n": "x", "p": "é", "e": 1}, ["a", "b"]):
        list(validator.iter_errors(instance))  # must not raise


def test_openapi31_only_rewrites_refs() -> None:
    embedded = {"$id": "https://x.example.com/s.json", "$ref": "b.json", "nullable": True}
    schema = {"$ref": "#/components/schemas/A", "description": "kept", "nullable": True,
              "examples": [1], "properties": {"e": embedded}}
    translator = SchemaTranslator(OPENAPI31)
    out = translator.translate(schema, BASE).schema
    # A ref resolves against the nearest $id, as JSON Schema says.
    rewritten = {**embedded, "$ref": "https://x.example.com/b.json"}
    assert out == {"$ref": BASE + "#/components/schemas/A", "description": "kept",
                   "nullable": True, "examples": [1], "properties": {"e": rewritten}}
    assert translator.embedded == {"https://x.example.com/s.json": rewritten}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: on\nb: yes\nc: no\n", {"a": "on", "b": "yes", "c": "no"}),
        ("200: ok\n4XX: err\n", {"200": "ok", "4XX": "err"}),
        ("d: 2020-01-02\nt: 2020-01-02T03:04:05Z\n", {"d": "2020-01-02",
                                                      "t": "2020-01-02T03:04:05Z"}),
        ("x: 12:30\ny: 017\nz: 1e3\nw: ~\nv: true\n", {"x": "12:30", "y": 17, "z": 1000.0,
                                                      "w": None, "v": True}),
        ("base: &b {q: 1}\nm:\n  <<: *b\n  r: 2\n", {"base": {"q": 1}, "m": {"q": 1, "r": 2}}),
        ("true: 1\n~: 2\n1.5: 3\n", {"true": 1, "null": 2, "1.5": 3}),
    ],
)
def test_yaml_is_read_as_json_compatible_data(text: str, expected: dict) -> None:
    assert parse_document(text, source="t.yaml") == expected


def test_json_is_parsed_first_and_bom_is_accepted() -> None:
    assert parse_document(b'\xef\xbb\xbf{"a": [1, 2]}', source="t.json",
                          prefer_json=True) == {"a": [1, 2]}
    assert parse_document('{"a": 1}'.encode("utf-16"), source="t.json") == {"a": 1}

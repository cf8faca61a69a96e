"""The faults file's JSON Schema (shipped for editors) agrees with the parser."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

from assay.core.errors import ConfigError
from assay.mock.faults import parse_faults

SCHEMA = json.loads(resources.files("assay.mock").joinpath("faults.schema.json").read_text())
VALID = [
    {"faults": []},
    {"faults": [{"match": {"operation": "GET /books/{bookId}"},
                 "latency": {"distribution": "lognormal", "median": "80ms", "sigma": 0.4,
                             "max": "2s"}},
                {"match": {"method": "POST"}, "probability": 0.05,
                 "error": {"status": 503, "headers": {"Retry-After": "2"}}},
                {"probability": 0.01, "fault": "connection_reset"}]},
    {"faults": [{"latency": "100ms"}, {"latency": {"distribution": "uniform", "min": "10ms",
                                                   "max": "50ms"}},
                {"latency": {"distribution": "fixed", "value": 0.2}, "fault": "timeout"},
                {"match": {"path": "/books/**"}, "error": {"status": 500, "body": "down"}}]},
]
INVALID = [
    {"faults": [{"probability": 0.5}]},
    {"faults": [{"error": {"status": 500}, "fault": "timeout"}]},
    {"faults": [{"fault": "explode"}]},
    {"faults": [{"probability": 2, "fault": "timeout"}]},
    {"faults": [{"latency": "soon"}]},
    {"faults": [{"error": {"status": 700}}]},
    {"faults": [{"match": {"host": "x"}, "fault": "timeout"}]},
    {"rules": []},
]


def test_the_schema_is_a_valid_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("data", VALID)
def test_what_the_parser_accepts_the_schema_accepts(data: dict) -> None:
    parsed = parse_faults(data, "faults.yaml")
    assert Draft202012Validator(SCHEMA).is_valid(data)
    assert Draft202012Validator(SCHEMA).is_valid(parsed.to_json())


@pytest.mark.parametrize("data", INVALID)
def test_what_the_parser_refuses_the_schema_refuses(data: dict) -> None:
    with pytest.raises(ConfigError):
        parse_faults(data, "faults.yaml")
    assert not Draft202012Validator(SCHEMA).is_valid(data)

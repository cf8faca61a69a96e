"""Documents that cannot be used (``SpecError``) and ones that are imperfect but usable."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.core.errors import SpecError
from assay.specs import load_spec, load_spec_text

DATA = Path(__file__).parent / "data" / "specs"
INFO = 'info: {title: t, version: "1"}\n'


def test_broken_yaml_names_the_line_and_column() -> None:
    source = str(DATA / "broken.yaml")
    with pytest.raises(SpecError) as info:
        load_spec(source)
    error = info.value
    assert error.source == source
    assert error.location == "line 5, column 14"
    assert error.message.startswith("invalid YAML: ")
    assert str(error).startswith(f"{source}: line 5, column 14: invalid YAML")


def test_broken_json_names_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "api.json"
    path.write_text('{\n  "openapi": "3.0.3",\n  "paths": {,}\n}\n')
    with pytest.raises(SpecError) as info:
        load_spec(str(path))
    assert info.value.location == "line 3, column 13"
    assert "invalid JSON" in info.value.message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(SpecError) as info:
        load_spec(missing)
    assert (info.value.source, info.value.message) == (missing, "file not found")
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(str(tmp_path))


@pytest.mark.parametrize(
    ("text", "location", "fragment"),
    [
        ("- just\n- a list\n", None, "found a list at the top level"),
        ("title: not an api\n", None, "expected a top-level 'openapi: 3.x' or 'swagger"),
        ("openapi: 4.0.0\n" + INFO + "paths: {}\n", "/openapi", "unsupported OpenAPI version"),
        ('swagger: "1.2"\n' + INFO + "paths: {}\n", "/swagger", "expected \"2.0\""),
        ("openapi: 3.0.3\n" + INFO + "paths: [a, b]\n", "/paths", "'paths' must be a mapping"),
        ("openapi: 3.0.3\n" + INFO + "paths: {$ref: '#/x-paths'}\n", "/paths",
         "cannot resolve $ref '#/x-paths'"),
    ],
)
def test_unusable_documents(text: str, location: str | None, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec_text(text, source="doc.yaml")
    assert info.value.source == "doc.yaml"
    assert info.value.location == location
    assert fragment in info.value.message


def test_a_later_minor_version_loads_as_31_with_a_warning() -> None:
    spec = load_spec_text("openapi: 3.2.0\n" + INFO + "paths: {}\n")
    assert spec.spec_version == "3.2.0"
    assert [w.message for w in spec.warnings] == ["OpenAPI 3.2.0 is read as OpenAPI 3.1"]


def test_no_paths_is_usable_with_a_warning() -> None:
    spec = load_spec_text("openapi: 3.1.0\n" + INFO)
    assert spec.operations == []
    assert spec.warnings[0].pointer == "/paths"


def test_imperfect_document_loads_with_warnings() -> None:
    spec = load_spec(str(DATA / "imperfect.yaml"))
    assert [op.label for op in spec.operations] == ["GET /a", "PATCH /a", "GET /b/{id}"]
    by_operation = {w.operation: w for w in spec.warnings if w.operation}
    assert set(by_operation) == {"GET /a", "PUT /a", "POST /a"}
    assert "duplicate operation" in by_operation["GET /a"].message
    assert by_operation["PUT /a"].pointer == "/paths/~1a/put/parameters/0"
    assert "no name" in by_operation["PUT /a"].message
    assert "'in: body'" in by_operation["POST /a"].message
    # An undeclared path parameter is assumed, with a warning; the operation stays.
    implicit = spec.operation("GET", "/b/{id}").parameter("id", "path")
    assert (implicit.required, implicit.schema) == (True, {"type": "string"})
    assert any("'id' is not declared" in w.message for w in spec.warnings)
    assert "GET /b/{id}: operationId 'getThing' is also used by GET /a" in [
        w.message for w in spec.warnings]
    patch = spec.operation("PATCH", "/a")
    assert patch.parameter("when", "query").schema == {"type": "string",
                                                       "format": "not-a-known-format"}
    assert patch.parameter("shared", "query") is not None  # path-item parameters inherited


def test_swagger_without_host_has_relative_server() -> None:
    base = 'swagger: "2.0"\n' + INFO + "paths: {}\n"
    assert load_spec_text(base + "basePath: /api/\n").servers == ["/api"]
    assert load_spec_text(base).servers == []
    assert load_spec_text(base + "host: h.example.com\n").servers == ["https://h.example.com"]

"""Real-world documents: a fixed sample of the shared corpus loads or is rejected cleanly.

The corpus (Swagger 2.0 and OpenAPI 3.x documents from public APIs) lives beside the
repository in ``../shared/corpus/openapi``; without it these tests skip. ``bench/spec_load.py``
loads the whole corpus and prints timings.
"""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from assay.core.errors import SpecError
from assay.specs import ApiSpec, load_spec
from corpus import CORPUS

SAMPLE_SIZE = 25
LARGEST = 5


def _sample() -> list[str]:
    if not CORPUS.is_dir():
        return []
    files = sorted(p for p in CORPUS.iterdir() if p.is_file())
    largest = sorted(files, key=lambda p: (-p.stat().st_size, p.name))[:LARGEST]
    rest = [p for p in files if p not in largest]
    step = max(1, len(rest) // (SAMPLE_SIZE - LARGEST))
    return [p.name for p in largest + rest[::step][: SAMPLE_SIZE - LARGEST]]


def _schemas(spec: ApiSpec) -> list[object]:
    found: list[object] = []
    for op in spec.operations:
        found.extend(p.schema for p in op.parameters)
        if op.request_body is not None:
            found.extend(m.schema for m in op.request_body.content.values())
        for response in op.responses.values():
            found.extend(m.schema for m in response.content.values())
            found.extend(h.schema for h in response.headers.values())
    return [schema for schema in found if schema is not None]


@pytest.mark.slow
@pytest.mark.parametrize("name", _sample() or ["<corpus absent>"])
def test_corpus_document_loads_or_is_rejected(name: str) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    try:
        spec = load_spec(str(CORPUS / name))
    except SpecError as exc:
        assert exc.source == str(CORPUS / name)
        assert exc.message
        return
    assert spec.operations, "a loaded corpus document has operations"
    assert spec.spec_version == "2.0" or spec.spec_version.startswith("3.")
    for op in spec.operations:
        assert op.label == f"{op.method} {op.path}"
        assert op.pointer.startswith("/paths/")
        assert all(isinstance(status, str) for status in op.responses)
    for schema in _schemas(spec):
        validator = Draft202012Validator(schema, registry=spec.registry)
        for instance in (None, {}):
            list(validator.iter_errors(instance))  # must not raise

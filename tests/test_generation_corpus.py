"""Every operation of every corpus document gets a valid examples-phase request.

The whole corpus loads in about a second, so this covers all of it: each operation yields at
least one case whose parameters and body validate against their schemas, and each case turns
into a request without error. Skips when ``../shared`` is absent.
"""

from __future__ import annotations

import pytest

from assay.core.records import NOT_SET
from assay.generation.examples import choose_media_type, example_cases
from assay.http.build import build_request
from assay.specs import load_spec
from assay.specs.validators import schema_validator
from corpus import CORPUS

DOCUMENTS = sorted(p.name for p in CORPUS.iterdir()) if CORPUS.is_dir() else []


@pytest.mark.slow
@pytest.mark.parametrize("name", DOCUMENTS or ["<corpus absent>"])
def test_every_operation_gets_a_valid_request(name):
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    spec = load_spec(str(CORPUS / name))
    for op in spec.operations:
        plan = example_cases(op, spec.registry)
        assert plan.cases, (op.label, plan.warnings)
        media = choose_media_type(op)
        for case in plan.cases:
            for param in op.parameters:
                where = {"path": case.path_params, "query": case.query,
                         "header": case.headers, "cookie": case.cookies}[param.location]
                if param.name in where:
                    validator = schema_validator(param.schema, spec.registry, direction="request")
                    assert validator.is_valid(where[param.name]), (op.label, param.name)
                else:
                    assert not param.required or param.location == "header", (op.label, param.name)
            if case.body is not NOT_SET and media is not None and media.schema is not None:
                validator = schema_validator(media.schema, spec.registry, direction="request")
                assert validator.is_valid(case.body), op.label
            request = build_request(case, op, "http://127.0.0.1:1/base")
            assert request.url.startswith("http://127.0.0.1:1/base")

"""The real-world OpenAPI documents beside the project (``../shared/corpus/openapi``).

A user's clone has no ``../shared``: tests that read it skip when ``CORPUS`` is absent.
"""

from __future__ import annotations

from pathlib import Path

from assay.specs import load_spec

CORPUS = Path(__file__).parents[2] / "shared" / "corpus" / "openapi"


def request_schemas(start: int, step: int = 4, per_document: int = 25) -> list[tuple]:
    """``(spec, schema, location)`` of the parameters and request bodies of the first
    ``per_document`` operations of every ``step``-th document from ``start``, in a fixed
    order (``location`` is ``body`` for a body); empty without the corpus."""
    if not CORPUS.is_dir():
        return []
    sample = []
    for path in sorted(CORPUS.iterdir())[start::step]:
        spec = load_spec(str(path))
        for op in spec.operations[:per_document]:
            for param in op.parameters:
                sample.append((spec, param.schema, param.location))
            if op.request_body is not None:
                for media in op.request_body.content.values():
                    if media.schema is not None:
                        sample.append((spec, media.schema, "body"))
    return sample

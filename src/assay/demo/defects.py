"""The bugs planted in the seeded Bookshelf app, and which of assay's checks finds each.

The fixed twin (``create_app(fixed=True)``) has none of them. ``found_by`` says which kind
of test case reaches a defect first: ``examples`` (the document's own examples, the first
phase of ``assay test``), ``boundary values``, ``negative data`` or ``stateful sequences``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Defect:
    """One planted bug: its name, where it lives, the check that reports it, and what it is."""

    name: str
    operation: str
    check: str
    description: str
    found_by: str


DEFECTS: tuple[Defect, ...] = (
    Defect(
        name="health_text_plain",
        operation="GET /health",
        check="content_type_conformance",
        description="Answers text/plain 'ok' where the document promises application/json.",
        found_by="examples",
    ),
    Defect(
        name="null_published",
        operation="GET /books/{bookId}",
        check="response_schema_conformance",
        description="Book 1 (Dune) is stored with published: null, which is not nullable.",
        found_by="examples",
    ),
    Defect(
        name="missing_location",
        operation="POST /books",
        check="response_headers_conformance",
        description="201 Created without the required Location header.",
        found_by="examples",
    ),
    Defect(
        name="search_space_crash",
        operation="GET /books/search",
        check="not_a_server_error",
        description="A query with a space in it ('science fiction') crashes with a 500.",
        found_by="examples",
    ),
    Defect(
        name="delete_returns_200",
        operation="DELETE /books/{bookId}",
        check="status_code_conformance",
        description="Answers 200 with a JSON body where the document promises 204.",
        found_by="examples",
    ),
    Defect(
        name="limit_over_50_crash",
        operation="GET /books",
        check="not_a_server_error",
        description="limit above 50 crashes with a 500, though the document allows up to 100.",
        found_by="boundary values",
    ),
    Defect(
        name="published_unbounded",
        operation="POST /books",
        check="negative_data_rejection",
        description="A published year above 2100 is accepted (201) instead of rejected (422).",
        found_by="negative data",
    ),
    Defect(
        name="deleted_book_readable",
        operation="GET /books/{bookId}",
        check="use_after_free",
        description="A deleted book can still be read: the read path also looks in the trash.",
        found_by="stateful sequences",
    ),
)
"""Every planted defect, in the order a first run of ``assay test`` meets them."""

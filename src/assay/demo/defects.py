"""The bugs planted in the seeded Bookshelf app, and which of assay's checks finds each.

The fixed twin (``create_app(fixed=True)``) has none of them. ``found_by`` names the phase of
``assay test`` that reaches a defect first: ``examples`` (the document's own examples),
``coverage`` (deterministic boundary values, negative values, a required header left out,
an undeclared method, requests without or with wrong credentials), ``fuzz`` (random data)
or ``stateful`` (sequences: create, read, update, read, delete, read again).
"""

from __future__ import annotations

from dataclasses import dataclass

PHASES = ("examples", "coverage", "fuzz", "stateful")
"""The phases of ``assay test``, in the order they run: the values ``found_by`` takes."""


@dataclass(frozen=True, slots=True)
class Defect:
    """One planted bug: its name, where it lives, the check that reports it, and what it is.

    ``operation`` is the operation the finding names (``METHOD /path``; for an undeclared
    method, that method and the documented path). ``also_in`` lists the other operations
    where the same bug shows, because they share the faulty code.
    """

    name: str
    operation: str
    check: str
    description: str
    found_by: str
    also_in: tuple[str, ...] = ()


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
        also_in=("GET /books",),
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
        found_by="coverage",
    ),
    Defect(
        name="title_over_100_rejected",
        operation="POST /books",
        check="positive_data_acceptance",
        description="A title of 101 to 200 characters is rejected (422), though the document "
                    "allows 200: the check reuses the author's limit of 100.",
        found_by="coverage",
        also_in=("PUT /books/{bookId}",),
    ),
    Defect(
        name="published_unbounded",
        operation="POST /books",
        check="negative_data_rejection",
        description="A published year above 2100 is accepted (201) and stored as 2100, instead "
                    "of rejected (422).",
        found_by="coverage",
        also_in=("PUT /books/{bookId}",),
    ),
    Defect(
        name="edit_reason_optional",
        operation="PUT /books/{bookId}",
        check="missing_required_header",
        description="A replacement without the required Edit-Reason header is accepted (200) "
                    "instead of rejected (422); a reason that is sent is still checked.",
        found_by="coverage",
    ),
    Defect(
        name="put_accepts_any_token",
        operation="PUT /books/{bookId}",
        check="ignored_auth",
        description="Replacing a book checks only that a bearer token is sent, not that it is "
                    "the right one: any token is accepted.",
        found_by="coverage",
    ),
    Defect(
        name="health_any_method",
        operation="PATCH /health",
        check="unsupported_method",
        description="/health answers every method with 200 instead of 405 with Allow: GET.",
        found_by="coverage",
    ),
    Defect(
        name="new_book_first_read_404",
        operation="GET /books/{bookId}",
        check="ensure_resource_availability",
        description="A new book with an ISBN is verified lazily, on its first read, and that "
                    "read answers 404 (the lookup runs before the check, not after); later "
                    "reads find it.",
        found_by="stateful",
    ),
    Defect(
        name="deleted_book_readable",
        operation="GET /books/{bookId}",
        check="use_after_free",
        description="A deleted book can still be read: the read path also looks in the trash.",
        found_by="stateful",
    ),
)
"""Every planted defect, in the order a first run of ``assay test`` meets them."""

"""The Bookshelf demo app, seeded with bugs (``app``) or fixed (``fixed_app``).

Run either with any ASGI server, ``uvicorn assay.demo.app:fixed_app``, or point assay at it
with ``--app assay.demo.app:app``. Each planted bug sits behind ``seeded(request, NAME)``,
where NAME is a ``Defect.name`` from ``assay.demo.DEFECTS``; the fixed twin has none.

Every documented path is an ``HTTPEndpoint``, so that a method the document does not declare
gets 405 with an ``Allow`` header listing the declared ones (the problem handlers keep it).
Secured operations check the bearer token before anything else, then parameters, then
whether the book exists, then the body.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from . import DEFECTS, spec_text
from .problems import Unauthorized, crash, exception_handlers, json_response, problem
from .store import Bookshelf
from .validation import (
    EDIT_REASON,
    LATEST_YEAR,
    TITLE_MAX_LENGTH,
    integer_param,
    new_book,
    parse_json,
    text_param,
)

PAGE_CACHE_SLOTS = 50
SEEDED_TITLE_MAX_LENGTH = 100
EVERY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True, slots=True)
class Settings:
    """What an app instance was built with: its token and the defects it carries."""

    token: str
    defects: frozenset[str]


def seeded(request: Request, defect: str) -> bool:
    """True when the app serving ``request`` carries the named defect."""
    return defect in request.app.state.settings.defects


def shelf(request: Request) -> Bookshelf:
    """The store of the app serving ``request``."""
    return request.app.state.shelf


def require_token(request: Request, *, any_token: bool = False) -> None:
    """Raise ``Unauthorized`` unless the request bears the app's token.

    ``any_token`` accepts any non-empty bearer token (a seeded defect).
    """
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized("Send the header 'Authorization: Bearer <token>'.")
    if any_token:
        return
    expected = request.app.state.settings.token
    # compare_digest: the time taken must not tell how much of the token was right.
    if not secrets.compare_digest(credentials.strip().encode(), expected.encode()):
        raise Unauthorized("The bearer token is not valid.")


async def book_fields(request: Request) -> dict[str, Any]:
    """The NewBook body of a create or a replace, checked by the rules of the app."""
    unbounded = seeded(request, "published_unbounded")
    longest = (SEEDED_TITLE_MAX_LENGTH if seeded(request, "title_over_100_rejected")
               else TITLE_MAX_LENGTH)
    fields = new_book(parse_json(await request.body()),
                      latest_year=None if unbounded else LATEST_YEAR, title_max_length=longest)
    if unbounded and fields.get("published", 0) > LATEST_YEAR:
        # Clamped, not rejected: the client is told nothing, and what it gets back is
        # valid, so this one bug is reported once, as invalid input accepted.
        fields["published"] = LATEST_YEAR
    return fields


def book_id(request: Request) -> int:
    """The ``bookId`` path parameter."""
    return integer_param("bookId", request.path_params["bookId"])


def edit_reason(request: Request) -> str | None:
    """The ``Edit-Reason`` header of a replace (the seeded app lets it be left out, but
    checks it when it is sent)."""
    text = request.headers.get("edit-reason")
    if text is None and seeded(request, "edit_reason_optional"):
        return None
    return text_param("Edit-Reason", text, min_length=1, max_length=100, pattern=EDIT_REASON)


def not_found(request: Request) -> Response:
    """The 404 for a book id that names no book."""
    # The id as sent: an integer of thousands of digits has no str() by default.
    return problem(404, f"There is no book {request.path_params['bookId']}.")


def first_read_misses(request: Request, book: int) -> bool:
    """The seeded lazy ISBN check: a new book's first read looks it up before verifying it,
    misses it, and verifies it for the next read."""
    unchecked = shelf(request).unchecked
    if not seeded(request, "new_book_first_read_404") or book not in unchecked:
        return False
    unchecked.discard(book)
    return True


async def health(request: Request) -> Response:
    """GET /health."""
    if seeded(request, "health_text_plain"):
        return PlainTextResponse("ok")
    return json_response({"status": "ok"})


class Health(HTTPEndpoint):
    """/health: is the service up? (GET only: other methods get 405.)"""

    async def get(self, request: Request) -> Response:
        """200 with ``{"status": "ok"}``."""
        return await health(request)


class BookList(HTTPEndpoint):
    """/books: list books a page at a time, or add one."""

    async def get(self, request: Request) -> Response:
        """A page of books, and the number of all matching books in X-Total-Count."""
        query = request.query_params
        limit = integer_param("limit", query.get("limit"), default=20, minimum=1, maximum=100)
        offset = integer_param("offset", query.get("offset"), default=0, minimum=0)
        if limit > PAGE_CACHE_SLOTS and seeded(request, "limit_over_50_crash"):
            return crash("list_books", "page = page_cache.slots[limit]",
                         "IndexError: list index out of range")
        books = shelf(request).find(author=query.get("author"))
        page = books[offset:offset + limit]
        return json_response(page, headers={"X-Total-Count": str(len(books))})

    async def post(self, request: Request) -> Response:
        """201 with the new book and its Location."""
        require_token(request)
        book = shelf(request).add(await book_fields(request))
        if "isbn" in book and seeded(request, "new_book_first_read_404"):
            shelf(request).unchecked.add(book["id"])
        if seeded(request, "missing_location"):
            return json_response(book, 201)
        return json_response(book, 201, headers={"Location": f"/books/{book['id']}"})


class BookItem(HTTPEndpoint):
    """/books/{bookId}: read, replace or delete one book."""

    async def get(self, request: Request) -> Response:
        """The book, or 404."""
        wanted = book_id(request)
        if first_read_misses(request, wanted):
            return not_found(request)
        found = shelf(request).get(wanted, look_in_trash=seeded(request, "deleted_book_readable"))
        return not_found(request) if found is None else json_response(found)

    async def put(self, request: Request) -> Response:
        """Replace every field a client may set; 404 for an unknown book."""
        require_token(request, any_token=seeded(request, "put_accepts_any_token"))
        wanted = book_id(request)
        reason = edit_reason(request)
        if shelf(request).get(wanted) is None:
            return not_found(request)
        fields = await book_fields(request)
        return json_response(shelf(request).replace(wanted, fields, reason=reason))

    async def delete(self, request: Request) -> Response:
        """204 with no body; 404 for an unknown book."""
        require_token(request)
        wanted = book_id(request)
        if shelf(request).remove(wanted) is None:
            return not_found(request)
        if seeded(request, "delete_returns_200"):
            return json_response({"deleted": True, "id": wanted})
        return Response(status_code=204)


class BookSearch(HTTPEndpoint):
    """/books/search: find books by words in their title, author or tags."""

    async def get(self, request: Request) -> Response:
        """The matching books, possibly none."""
        words = text_param("q", request.query_params.get("q"), min_length=1)
        if " " in words and seeded(request, "search_space_crash"):
            return crash("search_books", "field, value = term.split(' ')",
                         "ValueError: too many values to unpack (expected 2)")
        return json_response(shelf(request).search(words))


class AuthorItem(HTTPEndpoint):
    """/authors/{authorId}: read one author."""

    async def get(self, request: Request) -> Response:
        """The author, or 404."""
        wanted = integer_param("authorId", request.path_params["authorId"])
        author = shelf(request).authors.get(wanted)
        if author is None:
            return problem(404, f"There is no author {request.path_params['authorId']}.")
        return json_response(author)


async def openapi_document(request: Request) -> Response:
    """GET /openapi.yaml: the document this app implements (not itself documented)."""
    return Response(spec_text(), media_type="application/yaml")


def routes(defects: frozenset[str]) -> list[Route]:
    """The app's routes; the seeded /health takes any method."""
    health_route = (Route("/health", health, methods=EVERY_METHOD)
                    if "health_any_method" in defects else Route("/health", Health))
    return [
        health_route,
        Route("/books", BookList),
        # Before /books/{bookId}, so that "search" is never taken for a book id: as in
        # OpenAPI, a literal path wins over a template, for every method.
        Route("/books/search", BookSearch),
        Route("/books/{bookId}", BookItem),
        Route("/authors/{authorId}", AuthorItem),
        Route("/openapi.yaml", openapi_document, methods=["GET"]),
    ]


def create_app(*, fixed: bool = False, token: str = "demo-token") -> Starlette:
    """A new Bookshelf app with its own store: seeded with bugs, or ``fixed``.

    ``token`` is the bearer token that writes need.

    >>> bookshelf = create_app(fixed=True, token="s3cret")
    """
    if not token:
        raise ValueError("token must be a non-empty string")
    defects = frozenset() if fixed else frozenset(defect.name for defect in DEFECTS)
    bookshelf = Starlette(routes=routes(defects), exception_handlers=exception_handlers())
    # "/books/" is no path of the API: a 404, not a redirect to /books.
    bookshelf.router.redirect_slashes = False
    bookshelf.state.settings = Settings(token=token, defects=defects)
    bookshelf.state.shelf = Bookshelf.seeded(null_published="null_published" in defects)
    return bookshelf


app = create_app()
"""The seeded Bookshelf: ``--app assay.demo.app:app``."""

fixed_app = create_app(fixed=True)
"""The Bookshelf without defects: ``--app assay.demo.app:fixed_app``."""

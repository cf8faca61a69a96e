"""The Bookshelf demo app, seeded with bugs (``app``) or fixed (``fixed_app``).

Run either with any ASGI server, ``uvicorn assay.demo.app:fixed_app``, or point assay at it
with ``--app assay.demo.app:app``. Each planted bug sits behind ``seeded(request, NAME)``,
where NAME is a ``Defect.name`` from ``assay.demo.DEFECTS``; the fixed twin has none.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from . import DEFECTS, spec_text
from .problems import Unauthorized, crash, exception_handlers, json_response, problem
from .store import Bookshelf
from .validation import LATEST_YEAR, integer_param, new_book, parse_json, text_param

PAGE_CACHE_SLOTS = 50


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


def require_token(request: Request) -> None:
    """Raise ``Unauthorized`` unless the request bears the app's token."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized("Send the header 'Authorization: Bearer <token>'.")
    expected = request.app.state.settings.token
    # compare_digest: the time taken must not tell how much of the token was right.
    if not secrets.compare_digest(credentials.strip().encode(), expected.encode()):
        raise Unauthorized("The bearer token is not valid.")


def latest_year(request: Request) -> int | None:
    """The latest publication year a body may give; no limit at all in the seeded app."""
    return None if seeded(request, "published_unbounded") else LATEST_YEAR


def book_id(request: Request) -> int:
    """The ``bookId`` path parameter."""
    return integer_param("bookId", request.path_params["bookId"])


def not_found(book: int) -> Response:
    """The 404 for a book id that names no book."""
    return problem(404, f"There is no book {book}.")


async def health(request: Request) -> Response:
    """GET /health."""
    if seeded(request, "health_text_plain"):
        return PlainTextResponse("ok")
    return json_response({"status": "ok"})


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
        fields = new_book(parse_json(await request.body()), latest_year=latest_year(request))
        book = shelf(request).add(fields)
        if seeded(request, "missing_location"):
            return json_response(book, 201)
        return json_response(book, 201, headers={"Location": f"/books/{book['id']}"})


class BookItem(HTTPEndpoint):
    """/books/{bookId}: read, replace or delete one book."""

    async def get(self, request: Request) -> Response:
        """The book, or 404."""
        wanted = book_id(request)
        book = shelf(request).get(wanted, look_in_trash=seeded(request, "deleted_book_readable"))
        return not_found(wanted) if book is None else json_response(book)

    async def put(self, request: Request) -> Response:
        """Replace every field a client may set; 404 for an unknown book."""
        require_token(request)
        wanted = book_id(request)
        if shelf(request).get(wanted) is None:
            return not_found(wanted)
        fields = new_book(parse_json(await request.body()), latest_year=latest_year(request))
        return json_response(shelf(request).replace(wanted, fields))

    async def delete(self, request: Request) -> Response:
        """204 with no body; 404 for an unknown book."""
        require_token(request)
        wanted = book_id(request)
        if shelf(request).remove(wanted) is None:
            return not_found(wanted)
        if seeded(request, "delete_returns_200"):
            return json_response({"deleted": True, "id": wanted})
        return Response(status_code=204)


async def search_books(request: Request) -> Response:
    """GET /books/search?q=..."""
    words = text_param("q", request.query_params.get("q"), min_length=1)
    if " " in words and seeded(request, "search_space_crash"):
        return crash("search_books", "field, value = term.split(' ')",
                     "ValueError: too many values to unpack (expected 2)")
    return json_response(shelf(request).search(words))


async def get_author(request: Request) -> Response:
    """GET /authors/{authorId}."""
    wanted = integer_param("authorId", request.path_params["authorId"])
    author = shelf(request).authors.get(wanted)
    if author is None:
        return problem(404, f"There is no author {wanted}.")
    return json_response(author)


async def openapi_document(request: Request) -> Response:
    """GET /openapi.yaml: the document this app implements (not itself documented)."""
    return Response(spec_text(), media_type="application/yaml")


def create_app(*, fixed: bool = False, token: str = "demo-token") -> Starlette:
    """A new Bookshelf app with its own store: seeded with bugs, or ``fixed``.

    ``token`` is the bearer token that writes need.

    >>> bookshelf = create_app(fixed=True, token="s3cret")
    """
    if not token:
        raise ValueError("token must be a non-empty string")
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/books", BookList),
        # Before /books/{bookId}, so that "search" is never taken for a book id.
        Route("/books/search", search_books, methods=["GET"]),
        Route("/books/{bookId}", BookItem),
        Route("/authors/{authorId}", get_author, methods=["GET"]),
        Route("/openapi.yaml", openapi_document, methods=["GET"]),
    ]
    bookshelf = Starlette(routes=routes, exception_handlers=exception_handlers())
    # "/books/" is no path of the API: a 404, not a redirect to /books.
    bookshelf.router.redirect_slashes = False
    defects = frozenset() if fixed else frozenset(defect.name for defect in DEFECTS)
    bookshelf.state.settings = Settings(token=token, defects=defects)
    bookshelf.state.shelf = Bookshelf.seeded(null_published="null_published" in defects)
    return bookshelf


app = create_app()
"""The seeded Bookshelf: ``--app assay.demo.app:app``."""

fixed_app = create_app(fixed=True)
"""The Bookshelf without defects: ``--app assay.demo.app:fixed_app``."""

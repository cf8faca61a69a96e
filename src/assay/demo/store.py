"""The Bookshelf's data: books and authors in memory, one store per app instance.

Books are kept as the JSON objects the API returns. Deleted books go to a trash (a soft
delete) so that the seeded app's read path can wrongly find them there. Replacing a book
records why in a bounded change log. ``unchecked`` holds the ids of new books whose ISBN the
seeded app has not verified yet (it does so lazily, on a book's first read).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Book = dict[str, Any]
CHANGE_LOG_SIZE = 1000
"""How many replacements the change log keeps: a long fuzzing run must not fill memory."""


def _seed_books(*, null_published: bool) -> list[Book]:
    return [
        {"id": 1, "title": "Dune", "author": "Frank Herbert",
         # The seeded app stores Dune's year as null, which the document forbids.
         "published": None if null_published else 1965,
         "isbn": "978-0-441-17271-9", "tags": ["science fiction", "classic"],
         "created_at": "2024-01-15T09:30:00Z"},
        {"id": 2, "title": "The Left Hand of Darkness", "author": "Ursula K. Le Guin",
         "published": 1969, "isbn": "978-0-441-47812-5", "tags": ["science fiction"],
         "created_at": "2024-01-15T09:31:00Z"},
        {"id": 3, "title": "Parable of the Sower", "author": "Octavia E. Butler",
         "published": 1993, "isbn": "978-0-446-67550-5", "tags": ["dystopia"],
         "created_at": "2024-01-16T14:02:00Z"},
    ]


def _seed_authors() -> list[dict[str, Any]]:
    return [
        {"id": 1, "name": "Frank Herbert", "born": "1920-10-08", "website": None},
        {"id": 2, "name": "Ursula K. Le Guin", "born": "1929-10-21",
         "website": "https://www.ursulakleguin.com/"},
    ]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _book(book_id: int, fields: dict[str, Any], *, created_at: str) -> Book:
    return {"id": book_id, **fields, "tags": fields.get("tags", []), "created_at": created_at}


@dataclass(slots=True)
class Bookshelf:
    """Books by id, deleted books by id, authors by id, and the log of replacements."""

    books: dict[int, Book] = field(default_factory=dict)
    trash: dict[int, Book] = field(default_factory=dict)
    authors: dict[int, dict[str, Any]] = field(default_factory=dict)
    changes: deque[tuple[int, str | None]] = field(
        default_factory=lambda: deque(maxlen=CHANGE_LOG_SIZE))
    unchecked: set[int] = field(default_factory=set)

    @classmethod
    def seeded(cls, *, null_published: bool = False) -> Bookshelf:
        """A shelf with three books and two authors (Dune's year null if asked)."""
        books = {book["id"]: book for book in _seed_books(null_published=null_published)}
        authors = {author["id"]: author for author in _seed_authors()}
        return cls(books=books, authors=authors)

    def find(self, *, author: str | None = None) -> list[Book]:
        """All books in id order, only those by ``author`` (any letter case) if given."""
        books = sorted(self.books.values(), key=lambda book: book["id"])
        if author is None:
            return books
        return [book for book in books if book["author"].casefold() == author.casefold()]

    def search(self, words: str) -> list[Book]:
        """Books whose title, author or a tag contains ``words`` (any letter case)."""
        needle = words.casefold()
        return [
            book for book in self.find()
            if any(needle in text.casefold()
                   for text in (book["title"], book["author"], *book.get("tags", [])))
        ]

    def get(self, book_id: int, *, look_in_trash: bool = False) -> Book | None:
        """The book with this id, if there is one (or was one, with ``look_in_trash``)."""
        book = self.books.get(book_id)
        if book is None and look_in_trash:
            book = self.trash.get(book_id)
        return book

    def add(self, fields: dict[str, Any]) -> Book:
        """Store a new book made of ``fields`` and return it with its id and creation time."""
        # Ids are never reused, so a deleted book's URL never names another book.
        book_id = max([*self.books, *self.trash, 0]) + 1
        self.books[book_id] = _book(book_id, fields, created_at=_now())
        return self.books[book_id]

    def replace(self, book_id: int, fields: dict[str, Any], *, reason: str | None) -> Book:
        """Replace an existing book's fields, keeping its id and creation time, and log why."""
        created_at = self.books[book_id]["created_at"]
        self.books[book_id] = _book(book_id, fields, created_at=created_at)
        self.changes.append((book_id, reason))
        return self.books[book_id]

    def remove(self, book_id: int) -> Book | None:
        """Move the book to the trash; ``None`` if there was no such book."""
        book = self.books.pop(book_id, None)
        if book is not None:
            self.trash[book_id] = book
            self.unchecked.discard(book_id)  # nothing left to verify
        return book

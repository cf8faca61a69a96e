"""The demo's defects of generated testing, and properties of its fixed twin.

The seeded app must show each defect exactly where assay's phases look for it (and hide no
other defect), and the fixed app must accept every request the document allows and reject
every other one, whatever the data: hypothesis draws Unicode text of any length the document
allows (boundaries included), integers of any size, and random JSON. Real HTTP over
127.0.0.1, every fixed response checked against the document by ``assert_conforms``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.demo.app import create_app
from servers import serve
from test_demo_app import AUTH, REASON, SPEC, FreshApp, assert_conforms, is_valid

NEW_BOOK = SPEC["components"]["schemas"]["NewBook"]
PUT_PARAMETERS = SPEC["paths"]["/books/{bookId}"]["put"]["parameters"]
REASON_SCHEMA = next(p["schema"] for p in PUT_PARAMETERS if p["name"] == "Edit-Reason")
ISBN_PATTERN = NEW_BOOK["properties"]["isbn"]["pattern"]
WRITE = {**AUTH, "content-type": "application/json"}
HUGE = "1" + "0" * 5000  # more digits than Python's int() parses by default
# One app and one client for all the examples of a test (a fresh one each would spend the
# time on connections): each property holds whatever books earlier examples added.
PROPERTY = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FreshApp, str]]:
    holder = FreshApp()
    with serve(holder, lifespan="off") as url:
        yield holder, url


def client(server: tuple[FreshApp, str], *, fixed: bool) -> httpx.Client:
    """A client of a fresh app; for the fixed one, every response is checked."""
    holder, url = server
    holder.app = create_app(fixed=fixed)
    hooks = {"response": [lambda r: (r.read(), assert_conforms(r))]} if fixed else {}
    return httpx.Client(base_url=url, event_hooks=hooks)


@pytest.fixture
def fixed(server) -> Iterator[httpx.Client]:
    with client(server, fixed=True) as c:
        yield c


@pytest.fixture
def seeded(server) -> Iterator[httpx.Client]:
    with client(server, fixed=False) as c:
        yield c


def post(c: httpx.Client, body: Any) -> httpx.Response:
    # json.dumps escapes lone surrogates, which httpx's json= would refuse to encode.
    return c.post("/books", content=json.dumps(body), headers=WRITE)


ISBN_BOOK = {"title": "Kindred", "author": "Octavia E. Butler", "isbn": "978-0-8070-8305-0"}
DUNE = {"title": "Dune", "author": "Frank Herbert", "published": 1965}


# --- ensure_resource_availability: the first read of a new book with an ISBN --------------


def test_seeded_first_read_of_a_new_isbn_book_misses_then_finds_it(seeded) -> None:
    book = post(seeded, ISBN_BOOK).json()
    assert seeded.get(f"/books/{book['id']}").status_code == 404
    assert seeded.get(f"/books/{book['id']}").json()["title"] == "Kindred"
    plain = post(seeded, {"title": "Dune", "author": "Herbert"}).json()  # as suites create
    assert seeded.get(f"/books/{plain['id']}").status_code == 200


def test_seeded_lifecycle_still_reaches_the_deleted_book_defect(seeded) -> None:
    """create → read (404: ensure_resource_availability) → update → read → delete → read
    (200: use_after_free): the first defect does not hide the second."""
    book_id = post(seeded, ISBN_BOOK).json()["id"]
    path = f"/books/{book_id}"
    assert seeded.get(path).status_code == 404
    assert seeded.put(path, json=DUNE, headers={**AUTH, **REASON}).status_code == 200
    assert seeded.get(path).json()["title"] == "Dune"
    assert seeded.delete(path, headers=AUTH).status_code == 200
    assert seeded.get(path).status_code == 200


def test_seeded_deleted_new_book_is_served_from_the_trash_even_unread(seeded) -> None:
    book_id = post(seeded, ISBN_BOOK).json()["id"]
    assert seeded.delete(f"/books/{book_id}", headers=AUTH).status_code == 200
    assert seeded.get(f"/books/{book_id}").status_code == 200


def test_fixed_new_book_is_readable_at_once(fixed) -> None:
    created = post(fixed, ISBN_BOOK)
    assert fixed.get(created.headers["location"]).json() == created.json()
    assert fixed.get(f"/books/{created.json()['id']}").status_code == 200


# --- missing_required_header and ignored_auth on PUT /books/{bookId} ----------------------


@pytest.mark.parametrize("reason", ["", "two  spaces", "tab\there", "caf\u00e9", "x" * 101])
def test_an_invalid_edit_reason_is_422_in_both_apps(server, reason) -> None:
    for fixed in (True, False):
        with client(server, fixed=fixed) as c:
            headers = {**AUTH, "Edit-Reason": reason.encode("latin-1")}
            response = c.put("/books/1", json=DUNE, headers=headers)
            assert response.status_code == 422, fixed
            assert response.json()["errors"][0]["field"] == "Edit-Reason"


def test_the_edit_reason_is_required_by_the_fixed_app_only(server) -> None:
    with client(server, fixed=True) as c:
        response = c.put("/books/1", json=DUNE, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "Edit-Reason", "message": "is required"}]
        assert c.put("/books/999", json=DUNE, headers=AUTH).status_code == 422
    with client(server, fixed=False) as c:
        assert c.put("/books/1", json=DUNE, headers=AUTH).status_code == 200


def test_the_edit_reason_goes_to_the_change_log(server) -> None:
    with client(server, fixed=True) as c:
        reason = {"Edit-Reason": "x" * 100}
        assert c.put("/books/2", json=DUNE, headers={**AUTH, **reason}).status_code == 200
        assert c.put("/books/2", json=DUNE, headers={**AUTH, **REASON}).status_code == 200
    assert list(server[0].app.state.shelf.changes) == [(2, "x" * 100), (2, "fix the year")]


@pytest.mark.parametrize("token", ["wrong", "assay-invalid-credentials", "demo-token-2"])
def test_seeded_put_accepts_any_bearer_token_but_not_none(server, token) -> None:
    with client(server, fixed=False) as c:
        wrong = {"Authorization": f"Bearer {token}", **REASON}
        assert c.put("/books/1", json=DUNE, headers=wrong).status_code == 200
        assert c.put("/books/1", json=DUNE, headers=REASON).status_code == 401
        assert c.post("/books", json=DUNE, headers=wrong).status_code == 401
        assert c.delete("/books/2", headers=wrong).status_code == 401
    with client(server, fixed=True) as c:
        assert c.put("/books/1", json=DUNE, headers=wrong).status_code == 401


# --- positive_data_acceptance: titles of 101 to 200 characters -----------------------------


@pytest.mark.parametrize(("length", "seeded_status", "fixed_status"),
                         [(100, 201, 201), (101, 422, 201), (200, 422, 201), (201, 422, 422)])
def test_title_lengths(server, length, seeded_status, fixed_status) -> None:
    body = {"title": "\U0001f4da" * length, "author": "A"}
    for fixed, status in ((False, seeded_status), (True, fixed_status)):
        with client(server, fixed=fixed) as c:
            assert post(c, body).status_code == status
            put = c.put("/books/1", content=json.dumps(body), headers={**WRITE, **REASON})
            assert put.status_code == (200 if status == 201 else 422)


def test_seeded_clamps_a_year_above_2100_so_only_the_input_check_fails(seeded) -> None:
    created = post(seeded, {"title": "Future", "author": "Someone", "published": 1e300})
    assert (created.status_code, created.json()["published"]) == (201, 2100)
    assert post(seeded, {"title": "Past", "author": "Someone", "published": -1}
                ).status_code == 422


# --- the fixed app: sizes and syntax JSON Schema allows ------------------------------------


def test_integers_of_any_size_are_no_server_error(fixed) -> None:
    for sign in ("", "-"):
        huge = f"{sign}{HUGE}"
        assert fixed.get(f"/books/{huge}").status_code == 404
        assert fixed.get(f"/authors/{huge}").status_code == 404
        assert fixed.delete(f"/books/{huge}", headers=AUTH).status_code == 404
        put = fixed.put(f"/books/{huge}", json=DUNE, headers={**AUTH, **REASON})
        assert put.status_code == 404
        assert fixed.get("/books", params={"limit": huge}).status_code == 422
    assert fixed.get("/books", params={"offset": HUGE}).json() == []
    for published in (HUGE, "1e400", "-" + HUGE):
        raw = '{"title": "K", "author": "O", "published": ' + published + "}"
        assert fixed.post("/books", content=raw, headers=WRITE).status_code == 422
    extra = '{"title": "K", "author": "O", "extra": ' + HUGE + "}"
    assert fixed.post("/books", content=extra, headers=WRITE).status_code == 201


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_numbers_are_not_json(fixed, constant) -> None:
    raw = '{"title": "K", "author": "O", "published": ' + constant + "}"
    assert fixed.post("/books", content=raw, headers=WRITE).status_code == 400


# --- properties of the fixed app -----------------------------------------------------------

ANY_CHARACTER = st.characters(exclude_categories=())  # lone surrogates included
URL_CHARACTER = st.characters(codec="utf-8")  # what UTF-8 (hence a URL) can carry: no surrogates


def text(min_size: int, max_size: int | None = None,
         alphabet: st.SearchStrategy[str] = ANY_CHARACTER) -> st.SearchStrategy[str]:
    """Random text within the lengths, and text of exactly each boundary length."""
    sizes = [min_size] if max_size is None else [min_size, max_size]
    exact = st.sampled_from(sizes).flatmap(
        lambda n: st.text(alphabet, min_size=n, max_size=n))
    return st.one_of(exact, st.text(alphabet, min_size=min_size, max_size=max_size))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(ANY_CHARACTER),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
VALID_BOOK = st.fixed_dictionaries(
    {"title": text(1, 200), "author": text(1, 100)},
    optional={
        "published": st.integers(0, 2100) | st.sampled_from([0, 2100, 0.0, 2100.0, -0.0]),
        "isbn": st.from_regex(ISBN_PATTERN),
        "tags": st.lists(text(0), max_size=10) | st.lists(text(0), min_size=10, max_size=10),
        "notes": JSON,  # the schema allows any other property
    },
)


@PROPERTY
@given(body=VALID_BOOK)
def test_every_valid_new_book_is_created_as_sent(fixed, body) -> None:
    assert is_valid(body, NEW_BOOK)
    created = post(fixed, body)
    assert created.status_code == 201
    book = created.json()
    assert {k: book[k] for k in ("title", "author")} == {k: body[k] for k in ("title", "author")}
    assert fixed.get(created.headers["location"]).json() == book


LEFT_OUT = object()
CHANGE = st.tuples(
    st.sampled_from(["title", "author", "published", "isbn", "tags"]),
    st.one_of(st.just(LEFT_OUT), JSON, text(0, 201), st.integers(-2, 2102),
              st.lists(JSON, max_size=11)),
)


def changed(body: dict[str, Any], change: tuple[str, Any]) -> dict[str, Any]:
    """``body`` with one field left out or given another value (maybe still a valid one)."""
    name, value = change
    body = dict(body)
    if value is LEFT_OUT:
        body.pop(name, None)
    else:
        body[name] = value
    return body


@PROPERTY
@given(body=st.one_of(VALID_BOOK, st.tuples(VALID_BOOK, CHANGE).map(lambda pair: changed(*pair)),
                     JSON))
def test_a_body_is_accepted_exactly_when_the_schema_allows_it(fixed, body) -> None:
    assert post(fixed, body).status_code == (201 if is_valid(body, NEW_BOOK) else 422)


@PROPERTY
@given(query=st.fixed_dictionaries({}, optional={
    "limit": st.integers(1, 100) | st.sampled_from([1, 100]),
    "offset": st.integers(min_value=0) | st.just(HUGE),
    "author": text(0, alphabet=URL_CHARACTER),
}))
def test_every_valid_listing_query_is_answered(fixed, query) -> None:
    response = fixed.get("/books", params=query)
    assert response.status_code == 200
    assert len(response.json()) <= query.get("limit", 20)


@PROPERTY
@given(book_id=st.integers() | st.just(HUGE), author_id=st.integers())
def test_every_integer_id_is_found_or_not_found(fixed, book_id, author_id) -> None:
    assert fixed.get(f"/books/{book_id}").status_code == (200 if book_id in (1, 2, 3) else 404)
    assert fixed.get(f"/authors/{author_id}").status_code == (200 if author_id in (1, 2) else 404)


@PROPERTY
@given(reason=st.from_regex(REASON_SCHEMA["pattern"], fullmatch=True)
       | text(0, 102, alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e)))
def test_an_edit_reason_is_accepted_exactly_when_the_schema_allows_it(fixed, reason) -> None:
    # Surrounding whitespace is not part of a header value (RFC 9110): no sense sending it.
    reason = reason.strip(" ")
    response = fixed.put("/books/2", json=DUNE, headers={**AUTH, "Edit-Reason": reason})
    assert response.status_code == (200 if is_valid(reason, REASON_SCHEMA) else 422)

"""The bundled Bookshelf demo: its defects, its fixed twin's exact conformance, its document.

Both variants run under uvicorn on 127.0.0.1. Every response the fixed app gives through the
``fixed`` client is checked against openapi.yaml (status, content type, required headers,
body schema with formats; 405 with Allow for a method a path does not declare), translated
to JSON Schema here by hand on purpose: assay's own spec loader is not what these tests are
about. tests/test_demo_defects.py has the property-based tests of the fixed app.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from assay.demo import DEFECTS, PHASES, spec_text
from assay.demo.app import create_app
from servers import serve

DOCUMENT = yaml.safe_load(spec_text())
AUTH = {"Authorization": "Bearer demo-token"}
REASON = {"Edit-Reason": "fix the year"}
"""The header that PUT /books/{bookId} requires."""
METHOD_ORDER = ("PATCH", "PUT", "DELETE", "POST", "GET")
"""The undeclared method assay sends to a path: the first of these the path lacks."""
STANDARD_CHECKS = {
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
    "positive_data_acceptance", "missing_required_header", "unsupported_method",
    "use_after_free", "ensure_resource_availability", "ignored_auth", "max_response_time",
}


def _resolve(pointer: str) -> Any:
    node: Any = DOCUMENT
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _translate(node: Any) -> Any:
    """Inline every $ref and turn OpenAPI 3.0 ``nullable`` into a JSON Schema type list."""
    if isinstance(node, list):
        return [_translate(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _translate(_resolve(node["$ref"]))
    out = {key: _translate(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        out["type"] = [out["type"], "null"]
    return out


SPEC = _translate(DOCUMENT)
WRITES = [("POST", "/books"), ("PUT", "/books/1"), ("DELETE", "/books/1")]


def validate(instance: Any, schema: Any) -> None:
    """Fail unless ``instance`` is valid against ``schema``, formats included."""
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        instance
    )


def is_valid(instance: Any, schema: Any) -> bool:
    checker = Draft202012Validator.FORMAT_CHECKER
    return Draft202012Validator(schema, format_checker=checker).is_valid(instance)


def template_for(path: str) -> str | None:
    """The documented path template of a concrete path; literal templates win over
    ``{param}`` ones, as in OpenAPI (``/books/search`` is never book "search")."""
    for template in sorted(SPEC["paths"], key=lambda t: "{" in t):
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return template
    return None


def operation_for(method: str, path: str) -> dict[str, Any] | None:
    """The documented operation for a method and a concrete path, if there is one."""
    template = template_for(path)
    return None if template is None else SPEC["paths"][template].get(method.lower())


def declared_methods(template: str) -> set[str]:
    """The methods the document declares for a path template (upper case)."""
    return {method.upper() for method in SPEC["paths"][template]}


def assert_method_not_allowed(response: httpx.Response) -> None:
    """Fail unless ``response`` is a 405 problem whose Allow lists exactly the methods the
    document declares for the path (and HEAD, which any GET serves)."""
    template = template_for(response.request.url.path)
    assert template is not None
    label = f"{response.request.method} {template} -> {response.status_code}"
    assert response.status_code == 405, label
    assert response.headers["content-type"] == "application/problem+json", label
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed - {"HEAD"} == declared_methods(template), label


def assert_conforms(response: httpx.Response) -> None:
    """Fail unless the response is exactly what the document allows for its request."""
    request = response.request
    label = f"{request.method} {request.url.path} -> {response.status_code}"
    if template_for(request.url.path) is not None and operation_for(
            request.method, request.url.path) is None:
        assert_method_not_allowed(response)
        return
    operation = operation_for(request.method, request.url.path)
    assert operation is not None, f"{label}: the request is not a documented operation"
    responses = operation["responses"]
    documented = responses.get(str(response.status_code), responses.get("default"))
    assert documented is not None, f"{label}: undocumented status"
    for name, header in documented.get("headers", {}).items():
        value = response.headers.get(name)
        assert value is not None or not header.get("required"), f"{label}: no {name} header"
        if value is not None and header["schema"].get("type") == "integer":
            assert re.fullmatch(r"[0-9]+", value), f"{label}: {name}: {value!r}"
            validate(int(value), header["schema"])
        elif value is not None:
            validate(value, header["schema"])
    content = documented.get("content")
    if not content:
        assert response.content == b"", f"{label}: a body where none is documented"
        return
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type in content, f"{label}: undocumented content type {media_type}"
    validate(response.json(), content[media_type]["schema"])


def _check_response(response: httpx.Response) -> None:
    response.read()
    assert_conforms(response)


class FreshApp:
    """Forwards to the app a test installs: one server per module, a fresh app per test.

    Starting and stopping uvicorn for each test would take most of this file's run time.
    """

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def fixed_server() -> Iterator[tuple[FreshApp, str]]:
    holder = FreshApp()
    with serve(holder, lifespan="off") as url:
        yield holder, url


@pytest.fixture(scope="module")
def seeded_server() -> Iterator[tuple[FreshApp, str]]:
    holder = FreshApp()
    with serve(holder, lifespan="off") as url:
        yield holder, url


@pytest.fixture
def fixed_url(fixed_server: tuple[FreshApp, str]) -> str:
    """The URL of a fresh fixed app."""
    holder, url = fixed_server
    holder.app = create_app(fixed=True)
    return url


@pytest.fixture
def fixed(fixed_url: str) -> Iterator[httpx.Client]:
    """A client of a fresh fixed app that checks every response against the document."""
    hooks = {"response": [_check_response]}
    with httpx.Client(base_url=fixed_url, event_hooks=hooks) as client:
        yield client


@pytest.fixture
def seeded(seeded_server: tuple[FreshApp, str]) -> Iterator[httpx.Client]:
    """A plain client of a fresh seeded app."""
    holder, url = seeded_server
    holder.app = create_app()
    with httpx.Client(base_url=url) as client:
        yield client


# --- the defects ------------------------------------------------------------------------


def _deleted_book_readable(client: httpx.Client) -> bool:
    assert client.delete("/books/2", headers=AUTH).status_code in (200, 204)
    return client.get("/books/2").status_code == 200


def _new_book_first_read_404(client: httpx.Client) -> bool:
    book = {"title": "Kindred", "author": "Octavia E. Butler", "isbn": "978-0-8070-8305-0"}
    created = client.post("/books", json=book, headers=AUTH)
    assert created.status_code == 201
    return client.get(f"/books/{created.json()['id']}").status_code == 404


def _put(client: httpx.Client, headers: dict[str, str]) -> int:
    body = {"title": "Dune", "author": "Frank Herbert", "published": 1965}
    return client.put("/books/1", json=body, headers=headers).status_code


PROBES: dict[str, Callable[[httpx.Client], bool]] = {
    "health_text_plain": lambda c: c.get("/health").headers["content-type"].startswith(
        "text/plain"
    ),
    "null_published": lambda c: c.get("/books/1").json()["published"] is None,
    "missing_location": lambda c: "location"
    not in c.post("/books", json={"title": "Kindred", "author": "Octavia E. Butler"},
                  headers=AUTH).headers,
    "search_space_crash": lambda c: c.get(
        "/books/search", params={"q": "science fiction"}
    ).status_code == 500,
    "delete_returns_200": lambda c: c.delete("/books/3", headers=AUTH).status_code == 200,
    "limit_over_50_crash": lambda c: c.get("/books", params={"limit": 100}).status_code == 500,
    "published_unbounded": lambda c: c.post(
        "/books", json={"title": "Future", "author": "Someone", "published": 2101}, headers=AUTH
    ).status_code == 201,
    "deleted_book_readable": _deleted_book_readable,
    "title_over_100_rejected": lambda c: c.post(
        "/books", json={"title": "x" * 101, "author": "Someone"}, headers=AUTH
    ).status_code == 422,
    "edit_reason_optional": lambda c: _put(c, AUTH) == 200,
    "put_accepts_any_token": lambda c: _put(
        c, {"Authorization": "Bearer not-the-token", **REASON}
    ) == 200,
    "health_any_method": lambda c: c.patch("/health").status_code == 200,
    "new_book_first_read_404": _new_book_first_read_404,
}
"""For each defect: a probe that is True when the app shows it."""


def test_every_defect_has_a_probe_and_names_a_documented_operation() -> None:
    assert set(PROBES) == {defect.name for defect in DEFECTS}
    assert len(DEFECTS) == len(PROBES)
    for defect in DEFECTS:
        method, path = defect.operation.split(" ", 1)
        # unsupported_method names the undeclared method assay sends to a documented path.
        undeclared = defect.check == "unsupported_method"
        expected = next(m for m in METHOD_ORDER if m not in declared_methods(path))
        assert (method == expected) if undeclared else (method in declared_methods(path))
        for other in defect.also_in:
            other_method, other_path = other.split(" ", 1)
            assert other_method in declared_methods(other_path), other
        assert defect.check in STANDARD_CHECKS, defect.check
        assert defect.found_by in PHASES


def test_every_new_check_of_generated_testing_has_a_defect() -> None:
    checks = {defect.check for defect in DEFECTS}
    assert {"negative_data_rejection", "positive_data_acceptance", "missing_required_header",
            "unsupported_method", "use_after_free", "ensure_resource_availability",
            "ignored_auth", "not_a_server_error", "status_code_conformance",
            "content_type_conformance", "response_schema_conformance",
            "response_headers_conformance"} <= checks
    # Only the examples phase's five; the other phases find the rest.
    assert sum(defect.found_by == "examples" for defect in DEFECTS) == 5


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda defect: defect.name)
def test_defect_is_in_the_seeded_app_only(defect, seeded, fixed) -> None:
    assert PROBES[defect.name](seeded) is True
    assert PROBES[defect.name](fixed) is False


def test_seeded_crashes_answer_a_plain_text_traceback(seeded) -> None:
    response = seeded.get("/books/search", params={"q": "science fiction"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("Traceback (most recent call last):")
    assert seeded.get("/books/search", params={"q": "dune"}).status_code == 200


def _example_requests() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """One request per documented operation, built from the document's examples only."""
    for template, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            params = [_translate(p) for p in operation.get("parameters", [])]
            path = template
            for param in params:
                path = path.replace("{" + param["name"] + "}", str(param["example"]))
            query = {p["name"]: p["example"] for p in params if p["in"] == "query"}
            headers = {p["name"]: p["example"] for p in params if p["in"] == "header"}
            kwargs: dict[str, Any] = {"params": query}
            if "requestBody" in operation:
                kwargs["json"] = operation["requestBody"]["content"]["application/json"]["example"]
            if operation.get("security"):
                headers.update(AUTH)
            kwargs["headers"] = headers
            yield method.upper(), path, kwargs


def test_the_documents_examples_reach_every_first_phase_defect(seeded) -> None:
    got = {f"{m} {p}": seeded.request(m, p, **kw) for m, p, kw in _example_requests()}
    assert got["GET /health"].headers["content-type"].startswith("text/plain")
    assert got["GET /books"].json()[0]["published"] is None
    assert got["GET /books/1"].json()["published"] is None
    assert got["POST /books"].status_code == 201
    assert "location" not in got["POST /books"].headers
    assert got["GET /books/search"].status_code == 500
    assert got["DELETE /books/3"].status_code == 200
    # The defects of the later phases stay hidden from the examples: no other failure.
    assert got["PUT /books/1"].status_code == 200
    assert got["GET /authors/1"].status_code == 200


def test_the_documents_examples_get_conforming_answers_from_the_fixed_app(fixed) -> None:
    statuses = {f"{m} {p}": fixed.request(m, p, **kw).status_code
                for m, p, kw in _example_requests()}
    assert statuses == {
        "GET /health": 200, "GET /books": 200, "POST /books": 201, "GET /books/search": 200,
        "GET /books/1": 200, "PUT /books/1": 200, "DELETE /books/3": 204, "GET /authors/1": 200,
    }


# --- auth -------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["seeded", "fixed"])
@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic ZGVtbzpkZW1vLXRva2Vu"},
     {"Authorization": "Bearer"}, {"Authorization": "demo-token"}],
    ids=["none", "wrong", "basic", "empty", "no-scheme"],
)
def test_writes_need_the_bearer_token(variant, method, path, headers, request) -> None:
    client: httpx.Client = request.getfixturevalue(variant)
    body = {"title": "Kindred", "author": "Octavia E. Butler"}
    json_body = body if method != "DELETE" else None
    response = client.request(method, path, json=json_body, headers={**headers, **REASON})
    if variant == "seeded" and method == "PUT" and headers.get("Authorization") == "Bearer wrong":
        assert response.status_code == 200  # put_accepts_any_token: the only gap
        return
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/books/1").status_code == 200  # nothing was replaced or deleted


def test_auth_is_checked_before_anything_else(fixed) -> None:
    assert fixed.post("/books", content=b"{not json").status_code == 401
    assert fixed.put("/books/1", json={}).status_code == 401  # no Edit-Reason either
    assert fixed.put("/books/x", json={}).status_code == 401
    assert fixed.put("/books/999", json={}, headers={"Authorization": "Bearer x"}
                     ).status_code == 401
    assert fixed.delete("/books/x").status_code == 401


def test_reads_need_no_token(fixed) -> None:
    for path in ("/health", "/books", "/books/1", "/books/search?q=dune", "/authors/2"):
        assert fixed.get(path).status_code == 200, path


def test_the_token_can_be_changed(fixed_server) -> None:
    holder, url = fixed_server
    holder.app = create_app(fixed=True, token="s3cret")
    with httpx.Client(base_url=url) as c:
        book = {"title": "Kindred", "author": "Octavia E. Butler"}
        assert c.post("/books", json=book, headers=AUTH).status_code == 401
        assert c.post("/books", json=book, headers={"authorization": "bearer s3cret"}).status_code == 201


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError, match="token"):
        create_app(token="")


# --- the fixed app: a CRUD flow and validation ----------------------------------------------


def test_create_read_replace_delete(fixed) -> None:
    new = {"title": "Kindred", "author": "Octavia E. Butler", "published": 1979,
           "isbn": "978-0-8070-8305-0", "tags": ["time travel"]}
    created = fixed.post("/books", json=new, headers=AUTH)
    assert created.status_code == 201
    book = created.json()
    assert book["id"] == 4 and {k: book[k] for k in new} == new
    assert created.headers["location"] == "/books/4"
    assert fixed.get(created.headers["location"]).json() == book
    assert fixed.get("/books").headers["x-total-count"] == "4"

    replaced = fixed.put("/books/4", json={"title": "Kindred", "author": "Octavia Butler"},
                         headers={**AUTH, **REASON})
    assert replaced.status_code == 200
    assert replaced.json() == {"id": 4, "title": "Kindred", "author": "Octavia Butler",
                               "tags": [], "created_at": book["created_at"]}
    assert fixed.get("/books/4").json() == replaced.json()

    assert fixed.delete("/books/4", headers=AUTH).status_code == 204
    assert fixed.get("/books/4").status_code == 404
    assert fixed.delete("/books/4", headers=AUTH).status_code == 404
    assert fixed.put("/books/4", json=new, headers={**AUTH, **REASON}).status_code == 404
    assert fixed.get("/books").headers["x-total-count"] == "3"
    # Ids are not reused: the next book is 5, so /books/4 still names nothing.
    assert fixed.post("/books", json=new, headers=AUTH).headers["location"] == "/books/5"


def test_each_app_has_its_own_store(fixed, seeded) -> None:
    assert fixed.delete("/books/2", headers=AUTH).status_code == 204
    assert fixed.get("/books/2").status_code == 404
    assert [b["id"] for b in seeded.get("/books").json()] == [1, 2, 3]


def test_listing_pages_and_filters(fixed) -> None:
    everything = fixed.get("/books")
    assert [b["id"] for b in everything.json()] == [1, 2, 3]
    assert everything.headers["x-total-count"] == "3"
    page = fixed.get("/books", params={"limit": 1, "offset": 1})
    assert [b["id"] for b in page.json()] == [2]
    assert page.headers["x-total-count"] == "3"
    assert fixed.get("/books", params={"offset": 10}).json() == []
    by_author = fixed.get("/books", params={"author": "ursula k. le guin"})
    assert [b["id"] for b in by_author.json()] == [2]
    assert by_author.headers["x-total-count"] == "1"
    assert len(fixed.get("/books", params={"limit": 100}).json()) == 3


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"limit": "1.5"}, {"limit": ""},
     {"limit": "1_0"}, {"offset": -1}, {"offset": "x"}],
)
def test_bad_paging_parameters_are_422(fixed, query) -> None:
    response = fixed.get("/books", params=query)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(query))


def test_search(fixed) -> None:
    found = fixed.get("/books/search", params={"q": "science fiction"}).json()
    assert [b["id"] for b in found] == [1, 2]
    assert [b["id"] for b in fixed.get("/books/search", params={"q": "BUTLER"}).json()] == [3]
    assert fixed.get("/books/search", params={"q": "nothing like it"}).json() == []
    assert fixed.get("/books/search").status_code == 422
    assert fixed.get("/books/search", params={"q": ""}).status_code == 422


def test_book_and_author_ids(fixed) -> None:
    assert fixed.get("/books/999").status_code == 404
    assert fixed.get("/books/-1").status_code == 404
    assert fixed.get("/books/abc").status_code == 422
    assert fixed.get("/books/1.5").status_code == 422
    assert fixed.get("/authors/1").json()["website"] is None
    assert fixed.get("/authors/2").json()["website"].startswith("https://")
    assert fixed.get("/authors/3").status_code == 404
    assert fixed.get("/authors/x").status_code == 422  # answered under `default`


NEW_BOOK = SPEC["components"]["schemas"]["NewBook"]
BODIES = [
    ({"title": "Kindred", "author": "Octavia E. Butler"}, 201),
    ({"title": "K", "author": "O", "published": 0, "tags": []}, 201),
    ({"title": "x" * 200, "author": "y" * 100, "published": 2100}, 201),
    ({"title": "\U0001f4da" * 200, "author": "A"}, 201),  # lengths count code points
    ({"title": "Kindred", "author": "Octavia E. Butler", "published": 1979.0}, 201),
    ({"title": "Kindred", "author": "O", "isbn": "978-0-8070-8305-0", "tags": ["a"] * 10}, 201),
    ({"title": "Kindred", "author": "O", "extra": {"ignored": True}}, 201),
    # jsonschema searches patterns with Python's re, where $ also matches before a final \n.
    ({"title": "Kindred", "author": "O", "isbn": "0123456789\n"}, 201),
    ({"title": "", "author": "O"}, 422),
    ({"title": "x" * 201, "author": "O"}, 422),
    ({"title": "Kindred"}, 422),
    ({"author": "O"}, 422),
    ({"title": None, "author": "O"}, 422),
    ({"title": 7, "author": "O"}, 422),
    ({"title": "K", "author": "", "published": 1979}, 422),
    ({"title": "K", "author": "O", "published": True}, 422),
    ({"title": "K", "author": "O", "published": "1979"}, 422),
    ({"title": "K", "author": "O", "published": 1979.5}, 422),
    ({"title": "K", "author": "O", "published": -1}, 422),
    ({"title": "K", "author": "O", "published": 2101}, 422),
    ({"title": "K", "author": "O", "published": None}, 422),
    ({"title": "K", "author": "O", "isbn": "12345"}, 422),
    ({"title": "K", "author": "O", "isbn": "978-0-8070-8305-X"}, 422),
    ({"title": "K", "author": "O", "tags": ["a"] * 11}, 422),
    ({"title": "K", "author": "O", "tags": [1]}, 422),
    ({"title": "K", "author": "O", "tags": "classic"}, 422),
    ([], 422),
    ("Kindred", 422),
    (None, 422),
]


@pytest.mark.parametrize(("body", "status"), BODIES, ids=[str(i) for i in range(len(BODIES))])
def test_bodies_are_accepted_exactly_when_the_schema_says_so(fixed, body, status) -> None:
    assert is_valid(body, NEW_BOOK) == (status == 201)
    raw = json.dumps(body)  # json=None would send no body at all
    assert fixed.post("/books", content=raw, headers=AUTH).status_code == status
    assert fixed.put("/books/2", content=raw, headers={**AUTH, **REASON}).status_code == (
        200 if status == 201 else 422
    )


def test_invalid_bodies_name_every_broken_field(fixed) -> None:
    body = {"title": "", "published": 3000, "tags": [1]}
    response = fixed.post("/books", json=body, headers=AUTH)
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["title", "author", "published", "tags"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"title": "Dune",}', b"\xff\xfe{", b"[" * 100_000],
    ids=["empty", "open", "trailing-comma", "not-utf8", "deep"],
)
def test_malformed_json_is_400(fixed, raw) -> None:
    response = fixed.post("/books", content=raw, headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The body is not valid JSON")


def test_strings_come_back_as_sent(fixed) -> None:
    title = "Le Guin \u00e9t\u00e9 \U0001f4da \\ \" \ud800"  # even a lone surrogate
    body = json.dumps({"title": title, "author": "O"}).encode()
    created = fixed.post("/books", content=body, headers=AUTH)
    assert fixed.get(created.headers["location"]).json()["title"] == title


CONCRETE_PATHS = {"/health": "/health", "/books": "/books", "/books/search": "/books/search",
                  "/books/{bookId}": "/books/1", "/authors/{authorId}": "/authors/1"}


def test_every_documented_path_is_probed() -> None:
    assert set(CONCRETE_PATHS) == set(SPEC["paths"])
    assert {template_for(path) for path in CONCRETE_PATHS.values()} == set(SPEC["paths"])


@pytest.mark.parametrize("template", CONCRETE_PATHS)
def test_undeclared_methods_are_405_with_allow(fixed, template) -> None:
    """What assay sends (the first undeclared of PATCH, PUT, DELETE, POST, GET) and every
    other undeclared method: 405 with Allow, even with the token and a valid body."""
    undeclared = [m for m in METHOD_ORDER if m not in declared_methods(template)]
    assert undeclared[0] == "PATCH"
    for method in undeclared:
        body = {"title": "Kindred", "author": "O"} if method in ("PUT", "POST", "PATCH") else None
        response = fixed.request(method, CONCRETE_PATHS[template], json=body,
                                 headers={**AUTH, **REASON})
        assert_method_not_allowed(response)  # the client's hook checks it too
    assert fixed.get("/books/1").json()["title"] == "Dune"  # nothing was changed


def test_the_seeded_health_answers_any_method(seeded) -> None:
    for method in ("PATCH", "PUT", "DELETE", "POST"):
        response = seeded.request(method, "/health")
        assert (response.status_code, response.text) == (200, "ok")
    assert seeded.patch("/books").status_code == 405  # only /health has the defect


@pytest.mark.parametrize("path", ["/books/", "/nowhere", "/books/1/2"])
def test_unknown_paths_are_404_problems(fixed_url, path) -> None:
    response = httpx.get(fixed_url + path)
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"


# --- the document -----------------------------------------------------------------------


def test_the_app_serves_its_document(fixed_url) -> None:
    response = httpx.get(fixed_url + "/openapi.yaml")
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.text == spec_text()


def test_the_document_is_openapi_3_0_3_for_a_local_server() -> None:
    assert DOCUMENT["openapi"] == "3.0.3"
    assert DOCUMENT["servers"][0]["url"] == "http://127.0.0.1:8000"
    scheme = DOCUMENT["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert SPEC["components"]["schemas"]["Author"]["properties"]["website"]["type"] == [
        "string", "null"
    ]
    # Formats are checked for real, not skipped for want of a checker.
    assert {"date", "date-time", "uri"} <= Draft202012Validator.FORMAT_CHECKER.checkers.keys()
    assert not is_valid("1920-13-45", {"type": "string", "format": "date"})


def test_every_operation_is_named_tagged_and_exemplified() -> None:
    ids = []
    for item in SPEC["paths"].values():
        for operation in item.values():
            ids.append(operation["operationId"])
            assert operation["tags"] and operation["summary"]
            for param in operation.get("parameters", []):
                validate(param["example"], param["schema"])
            if "requestBody" in operation:
                media = operation["requestBody"]["content"]["application/json"]
                validate(media["example"], media["schema"])
            writes = operation.get("security") == [{"bearerAuth": []}]
            assert writes == ("requestBody" in operation or operation["operationId"] == "deleteBook")
    assert len(ids) == len(set(ids)) == 8
    validate(SPEC["components"]["schemas"]["Book"]["example"], SPEC["components"]["schemas"]["Book"])

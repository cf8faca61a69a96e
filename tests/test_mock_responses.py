"""assay.mock.responses: which response the mock serves, over real HTTP on 127.0.0.1.

A small ASGI adapter serves a ``ResponseBook`` under uvicorn (tests/servers.py), so every
answer below is what a client really receives; pure helpers (Prefer and Accept parsing,
the default status) are tested directly.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from xml.etree import ElementTree

import httpx
import pytest

from assay.checks.registry import CheckContext, build_registry
from assay.core.records import Response, Timings
from assay.demo import spec_text
from assay.http.serving import ServerRequest
from assay.mock.negotiation import negotiate
from assay.mock.responses import Choice, ResponseBook, default_status, parse_prefer
from assay.specs import load_spec, load_spec_text
from assay.specs.model import ApiSpec, Operation, ResponseSpec
from assay.specs.validators import schema_validator
from servers import serve

SPEC = """
openapi: 3.0.3
info: {title: Shelf, version: '1'}
paths:
  /books/{bookId}:
    get:
      parameters:
        - {name: bookId, in: path, required: true, schema: {type: integer}}
      responses:
        '200':
          description: A book.
          headers:
            X-Rate-Limit: {required: true, schema: {type: integer, minimum: 1, maximum: 1000}}
            X-Trace: {schema: {type: string, example: abc-123}}
            X-Count: {schema: {type: integer, example: many}}
            X-Optional: {schema: {type: string}}
            Content-Length: {required: true, schema: {type: integer, example: 99999}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Book'}
              examples:
                bad: {value: {id: x, title: 1}}
                dune: {value: {id: 1, title: Dune}}
                emma: {value: {id: 2, title: Emma}}
            text/plain:
              schema: {type: string}
              example: Dune, by Frank Herbert
        '404':
          description: No such book.
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
              examples:
                gone: {value: {type: about:blank, title: Not Found, status: 404}}
        5XX:
          description: The server failed.
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
    delete:
      parameters:
        - {name: bookId, in: path, required: true, schema: {type: integer}}
      responses:
        '204': {description: Deleted.}
        '404': {description: No such book.}
  /authors:
    get:
      responses:
        '200':
          description: Authors.
          content:
            application/json:
              schema:
                type: array
                minItems: 2
                maxItems: 5
                items: {$ref: '#/components/schemas/Author'}
            application/xml:
              schema:
                type: array
                minItems: 2
                maxItems: 5
                items: {$ref: '#/components/schemas/Author'}
  /impossible:
    get:
      responses:
        '200':
          description: A schema nothing satisfies.
          content:
            application/json:
              schema: {type: integer, minimum: 5, maximum: 1}
  /download:
    get:
      responses:
        '200':
          description: Some bytes, undescribed.
          content:
            application/octet-stream: {}
components:
  schemas:
    Book:
      type: object
      required: [id, title]
      properties:
        id: {type: integer}
        title: {type: string, minLength: 1}
    Author:
      type: object
      required: [id, name, born]
      properties:
        id: {type: integer, minimum: 1}
        name: {type: string, minLength: 1, maxLength: 40}
        born: {type: string, format: date}
        email: {type: string, format: email}
    Problem:
      type: object
      required: [type, title, status]
      properties:
        type: {type: string, example: about:blank}
        title: {type: string, example: Bad Request}
        status: {type: integer, minimum: 400, maximum: 599}
"""


def mock_app(spec: ApiSpec, book: ResponseBook):
    """An ASGI app answering every operation of ``spec`` from ``book`` the way the mock
    server does: parse_prefer, respond, and a Content-Length of the server's own."""
    routes = [(op, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", op.path) + "$"))
              for op in spec.operations]

    async def app(scope, receive, send):
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        request = ServerRequest(scope["method"], scope["path"], scope["query_string"].decode(),
                                [(k.decode("latin-1"), v.decode("latin-1"))
                                 for k, v in scope["headers"]])
        operation = next(op for op, pattern in routes
                         if op.method == request.method and pattern.match(request.path))
        answer = book.respond(operation, parse_prefer(request))
        headers = [(k.encode(), v.encode()) for k, v in answer.headers]
        if answer.status not in (204, 304):  # as the mock's server does
            headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    return app


@pytest.fixture(scope="module")
def shelf(tmp_path_factory) -> ApiSpec:
    path = tmp_path_factory.mktemp("spec") / "shelf.yaml"
    path.write_text(textwrap.dedent(SPEC))
    return load_spec(str(path))


@pytest.fixture(scope="module")
def book(shelf: ApiSpec) -> ResponseBook:
    return ResponseBook(shelf, seed=1)


@pytest.fixture(scope="module")
def client(shelf: ApiSpec, book: ResponseBook) -> Iterator[httpx.Client]:
    with serve(mock_app(shelf, book), lifespan="off") as url, \
            httpx.Client(base_url=url) as http:
        yield http


def schema_of(spec: ApiSpec, label: str, status: str, media: str = "application/json"):
    method, path = label.split(" ", 1)
    operation = spec.operation(method, path)
    assert operation is not None
    return operation.responses[status].content[media].schema


# -- examples -----------------------------------------------------------------------------


def test_first_valid_example_is_served_and_the_invalid_one_named_in_a_warning(client, book):
    answer = client.get("/books/7")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"id": 1, "title": "Dune"}
    bad = [w for w in book.warnings if "'bad'" in w]
    assert len(bad) == 1
    assert bad[0].startswith("GET /books/{bookId} 200 application/json: example 'bad' "
                             "does not match its schema: ")
    assert bad[0].endswith("; not served")


def test_named_example_through_prefer_and_through_the_query(client):
    assert client.get("/books/7", headers={"Prefer": "example=emma"}).json()["title"] == "Emma"
    quoted = client.get("/books/7", headers={"Prefer": 'code=200, example="emma"'})
    assert quoted.status_code == 200 and quoted.json()["title"] == "Emma"
    assert client.get("/books/7?__example=emma").json()["title"] == "Emma"


def test_named_example_of_another_response_answers_with_its_status(client):
    answer = client.get("/books/7", headers={"Prefer": "example=gone"})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {"type": "about:blank", "title": "Not Found", "status": 404}


@pytest.mark.parametrize("name", ["nope", "bad"])
def test_unknown_or_invalid_example_is_a_400_listing_the_names(client, name):
    answer = client.get("/books/7", headers={"Prefer": f"example={name}"})
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["status"] == 400 and repr(name) in problem["detail"]
    assert problem["examples"] == ["dune", "emma", "gone"]


def test_example_assembled_from_property_examples_agrees_with_the_status(client, shelf):
    answer = client.get("/books/7", headers={"Prefer": "code=503"})
    assert answer.status_code == 503
    body = answer.json()
    assert body == {"type": "about:blank", "title": "Service Unavailable", "status": 503}
    assert schema_validator(schema_of(shelf, "GET /books/{bookId}", "5XX",
                                      "application/problem+json"), shelf.registry).is_valid(body)


# -- status -------------------------------------------------------------------------------


def test_prefer_code_picks_the_documented_response(client):
    answer = client.get("/books/7", headers={"Prefer": "code=404"})
    assert answer.status_code == 404
    assert answer.json()["status"] == 404


def test_undocumented_code_is_a_400_listing_the_documented_codes(client):
    answer = client.get("/books/7", headers={"Prefer": "code=418"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert "418" in problem["detail"] and problem["documented"] == ["200", "404", "5XX"]


def test_unreadable_code_is_a_400(client):
    answer = client.get("/books/7", headers={"Prefer": "code=teapot"})
    assert answer.status_code == 400
    assert "'teapot'" in answer.json()["detail"]


def test_204_has_no_body_and_no_content_type(client):
    answer = client.delete("/books/7")
    assert answer.status_code == 204
    assert answer.content == b"" and "content-type" not in answer.headers
    missing = client.delete("/books/7", headers={"Prefer": "code=404"})
    assert missing.status_code == 404 and missing.content == b""


def _op(*keys: str) -> Operation:
    return Operation("GET", "/x", responses={key: ResponseSpec(key) for key in keys})


@pytest.mark.parametrize(("keys", "expected"), [
    (("404", "201", "200"), 200), (("2XX", "404"), 200), (("default",), 200),
    (("302", "404", "default"), 302), (("404", "500"), 404), (("101", "404"), 404),
    (("4XX",), 400), ((), 200),
    # Only errors documented: one that does not blame a valid request.
    (("400", "401", "409", "404"), 404), (("400", "422", "409"), 409), (("400", "500"), 400),
])
def test_default_status(keys, expected):
    assert default_status(_op(*keys)) == expected


# -- media types --------------------------------------------------------------------------


def test_accept_chooses_among_documented_media_types(client):
    text = client.get("/books/7", headers={"Accept": "text/plain"})
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text == "Dune, by Frank Herbert"
    weighted = client.get("/books/7", headers={"Accept": "text/plain;q=0.5, application/json"})
    assert weighted.headers["content-type"] == "application/json"
    anything = client.get("/books/7", headers={"Accept": "text/html, */*;q=0.1"})
    assert anything.headers["content-type"] == "application/json"
    # A client asking for JSON gets a documented problem+json error.
    error = client.get("/books/7", headers={"Accept": "application/json", "Prefer": "code=404"})
    assert error.headers["content-type"] == "application/problem+json"


def test_no_acceptable_media_type_is_a_406_listing_the_available_ones(client):
    answer = client.get("/books/7", headers={"Accept": "application/xml, text/plain;q=0"})
    assert answer.status_code == 406
    assert answer.json()["available"] == ["application/json", "text/plain"]


def test_negotiate_ranks_by_quality_then_specificity_then_json():
    documented = ["application/xml", "application/json", "text/csv"]
    assert [k for k, _ in negotiate(None, documented)] == [
        "application/json", "application/xml", "text/csv"]
    assert negotiate("application/xml, */*", documented)[0][0] == "application/xml"
    assert negotiate("text/*;q=0.9, application/*;q=0.5", documented)[0][0] == "text/csv"
    assert [k for k, _ in negotiate("*/*, application/json;q=0", documented)] == [
        "application/xml", "text/csv"]
    assert negotiate("image/png", documented) == []
    assert negotiate("text/html", ["*/*"]) == [("*/*", "text/html")]
    assert negotiate(None, ["application/*"]) == [("application/*", "application/json")]


def test_schema_less_media_type_has_an_empty_body(client):
    answer = client.get("/download")
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["content-type"] == "application/octet-stream"


# -- generated bodies ---------------------------------------------------------------------


def test_generated_body_is_valid_and_reproducible_for_a_seed(client, shelf):
    answer = client.get("/authors")
    body = answer.json()
    schema = schema_of(shelf, "GET /authors", "200")
    assert schema_validator(schema, shelf.registry).is_valid(body)
    operation = shelf.operation("GET", "/authors")
    first = ResponseBook(shelf, seed=1).plan(operation, Choice())
    again = ResponseBook(shelf, seed=1).plan(operation, Choice())
    other = ResponseBook(shelf, seed=2).plan(operation, Choice())
    assert first.source == "generated"  # hypothesis drew it: no fallback to minimal values
    assert first.body == again.body == body
    assert other.body != first.body
    assert schema_validator(schema, shelf.registry).is_valid(other.body)


def test_xml_media_type_gets_an_xml_body(client):
    answer = client.get("/authors", headers={"Accept": "application/xml"})
    assert answer.headers["content-type"] == "application/xml"
    root = ElementTree.fromstring(answer.content)
    assert 2 <= len(root.findall("item")) <= 5
    assert all(item.find("name") is not None for item in root.findall("item"))


def test_dynamic_preference_generates_even_when_an_example_exists(client, shelf):
    answer = client.get("/books/7", headers={"Prefer": "dynamic=true"})
    assert answer.status_code == 200
    body = answer.json()
    assert body not in ({"id": 1, "title": "Dune"}, {"id": 2, "title": "Emma"})
    schema = schema_of(shelf, "GET /books/{bookId}", "200")
    assert schema_validator(schema, shelf.registry).is_valid(body)


def test_schema_nothing_satisfies_is_a_500_naming_it(client):
    answer = client.get("/impossible")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "GET /impossible 200 application/json" in answer.json()["detail"]


def test_plan_returns_a_fresh_body_each_time(shelf, book):
    operation = shelf.operation("GET", "/books/{bookId}")
    planned = book.plan(operation, Choice())
    planned.body["title"] = "changed"
    assert book.plan(operation, Choice()).body == {"id": 1, "title": "Dune"}
    answer = book.respond(operation, Choice())
    answer.headers.append(("X-Extra", "1"))
    assert book.respond(operation, Choice()).header("X-Extra") is None


# -- headers ------------------------------------------------------------------------------


def test_documented_headers_get_values_that_match_their_schemas(client, book):
    answer = client.get("/books/7")
    assert 1 <= int(answer.headers["x-rate-limit"]) <= 1000
    assert answer.headers["x-trace"] == "abc-123"
    assert "x-optional" not in answer.headers and "x-count" not in answer.headers
    assert answer.headers.get_list("content-length") == [str(len(answer.content))]
    assert any("example 'many' of header 'X-Count'" in w for w in book.warnings)


# -- Prefer parsing -----------------------------------------------------------------------


def test_parse_prefer_reads_rfc7240_syntax_and_query_overrides():
    request = ServerRequest("GET", "/b", "__code=201&x=1", [
        ("Prefer", 'respond-async, example="a \\"quoted\\" name"; dynamic=TRUE'),
        ("prefer", "example=second, code=404"),
        ("Accept", "application/json"), ("Accept", "text/*;q=0.5"),
    ])
    choice = parse_prefer(request)
    assert choice == Choice(code=201, example='a "quoted" name', dynamic=True,
                            accept="application/json, text/*;q=0.5")
    assert parse_prefer(ServerRequest("GET", "/b")) == Choice()
    assert parse_prefer(ServerRequest("GET", "/b", "__dynamic=false")).dynamic is False


# -- self-consistency ---------------------------------------------------------------------


def test_every_demo_response_passes_assays_own_checks():
    spec = load_spec_text(spec_text(), source="demo-openapi.yaml")
    book = ResponseBook(spec, seed=5)
    assert book.warnings == []
    checks = build_registry(["content_type_conformance", "response_schema_conformance",
                             "response_headers_conformance", "status_code_conformance"])
    seen = set()
    with serve(mock_app(spec, book), lifespan="off") as url, httpx.Client(base_url=url) as http:
        for operation in spec.operations:
            path = operation.path.replace("{bookId}", "1").replace("{authorId}", "1")
            codes = [None, *(int(key) if key.isdigit() else 500 for key in operation.responses)]
            for code in codes:
                headers = {"Prefer": f"code={code}"} if code else {}
                answer = http.request(operation.method, path, headers=headers)
                assert answer.status_code == (code or answer.status_code)
                response = Response(answer.status_code, list(answer.headers.multi_items()),
                                    answer.content, Timings(0.0))
                ctx = CheckContext(operation=operation, registry=spec.registry)
                assert checks.run(ctx, response, None) == [], (operation.label, code)
                if answer.content:
                    json.loads(answer.content)
                seen.add((operation.label, answer.status_code))
    assert len(seen) == 24  # every documented response, default included

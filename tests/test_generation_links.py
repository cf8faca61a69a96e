"""Links between operations, runtime expressions and the stateful phase's plan (pure logic)."""

from __future__ import annotations

import json

import pytest

import assay.demo
from assay.core.errors import SpecError
from assay.core.records import Case, Request, Response, Timings
from assay.generation.links import Link, evaluate, find_links, link_values
from assay.generation.sequences import MAX_STEPS, ROLES, plan_sequences
from assay.specs import ApiSpec, load_spec, load_spec_text
from corpus import CORPUS

CORPUS_DOCUMENTS = sorted(p.name for p in CORPUS.iterdir()) if CORPUS.is_dir() else []

INFO = "info: {title: t, version: '1'}\n"

EXPLICIT = """\
openapi: 3.0.3
""" + INFO + """\
paths:
  /users:
    post:
      operationId: createUser
      responses:
        '201':
          description: created
          content:
            application/json:
              schema:
                type: object
                properties: {id: {type: integer}, org: {type: string}}
          links:
            GetUser:
              operationId: getUser
              parameters:
                userId: $response.body#/id
                query.verbose: true
                header.X-Trace: 'trace-{$response.header.X-Request-Id}'
            RenameUser:
              operationRef: '#/paths/~1users~1%7BuserId%7D/patch'
              parameters:
                path.userId: '{$response.body#/id}'
              requestBody:
                name: renamed
                by: '{$request.body#/name}'
            Nowhere:
              operationId: noSuchOperation
  /users/{userId}:
    parameters:
      - {name: userId, in: path, required: true, schema: {type: integer}}
    get:
      operationId: getUser
      parameters:
        - {name: verbose, in: query, schema: {type: boolean}}
        - {name: X-Trace, in: header, schema: {type: string}}
      responses:
        '200': {description: ok}
    patch:
      responses:
        '200': {description: ok}
    delete:
      operationId: deleteUser
      responses:
        '204': {description: gone}
"""

NESTED = """\
openapi: 3.1.0
""" + INFO + """\
paths:
  /authors:
    post:
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Author'}
  /authors/{authorId}:
    get:
      parameters: [{name: authorId, in: path, required: true, schema: {type: integer}}]
      responses: {'200': {description: ok}}
  /authors/{authorId}/books:
    get:
      parameters: [{name: authorId, in: path, required: true, schema: {type: integer}}]
      responses: {'200': {description: ok}}
    post:
      parameters: [{name: authorId, in: path, required: true, schema: {type: integer}}]
      responses:
        '200':
          description: created
          content:
            application/json:
              schema:
                allOf:
                  - {$ref: '#/components/schemas/Stamp'}
                  - {type: object, properties: {book_id: {type: integer}}}
  /authors/{authorId}/books/{bookId}:
    parameters:
      - {name: authorId, in: path, required: true, schema: {type: integer}}
      - {name: bookId, in: path, required: true, schema: {type: integer}}
    get:
      responses: {'200': {description: ok}}
    patch:
      responses: {'200': {description: ok}}
    delete:
      responses: {'204': {description: gone}}
  /authors/{authorId}/books/{bookId}/cover:
    parameters:
      - {name: authorId, in: path, required: true, schema: {type: integer}}
      - {name: bookId, in: path, required: true, schema: {type: integer}}
    get:
      responses: {'200': {description: ok}}
components:
  schemas:
    Author:
      type: object
      properties: {id: {type: integer}, authorId: {type: integer}, name: {type: string}}
    Stamp:
      type: object
      properties: {created: {type: string}}
"""


def _spec(text: str) -> ApiSpec:
    return load_spec_text(text, source="spec.yaml")


def _demo() -> ApiSpec:
    return load_spec_text(assay.demo.spec_text(), source="demo.yaml")


def _summary(links: list[Link]) -> list[tuple]:
    return [(link.source.label, link.status, link.target.label, link.parameters, link.origin)
            for link in links]


def _response(status: int = 200, body: bytes = b"", headers=None) -> Response:
    return Response(status, list(headers or []), body, Timings(total=0.0))


# -- inference ---------------------------------------------------------------------------------


def test_demo_links_are_inferred_from_the_id_field_and_the_location_header():
    spec = _demo()
    links = find_links(spec.operations, registry=spec.registry)
    body, location = "$response.body#/id", "$response.header.Location#lastSegment"
    expected = []
    for target in ("GET", "PUT", "DELETE"):
        label = f"{target} /books/{{bookId}}"
        expected += [
            ("POST /books", "201", label, (("path", "bookId", body),), "inferred: body field 'id'"),
            ("POST /books", "201", label, (("path", "bookId", location),),
             "inferred: Location header"),
        ]
    assert _summary(links) == expected
    assert _summary(find_links(spec.operations, registry=spec.registry)) == expected


def test_without_a_registry_referenced_schemas_are_opaque_and_location_remains():
    spec = _demo()
    links = find_links(spec.operations)
    assert [link.origin for link in links] == ["inferred: Location header"] * 3


def test_a_post_on_a_collection_feeds_its_items_from_an_undocumented_location():
    spec = _spec("openapi: 3.0.3\n" + INFO + """\
paths:
  /things:
    get: {responses: {'200': {description: list}}}
    post: {responses: {'202': {description: accepted}, '400': {description: bad}}}
  /things/{slug}:
    get:
      parameters: [{name: slug, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
""")
    links = find_links(spec.operations, registry=spec.registry)
    assert _summary(links) == [(
        "POST /things", "202", "GET /things/{slug}",
        (("path", "slug", "$response.header.Location#lastSegment"),), "inferred: Location header",
    )]


def test_body_fields_feed_parameters_by_name_resource_id_or_id():
    spec = _spec("openapi: 3.0.3\n" + INFO + """\
paths:
  /categories:
    post:
      responses:
        '201':
          description: created
          content:
            application/vnd.api+json:
              schema:
                type: object
                properties: {id: {}, Category_ID: {}, slug: {}, name: {}}
  /categories/{categoryId}:
    get:
      parameters: [{name: categoryId, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
  /categories/{slug}/items:
    get:
      parameters: [{name: slug, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
  /categories/{name}/x:
    get:
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
  /categories/{code}/y:
    get:
      parameters: [{name: code, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
""")
    body_links = {link.target.label: link.parameters
                  for link in find_links(spec.operations, registry=spec.registry)
                  if link.origin.startswith("inferred: body")}
    assert body_links == {
        # <resource>Id (categories → category) wins over plain id, whatever its spelling
        "GET /categories/{categoryId}": (("path", "categoryId", "$response.body#/Category_ID"),),
        "GET /categories/{slug}/items": (("path", "slug", "$response.body#/slug"),),
        "GET /categories/{name}/x": (("path", "name", "$response.body#/name"),),
        # 'code' is not an identifier by name, and no field is called so: 'id' does not feed it
    }


def test_nested_resources_copy_the_parent_parameter_from_the_request():
    spec = _spec(NESTED)
    links = find_links(spec.operations, registry=spec.registry)
    by_pair = {(link.source.label, link.target.label, link.origin): link.parameters
               for link in links}
    # authorId (exact name) beats id for the parameter authorId
    assert by_pair[("POST /authors", "GET /authors/{authorId}", "inferred: body field 'authorId'")] \
        == (("path", "authorId", "$response.body#/authorId"),)
    assert by_pair[("POST /authors/{authorId}/books", "GET /authors/{authorId}/books/{bookId}",
                    "inferred: body field 'book_id'")] == (
        ("path", "authorId", "$request.path.authorId"),
        ("path", "bookId", "$response.body#/book_id"),
    )
    # the Location guess reaches paths further down too
    assert by_pair[("POST /authors", "GET /authors/{authorId}/books/{bookId}/cover",
                    "inferred: Location header")] == (
        ("path", "authorId", "$response.header.Location#lastSegment"),)


# -- explicit links ----------------------------------------------------------------------------


def test_explicit_links_resolve_operation_ids_and_refs_and_locate_parameters():
    spec = _spec(EXPLICIT)
    links = find_links(spec.operations, registry=spec.registry)
    explicit = [link for link in links if link.origin == "explicit"]
    assert [(link.name, link.target.label) for link in explicit] == [
        ("GetUser", "GET /users/{userId}"), ("RenameUser", "PATCH /users/{userId}")]
    assert explicit[0].target is spec.operation("GET", "/users/{userId}")
    assert explicit[0].parameters == (
        ("path", "userId", "$response.body#/id"),
        ("query", "verbose", True),
        ("header", "X-Trace", "trace-{$response.header.X-Request-Id}"),
    )
    assert explicit[1].parameters == (("path", "userId", "{$response.body#/id}"),)
    assert explicit[1].request_body == {"name": "renamed", "by": "{$request.body#/name}"}
    # An explicit link connects POST → GET and POST → PATCH: no inference for those pairs;
    # DELETE has none, so it is inferred (from the documented body field 'id').
    inferred = [link for link in links if link.origin != "explicit"]
    assert {link.target.label for link in inferred} == {"DELETE /users/{userId}"}


def test_explicit_link_values_from_an_exchange():
    spec = _spec(EXPLICIT)
    get_user, rename = [link for link in find_links(spec.operations, registry=spec.registry)
                        if link.origin == "explicit"]
    request = Request("POST", "http://h/users", body=b'{"name": "ada"}', operation="POST /users")
    response = _response(201, b'{"id": 7}', [("x-request-id", "r-1")])
    assert link_values(get_user, request, None, response) == {
        ("path", "userId"): 7, ("query", "verbose"): True, ("header", "X-Trace"): "trace-r-1"}
    assert link_values(rename, request, None, response) == {
        ("path", "userId"): 7, ("body", ""): {"name": "renamed", "by": "ada"}}
    # no X-Request-Id in the response: the trace header cannot be built
    assert link_values(get_user, request, None, _response(201, b'{"id": 7}')) is None
    assert link_values(rename, request, None, _response(201, b"not json")) is None


# -- runtime expressions -----------------------------------------------------------------------


BODY = {"a/b": {"m~n": [10, {"x": None}]}, "id": 4, "": "empty key"}


@pytest.mark.parametrize("expression, expected", [
    ("$response.body#/id", (True, 4)),
    ("$response.body#/a~1b/m~0n/0", (True, 10)),
    ("$response.body#/a~1b/m~0n/1/x", (True, None)),
    ("$response.body#/", (True, "empty key")),
    ("$response.body", (True, BODY)),
    ("$response.body#/a~1b/m~0n/2", (False, None)),
    ("$response.body#/a~1b/m~0n/01", (False, None)),
    ("$response.body#/a~1b/m~0n/-", (False, None)),
    ("$response.body#/id/deeper", (False, None)),
    ("$response.body#/a/b", (False, None)),
    ("$response.header.ETAG", (True, '"v1"')),
    ("$response.header.Location#lastSegment", (True, "4 2")),
    ("$response.header.X-Missing", (False, None)),
    ("$statusCode", (True, 201)),
    ("$method", (True, "POST")),
    ("$url", (True, "http://h/v2/shelves/s%201/books?lang=fr&lang=en")),
    ("$request.header.authorization", (True, "Bearer t")),
    ("$request.query.lang", (True, "fr")),
    ("$request.query.absent", (False, None)),
    ("$request.path.shelfId", (True, "s 1")),
    ("$request.body#/title", (True, "Dune")),
    ("$response.query.lang", (False, None)),
    ("{$response.body#/id}", (True, 4)),
    ("/books/{$response.body#/id}?shelf={$request.path.shelfId}", (True, "/books/4?shelf=s 1")),
    ("{$response.body#/a~1b/m~0n/1/x}-{$statusCode}", (True, "null-201")),
    ("x-{$response.body#/nope}", (False, None)),
    ("a constant", (True, "a constant")),
    (42, (True, 42)),
    ("$response.nonsense", (False, None)),
    ("$request.path.", (False, None)),
])
def test_evaluate_against_one_exchange_without_a_case(expression, expected):
    request = Request("POST", "http://h/v2/shelves/s%201/books?lang=fr&lang=en",
                      [("Authorization", "Bearer t")], b'{"title": "Dune"}',
                      operation="POST /shelves/{shelfId}/books")
    response = _response(201, json.dumps(BODY).encode(),
                         [("Location", "https://h/v2/books/4%202/?x=1"), ("etag", '"v1"')])
    assert evaluate(expression, request, None, response) == expected


def test_evaluate_prefers_the_case_for_typed_request_values():
    request = Request("POST", "http://h/shelves/3/books?limit=10", body=b"title=Dune",
                      operation="POST /shelves/{shelfId}/books")
    case = Case("POST /shelves/{shelfId}/books", "POST", "/shelves/{shelfId}/books",
                path_params={"shelfId": 3}, query={"limit": 10, "tags": ["a", "b"]},
                headers={"X-Mode": "fast"}, body={"title": "Dune"})
    response = _response(201)
    assert evaluate("$request.path.shelfId", request, case, response) == (True, 3)
    assert evaluate("$request.query.tags", request, case, response) == (True, ["a", "b"])
    assert evaluate("$request.header.x-mode", request, case, response) == (True, "fast")
    assert evaluate("$request.body#/title", request, case, response) == (True, "Dune")
    # without the case, the form body is not JSON: absent
    assert evaluate("$request.body#/title", request, None, response) == (False, None)


def test_non_json_and_empty_bodies_are_absent():
    request = Request("GET", "http://h/x")
    for body in (b"", b"<html>", b"\xff\xfe"):
        assert evaluate("$response.body#/id", request, None, _response(200, body)) == (False, None)
    assert evaluate("$request.path.id", request, None, _response()) == (False, None)
    empty_location = _response(201, headers=[("Location", "/")])
    assert evaluate("$response.header.Location#lastSegment", request, None,
                    empty_location) == (False, None)


# -- sequences ---------------------------------------------------------------------------------


def test_demo_plans_the_books_lifecycle_in_order():
    spec = _demo()
    links = find_links(spec.operations, registry=spec.registry)
    sequences = plan_sequences(spec.operations, links)
    assert len(sequences) == 1
    (lifecycle,) = sequences
    assert lifecycle.labels == ("POST /books", "GET /books/{bookId}", "PUT /books/{bookId}",
                                "GET /books/{bookId}", "DELETE /books/{bookId}",
                                "GET /books/{bookId}")
    assert lifecycle.roles == ("create", "read_after_create", "update", "read", "delete",
                               "read_after_delete")
    assert lifecycle.name == ("create → read → update → read → delete → read: "
                              "POST /books → /books/{bookId}")
    assert [step.source for step in lifecycle.steps] == [None, 0, 0, 0, 0, 0]
    for step in lifecycle.steps[1:]:
        assert [link.origin for link in step.links] == [
            "inferred: body field 'id'", "inferred: Location header"]
        assert all(link.source.label == "POST /books" and link.target is step.operation
                   for link in step.links)
        assert step.link is step.links[0]
    assert plan_sequences(spec.operations, links) == sequences


def test_a_lifecycle_feeds_each_step_from_real_values():
    spec = _demo()
    (lifecycle,) = plan_sequences(spec.operations,
                                  find_links(spec.operations, registry=spec.registry))
    create = Request("POST", "http://h/books", operation="POST /books")
    only_location = _response(201, b"", [("Location", "http://h/books/9")])
    read = lifecycle.steps[1]
    assert link_values(read.links[0], create, None, only_location) is None
    assert link_values(read.links[1], create, None, only_location) == {("path", "bookId"): "9"}


def test_nested_resources_chain_through_the_parent_and_leftover_links_pair_up():
    spec = _spec(NESTED)
    sequences = plan_sequences(spec.operations, find_links(spec.operations,
                                                           registry=spec.registry))
    by_name = {sequence.name: sequence for sequence in sequences}
    author = by_name["create → read: POST /authors → /authors/{authorId}"]
    assert author.roles == ("create", "read_after_create")
    books = by_name["create → create → read → update → delete → read: "
                    "POST /authors → POST /authors/{authorId}/books → "
                    "/authors/{authorId}/books/{bookId}"]
    assert books.labels == ("POST /authors", "POST /authors/{authorId}/books",
                            "GET /authors/{authorId}/books/{bookId}",
                            "PATCH /authors/{authorId}/books/{bookId}",
                            "DELETE /authors/{authorId}/books/{bookId}",
                            "GET /authors/{authorId}/books/{bookId}")
    assert books.roles == ("create", "create", "read_after_create", "update", "delete",
                           "read_after_delete")
    assert [step.source for step in books.steps] == [None, 0, 1, 1, 1, 1]
    # Pairs that a lifecycle covers get no sequence of their own, nor do links that cannot
    # fill every path parameter of their target (POST /authors → .../books/{bookId}); a
    # source that needs a parent starts with the parent's create.
    assert [s.name for s in sequences] == [
        author.name, books.name,
        "create then read: POST /authors → GET /authors/{authorId}/books",
        "create then create then read: POST /authors → POST /authors/{authorId}/books → "
        "GET /authors/{authorId}/books/{bookId}/cover",
    ]
    cover = sequences[3]
    assert [step.source for step in cover.steps] == [None, 0, 1]
    assert cover.steps[2].link.parameters == (
        ("path", "authorId", "$request.path.authorId"),
        ("path", "bookId", "$response.body#/book_id"))
    assert all(len(s.steps) <= MAX_STEPS and set(s.roles) <= set(ROLES) for s in sequences)


def test_the_nested_chain_carries_values_from_step_to_step():
    spec = _spec(NESTED)
    (books,) = [s for s in plan_sequences(spec.operations,
                                          find_links(spec.operations, registry=spec.registry))
                if len(s.steps) == MAX_STEPS]
    made_author = _response(201, b'{"id": 1, "authorId": 5}')
    post_author = Request("POST", "http://h/authors", operation="POST /authors")
    assert link_values(books.steps[1].link, post_author, None, made_author) == {
        ("path", "authorId"): 5}
    case = Case("POST /authors/{authorId}/books", "POST", "/authors/{authorId}/books",
                path_params={"authorId": 5})
    post_book = Request("POST", "http://h/authors/5/books", operation=case.operation)
    assert link_values(books.steps[2].link, post_book, case, _response(200, b'{"book_id": 8}')) \
        == {("path", "authorId"): 5, ("path", "bookId"): 8}


def test_links_to_operations_outside_the_plan_are_ignored():
    spec = _demo()
    links = find_links(spec.operations, registry=spec.registry)
    reads_only = [op for op in spec.operations if op.method != "POST"]
    assert plan_sequences(reads_only, links) == []


# -- corpus ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS_DOCUMENTS or ["<corpus absent>"])
def test_links_and_sequences_on_corpus_documents(name):
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    try:
        spec = load_spec(str(CORPUS / name))
    except SpecError:
        pytest.skip("the document does not load (covered by the loader's tests)")
    links = find_links(spec.operations, registry=spec.registry)
    for link in links:
        assert any(link.target is op for op in spec.operations), link
        assert any(link.source is op for op in spec.operations), link
        assert link.status in link.source.responses, link
    for sequence in plan_sequences(spec.operations, links):
        assert 2 <= len(sequence.steps) <= MAX_STEPS, sequence.name
        for index, step in enumerate(sequence.steps):
            assert step.role in ROLES
            if step.source is None:
                assert index == 0 and not step.links
                continue
            assert step.source < index and step.links
            feeder = sequence.steps[step.source].operation
            assert all(link.source is feeder and link.target is step.operation
                       for link in step.links), sequence.name

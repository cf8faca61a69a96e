"""The stateful store: what is created can be read, listed, changed and deleted."""

from __future__ import annotations

from assay.mock.state import StateStore
from assay.specs.loader import load_spec_text

SPEC = """
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /books:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Book"}}
                  total: {type: integer}
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Book"}}}}
      responses:
        "201": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Book"}}}}
  /books/{bookId}:
    get:
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Book"}}}}}
    put:
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Book"}}}}}
    patch:
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Book"}}}}}
    delete:
      responses: {"204": {description: gone}}
  /books/{bookId}/publish:
    post: {responses: {"200": {description: ok}}}
  /authors/{authorId}/notes:
    get: {responses: {"200": {description: ok, content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Note"}}}}}}}
    post: {responses: {"201": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}}}
  /authors/{authorId}/notes/{noteId}:
    get: {responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}}}
components:
  schemas:
    Book:
      type: object
      additionalProperties: false
      required: [bookId, title]
      properties:
        bookId: {type: integer, readOnly: true}
        title: {type: string}
        secret: {type: string, writeOnly: true}
        year: {type: integer}
    Note:
      type: object
      properties:
        id: {type: string, format: uuid}
        text: {type: string}
"""


def store() -> tuple[StateStore, dict]:
    spec = load_spec_text(SPEC)
    ops = {op.label: op for op in spec.operations}
    return StateStore(spec, seed=3), ops


def test_kinds_are_read_from_the_paths() -> None:
    state, ops = store()
    kinds = {label: state.kind(op) for label, op in ops.items()}
    assert kinds == {
        "GET /books": "list", "POST /books": "create", "GET /books/{bookId}": "read",
        "PUT /books/{bookId}": "replace", "PATCH /books/{bookId}": "update",
        "DELETE /books/{bookId}": "delete", "POST /books/{bookId}/publish": None,
        "GET /authors/{authorId}/notes": "list", "POST /authors/{authorId}/notes": "create",
        "GET /authors/{authorId}/notes/{noteId}": "read",
    }


def test_create_read_list_update_delete() -> None:
    state, ops = store()
    created = state.apply(ops["POST /books"], "/books",
                          {"title": "Dune", "secret": "s3", "extra": 1},
                          {"bookId": 0, "title": "x"}, 201)
    assert created is not None and created.status == 201
    assert created.body == {"bookId": 1, "title": "Dune"}  # writeOnly hidden, extra refused
    assert created.headers == [("Location", "/books/1")]
    second = state.apply(ops["POST /books"], "/books", {"title": "Emma"}, {"title": "x"}, 201)
    assert second is not None and second.body["bookId"] == 2

    read = state.apply(ops["GET /books/{bookId}"], "/books/1", None, None, 200)
    assert read is not None and read.found and read.body == {"bookId": 1, "title": "Dune"}

    listed = state.apply(ops["GET /books"], "/books", None, {"items": [], "total": 0}, 200)
    assert listed is not None
    assert [b["title"] for b in listed.body["items"]] == ["Dune", "Emma"]
    assert listed.body["total"] == 2

    patched = state.apply(ops["PATCH /books/{bookId}"], "/books/1", {"year": 1965}, None, 200)
    assert patched is not None and patched.body == {"bookId": 1, "title": "Dune", "year": 1965}

    gone = state.apply(ops["DELETE /books/{bookId}"], "/books/1", None, None, 204)
    assert gone is not None and gone.status == 204
    missing = state.apply(ops["GET /books/{bookId}"], "/books/1", None, None, 200)
    assert missing is not None and not missing.found
    assert state.count() == 1


def test_put_to_a_new_id_creates_it_with_that_id() -> None:
    state, ops = store()
    put = state.apply(ops["PUT /books/{bookId}"], "/books/7", {"title": "Kim"}, {"title": ""},
                      200)
    assert put is not None and put.body == {"bookId": 7, "title": "Kim"}
    read = state.apply(ops["GET /books/{bookId}"], "/books/7", None, None, 200)
    assert read is not None and read.body["title"] == "Kim"


def test_nested_collections_are_apart_and_uuid_ids_follow_the_seed() -> None:
    state, ops = store()
    post = ops["POST /authors/{authorId}/notes"]
    one = state.apply(post, "/authors/1/notes", {"text": "a"}, {}, 201)
    state.apply(post, "/authors/2/notes", {"text": "b"}, {}, 201)
    assert one is not None and len(one.body["id"]) == 36
    listed = state.apply(ops["GET /authors/{authorId}/notes"], "/authors/1/notes", None, [], 200)
    assert listed is not None and [n["text"] for n in listed.body] == ["a"]
    again, again_ops = store()
    replay = again.apply(again_ops["POST /authors/{authorId}/notes"], "/authors/1/notes", {"text": "a"}, {}, 201)
    assert replay is not None and replay.body["id"] == one.body["id"]


def test_reset_forgets_everything_and_non_resource_operations_are_left_alone() -> None:
    state, ops = store()
    state.apply(ops["POST /books"], "/books", {"title": "Dune"}, {}, 201)
    assert state.apply(ops["POST /books/{bookId}/publish"], "/books/1/publish", None, None,
                       200) is None
    assert state.reset() == 1
    assert state.count() == 0

"""Routing requests to operations: the base path, templates, precedence, 405 vs 404."""

from __future__ import annotations

import pytest

from assay.mock.router import NoRoute, Route, Router, base_path, query_variables, split_template
from assay.specs.loader import load_spec_text

SPEC = """
openapi: 3.1.0
info: {title: t, version: "1"}
servers: [{url: "https://api.example.com/v2/"}]
paths:
  /books:
    get: {responses: {"200": {description: ok}}}
    post: {responses: {"201": {description: ok}}}
  /books/search:
    get: {responses: {"200": {description: ok}}}
  /books/{bookId}:
    get: {responses: {"200": {description: ok}}}
    delete: {responses: {"204": {description: ok}}}
  /files/{name}.{ext}:
    get: {responses: {"200": {description: ok}}}
"""


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_spec_text(SPEC))


def test_operations_are_served_under_the_first_servers_path(router: Router) -> None:
    assert router.prefix == "/v2"
    found = router.match("GET", "/v2/books")
    assert isinstance(found, Route) and found.operation.label == "GET /books"
    outside = router.match("GET", "/books")
    assert isinstance(outside, NoRoute) and outside.allowed == []


def test_literal_paths_win_over_templates(router: Router) -> None:
    found = router.match("GET", "/v2/books/search")
    assert isinstance(found, Route) and found.operation.path == "/books/search"
    item = router.match("GET", "/v2/books/42")
    assert isinstance(item, Route) and item.operation.path == "/books/{bookId}"
    assert item.path_params == {"bookId": "42"}


def test_values_are_decoded_after_matching(router: Router) -> None:
    found = router.match("GET", "/v2/books/a%2Fb%20c")
    assert isinstance(found, Route) and found.path_params == {"bookId": "a/b c"}
    two = router.match("GET", "/v2/files/report.pdf")
    assert isinstance(two, Route) and two.path_params == {"name": "report", "ext": "pdf"}


def test_a_known_path_with_another_method_lists_what_it_allows(router: Router) -> None:
    found = router.match("PATCH", "/v2/books/1")
    assert isinstance(found, NoRoute)
    assert found.allowed == ["GET", "DELETE", "HEAD"]
    assert router.match("GET", "/v2/nothing/here").allowed == []


def test_head_falls_back_to_get_and_trailing_slashes_are_tolerated(router: Router) -> None:
    head = router.match("HEAD", "/v2/books/")
    assert isinstance(head, Route) and head.operation.label == "GET /books"


@pytest.mark.parametrize(("servers", "expected"), [
    ([], ""), (["/"], ""), (["http://h:8000"], ""), (["/api/v1/"], "/api/v1"),
    (["https://{region}.example.com/base"], "/base"),
])
def test_base_path(servers: list[str], expected: str) -> None:
    spec = load_spec_text(SPEC)
    spec.servers = servers
    assert base_path(spec) == expected


def test_adjacent_variables_split_lazily() -> None:
    spec = load_spec_text(SPEC.replace("/files/{name}.{ext}", "/pages/{page}{extension}"))
    found = Router(spec).match("GET", "/v2/pages/home.json")
    assert isinstance(found, Route)
    assert found.path_params == {"page": "home", "extension": ".json"}


# Real documents put queries and fragments in their paths (APIs.guru's S3, ShipStation).
ODD_PATHS = """
swagger: "2.0"
info: {title: t, version: "1"}
basePath: /api
paths:
  /carriers/get?code={carrierCode}:
    get:
      parameters: [{name: carrierCode, in: path, required: true, type: string}]
      responses: {"200": {description: ok}}
  /carriers/{carrierId}:
    get:
      parameters: [{name: carrierId, in: path, required: true, type: integer}]
      responses: {"200": {description: ok}}
  /#DeleteRule:
    post: {responses: {"200": {description: ok}}}
  /{Bucket}#ListObjects:
    get:
      parameters: [{name: Bucket, in: path, required: true, type: string}]
      responses: {"200": {description: ok}}
  /{Bucket}?acl:
    get:
      parameters: [{name: Bucket, in: path, required: true, type: string}]
      responses: {"200": {description: ok}}
  /{Bucket}?list-type=2&prefix={prefix}#ListObjectsV2:
    get:
      parameters: [{name: Bucket, in: path, required: true, type: string}]
      responses: {"200": {description: ok}}
"""


@pytest.fixture(scope="module")
def odd() -> Router:
    return Router(load_spec_text(ODD_PATHS))


def test_a_templates_query_and_fragment_are_not_matched_against_the_path(odd: Router) -> None:
    carrier = odd.match("GET", "/api/carriers/get")
    assert isinstance(carrier, Route)
    assert carrier.operation.path == "/carriers/get?code={carrierCode}"
    assert carrier.path_params == {}  # the variable travels in the query
    numbered = odd.match("GET", "/api/carriers/12")
    assert isinstance(numbered, Route) and numbered.path_params == {"carrierId": "12"}
    rule = odd.match("POST", "/api")
    assert isinstance(rule, Route) and rule.operation.path == "/#DeleteRule"
    assert odd.allowed("/carriers/get") == ["GET", "HEAD"]


@pytest.mark.parametrize(("query", "chosen"), [
    (None, "/{Bucket}#ListObjects"),   # no query given: the one without literal pieces
    ("", "/{Bucket}#ListObjects"),
    ("acl", "/{Bucket}?acl"),
    ("acl=&x=1", "/{Bucket}?acl"),
    ("list-type=2&prefix=a", "/{Bucket}?list-type=2&prefix={prefix}#ListObjectsV2"),
    ("list-type=1", "/{Bucket}#ListObjects"),  # no template asks for list-type=1
])
def test_literal_query_pieces_choose_between_operations_on_one_path(
        odd: Router, query: str | None, chosen: str) -> None:
    found = odd.match("GET", "/api/photos", query)
    assert isinstance(found, Route) and found.operation.path == chosen
    assert found.path_params == {"Bucket": "photos"}


@pytest.mark.parametrize(("template", "path", "wants", "variables"), [
    ("/books/{id}", "/books/{id}", (), {}),
    ("/#DeleteRule", "/", (), {}),
    ("/{B}?acl#GetAcl", "/{B}", (("acl", None),), {}),
    ("/?Operation=Cancel%20Job", "/", (("Operation", "Cancel Job"),), {}),
    ("/get?code={c}&all=true", "/get", (("all", "true"),), {"c": "code"}),
    ("/get?code=x{c}", "/get", (), {}),  # part of a value: nothing to read back
])
def test_split_template_and_query_variables(template, path, wants, variables) -> None:
    assert split_template(template) == (path, wants)
    assert query_variables(template) == variables

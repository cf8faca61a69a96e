"""Request validation of ``assay mock``: requests built as ``ServerRequest`` records.

The central property is agreement with the tester: every request that assay's examples and
coverage phases (and a sample of its fuzz phase) send as valid is accepted, and every one
they send as invalid is rejected. The other tests pin down each style, body type and
security scheme, and the shape of the problem documents.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import assay.demo
from assay.core.records import Case, Request
from assay.generation.cases import base_case, case_strategy, coverage_cases
from assay.generation.examples import example_cases
from assay.http.body import Part, encode_multipart
from assay.http.build import build_request
from assay.http.serving import ServerRequest
from assay.mock.router import Route, Router
from assay.mock.validation import (
    Problem,
    RequestValidator,
    Validated,
    error_status,
    problem_response,
)
from assay.specs import ApiSpec, load_spec
from assay.specs.loader import load_spec_text

DEMO_SPEC = Path(assay.demo.__file__).parent / "openapi.yaml"

SPEC = """
openapi: 3.1.0
info: {title: Styles, version: "1"}
servers: [{url: "http://api.example/v1"}]
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
    basic: {type: http, scheme: basic}
    headerKey: {type: apiKey, in: header, name: X-Api-Key}
    queryKey: {type: apiKey, in: query, name: api_key}
    cookieKey: {type: apiKey, in: cookie, name: sid}
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: "https://t.example/token", scopes: {}}}}
paths:
  /simple/{ids}/{obj}:
    get:
      parameters:
        - {name: ids, in: path, required: true, schema: {type: array, minItems: 1, items: {type: integer, minimum: 1}}}
        - name: obj
          in: path
          required: true
          explode: true
          schema: {type: object, required: [R], properties: {R: {type: integer}, G: {type: integer, maximum: 255}}}
      responses: {'200': {description: ok}}
  /label/{ids}/{plain}:
    get:
      parameters:
        - {name: ids, in: path, required: true, style: label, schema: {type: array, items: {type: integer}}}
        - {name: plain, in: path, required: true, style: label, schema: {type: string, enum: [red, green]}}
      responses: {'200': {description: ok}}
  /labelx/{pt}:
    get:
      parameters:
        - {name: pt, in: path, required: true, style: label, explode: true, schema: {type: object, properties: {x: {type: integer}, y: {type: integer}}}}
      responses: {'200': {description: ok}}
  /matrix/{id}/{tags}/{pt}:
    get:
      parameters:
        - {name: id, in: path, required: true, style: matrix, schema: {type: integer, minimum: 5}}
        - {name: tags, in: path, required: true, style: matrix, explode: true, schema: {type: array, items: {type: string, maxLength: 4}}}
        - {name: pt, in: path, required: true, style: matrix, schema: {type: object, properties: {x: {type: integer}, y: {type: integer}}, required: [x]}}
      responses: {'200': {description: ok}}
  /query:
    get:
      parameters:
        - {name: limit, in: query, required: true, schema: {type: integer, minimum: 1, maximum: 100}}
        - {name: tags, in: query, schema: {type: array, maxItems: 3, items: {type: string, enum: [a, b, c]}}}
        - {name: csv, in: query, explode: false, schema: {type: array, items: {type: integer}}}
        - {name: spaced, in: query, style: spaceDelimited, explode: false, schema: {type: array, items: {type: number}}}
        - {name: piped, in: query, style: pipeDelimited, explode: false, schema: {type: array, items: {type: boolean}}}
        - name: filter
          in: query
          style: deepObject
          explode: true
          schema: {type: object, properties: {color: {type: string, enum: [red, blue]}, size: {type: integer, minimum: 1}}}
        - name: point
          in: query
          schema: {type: object, required: [x, y], additionalProperties: false, properties: {x: {type: integer}, y: {type: integer}}}
        - {name: flag, in: query, schema: {type: boolean}}
        - {name: note, in: query, schema: {type: string}}
        - name: doc
          in: query
          content:
            application/json:
              schema: {type: object, required: [n], properties: {n: {type: integer}}}
        - {name: X-Rate, in: header, required: true, schema: {type: integer, minimum: 0}}
        - {name: X-List, in: header, schema: {type: array, items: {type: integer}}}
        - {name: Accept, in: header, required: true, schema: {type: string, enum: [never]}}
        - {name: session, in: cookie, required: true, schema: {type: string, pattern: '^[a-z0-9]+$'}}
        - {name: prefs, in: cookie, explode: false, schema: {type: array, items: {type: integer}}}
      responses: {'200': {description: ok}, '422': {description: invalid}}
  /plain/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses: {'200': {description: ok}, '4XX': {description: client error}}
  /form:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string, minLength: 1}
                age: {type: integer, minimum: 0}
                tags: {type: array, items: {type: string, maxLength: 3}}
                meta: {type: object, properties: {a: {type: integer}}}
                ids: {type: array, items: {type: integer}}
            encoding:
              ids: {style: form, explode: false}
      responses: {'200': {description: ok}}
  /upload:
    post:
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file, title]
              properties:
                file: {type: string, format: binary}
                title: {type: string, maxLength: 20}
                count: {type: integer, minimum: 0}
                ids: {type: array, items: {type: integer}}
                info: {type: object, required: [k], properties: {k: {type: string}}}
      responses: {'200': {description: ok}}
  /notes:
    post:
      security: [{headerKey: []}, {}]
      requestBody:
        content:
          text/plain:
            schema: {type: string, maxLength: 5}
          application/*+json:
            schema:
              type: object
              required: [id, text]
              properties:
                id: {type: integer, readOnly: true}
                text: {type: string}
      responses: {'200': {description: ok}}
  /anything:
    put:
      requestBody:
        content:
          '*/*':
            schema: {type: string, format: binary, maxLength: 10}
      responses: {'200': {description: ok}}
  /bearer:
    get:
      security: [{bearer: []}]
      parameters:
        - {name: n, in: query, required: true, schema: {type: integer}}
      responses: {'200': {description: ok}}
  /basic:
    get:
      security: [{basic: []}]
      responses: {'200': {description: ok}}
  /keys:
    get:
      security: [{headerKey: []}, {queryKey: [], cookieKey: []}]
      responses: {'200': {description: ok}}
  /oauth:
    get:
      security: [{oauth: []}]
      responses: {'200': {description: ok}}
"""

CREDENTIALS = {"bearer": ("Authorization", "Bearer t0k3n"),
               "basic": ("Authorization", "Basic " + base64.b64encode(b"u:p").decode()),
               "headerKey": ("X-Api-Key", "k"),
               "oauth": ("Authorization", "Bearer t0k3n"),
               "bearerAuth": ("Authorization", "Bearer demo-token")}


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> ApiSpec:
    path = tmp_path_factory.mktemp("spec") / "styles.yaml"
    path.write_text(SPEC)
    return load_spec(str(path))


@pytest.fixture(scope="module")
def demo() -> ApiSpec:
    return load_spec(str(DEMO_SPEC))


class Mock:
    """Routes and validates requests as the mock does."""

    def __init__(self, spec: ApiSpec):
        self.spec = spec
        self.router = Router(spec)
        self.validator = RequestValidator(spec)

    def send(self, method: str, target: str, headers=(), body: bytes = b"") -> Validated:
        path, _, query = target.partition("?")
        path = self.router.prefix + path
        route = self.router.match(method, path)
        assert isinstance(route, Route), f"{method} {path} does not route"
        request = ServerRequest(method, path, query, list(headers), body)
        return self.validator.validate(route.operation, request, route.path_params)

    def send_built(self, request: Request) -> tuple[Validated, Route]:
        parts = urlsplit(request.url)
        route = self.router.match(request.method, parts.path)
        assert isinstance(route, Route), f"{request.method} {parts.path} does not route"
        received = ServerRequest(request.method, parts.path, parts.query,
                                 list(request.headers), request.body or b"")
        return self.validator.validate(route.operation, received, route.path_params), route

    def build(self, case: Case) -> Request:
        operation = self.spec.operation(case.method, case.path)
        assert operation is not None
        credentials = [CREDENTIALS[name] for name in (operation.security or [{}])[0]]
        return build_request(case, operation, "http://mock" + self.router.prefix,
                             extra_headers=credentials)


@pytest.fixture(scope="module")
def mock(spec) -> Mock:
    return Mock(spec)


@pytest.fixture(scope="module")
def demo_mock(demo) -> Mock:
    return Mock(demo)


def texts(validated: Validated) -> list[str]:
    return [str(p) for p in validated.problems]


# --- agreement with the tester ----------------------------------------------------------


def test_every_example_of_the_demo_spec_is_accepted(demo, demo_mock):
    for operation in demo.operations:
        cases = example_cases(operation, demo.registry).cases
        assert cases, operation.label
        for case in cases:
            validated, route = demo_mock.send_built(demo_mock.build(case))
            assert route.operation is operation
            assert validated.status == 200, (operation.label, texts(validated))


@pytest.mark.parametrize("which", ["demo", "styles"])
def test_coverage_cases_agree_with_the_tester(which, demo, spec):
    """Boundary values are accepted and every named negative case is rejected."""
    target = demo if which == "demo" else spec
    mock = Mock(target)
    accepted = rejected = 0
    for operation in target.operations:
        if operation.path == "/anything":
            # A binary body cannot be of a "wrong type": the 12345 sent as one is bytes.
            continue
        base = base_case(operation, target.registry, "coverage")
        for case in [base, *coverage_cases(operation, target.registry, base)]:
            validated, route = mock.send_built(mock.build(case))
            assert route.operation is operation
            if case.negative is None:
                assert validated.status == 200, (case.source, texts(validated))
                accepted += 1
            else:
                expected = error_status(operation)
                assert validated.status == expected, (case.source, texts(validated))
                assert validated.problems, case.source
                rejected += 1
    assert accepted > 20 and rejected > 20


# Form fields are left out: the fuzz phase may put an object in a string field, which it
# counts as invalid although a form carries it as (valid) text.
FUZZED = ["/simple/{ids}/{obj}", "/label/{ids}/{plain}", "/matrix/{id}/{tags}/{pt}",
          "/query", "/upload", "/notes"]


@pytest.mark.parametrize("path", FUZZED)
def test_fuzzed_cases_agree_with_the_tester(path, spec, mock):
    operation = next(op for op in spec.operations if op.path == path)

    @settings(max_examples=40, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case_strategy(operation, spec.registry))
    def agree(case):
        validated, _ = mock.send_built(mock.build(case))
        assert validated.ok == (case.negative is None), (case.source, texts(validated))

    agree()


# --- parameters ---------------------------------------------------------------------------


def test_path_styles_are_read_back(mock):
    validated = mock.send("GET", "/simple/1,2,3/R=10,G=20")
    assert validated.status == 200, texts(validated)
    assert validated.params["path"] == {"ids": [1, 2, 3], "obj": {"R": 10, "G": 20}}

    validated = mock.send("GET", "/label/.4,5/.red")
    assert validated.params["path"] == {"ids": [4, 5], "plain": "red"}
    assert validated.ok

    assert mock.send("GET", "/labelx/.x=1.y=2").params["path"] == {"pt": {"x": 1, "y": 2}}

    validated = mock.send("GET", "/matrix/;id=7/;tags=ab;tags=cd/;pt=x,1,y,2")
    assert validated.ok, texts(validated)
    assert validated.params["path"] == {"id": 7, "tags": ["ab", "cd"], "pt": {"x": 1, "y": 2}}


def test_bad_path_values_are_located(mock):
    assert texts(mock.send("GET", "/simple/1,0/R=1")) == ["path.ids/1: 0 is less than the "
                                                          "minimum of 1"]
    assert texts(mock.send("GET", "/label/4,5/.red")) == [
        "path.ids: expected a label value starting with '.'; got '4,5'"]
    problems = texts(mock.send("GET", "/matrix/;id=3/;tags=toolong/;pt=y,1"))
    assert problems == ["path.id: 3 is less than the minimum of 5",
                        "path.tags/0: 'toolong' is too long",
                        "path.pt: 'x' is a required property"]
    assert texts(mock.send("GET", "/simple/1/R,1,G")) == [
        "path.obj: expected name=value; got 'R'"]


def test_a_template_variable_left_unfilled_is_a_missing_parameter(mock):
    validated = mock.send("GET", "/plain/%7Bid%7D")
    assert texts(validated) == ["path.id: required parameter is missing"]


def test_a_path_variable_the_template_holds_in_its_query_is_read_from_the_query():
    # APIs.guru documents do this ("/carriers/get?code={carrierCode}", in: path).
    spec = load_spec_text("""
openapi: 3.0.3
info: {title: q, version: "1"}
paths:
  /carriers/get?code={carrierCode}:
    get:
      parameters:
        - {name: carrierCode, in: path, required: true, schema: {type: string, minLength: 2}}
        - name: point
          in: query
          schema: {type: object, additionalProperties: {type: integer}}
      responses: {"200": {description: ok}}
""")
    mock = Mock(spec)
    validated = mock.send("GET", "/carriers/get?code=ups")
    assert validated.ok, texts(validated)
    # "code" is the variable's, not a property of the exploded object "point".
    assert validated.params == {"path": {"carrierCode": "ups"}, "query": {}, "header": {},
                                "cookie": {}}
    assert texts(mock.send("GET", "/carriers/get?code=u")) == [
        "path.carrierCode: 'u' is too short"]
    assert texts(mock.send("GET", "/carriers/get")) == [
        "path.carrierCode: required parameter is missing"]
    operation = spec.operations[0]
    for case in example_cases(operation, spec.registry).cases:
        validated, _ = mock.send_built(mock.build(case))
        assert validated.ok, texts(validated)


QUERY_HEADERS = [("X-Rate", "3"), ("Cookie", "session=abc")]


def test_query_styles_are_read_back(mock):
    target = ("/query?limit=5&tags=a&tags=b&csv=1,2&spaced=1.5%202&piped=true|false"
              "&filter[color]=red&filter[size]=3&x=1&y=2&flag=true"
              "&doc=%7B%22n%22%3A1%7D")
    validated = mock.send("GET", target, [*QUERY_HEADERS, ("X-List", "1, 2"),
                                          ("X-List", "3")])
    assert validated.status == 200, texts(validated)
    assert validated.params["query"] == {
        "limit": 5, "tags": ["a", "b"], "csv": [1, 2], "spaced": [1.5, 2],
        "piped": [True, False], "filter": {"color": "red", "size": 3},
        "point": {"x": 1, "y": 2}, "flag": True, "doc": {"n": 1}}
    assert validated.params["header"] == {"X-Rate": 3, "X-List": [1, 2, 3]}
    assert validated.params["cookie"] == {"session": "abc"}


def test_missing_required_parameters_are_each_reported(mock):
    validated = mock.send("GET", "/query")
    assert validated.status == 422
    assert texts(validated) == ["query.limit: required parameter is missing",
                                "header.X-Rate: required parameter is missing",
                                "cookie.session: required parameter is missing"]


def test_wrong_type_and_bad_enum_are_reported_with_readable_messages(mock):
    validated = mock.send("GET", "/query?limit=abc&tags=z&filter[color]=green",
                          QUERY_HEADERS)
    assert validated.status == 422
    assert texts(validated) == [
        "query.limit: 'abc' is not of type 'integer'",
        "query.tags/0: 'z' is not one of ['a', 'b', 'c']",
        "query.filter/color: 'green' is not one of ['red', 'blue']"]


def test_empty_query_values_are_judged_by_the_schema(mock):
    assert texts(mock.send("GET", "/query?limit=", QUERY_HEADERS)) == [
        "query.limit: '' is not of type 'integer'"]
    validated = mock.send("GET", "/query?limit=1&note=&csv=", QUERY_HEADERS)
    assert validated.ok, texts(validated)
    assert validated.params["query"]["note"] == ""
    assert validated.params["query"]["csv"] == []


def test_objects_in_the_query_catch_extra_and_malformed_pieces(mock):
    assert texts(mock.send("GET", "/query?limit=1&x=1&y=2&z=3", QUERY_HEADERS)) == [
        "query.point: Additional properties are not allowed ('z' was unexpected)"]
    # Without a declared property of it present, an unknown pair is just unknown.
    assert mock.send("GET", "/query?limit=1&z=3", QUERY_HEADERS).ok
    assert texts(mock.send("GET", "/query?limit=1&filter[a=1", QUERY_HEADERS)) == [
        "query.filter: expected name[property]=value; got 'filter[a'"]
    assert texts(mock.send("GET", "/query?limit=1&doc=%7Bn", QUERY_HEADERS))[0].startswith(
        "query.doc: not valid JSON")


def test_header_and_cookie_values_are_checked(mock):
    headers = [("X-Rate", "-1"), ("Cookie", "session=ABC; prefs=1,x")]
    assert texts(mock.send("GET", "/query?limit=1", headers)) == [
        "header.X-Rate: -1 is less than the minimum of 0",
        "cookie.session: 'ABC' does not match '^[a-z0-9]+$'",
        "cookie.prefs/1: 'x' is not of type 'integer'"]


def test_the_ignored_header_parameters_are_not_required(mock):
    # "Accept" is declared required with an impossible enum: OpenAPI says to ignore it.
    validated = mock.send("GET", "/query?limit=1", [*QUERY_HEADERS, ("Accept", "*/*")])
    assert validated.ok
    assert "Accept" not in validated.params["header"]


def test_the_same_invalid_value_gets_the_same_verdict_twice(mock):
    first = mock.send("GET", "/plain/abc")
    second = mock.send("GET", "/plain/abc")
    assert texts(first) == texts(second) == ["path.id: 'abc' is not of type 'integer'"]
    assert mock.send("GET", "/plain/12").ok


# --- 422 or 400 ---------------------------------------------------------------------------


def test_422_only_when_the_operation_documents_it(spec, mock):
    assert error_status(spec.operation("GET", "/query")) == 422
    # A 4XX range does not document 422 itself.
    assert error_status(spec.operation("GET", "/plain/{id}")) == 400
    assert mock.send("GET", "/plain/abc").status == 400
    assert mock.send("GET", "/query?limit=0", QUERY_HEADERS).status == 422


# --- bodies -------------------------------------------------------------------------------

BEARER = [("Authorization", "Bearer x")]


def json_body(value) -> tuple[list[tuple[str, str]], bytes]:
    return [*BEARER, ("Content-Type", "application/json")], json.dumps(value).encode()


def test_a_valid_json_body_is_parsed(demo_mock):
    headers, body = json_body({"title": "Dune", "author": "Frank Herbert"})
    validated = demo_mock.send("POST", "/books", headers, body)
    assert validated.status == 200
    assert validated.body == {"title": "Dune", "author": "Frank Herbert"}
    assert validated.media_type == "application/json"


def test_body_errors_are_located_by_json_pointer(demo_mock):
    headers, body = json_body({"title": "Dune", "author": "F", "published": "1965",
                               "tags": ["a", 3]})
    validated = demo_mock.send("POST", "/books", headers, body)
    assert validated.status == 422
    assert texts(validated) == ["body/published: '1965' is not of type 'integer'",
                                "body/tags/1: 3 is not of type 'string'"]


def test_a_body_that_is_not_json_is_reported(demo_mock):
    validated = demo_mock.send("POST", "/books", [*BEARER, ("Content-Type", "application/json")],
                               b'{"title": ')
    assert validated.status == 422
    assert texts(validated)[0].startswith("body: not valid JSON: ")


def test_a_required_body_that_is_missing_is_reported(demo_mock):
    validated = demo_mock.send("POST", "/books", BEARER)
    assert texts(validated) == ["body: a request body is required"]


def test_an_undocumented_media_type_gets_415(demo_mock):
    headers = [*BEARER, ("Content-Type", "text/xml")]
    validated = demo_mock.send("POST", "/books", headers, b"<book/>")
    assert validated.status == 415
    assert texts(validated) == ["body: media type 'text/xml' is not accepted; "
                                "expected application/json"]
    assert demo_mock.send("POST", "/books", BEARER, b"{}").status == 415


def test_content_type_parameters_and_media_ranges(mock, demo_mock):
    headers = [*BEARER, ("Content-Type", "Application/JSON; charset=utf-8")]
    body = b'{"title": "t", "author": "a"}'
    assert demo_mock.send("POST", "/books", headers, body).ok
    # application/*+json covers any JSON-suffixed type; */* covers anything.
    merge = [("Content-Type", "application/merge-patch+json")]
    assert mock.send("POST", "/notes", merge, b'{"text": "hi"}').ok
    assert mock.send("POST", "/notes", [("Content-Type", "application/xml")], b"<a/>"
                     ).status == 415
    validated = mock.send("PUT", "/anything", [("Content-Type", "image/png")], b"\x89PNG")
    assert validated.ok and validated.body == b"\x89PNG"
    too_long = mock.send("PUT", "/anything", [("Content-Type", "image/png")], b"x" * 11)
    assert texts(too_long) == ["body: 'xxxxxxxxxxx' is too long"]


def test_a_read_only_property_is_not_required_in_a_request(mock):
    headers = [("Content-Type", "application/vnd.note+json")]
    assert mock.send("POST", "/notes", headers, b'{"text": "hi"}').ok
    assert texts(mock.send("POST", "/notes", headers, b'{"id": 1}')) == [
        "body: 'text' is a required property"]


def test_a_text_body_is_checked_only_by_its_string_schema(mock):
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    validated = mock.send("POST", "/notes", headers, "héllo".encode())
    assert validated.ok and validated.body == "héllo"
    assert texts(mock.send("POST", "/notes", headers, b"too long")) == [
        "body: 'too long' is too long"]
    assert mock.send("POST", "/notes", [("Content-Type", "text/plain; charset=ascii")],
                     "é".encode()).status == 400


FORM = [("Content-Type", "application/x-www-form-urlencoded")]


def test_form_fields_are_coerced_by_their_property_schemas(mock):
    body = b"name=Ann&age=42&tags=ab&tags=cd&meta=%7B%22a%22%3A1%7D&ids=1,2&other=x"
    validated = mock.send("POST", "/form", FORM, body)
    assert validated.ok, texts(validated)
    assert validated.body == {"name": "Ann", "age": 42, "tags": ["ab", "cd"],
                              "meta": {"a": 1}, "ids": [1, 2], "other": "x"}


def test_form_errors_are_located_by_field(mock):
    validated = mock.send("POST", "/form", FORM, b"age=old&tags=long&meta=%7B")
    assert validated.status == 400
    assert texts(validated) == ["body/meta: not valid JSON: Expecting property name "
                                "enclosed in double quotes: line 1 column 2 (char 1)"]
    assert texts(mock.send("POST", "/form", FORM, b"age=old&tags=long")) == [
        "body: 'name' is a required property",
        "body/age: 'old' is not of type 'integer'",
        "body/tags/0: 'long' is too long"]
    # "tags=" is an empty array, as in a query.
    assert mock.send("POST", "/form", FORM, b"name=Ann&tags=").body == {"name": "Ann",
                                                                         "tags": []}
    # An empty form is the empty object: present, and missing its required field.
    assert texts(mock.send("POST", "/form", FORM, b"")) == [
        "body: 'name' is a required property"]


def multipart(*parts: Part) -> tuple[list[tuple[str, str]], bytes]:
    body, content_type = encode_multipart(list(parts))
    return [("Content-Type", content_type)], body


def test_multipart_parts_are_read_by_kind(mock):
    data = bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
    headers, body = multipart(
        Part("file", data, "blob.bin", "application/octet-stream"),
        Part("title", "Ünïcode".encode()),
        Part("count", b"3"),
        Part("ids", b"1"), Part("ids", b"2"),
        Part("info", b'{"k": "v"}', content_type="application/json"))
    validated = mock.send("POST", "/upload", headers, body)
    assert validated.ok, texts(validated)
    assert validated.body == {"file": data, "title": "Ünïcode", "count": 3, "ids": [1, 2],
                              "info": {"k": "v"}}
    assert validated.media_type == "multipart/form-data"


def test_multipart_errors_are_located_by_part(mock):
    headers, body = multipart(Part("title", b"x" * 21), Part("count", b"-1"),
                              Part("info", b"{", content_type="application/json"))
    assert texts(mock.send("POST", "/upload", headers, body))[0].startswith(
        "body/info: not valid JSON")
    headers, body = multipart(Part("title", b"x" * 21), Part("count", b"-1"))
    assert texts(mock.send("POST", "/upload", headers, body)) == [
        "body: 'file' is a required property",
        "body/title: 'xxxxxxxxxxxxxxxxxxxxx' is too long",
        "body/count: -1 is less than the minimum of 0"]
    broken = [("Content-Type", "multipart/form-data; boundary=abc")]
    problems = texts(mock.send("POST", "/upload", broken, b"no parts here"))
    assert len(problems) == 1
    assert problems[0].startswith("body: not a valid multipart/form-data body")


def test_a_body_the_operation_does_not_describe_is_ignored(demo_mock):
    validated = demo_mock.send("GET", "/books", [("Content-Type", "text/plain")], b"hello")
    assert validated.ok
    assert validated.body is None


# --- security -----------------------------------------------------------------------------


def test_bearer_credentials(mock):
    assert mock.send("GET", "/bearer?n=1", [("Authorization", "Bearer abc")]).ok
    assert mock.send("GET", "/bearer?n=1", [("authorization", "bearer abc")]).ok
    for headers in ([], [("Authorization", "Bearer ")], [("Authorization", "Basic dTpw")]):
        validated = mock.send("GET", "/bearer?n=1", headers)
        assert validated.status == 401
        assert texts(validated) == [
            "security: credentials are missing: expected Authorization: Bearer ... (bearer)"]


def test_missing_credentials_come_before_other_problems(mock):
    validated = mock.send("GET", "/bearer?n=abc")
    assert validated.status == 401
    assert [p.location for p in validated.problems] == ["security"]
    assert mock.send("GET", "/bearer?n=abc", [("Authorization", "Bearer t")]).status == 400


def test_basic_credentials_must_be_base64_with_a_colon(mock):
    good = base64.b64encode(b"user:pass").decode()
    assert mock.send("GET", "/basic", [("Authorization", f"Basic {good}")]).ok
    no_colon = base64.b64encode(b"userpass").decode()
    for value in (f"Basic {no_colon}", "Basic !!!", "Bearer x"):
        assert mock.send("GET", "/basic", [("Authorization", value)]).status == 401


def test_api_keys_in_header_query_and_cookie(mock):
    assert mock.send("GET", "/keys", [("X-Api-Key", "k")]).ok
    # The second alternative needs both its keys.
    assert mock.send("GET", "/keys?api_key=k", [("Cookie", "other=1; sid=s")]).ok
    assert mock.send("GET", "/keys?api_key=k").status == 401
    assert mock.send("GET", "/keys", [("Cookie", "sid=s")]).status == 401
    validated = mock.send("GET", "/keys", [("X-Api-Key", "")])
    assert texts(validated) == [
        "security: credentials are missing: expected header X-Api-Key (headerKey) or "
        "query parameter api_key (queryKey) and cookie sid (cookieKey)"]


def test_oauth2_needs_a_bearer_token(mock):
    assert mock.send("GET", "/oauth", [("Authorization", "Bearer t")]).ok
    assert mock.send("GET", "/oauth").status == 401


def test_an_anonymous_alternative_lets_requests_in(mock):
    assert mock.send("POST", "/notes").ok


# --- problem documents ----------------------------------------------------------------------


def test_problem_response_is_a_problem_document(mock):
    validated = mock.send("GET", "/query?limit=abc", QUERY_HEADERS)
    response = problem_response(validated.status, validated.problems)
    assert response.status == 422
    assert response.header("content-type") == "application/problem+json"
    document = json.loads(response.body)
    assert document == {
        "type": "about:blank", "title": "Unprocessable Entity", "status": 422,
        "detail": "query.limit: 'abc' is not of type 'integer'",
        "errors": [{"location": "query.limit", "message": "'abc' is not of type 'integer'"}]}


def test_problem_response_detail_and_headers(mock):
    problems = [Problem(f"query.p{i}", "bad") for i in range(5)]
    document = json.loads(problem_response(400, problems).body)
    assert document["title"] == "Bad Request"
    assert document["detail"] == "query.p0: bad; query.p1: bad; query.p2: bad (and 2 more)"
    response = problem_response(404, [], detail="no such book",
                                headers=[("X-Trace", "1")])
    assert json.loads(response.body)["detail"] == "no such book"
    assert response.header("x-trace") == "1"


def test_a_401_names_the_schemes_in_www_authenticate(mock):
    validated = mock.send("GET", "/keys")
    response = problem_response(validated.status, validated.problems)
    assert response.status == 401
    challenges = [value for name, value in response.headers if name == "WWW-Authenticate"]
    assert challenges == ['ApiKey realm="Styles", in="header", name="X-Api-Key"',
                          'ApiKey realm="Styles", in="query", name="api_key"',
                          'ApiKey realm="Styles", in="cookie", name="sid"']
    bearer = mock.send("GET", "/bearer?n=1")
    response = problem_response(bearer.status, bearer.problems)
    assert response.header("www-authenticate") == 'Bearer realm="Styles"'
    assert json.loads(response.body)["errors"][0]["location"] == "security"

"""Suite expectations on responses: every operator both ways, and the messages people read.

Pure logic: responses are built as records, no server needed.
"""

from __future__ import annotations

import json

import pytest

from assay.checks.expect import check_expect
from assay.core.records import Response, Timings
from assay.suites import Expect, Matcher, TemplateError

BOOK = {
    "id": 12,
    "title": "Dune",
    "author": "herbert",
    "price": 9.5,
    "year": 1965,
    "ratio": 2.0,
    "draft": False,
    "isbn": None,
    "tags": ["sf", "classic"],
    "items": [{"price": 3}, {"price": -1}, {"price": 0}],
    "meta": {"pages": 412, "lang": "en"},
}


def response(body: object = BOOK, *, status: int = 200, headers=None, total: float = 0.1,
             content_type: str | None = "application/json") -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = list(headers or [])
    if content_type:
        all_headers.append(("Content-Type", content_type))
    return Response(status=status, headers=all_headers, body=raw, timings=Timings(total=total))


def json_failures(path: str, *matchers: Matcher, variables=None, resp=None) -> list[str]:
    expect = Expect(json=((path, tuple(matchers)),))
    return [f.message for f in check_expect(expect, resp or response(), variables or {})]


# (path, matcher) pairs that hold on BOOK, and pairs that fail with the message shown.
HOLDS = [
    ("$.title", Matcher("==", "Dune")),
    ("$.id", Matcher("==", 12)),
    ("$.ratio", Matcher("==", 2)),  # JSON equality: 2.0 == 2
    ("$.isbn", Matcher("==", None)),
    ("$.meta", Matcher("==", {"lang": "en", "pages": 412})),
    ("$.tags", Matcher("==", ["sf", "classic"])),
    ("$.title", Matcher("!=", "Emma")),
    ("$.draft", Matcher("!=", 0)),  # false is not 0
    ("$.year", Matcher("<", 2000)),
    ("$.year", Matcher("<=", 1965)),
    ("$.price", Matcher(">", 9)),
    ("$.price", Matcher(">=", 9.5)),
    ("$.title", Matcher("<", "Emma")),  # strings compare as text
    ("$.title", Matcher("matches", "^Du")),
    ("$.author", Matcher("matches", "her")),  # re.search: anywhere
    ("$.title", Matcher("contains", "un")),
    ("$.tags", Matcher("contains", "sf")),
    ("$.meta", Matcher("contains", "pages")),
    ("$.meta", Matcher("contains", {"lang": "en"})),
    ("$.title", Matcher("exists", True)),
    ("$.missing", Matcher("exists", False)),
    ("$.id", Matcher("type", ("integer",))),
    ("$.ratio", Matcher("type", ("integer",))),  # JSON Schema: 2.0 is an integer
    ("$.id", Matcher("type", ("number",))),
    ("$.title", Matcher("type", ("string",))),
    ("$.draft", Matcher("type", ("boolean",))),
    ("$.tags", Matcher("type", ("array",))),
    ("$.meta", Matcher("type", ("object",))),
    ("$.isbn", Matcher("type", ("null",))),
    ("$.isbn", Matcher("type", ("string", "null"))),
    ("$.tags", Matcher("length", (Matcher("==", 2),))),
    ("$.title", Matcher("length", (Matcher(">=", 1), Matcher("<", 10)))),
    ("$.meta", Matcher("length", (Matcher("==", 2),))),
    ("$.items[*].price", Matcher(">=", -1)),
]

FAILS = [
    ("$.author", Matcher("==", "Herbert"), "$.author: expected == 'Herbert', got 'herbert'"),
    ("$.id", Matcher("==", "12"), "$.id: expected == '12', got 12"),
    ("$.draft", Matcher("==", 0), "$.draft: expected == 0, got false"),
    ("$.meta", Matcher("==", {"lang": "en"}),
     '$.meta: expected == {"lang": "en"}, got {"pages": 412, "lang": "en"}'),
    ("$.title", Matcher("!=", "Dune"), "$.title: expected != 'Dune', got 'Dune'"),
    ("$.year", Matcher("<", 1965), "$.year: expected < 1965, got 1965"),
    ("$.year", Matcher("<=", 1900), "$.year: expected <= 1900, got 1965"),
    ("$.price", Matcher(">", 9.5), "$.price: expected > 9.5, got 9.5"),
    ("$.price", Matcher(">=", 10), "$.price: expected >= 10, got 9.5"),
    ("$.title", Matcher(">", 3), "$.title: expected > 3, got string ('Dune')"),
    ("$.title", Matcher("matches", "^dune$"), "$.title: expected to match '^dune$', got 'Dune'"),
    ("$.id", Matcher("matches", "^1"), "$.id: expected a string matching '^1', got integer (12)"),
    ("$.title", Matcher("contains", "x"), "$.title: expected to contain 'x', got 'Dune'"),
    ("$.tags", Matcher("contains", "new"),
     "$.tags: expected to contain 'new', got [\"sf\", \"classic\"]"),
    ("$.meta", Matcher("contains", {"lang": "fr"}),
     '$.meta: expected to contain {"lang": "fr"}, got {"pages": 412, "lang": "en"}'),
    ("$.id", Matcher("contains", 1), "$.id: expected to contain 1, got 12"),
    ("$.missing", Matcher("exists", True), "$.missing: no match"),
    ("$.title", Matcher("exists", False), "$.title: expected no match, got 'Dune'"),
    ("$.id", Matcher("type", ("string",)), "$.id: expected type string, got integer (12)"),
    ("$.price", Matcher("type", ("integer",)), "$.price: expected type integer, got number (9.5)"),
    ("$.draft", Matcher("type", ("number",)), "$.draft: expected type number, got boolean (false)"),
    ("$.isbn", Matcher("type", ("object", "array")),
     "$.isbn: expected type object or array, got null (null)"),
    ("$.tags", Matcher("length", (Matcher("==", 3),)),
     "$.tags: expected length == 3, got length 2"),
    ("$.title", Matcher("length", (Matcher(">=", 1), Matcher("<", 3))),
     "$.title: expected length < 3, got length 4"),
    ("$.id", Matcher("length", (Matcher("==", 2),)),
     "$.id: expected length == 2, got integer (12)"),
    ("$.missing", Matcher("==", 1), "$.missing: no match"),
]


@pytest.mark.parametrize("path, matcher", HOLDS)
def test_operator_holds(path, matcher):
    assert json_failures(path, matcher) == []


@pytest.mark.parametrize("path, matcher, message", FAILS)
def test_operator_fails_with_a_readable_message(path, matcher, message):
    assert json_failures(path, matcher) == [message]


def test_the_brief_examples():
    resp = response({"author": "herbert", "id": "12"})
    expect = Expect(json=(("$.author", (Matcher("==", "Herbert"),)),
                          ("$.id", (Matcher("type", ("integer",)),)),
                          ("$.missing", (Matcher("==", 1),))))
    failures = check_expect(expect, resp, {})
    assert [(f.check, f.message, f.cause) for f in failures] == [
        ("expected_json", "$.author: expected == 'Herbert', got 'herbert'", "$.author =="),
        ("expected_json", "$.id: expected type integer, got string ('12')", "$.id type"),
        ("expected_json", "$.missing: no match", "$.missing exists"),
    ]


def test_a_path_with_several_matches_must_hold_for_every_match():
    assert json_failures("$.items[*].price", Matcher(">", 0)) == [
        "$.items[*].price: expected > 0, got -1 at $['items'][1]['price'] (2 of 3 matches fail)"]
    assert json_failures("$.items[*].price", Matcher("type", ("integer",))) == []
    assert json_failures("$.items[*].price", Matcher("exists", False)) == [
        "$.items[*].price: expected no match, got 3 matches"]
    # One among many: a filter selects it.
    assert json_failures("$.items[?@.price < 0]", Matcher("exists", True)) == []


def test_several_operators_in_one_mapping_all_apply():
    failures = json_failures("$.year", Matcher(">", 1900), Matcher("<", 1960),
                             Matcher("type", ("integer",)))
    assert failures == ["$.year: expected < 1960, got 1965"]


def test_expectation_values_are_rendered_first():
    variables = {"title": "Dune", "min": 1970, "book": {"id": 12}, "n": "2"}
    assert json_failures("$.title", Matcher("==", "{{ title }}"), variables=variables) == []
    assert json_failures("$.id", Matcher("==", "{{ book.id }}"), variables=variables) == []
    assert json_failures("$.tags", Matcher("length", (Matcher("==", "{{ n }}"),)),
                         variables=variables) == []
    assert json_failures("$.year", Matcher(">=", "{{ min }}"), variables=variables) == [
        "$.year: expected >= 1970, got 1965"]
    with pytest.raises(TemplateError) as info:
        json_failures("$.title", Matcher("==", "{{ nope }}"))
    assert info.value.variable == "nope"


def test_a_cause_is_stable_across_rendered_values():
    expect = Expect(json=(("$.id", (Matcher("==", "{{ book_id }}"),)),))
    first = check_expect(expect, response(), {"book_id": 1})
    second = check_expect(expect, response(), {"book_id": 2})
    assert first[0].message != second[0].message
    assert first[0].cause == second[0].cause == "$.id =="


def test_json_expectations_on_a_body_that_is_not_json():
    html = response(b"<html>oops</html>", content_type="text/html; charset=utf-8")
    failures = check_expect(Expect(json=(("$.id", (Matcher("exists", True),)),)), html, {})
    assert [(f.check, f.message) for f in failures] == [
        ("expected_json", "body is not JSON (text/html)")]
    empty = response(b"", content_type=None)
    failures = check_expect(Expect(json=(("$.id", (Matcher("exists", True),)),)), empty, {})
    assert failures[0].message == "body is empty, not JSON (no content type)"


@pytest.mark.parametrize("expected, status, message", [
    ((201,), 201, None),
    ((200, 201), 201, None),
    (("2xx",), 204, None),
    ((201,), 200, "expected status 201, got 200"),
    ((200, 201), 404, "expected status 200 or 201, got 404"),
    (("2xx",), 500, "expected status 2xx, got 500"),
    (("4xx", 500), 503, "expected status 4xx or 500, got 503"),
])
def test_status(expected, status, message):
    failures = check_expect(Expect(status=expected), response(status=status), {})
    assert [f.message for f in failures] == ([message] if message else [])
    assert all(f.check == "expected_status" for f in failures)


def test_latency():
    assert check_expect(Expect(latency=("<", 0.5)), response(total=0.499), {}) == []
    assert check_expect(Expect(latency=("<=", 0.5)), response(total=0.5), {}) == []
    (failure,) = check_expect(Expect(latency=("<", 0.5)), response(total=0.5), {})
    assert (failure.check, failure.message, failure.cause) == (
        "max_response_time", "expected response time < 500ms, got 500ms", "< 500ms")
    (slow,) = check_expect(Expect(latency=("<=", 1.0)), response(total=2.25), {})
    assert slow.message == "expected response time <= 1s, got 2.25s"


def test_headers():
    resp = response(headers=[("ETag", '"abc"'), ("Content-Length", "412"),
                             ("Vary", "Accept"), ("Vary", "Origin")])

    def messages(name, *matchers, variables=None):
        expect = Expect(headers=((name, tuple(matchers)),))
        return [f.message for f in check_expect(expect, resp, variables or {})]

    assert messages("content-type", Matcher("==", "application/json")) == []  # any case
    assert messages("Content-Type", Matcher("matches", "^application/")) == []
    assert messages("Content-Type", Matcher("==", "text/html")) == [
        "header Content-Type: expected == 'text/html', got 'application/json'"]
    assert messages("X-Debug", Matcher("exists", False)) == []
    assert messages("ETag", Matcher("exists", False)) == [
        "header ETag: expected no match, got '\"abc\"'"]
    assert messages("X-Request-Id", Matcher("exists", True)) == ["header X-Request-Id: missing"]
    assert messages("X-Request-Id", Matcher("==", "x")) == ["header X-Request-Id: missing"]
    assert messages("Content-Length", Matcher("<", 1000), Matcher("==", 412)) == []
    assert messages("Content-Length", Matcher(">", 1000)) == [
        "header Content-Length: expected > 1000, got 412"]
    assert messages("Vary", Matcher("==", "Accept, Origin")) == []  # repeated fields join
    assert messages("Vary", Matcher("contains", "Origin")) == []
    assert messages("ETag", Matcher("==", "{{ etag }}"), variables={"etag": '"abc"'}) == []
    (failure,) = check_expect(Expect(headers=(("ETag", (Matcher("!=", '"abc"'),)),)), resp, {})
    assert (failure.check, failure.cause) == ("expected_headers", "etag !=")


def test_body_contains():
    resp = response(b"hello Dune world", content_type="text/plain")
    assert check_expect(Expect(body_contains=("Dune", "hello")), resp, {}) == []
    failures = check_expect(Expect(body_contains=("Dune", "{{ x }}")), resp, {"x": "Emma"})
    assert [(f.check, f.message, f.cause) for f in failures] == [
        ("expected_body", "body does not contain 'Emma'", "{{ x }}")]


def test_inline_schema():
    schema = {"type": "object", "required": ["id", "isbn13"],
              "properties": {"id": {"type": "string"}, "title": {"minLength": 10}}}
    failures = check_expect(Expect(schema=schema), response(), {})
    assert {f.check for f in failures} == {"expected_schema"}
    assert sorted(f.message for f in failures) == sorted([
        "body does not match the schema at $: 'isbn13' is a required property",
        "body does not match the schema at $.id: 12 is not of type string",
        "body does not match the schema at $.title: 'Dune' is too short",
    ])
    assert {f.cause for f in failures} == {"required", "properties/id/type",
                                           "properties/title/minLength"}
    assert check_expect(Expect(schema={"type": "object"}), response(), {}) == []
    not_json = check_expect(Expect(schema=True), response(b"x", content_type="text/plain"), {})
    assert [f.message for f in not_json] == ["body is not JSON (text/plain)"]


def test_everything_together_and_nothing_expected():
    expect = Expect(status=(200,), latency=("<", 1.0),
                    headers=(("Content-Type", (Matcher("contains", "json"),)),),
                    json=(("$.title", (Matcher("==", "Dune"),)),),
                    body_contains=("Dune",), schema={"type": "object"})
    assert check_expect(expect, response(), {}) == []
    assert check_expect(Expect(), response(b"", status=500, content_type=None), {}) == []

"""build_request / build_raw_request: URLs, every parameter style of the OpenAPI 3.1 style
table, and bodies by media type, as a real server receives them."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
from urllib.parse import parse_qs, unquote

import pytest

from assay.core.errors import SuiteError
from assay.core.records import Case, Request
from assay.http import HttpOptions, HttpxTransport, build_raw_request, build_request, join_url
from assay.http.params import serialize_cookie, serialize_header, serialize_path, serialize_query
from assay.specs.model import MediaType, Operation, Parameter, RequestBody
from servers import Canned, RecordingApp, serve

STRING = "blue"
ARRAY = ["blue", "black", "brown"]
OBJECT = {"R": 100, "G": 200, "B": 150}


def send_all(requests: list[Request]):
    async def go():
        async with HttpxTransport(HttpOptions(trust_env=False, timeout=5)) as transport:
            return [await transport.send(r) for r in requests]

    return asyncio.run(go())


def parse_multipart(content_type: str, body: bytes):
    """Server-side parsing of a multipart body with the standard library's MIME parser."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    assert message.is_multipart()
    return [
        (part.get_param("name", header="content-disposition"), part.get_filename(),
         part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_parts()
    ]


# -- the OpenAPI 3.1 style table, cell by cell -----------------------------------------------


@pytest.mark.parametrize(
    ("style", "explode", "value", "expected"),
    [
        ("simple", False, STRING, "blue"),
        ("simple", False, ARRAY, "blue,black,brown"),
        ("simple", False, OBJECT, "R,100,G,200,B,150"),
        ("simple", True, ARRAY, "blue,black,brown"),
        ("simple", True, OBJECT, "R=100,G=200,B=150"),
        # The table's "." for an empty label, encoded: a lone "." segment would be dropped
        # by URL normalization before it reached the server.
        ("label", False, "", "%2E"),
        ("label", False, STRING, ".blue"),
        ("label", False, ARRAY, ".blue,black,brown"),
        ("label", False, OBJECT, ".R,100,G,200,B,150"),
        ("label", True, ARRAY, ".blue.black.brown"),
        ("label", True, OBJECT, ".R=100.G=200.B=150"),
        ("matrix", False, "", ";color"),
        ("matrix", False, STRING, ";color=blue"),
        ("matrix", False, ARRAY, ";color=blue,black,brown"),
        ("matrix", False, OBJECT, ";color=R,100,G,200,B,150"),
        ("matrix", True, ARRAY, ";color=blue;color=black;color=brown"),
        ("matrix", True, OBJECT, ";R=100;G=200;B=150"),
    ],
)
def test_path_styles(style, explode, value, expected):
    assert serialize_path("color", value, style, explode) == expected


@pytest.mark.parametrize(
    ("style", "explode", "value", "expected"),
    [
        ("form", False, "", "color="),
        ("form", False, STRING, "color=blue"),
        ("form", False, ARRAY, "color=blue,black,brown"),
        ("form", False, OBJECT, "color=R,100,G,200,B,150"),
        ("form", True, STRING, "color=blue"),
        ("form", True, ARRAY, "color=blue&color=black&color=brown"),
        ("form", True, OBJECT, "R=100&G=200&B=150"),
        ("spaceDelimited", False, ARRAY, "color=blue%20black%20brown"),
        ("spaceDelimited", False, OBJECT, "color=R%20100%20G%20200%20B%20150"),
        ("pipeDelimited", False, ARRAY, "color=blue|black|brown"),
        ("pipeDelimited", False, OBJECT, "color=R|100|G|200|B|150"),
        ("deepObject", True, OBJECT, "color[R]=100&color[G]=200&color[B]=150"),
    ],
)
def test_query_styles(style, explode, value, expected):
    assert "&".join(serialize_query("color", value, style, explode)) == expected


def test_scalars_are_written_as_json_and_values_percent_encoded():
    assert serialize_query("q", True) == ["q=true"]
    assert serialize_query("q", None) == ["q=null"]
    assert serialize_query("q", 1.5) == ["q=1.5"]
    assert serialize_query("q", "a b&c=d/é") == ["q=a%20b%26c%3Dd%2F%C3%A9"]
    assert serialize_query("q", "a/b?c", allow_reserved=True) == ["q=a/b?c"]
    assert serialize_path("id", "a/b c") == "a%2Fb%20c"
    assert serialize_path("id", "..") == "%2E%2E"


def test_header_and_cookie_styles():
    assert serialize_header(ARRAY) == "blue,black,brown"
    assert serialize_header(OBJECT, explode=True) == "R=100,G=200,B=150"
    assert serialize_header("a b/c") == "a b/c"
    assert serialize_cookie("color", ARRAY, explode=False) == ["color=blue,black,brown"]
    assert serialize_cookie("id", "a;b c") == ["id=a%3Bb%20c"]


# -- whole requests, as the server receives them --------------------------------------------


def colors_operation() -> Operation:
    return Operation(
        method="GET",
        path="/colors/{label}/{matrix}/{plain}",
        parameters=[
            Parameter("label", "path", True, style="label", explode=True),
            Parameter("matrix", "path", True, style="matrix", explode=True),
            Parameter("plain", "path", True, style="simple", explode=False),
            Parameter("tags", "query", style="form", explode=True),
            Parameter("ids", "query", style="pipeDelimited", explode=False),
            Parameter("filter", "query", style="deepObject", explode=True),
            Parameter("X-Colors", "header", style="simple", explode=False),
            Parameter("session", "cookie", style="form", explode=True),
        ],
    )


def test_parameters_of_every_location_reach_the_server():
    operation = colors_operation()
    case = Case(
        operation=operation.label, method="get", path=operation.path,
        path_params={"label": ARRAY, "matrix": OBJECT, "plain": "a b"},
        query={"tags": ["x", "y"], "ids": [1, 2], "filter": {"color": "red", "size": 3}},
        headers={"X-Colors": ARRAY}, cookies={"session": "s1", "theme": "dark"},
    )
    app = RecordingApp()
    with serve(app) as base:
        request = build_request(case, operation, base + "/v2/")
        send_all([request])
    received = app.received[0]
    assert request.operation == "GET /colors/{label}/{matrix}/{plain}"
    assert request.method == "GET"
    assert received.path == "/v2/colors/.blue.black.brown/;R=100;G=200;B=150/a b"
    assert received.query == "tags=x&tags=y&ids=1|2&filter[color]=red&filter[size]=3"
    assert parse_qs(received.query)["tags"] == ["x", "y"]
    assert received.headers["x-colors"] == "blue,black,brown"
    assert received.headers["cookie"] == "session=s1; theme=dark"


def test_without_an_operation_defaults_apply():
    case = Case(operation="GET /items/{id}", method="GET", path="/items/{id}",
                path_params={"id": [1, 2]}, query={"tag": ["a", "b"], "flag": False})
    request = build_request(case, None, "http://h:8000/api")
    assert request.url == "http://h:8000/api/items/1,2?tag=a&tag=b&flag=false"
    assert request.operation == "GET /items/{id}"
    assert request.body is None and request.headers == []


def test_missing_path_parameter_stays_visible_and_dot_segments_survive():
    case = Case(operation="", method="GET", path="/a/{x}/{y}", path_params={"y": ".."})
    assert build_request(case, None, "http://h").url == "http://h/a/%7Bx%7D/%2E%2E"


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("http://h/v2", "/books", "http://h/v2/books"),
        ("http://h/v2/", "/books", "http://h/v2/books"),
        ("http://h/v2/", "books", "http://h/v2/books"),
        ("http://h", "/books", "http://h/books"),
        ("http://h/", "/", "http://h/"),
        ("http://h/v2?key=1", "/books?x=2", "http://h/v2/books?key=1&x=2"),
    ],
)
def test_join_url_puts_exactly_one_slash(base, path, expected):
    assert join_url(base, path) == expected


def body_case(body, media_type=None, operation: Operation | None = None, **extra) -> Case:
    return Case(operation="POST /things", method="POST", path="/things", body=body,
                media_type=media_type, **extra)


def test_bodies_by_media_type_are_received_as_sent():
    app = RecordingApp({"POST /things": Canned(201, {})})
    cases = [
        body_case({"title": "Dune", "tags": ["sf"]}, "application/json"),
        body_case({"type": "about:blank"}, "application/problem+json"),
        body_case({"q": "a b", "n": [1, 2], "ok": True}, "application/x-www-form-urlencoded"),
        body_case("plain text é", "text/plain"),
        body_case(b"\x00\xff raw", "application/octet-stream"),
        body_case("as text", "application/octet-stream"),
        body_case({"x": 1}, "application/vnd.custom"),
        body_case("just a string", "application/json"),
        body_case(b"{not json", "application/json"),
        body_case(None, "application/json"),
    ]
    with serve(app) as base:
        send_all([build_request(case, None, base) for case in cases])
    got = [(r.headers.get("content-type"), r.body) for r in app.received]
    assert got[0] == ("application/json", b'{"title": "Dune", "tags": ["sf"]}')
    assert got[1] == ("application/problem+json", b'{"type": "about:blank"}')
    assert got[2][0] == "application/x-www-form-urlencoded"
    assert parse_qs(got[2][1].decode()) == {"q": ["a b"], "n": ["1", "2"], "ok": ["true"]}
    assert got[3] == ("text/plain", "plain text é".encode())
    assert got[4] == ("application/octet-stream", b"\x00\xff raw")
    assert got[5] == ("application/octet-stream", b"as text")
    assert got[6] == ("application/vnd.custom", b'{"x": 1}')
    assert got[7] == ("application/json", b'"just a string"')
    assert got[8] == ("application/json", b"{not json")
    assert got[9] == ("application/json", b"null")


def test_multipart_body_is_parsed_by_the_server():
    operation = Operation(
        "POST", "/upload",
        request_body=RequestBody(content={"multipart/form-data": MediaType(
            "multipart/form-data", encoding={"meta": {"contentType": "application/json"}})}),
    )
    case = Case(operation="POST /upload", method="POST", path="/upload",
                body={"title": "Dune", "cover": b"\x89PNG\x00", "meta": {"pages": 412},
                      "tags": ["a", "b"]})
    app = RecordingApp()
    with serve(app) as base:
        request = build_request(case, operation, base)
        send_all([request])
    received = app.received[0]
    assert received.headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = parse_multipart(received.headers["content-type"], received.body)
    assert parts == [
        ("title", None, "text/plain", b"Dune"),
        ("cover", "cover", "application/octet-stream", b"\x89PNG\x00"),
        ("meta", None, "application/json", b'{"pages": 412}'),
        ("tags", None, "text/plain", b"a"),
        ("tags", None, "text/plain", b"b"),
    ]


def test_content_type_from_the_case_wins_and_extra_headers_come_last():
    case = body_case({"a": 1}, "application/json", headers={"Content-Type": "text/csv"})
    request = build_request(case, None, "http://h", extra_headers=[("Authorization", "Bearer t")])
    assert request.headers == [("Content-Type", "text/csv"), ("Authorization", "Bearer t")]
    assert request.body == b'{"a": 1}'


def test_media_type_defaults_to_the_operations_first():
    operation = Operation("POST", "/things", request_body=RequestBody(content={
        "application/x-www-form-urlencoded": MediaType("application/x-www-form-urlencoded"),
        "application/json": MediaType("application/json"),
    }))
    request = build_request(body_case({"a": "1"}), operation, "http://h")
    assert request.body == b"a=1"
    assert request.header("content-type") == "application/x-www-form-urlencoded"


# -- suite steps -----------------------------------------------------------------------------


def test_raw_requests_for_suite_steps_reach_the_server(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "cover.png").write_bytes(b"\x89PNG")
    app = RecordingApp()
    with serve(app) as base:
        requests = [
            build_raw_request("get", "/books?sort=asc", base + "/v1",
                              query={"tag": ["a", "b"], "q": "x y"},
                              headers={"X-Req": "1"}, operation_label="GET /books"),
            build_raw_request("POST", "/books", base, json={"title": "Dune"}),
            build_raw_request("POST", base + "/login", "http://ignored",
                              form={"user": "ann", "scopes": ["r", "w"]}),
            build_raw_request("PUT", "/upload", base, base_dir=tmp_path, multipart={
                "title": "Dune",
                "cover": {"file": "files/cover.png", "content_type": "image/png"},
                "notes": {"content": "hello", "filename": "notes.txt",
                          "content_type": "text/plain"},
            }),
            build_raw_request("POST", "/raw", base, body="<a/>", headers=[("Content-Type",
                                                                            "application/xml")]),
        ]
        send_all(requests)
    first, second, third, fourth, fifth = app.received
    assert requests[0].operation == "GET /books" and requests[0].method == "GET"
    assert requests[1].operation == "POST /books"
    assert (first.path, first.query) == ("/v1/books", "sort=asc&tag=a&tag=b&q=x%20y")
    assert first.headers["x-req"] == "1"
    assert second.json() == {"title": "Dune"}
    assert second.headers["content-type"] == "application/json"
    assert third.path == "/login"
    assert parse_qs(third.body.decode()) == {"user": ["ann"], "scopes": ["r", "w"]}
    parts = parse_multipart(fourth.headers["content-type"], fourth.body)
    assert parts == [
        ("title", None, "text/plain", b"Dune"),
        ("cover", "cover.png", "image/png", b"\x89PNG"),
        ("notes", "notes.txt", "text/plain", b"hello"),
    ]
    assert (fifth.headers["content-type"], fifth.body) == ("application/xml", b"<a/>")


def test_raw_request_errors_are_suite_errors(tmp_path):
    with pytest.raises(SuiteError, match="multipart.cover.file"):
        build_raw_request("POST", "/u", "http://h", base_dir=tmp_path,
                          multipart={"cover": {"file": "missing.png"}})
    with pytest.raises(SuiteError, match="json and body"):
        build_raw_request("POST", "/u", "http://h", json={}, body="x")


def test_deep_object_names_are_encoded_inside_brackets():
    pieces = serialize_query("f", {"a b": {"c": 1}}, "deepObject")
    assert pieces == ["f[a%20b][c]=1"]
    assert unquote(pieces[0]) == "f[a b][c]=1"


def test_lone_surrogates_from_generated_strings_do_not_crash_the_build():
    case = Case(operation="", method="POST", path="/x/{id}", path_params={"id": "\ud800"},
                query={"q": "\udfff"}, body={"name": "\ud800"}, media_type="application/json")
    request = build_request(case, None, "http://h")
    assert request.url == "http://h/x/%ED%A0%80?q=%ED%BF%BF"
    assert request.body == b'{"name": "\\ud800"}'

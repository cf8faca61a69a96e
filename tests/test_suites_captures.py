"""Captures: each kind, what a capture that finds nothing reports, and a capture feeding a
later request over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from assay.checks.capture import apply_captures
from assay.core.records import Response, Timings
from assay.suites import Capture, load_suite, render_request
from servers import Canned, RecordingApp, serve


def response(body: object = b"", *, status: int = 200, headers=None) -> Response:
    headers = list(headers or [])
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers.append(("Content-Type", "application/json"))
    return Response(status=status, headers=headers, body=body, timings=Timings(total=0.01))


BOOK = response({"id": 12, "items": [{"id": 1}, {"id": 2}], "meta": {"next": None}},
                status=201, headers=[("Location", "/books/12"), ("Link", "<x>; slug=dune-1")])


def test_each_kind_of_capture():
    values, failures = apply_captures((
        Capture("book_id", "json", "$.id"),
        Capture("first", "json", "$.items[*].id"),
        Capture("items", "json", "$.items"),
        Capture("next", "json", "$.meta.next"),
        Capture("location", "header", "location", "headers"),
        Capture("slug", "regex", r"slug=([\w-]+)", "header:Link"),
        Capture("whole", "regex", r"\d+", "body"),
        Capture("code", "status", "status", "status"),
    ), BOOK)

    assert failures == []
    assert values == {
        "book_id": 12,
        "first": 1,  # a query with several matches captures the first
        "items": [{"id": 1}, {"id": 2}],
        "next": None,  # a match whose value is null is still a match
        "location": "/books/12",  # header names are case-insensitive
        "slug": "dune-1",  # the first group
        "whole": "12",  # no group: the whole match
        "code": 201,
    }


def test_a_capture_that_finds_nothing_is_a_named_failure():
    values, failures = apply_captures((
        Capture("book_id", "json", "$.id"),
        Capture("missing", "json", "$.nope"),
        Capture("etag", "header", "ETag", "headers"),
        Capture("token", "regex", "token=(\\w+)", "body"),
        Capture("slug", "regex", "slug=(\\w+)", "header:X-Slug"),
    ), BOOK)

    assert values == {"book_id": 12}
    assert [(f.check, f.message, f.cause) for f in failures] == [
        ("capture", "capture missing: $.nope: no match", "missing: json $.nope"),
        ("capture", "capture etag: header ETag: missing", "etag: header ETag"),
        ("capture", "capture token: regex 'token=(\\\\w+)' found nothing in the body",
         "token: regex token=(\\w+)"),
        ("capture", "capture slug: regex 'slug=(\\\\w+)': header X-Slug is missing",
         "slug: regex slug=(\\w+)"),
    ]


def test_a_json_capture_on_a_body_that_is_not_json():
    html = response(b"<html></html>", headers=[("Content-Type", "text/html")])
    values, failures = apply_captures((Capture("id", "json", "$.id"),), html)
    assert values == {}
    assert failures[0].message == "capture id: $.id: body is not JSON (text/html)"


def test_an_optional_group_that_did_not_take_part_is_a_failure():
    values, failures = apply_captures(
        (Capture("n", "regex", r"id(=\d+)?", "body"),), response(b"id only"))
    assert values == {}
    assert "its first group matched nothing in the body" in failures[0].message


def test_a_capture_feeds_the_next_request(tmp_path: Path):
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text("""
scenarios:
  - name: create then read
    steps:
      - request: {method: POST, path: /books, json: {title: Dune}}
        capture: {book_id: $.id, location: {header: Location}}
      - request:
          path: "/books/{{ book_id }}"
          headers: {X-From: "{{ location }}"}
          json: {id: "{{ book_id }}"}
""")
    create, read = load_suite(suite_file, env={}).scenarios[0].steps
    app = RecordingApp({
        "POST /books": Canned(201, {"id": 7, "title": "Dune"}, {"location": "/books/7"}),
        "GET /books/7": Canned(200, {"id": 7}),
    })
    variables: dict = {}
    with serve(app) as base_url, httpx.Client(base_url=base_url) as client:
        first = render_request(create.request, variables)
        sent = client.request(first.method, first.path, json=first.json)
        captured, failures = apply_captures(create.capture, _record(sent))
        variables.update(captured)
        second = render_request(read.request, variables)
        client.request(second.method, second.path, headers=second.headers, json=second.json)

    assert failures == [] and variables == {"book_id": 7, "location": "/books/7"}
    assert [(r.method, r.path) for r in app.received] == [("POST", "/books"), ("GET", "/books/7")]
    assert app.received[1].headers["x-from"] == "/books/7"
    assert app.received[1].json() == {"id": 7}  # the captured integer stays an integer


def _record(sent: httpx.Response) -> Response:
    return Response(status=sent.status_code, headers=list(sent.headers.items()),
                    body=sent.content, timings=Timings(total=sent.elapsed.total_seconds()))

"""Builders shared by the report tests: run results made of real exchanges over 127.0.0.1.

The engine is written at the same time as the reporters, so the tests assemble a
``RunResult`` by hand, but every request and response in it really went over HTTP to a
``RecordingApp``: headers, bodies and timings are what a transport would record.
"""

from __future__ import annotations

import httpx

from assay.core import events
from assay.core.events import RunError, RunResult, RunWarning, Summary
from assay.core.records import Finding, Request, Response, Step, Timings
from servers import Canned, RecordingApp

# What a hostile API might put in a body or message. Running it sets window.__pwned.
SCRIPT_PAYLOAD = "<script>window.__pwned = 1; alert('script')</script>"
IMG_PAYLOAD = "<img src=x onerror=\"window.__pwned = 1; alert('img')\">"
XML_PAYLOAD = "end]]>tag <b> & \x01control"
BINARY_BODY = b"\x89PNG\r\n\x1a\n\xff\xfe\x00binary"


def hostile_app() -> RecordingApp:
    """An API that answers with hostile, binary and JSON bodies."""
    return RecordingApp({
        "GET /books": Canned(500, SCRIPT_PAYLOAD + IMG_PAYLOAD + XML_PAYLOAD,
                             headers={"content-type": "text/html",
                                      "set-cookie": "session=s3ss10nvalue"}),
        "POST /books": Canned(201, {"id": 7, "title": "Dune", "price": "12.5", "tags": None}),
        "GET /books/7": Canned(200, {"id": 7, "title": "Dune"}),
        "DELETE /books/7": Canned(204, b""),
        "GET /covers/7": Canned(200, BINARY_BODY, headers={"content-type": "image/png"}),
    })


def exchange(base_url: str, method: str, path: str, *, operation: str,
             headers: dict[str, str] | None = None,
             body: bytes | None = None) -> tuple[Request, Response]:
    """Send one request with httpx and return it and its response as assay records."""
    with httpx.Client() as client:
        sent = client.build_request(method, base_url + path, headers=headers, content=body)
        got = client.send(sent)
    request = Request(method, str(sent.url), list(sent.headers.multi_items()), body, operation)
    response = Response(
        status=got.status_code,
        headers=list(got.headers.multi_items()),
        body=got.content,
        timings=Timings(total=got.elapsed.total_seconds()),
        reason=got.reason_phrase,
    )
    return request, response


def sample_result(base_url: str) -> RunResult:
    """A failed run with four findings on three operations, an error and a warning."""
    req_500, res_500 = exchange(base_url, "GET", "/books?limit=51", operation="GET /books",
                                headers={"x-api-key": "k3y-v4lue", "cookie": "a=b"})
    req_post, res_post = exchange(base_url, "POST", "/books", operation="POST /books",
                                  headers={"content-type": "application/json"},
                                  body=b'{"title": "Dune"}')
    req_get, res_get = exchange(base_url, "GET", "/books/7", operation="GET /books/{bookId}")
    req_del, res_del = exchange(base_url, "DELETE", "/books/7", operation="DELETE /books/{id}")
    req_png, res_png = exchange(base_url, "GET", "/covers/7", operation="GET /covers/{id}")
    steps = [Step("POST /books", "POST", req_post.url, 201),
             Step("DELETE /books/{id}", "DELETE", req_del.url, 204)]
    findings = [
        Finding("not_a_server_error", "GET /books", "high",
                f"Server error 500 {SCRIPT_PAYLOAD} {IMG_PAYLOAD}", 500,
                f"curl -X GET '{req_500.url}' -H \"X-Api-Key: $ASSAY_KEY\"",
                cause="500", request=req_500, response=res_500, count=3, phase="examples"),
        Finding("response_schema_conformance", "POST /books", "medium",
                "Response violates schema at /price: '12.5' is not of type 'number'", 201,
                f"curl -X POST '{req_post.url}' -d '{{\"title\": \"Dune\"}}'",
                cause="/properties/price/type", request=req_post, response=res_post,
                phase="fuzzing"),
        Finding("use_after_free", "GET /books/{bookId}", "critical",
                "The resource was deleted but GET still returns 200", 200,
                f"curl -X GET '{req_get.url}'", steps=steps, request=req_get,
                response=res_get, phase="stateful"),
        Finding("content_type_conformance", "GET /covers/{id}", "low",
                "Undocumented Content-Type image/png", 200, f"curl '{req_png.url}'",
                request=req_png, response=res_png, phase="examples"),
    ]
    tests = [
        events.TestCaseResult("GET /books", "api.books", cases=40, duration_s=1.25,
                       failures=[findings[0]]),
        events.TestCaseResult("POST /books", "api.books", cases=30, duration_s=0.5,
                       failures=[findings[1]]),
        events.TestCaseResult("GET /books/{bookId}", "api.books", cases=20, duration_s=0.25,
                       failures=[findings[2]], errors=["connection reset after step 2"]),
        events.TestCaseResult("GET /covers/{id}", "api.covers", cases=5, duration_s=0.1,
                       failures=[findings[3]]),
        events.TestCaseResult("GET /health", "api.misc", cases=3, duration_s=0.01),
        events.TestCaseResult("PUT /books/{id}", "api.books", cases=0),
    ]
    return RunResult(
        command="test",
        target=base_url,
        summary=Summary(operations=6, cases=98, findings=len(findings), duration_s=2.5,
                        seed=1234, phases={"examples": 40, "fuzzing": 50, "stateful": 8}),
        findings=findings,
        tests=tests,
        errors=[RunError("connection reset after step 2", "GET /books/{bookId}",
                         "connection_reset"),
                RunError(f"suite step failed {SCRIPT_PAYLOAD}", None, "error")],
        warnings=[RunWarning(f"example skipped {IMG_PAYLOAD}", "PUT /books/{id}")],
        secrets_env={"ASSAY_KEY": "API key"},
        started_at="2024-05-01T12:00:00+00:00",
    )

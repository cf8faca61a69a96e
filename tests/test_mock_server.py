"""The mock end to end over real HTTP: responses, validation, state, faults, admin, proxying.

Each test builds the mock the way ``assay mock`` does (``engine.mock_run.build_app``) and
serves it with the real server core in a background thread; upstream APIs are real servers
too (the demo app, a recording app).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from assay.demo.app import create_app
from assay.engine.mock_run import MockConfig, build_app
from assay.http.fastserver import serve_in_thread
from assay.mock.app import MockApp, MockOptions
from servers import Canned, RecordingApp, serve

DEMO_SPEC = str(Path(__file__).parents[1] / "src" / "assay" / "demo" / "openapi.yaml")
TOKEN = {"Authorization": "Bearer secret-token-123"}


@contextmanager
def mock(**config: object) -> Iterator[tuple[MockApp, httpx.Client]]:
    """The mock for ``MockConfig(**config)``, served, and a client for its base URL."""
    app = build_app(MockConfig(**config))  # type: ignore[arg-type]
    with serve_in_thread(app.handle, on_close=app.close) as server:
        with httpx.Client(base_url=server.url + app.prefix, timeout=5) as client:
            yield app, client


def test_answers_from_the_specs_examples_and_honours_prefer() -> None:
    with mock(spec=DEMO_SPEC) as (_, client):
        book = client.get("/books/1")
        assert book.status_code == 200
        assert book.headers["content-type"] == "application/json"
        assert book.json()["title"] == "Dune"
        missing = client.get("/books/1", headers={"Prefer": "code=404"})
        assert missing.status_code == 404
        assert missing.json()["status"] == 404
        head = client.head("/books/1")
        assert head.status_code == 200 and head.content == b""


def test_invalid_requests_get_a_problem_document() -> None:
    with mock(spec=DEMO_SPEC) as (_, client):
        bad = client.get("/books", params={"limit": "abc"})
        assert bad.status_code == 422  # the demo documents 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["status"] == 422
        assert "limit" in bad.json()["detail"]
        unauthenticated = client.post("/books", json={"title": "Emma", "author": "Austen"})
        assert unauthenticated.status_code == 401
        assert "www-authenticate" in unauthenticated.headers
    with mock(spec=DEMO_SPEC, options=MockOptions(validate=False)) as (_, client):
        assert client.get("/books", params={"limit": "abc"}).status_code == 200


def test_unknown_paths_and_methods() -> None:
    with mock(spec=DEMO_SPEC) as (_, client):
        nowhere = client.get("/nowhere")
        assert nowhere.status_code == 404
        assert nowhere.headers["content-type"] == "application/problem+json"
        wrong = client.patch("/health")
        assert wrong.status_code == 405
        assert wrong.headers["allow"] == "GET, HEAD"


def test_cors_preflight_and_headers() -> None:
    with mock(spec=DEMO_SPEC) as (_, client):
        preflight = client.options("/books/1", headers={
            "Origin": "http://app.test", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "http://app.test"
        assert "PUT" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == "authorization, content-type"
        simple = client.get("/health", headers={"Origin": "http://app.test"})
        assert simple.headers["access-control-allow-origin"] == "http://app.test"
        assert "access-control-allow-origin" not in client.get("/health").headers


def test_stateful_create_read_list_delete_and_reset() -> None:
    with mock(spec=DEMO_SPEC, options=MockOptions(stateful=True)) as (_, client):
        created = client.post("/books", json={"title": "Emma", "author": "Jane Austen"},
                              headers=TOKEN)
        assert created.status_code == 201
        book = created.json()
        assert book["title"] == "Emma"
        assert created.headers["location"] == f"/books/{book['id']}"
        assert client.get(f"/books/{book['id']}").json() == book
        assert [b["title"] for b in client.get("/books").json()] == ["Emma"]
        deleted = client.delete(f"/books/{book['id']}", headers=TOKEN)
        assert deleted.status_code == 204
        assert client.get(f"/books/{book['id']}").status_code == 404
        client.post("/books", json={"title": "Kim", "author": "Kipling"}, headers=TOKEN)
        reset = client.post("/__assay/reset").json()
        assert reset == {"reset": 1, "stateful": True}
        assert client.get("/books").json() == []


def test_journal_lists_what_was_received_without_credentials() -> None:
    with mock(spec=DEMO_SPEC) as (_, client):
        client.post("/books", json={"title": "Emma", "author": "Austen"}, headers=TOKEN)
        client.get("/books/2", params={"x": "1"})
        entries = client.get("/__assay/requests").json()["requests"]
        assert [(e["method"], e["path"], e["operation"], e["status"]) for e in entries] == [
            ("POST", "/books", "POST /books", 201), ("GET", "/books/2", "GET /books/{bookId}", 200)]
        assert entries[0]["body"] == {"title": "Emma", "author": "Austen"}
        assert entries[1]["query"] == "x=1"
        authorization = dict((k.lower(), v) for k, v in entries[0]["headers"])["authorization"]
        assert authorization == "Bearer <redacted>"
        assert "secret-token-123" not in client.get("/__assay/requests").text
        assert client.delete("/__assay/requests").json() == {"cleared": 2}
        assert client.get("/__assay/requests").json()["requests"] == []


def test_faults_happen_at_their_configured_rates(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(yaml.safe_dump({"faults": [
        {"match": {"operation": "GET /books/{bookId}"}, "probability": 0.1,
         "error": {"status": 503, "headers": {"Retry-After": "2"}}},
        {"probability": 0.05, "fault": "connection_reset"},
    ]}))
    count = 3000
    statuses: dict[int, int] = {}
    resets = 0
    with mock(spec=DEMO_SPEC, faults=str(faults), fault_seed=7) as (_, client):
        for _ in range(count):
            try:
                response = client.get("/books/1")
            except httpx.TransportError:
                resets += 1
                continue
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code == 503:
                assert response.headers["retry-after"] == "2"
    # The error rule decides first (10%); the reset rule draws only for the other 90%.
    assert _within(statuses.get(503, 0), count, 0.10)
    assert _within(resets, count, 0.90 * 0.05)
    assert statuses.get(200, 0) == count - statuses.get(503, 0) - resets


def test_faults_change_through_the_admin_api() -> None:
    with mock(spec=DEMO_SPEC) as (_, client):
        rules = {"faults": [{"match": {"method": "POST"}, "error": {"status": 500}}]}
        put = client.put("/__assay/faults", json=rules)
        assert put.status_code == 200
        assert client.get("/__assay/faults").json()["faults"][0]["error"]["status"] == 500
        assert client.post("/books", json={}, headers=TOKEN).status_code == 500
        assert client.get("/health").status_code == 200
        bad = client.put("/__assay/faults", json={"faults": [{"fault": "explode"}]})
        assert bad.status_code == 400
        assert "faults[0].fault" in bad.json()["detail"]
        assert client.delete("/__assay/faults").json() == {"faults": []}
        assert client.post("/books", json={"title": "A", "author": "B"},
                           headers=TOKEN).status_code == 201


def test_timeout_fault_holds_the_connection_until_the_client_gives_up() -> None:
    with mock(spec=DEMO_SPEC) as (_, client):
        client.put("/__assay/faults", json={"faults": [
            {"match": {"path": "/health"}, "fault": "timeout"}]})
        with pytest.raises(httpx.ReadTimeout):
            client.get("/health", timeout=0.3)
        assert client.get("/books/1").status_code == 200


def test_record_then_replay_gives_the_same_responses(tmp_path: Path) -> None:
    cassette = tmp_path / "cassette.yaml"
    calls = [("GET", "/books", None, {}), ("GET", "/books/1", None, {}),
             ("GET", "/books/99", None, {}),
             ("POST", "/books", {"title": "Emma", "author": "Jane Austen"}, TOKEN),
             ("GET", "/health", None, {})]
    with serve(create_app(token="secret-token-123")) as upstream:
        with mock(proxy=upstream, record=str(cassette)) as (_, client):
            recorded = [client.request(m, p, json=b, headers=h) for m, p, b, h in calls]
    assert [r.status_code for r in recorded] == [200, 200, 404, 201, 200]
    text = cassette.read_text()
    assert "secret-token-123" not in text and "<redacted>" in text
    with mock(replay=str(cassette)) as (_, client):
        replayed = [client.request(m, p, json=b, headers=h) for m, p, b, h in calls]
        unmatched = client.get("/books/7")
    for first, again in zip(recorded, replayed, strict=True):
        assert (again.status_code, again.content) == (first.status_code, first.content)
        assert again.headers["content-type"] == first.headers["content-type"]
    assert unmatched.status_code == 404
    assert "nearest" in unmatched.json()["detail"]


def test_validation_proxy_reports_and_strict_mode_refuses() -> None:
    upstream_app = RecordingApp({
        "GET /books/1": Canned(200, {"id": "one"}),  # id must be an integer
        "GET /health": Canned(200, {"status": "ok"}),
    })
    with serve(upstream_app) as upstream:
        with mock(spec=DEMO_SPEC, proxy=upstream,
                  options=MockOptions(validate=True)) as (_, client):
            bad = client.get("/books/1")
            good = client.get("/health")
            bad_request = client.get("/books", params={"limit": "abc"})
        with mock(spec=DEMO_SPEC, proxy=upstream,
                  options=MockOptions(validate=True, strict=True)) as (_, client):
            refused = client.get("/books/1")
        with mock(spec=DEMO_SPEC, proxy=upstream,
                  options=MockOptions(validate=False)) as (_, client):
            plain = client.get("/books/1")
    assert bad.status_code == 200 and bad.json() == {"id": "one"}
    assert "response_schema_conformance" in bad.headers["x-assay-violations"]
    assert "x-assay-violations" not in good.headers
    assert "request: query.limit" in bad_request.headers["x-assay-violations"]
    assert refused.status_code == 502
    assert any("response_schema_conformance" in v for v in refused.json()["violations"])
    assert "x-assay-violations" not in plain.headers
    assert [r.path for r in upstream_app.received].count("/books/1") == 3


def test_an_unreachable_upstream_is_a_502_not_a_crash() -> None:
    with mock(proxy="http://127.0.0.1:9") as (_, client):
        answer = client.get("/anything")
        assert answer.status_code == 502
        assert answer.headers["content-type"] == "application/problem+json"
        assert client.get("/__assay/health").json() == {"status": "ok"}


def _within(observed: int, trials: int, rate: float) -> bool:
    sigma = (trials * rate * (1 - rate)) ** 0.5
    return abs(observed - trials * rate) <= 4 * sigma


def test_journal_size_bounds_memory() -> None:
    with mock(spec=DEMO_SPEC, options=MockOptions(journal_size=3)) as (app, client):
        for index in range(5):
            client.get(f"/books/{index + 1}")
        paths = [e["path"] for e in client.get("/__assay/requests").json()["requests"]]
    assert paths == ["/books/3", "/books/4", "/books/5"]
    assert json.dumps(app.journal.entries()[0].to_json())


def test_journal_keeps_a_large_body_truncated() -> None:
    with mock(spec=DEMO_SPEC, options=MockOptions(validate=False)) as (_, client):
        client.post("/books", content=b"x" * 100_000, headers=TOKEN)
        entry = client.get("/__assay/requests").json()["requests"][0]
    assert entry["body_size"] == 100_000 and entry["body_truncated"] is True
    assert len(entry["body"]) == 64 * 1024

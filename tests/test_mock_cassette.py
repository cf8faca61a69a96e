"""Cassettes of ``assay mock``: recording, the YAML file, and replay with its match rules.

Recording and replay run over real HTTP on 127.0.0.1: an upstream ``RecordingApp`` answers,
its exchanges are recorded, saved, loaded, and a ``Replayer`` served by uvicorn answers the
same requests again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.core.errors import ConfigError, UsageError
from assay.core.secrets import Secrets
from assay.http.serving import ServerRequest, ServerResponse
from assay.mock.cassette import (
    REDACTED,
    Cassette,
    Interaction,
    RecordedBody,
    RecordedRequest,
    RecordedResponse,
    interaction_from,
    load_cassette,
)
from assay.mock.replay import MatchRules, Replayer, parse_match_rules
from servers import Canned, RecordingApp, serve

PNG = bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0xFF, 0xFE, 0x80])


class ReplayApp:
    """An ASGI app that answers every request with ``replayer.respond``."""

    def __init__(self, replayer: Replayer):
        self.replayer = replayer

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = ServerRequest(
            method=scope["method"], path=scope["raw_path"].decode(),
            query=scope["query_string"].decode(),
            headers=[(k.decode(), v.decode()) for k, v in scope["headers"]], body=body)
        answer = self.replayer.respond(request)
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": [(k.encode(), v.encode()) for k, v in answer.headers]})
        await send({"type": "http.response.body", "body": answer.body})


def record(client: httpx.Client, method: str, url: str, **kwargs) -> tuple[
        ServerRequest, ServerResponse, httpx.Response]:
    """Send a request for real and return it and its answer as the mock's records."""
    response = client.request(method, url, **kwargs)
    sent = response.request
    request = ServerRequest(sent.method, sent.url.raw_path.decode().split("?")[0],
                            sent.url.query.decode(), list(sent.headers.multi_items()),
                            sent.content)
    return request, ServerResponse(response.status_code, list(response.headers.multi_items()),
                                   response.content), response


def exchange(method: str, path: str, body: bytes = b"", query: str = "", *,
             headers: list[tuple[str, str]] | None = None, status: int = 200,
             answer: bytes = b"ok", content_type: str = "text/plain") -> Interaction:
    """An interaction recorded from in-memory records (for pure matching tests)."""
    request = ServerRequest(method, path, query, headers or [], body)
    response = ServerResponse(status, [("Content-Type", content_type)], answer)
    return interaction_from(request, response, recorded_at="2024-06-01T10:00:00+00:00")


def replayed(replayer: Replayer, method: str, path: str, body: bytes = b"", query: str = "",
             headers: list[tuple[str, str]] | None = None) -> ServerResponse:
    return replayer.respond(ServerRequest(method, path, query, headers or [], body))


# --- record, save, load, replay over HTTP ------------------------------------------------

def test_record_save_load_replay_gives_the_same_responses(tmp_path):
    upstream = RecordingApp({
        "GET /books/1": Canned(200, {"id": 1, "title": "Dune", "tags": ["sf", "yes"]}),
        "GET /notes": Canned(200, "line one\n  indented\n\nlast line without newline"),
        "GET /cover.png": Canned(200, PNG, {"content-type": "image/png"}),
        "POST /books": Canned(201, {"id": 2}, {"location": "/books/2"}),
    })
    cassette = Cassette()
    originals = {}
    with serve(upstream) as base, httpx.Client(base_url=base) as client:
        for method, url, kwargs in [
            ("GET", "/books/1", {}), ("GET", "/notes", {}), ("GET", "/cover.png", {}),
            ("POST", "/books", {"json": {"title": "Emma", "year": 1815}}),
        ]:
            request, response, raw = record(client, method, url, **kwargs)
            cassette.append(interaction_from(request, response))
            originals[(method, url)] = raw
    path = tmp_path / "cassette.yaml"
    cassette.save(path)
    text = path.read_text()
    assert "title: Dune" in text                      # JSON is stored as readable YAML
    assert "line one\n" in text and "text: |" in text  # text as a block literal
    assert "base64:" in text
    assert "content-length" not in text.lower()

    loaded = load_cassette(path)
    with serve(ReplayApp(Replayer(loaded))) as base, httpx.Client(base_url=base) as client:
        book = client.get("/books/1")
        notes = client.get("/notes")
        cover = client.get("/cover.png")
        created = client.post("/books", json={"title": "Emma", "year": 1815})
    assert book.json() == originals[("GET", "/books/1")].json()
    assert book.headers["content-type"] == "application/json"
    assert notes.content == originals[("GET", "/notes")].content
    assert cover.content == PNG and cover.headers["content-type"] == "image/png"
    assert created.status_code == 201 and created.json() == {"id": 2}
    assert created.headers["location"] == "/books/2"


def test_a_request_body_is_stored_by_kind_and_loads_back(tmp_path):
    cassette = Cassette([
        exchange("POST", "/j", json.dumps({"b": [1, 2.5, None, True], "a": "no"}).encode(),
                 headers=[("Content-Type", "application/json")]),
        exchange("POST", "/t", "héllo\nwörld\n".encode(), headers=[("Content-Type", "text/x")]),
        exchange("POST", "/b", PNG, headers=[("Content-Type", "application/octet-stream")]),
    ])
    path = tmp_path / "c.yaml"
    cassette.save(path)
    bodies = [item.request.body for item in load_cassette(path).interactions]
    assert [body.kind for body in bodies] == ["json", "text", "binary"]
    assert bodies[0].value == {"b": [1, 2.5, None, True], "a": "no"}
    assert list(bodies[0].value) == ["b", "a"]          # key order kept
    assert bodies[1].to_bytes() == "héllo\nwörld\n".encode()
    assert bodies[2].to_bytes() == PNG


TRICKY = ["yes", "no", "on", "1e3", "0755", "0x1F", "2024-01-01", "12:30", "<<", "=", "null",
          "~", "", " lead", "trail ", "a: b", "- x", "#c", "'q'", '"d"', "a\r\nb", "x\x85y",
          "l1\nl2", "l1\n\n", "\n lead", "tab\there", "\u2028", "\ufeffbom", "😀", ".inf", "-.5"]


def test_strings_that_yaml_would_retype_round_trip(tmp_path):
    value = {text or "empty": text for text in TRICKY} | {"list": TRICKY, "n": [1, -0.5, 1e300]}
    body = json.dumps(value).encode()
    cassette = Cassette([exchange("GET", "/x", answer=body, content_type="application/json")])
    for text in TRICKY:
        cassette.append(exchange("GET", "/t", answer=text.encode(), content_type="text/plain"))
    path = tmp_path / "c.yaml"
    cassette.save(path)
    loaded = load_cassette(path).interactions
    assert loaded[0].response.body.value == value
    assert [item.response.body.to_bytes() for item in loaded[1:]] == [t.encode() for t in TRICKY]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, text=st.text())
def test_any_json_value_and_text_round_trip(tmp_path_factory, value, text):
    path = tmp_path_factory.mktemp("rt") / "c.yaml"
    Cassette([
        exchange("PUT", "/j", json.dumps(value).encode(),
                 headers=[("Content-Type", "application/json")]),
        exchange("GET", "/t", answer=text.encode()),
    ]).save(path)
    first, second = load_cassette(path).interactions
    assert first.request.body.kind == "json" and first.request.body.value == value
    assert second.response.body.to_bytes() == text.encode()


# --- redaction ---------------------------------------------------------------------------

def test_credentials_and_registered_secrets_are_redacted(tmp_path):
    secrets = Secrets()
    secrets.add("s3cr3t-value", "ASSAY_TOKEN")
    request = ServerRequest(
        "POST", "/login", "api_key=k3y&page=2",
        [("Authorization", "Bearer s3cr3t-value"), ("Cookie", "session=abc123"),
         ("X-API-Key", "k3y"), ("Accept", "application/json"), ("Connection", "keep-alive"),
         ("Content-Type", "application/json"), ("Content-Length", "40")],
        json.dumps({"user": "ann", "password": "s3cr3t-value"}).encode())
    response = ServerResponse(
        200, [("Content-Type", "text/plain"), ("Set-Cookie", "session=abc123; HttpOnly"),
              ("Set-Cookie", "theme=dark"), ("Transfer-Encoding", "chunked")],
        b"token for you: s3cr3t-value\n")
    interaction = interaction_from(request, response, secrets=secrets)
    headers = dict(interaction.request.headers)
    assert headers["Authorization"] == f"Bearer {REDACTED}"
    assert headers["Cookie"] == REDACTED and headers["X-API-Key"] == REDACTED
    assert headers["Accept"] == "application/json"
    assert "Connection" not in headers and "Content-Length" not in headers
    assert dict(interaction.request.query) == {"api_key": REDACTED, "page": "2"}
    assert interaction.request.body.value == {"user": "ann", "password": REDACTED}
    assert interaction.response.headers == [("Content-Type", "text/plain"),
                                            ("Set-Cookie", REDACTED), ("Set-Cookie", REDACTED)]
    assert interaction.response.body.value == f"token for you: {REDACTED}\n"

    path = tmp_path / "c.yaml"
    Cassette([interaction]).save(path)
    text = path.read_text()
    for leaked in ("s3cr3t-value", "abc123", "k3y", "dark"):
        assert leaked not in text


def test_a_redacted_value_matches_any_value_on_replay():
    recorded = interaction_from(
        ServerRequest("GET", "/me", "api_key=k3y", [("Authorization", "Bearer t0k3n")]),
        ServerResponse(200, [], b"me"))
    replayer = Replayer(Cassette([recorded]), MatchRules(headers=("authorization",)))
    ok = replayed(replayer, "GET", "/me", query="api_key=other",
                  headers=[("Authorization", "Bearer different")])
    assert ok.status == 200 and ok.body == b"me"
    # The scheme was kept, so it still has to be the same.
    wrong = replayed(replayer, "GET", "/me", query="api_key=other",
                     headers=[("Authorization", "Basic different")])
    assert wrong.status == 404


# --- saving ------------------------------------------------------------------------------

def test_save_replaces_the_file_and_a_failed_save_leaves_the_old_one(tmp_path):
    path = tmp_path / "c.yaml"
    cassette = Cassette([exchange("GET", "/a")])
    cassette.save(path)
    cassette.append(exchange("GET", "/b"))
    cassette.save(path)
    assert [i.request.path for i in load_cassette(path).interactions] == ["/a", "/b"]

    cassette.append(Interaction(RecordedRequest("GET", "/c"),
                                RecordedResponse(200, body=RecordedBody("json", object()))))
    with pytest.raises(Exception):  # noqa: B017 - any failure to render will do
        cassette.save(path)
    assert [i.request.path for i in load_cassette(path).interactions] == ["/a", "/b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_an_empty_cassette_saves_and_loads(tmp_path):
    path = tmp_path / "empty.yaml"
    Cassette().save(path)
    assert load_cassette(path).interactions == []


SAVER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from assay.http.serving import ServerRequest, ServerResponse
    from assay.mock.cassette import Cassette, interaction_from

    path = Path(sys.argv[1])
    item = interaction_from(ServerRequest("GET", "/x"),
                            ServerResponse(200, [], b"x" * 200_000))
    small, large = Cassette([item]), Cassette([item] * 20)
    small.save(path)
    print("ready", flush=True)
    while True:
        large.save(path)
        small.save(path)
""")


def test_a_writer_killed_mid_save_leaves_a_valid_cassette(tmp_path):
    path = tmp_path / "c.yaml"
    process = subprocess.Popen([sys.executable, "-c", SAVER, str(path)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # let it save a few times; when it is killed does not matter
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert len(load_cassette(path).interactions) in (1, 20)


# --- match rules -------------------------------------------------------------------------

def test_method_and_path_rules():
    cassette = Cassette([exchange("GET", "/books/1", answer=b"one")])
    strict = Replayer(cassette)
    assert replayed(strict, "GET", "/books/%31").body == b"one"  # decoded segments compare
    assert replayed(strict, "DELETE", "/books/1").status == 404
    assert replayed(strict, "GET", "/books/2").status == 404
    assert replayed(Replayer(cassette, MatchRules(method=False)), "DELETE", "/books/1").body \
        == b"one"
    assert replayed(Replayer(cassette, MatchRules(path=False)), "GET", "/other").body == b"one"


def test_query_rules():
    cassette = Cassette([exchange("GET", "/s", query="q=dune&tag=a&tag=b", answer=b"hit")])
    exact = Replayer(cassette)
    assert replayed(exact, "GET", "/s", query="tag=b&q=dune&tag=a").body == b"hit"
    assert replayed(exact, "GET", "/s", query="q=dune&tag=a").status == 404
    assert replayed(exact, "GET", "/s", query="q=dune&tag=a&tag=b&page=2").status == 404
    subset = Replayer(cassette, MatchRules(query="subset"))
    assert replayed(subset, "GET", "/s", query="q=dune&tag=a&tag=b&page=2").body == b"hit"
    assert replayed(subset, "GET", "/s", query="q=dune&tag=a").status == 404
    ignore = Replayer(cassette, MatchRules(query="ignore"))
    assert replayed(ignore, "GET", "/s", query="anything=1").body == b"hit"


def test_body_rules():
    recorded = json.dumps({"title": "Dune", "tags": ["a", "b"]}).encode()
    cassette = Cassette([
        exchange("POST", "/books", recorded, headers=[("Content-Type", "application/json")],
                 answer=b"json"),
        exchange("POST", "/notes", b"plain text", answer=b"text"),
    ])
    reordered = b'{ "tags": ["a","b"],\n  "title": "Dune" }'
    exact = Replayer(cassette)
    assert replayed(exact, "POST", "/books", b'{"title":"Dune","tags":["a","b"]}').body == b"json"
    assert replayed(exact, "POST", "/books", reordered).status == 404
    assert replayed(exact, "POST", "/notes", b"plain text").body == b"text"
    assert replayed(exact, "POST", "/notes", b"plain text!").status == 404
    as_json = Replayer(cassette, MatchRules(body="json"))
    assert replayed(as_json, "POST", "/books", reordered).body == b"json"
    assert replayed(as_json, "POST", "/books", b'{"title": "Dune", "tags": ["b", "a"]}').status \
        == 404
    ignore = Replayer(cassette, MatchRules(body="ignore"))
    assert replayed(ignore, "POST", "/books", b"not even json").body == b"json"


def test_json_bodies_keep_true_apart_from_one():
    cassette = Cassette([exchange("POST", "/f", b'{"on": true}',
                                  headers=[("Content-Type", "application/json")])])
    replayer = Replayer(cassette, MatchRules(body="json"))
    assert replayed(replayer, "POST", "/f", b'{"on": 1}').status == 404
    assert replayed(replayer, "POST", "/f", b'{"on": true}').status == 200


def test_header_rules():
    cassette = Cassette([
        exchange("GET", "/r", headers=[("Accept", "application/json")], answer=b"json"),
        exchange("GET", "/r", headers=[("Accept", "text/csv")], answer=b"csv"),
    ])
    by_accept = Replayer(cassette, MatchRules(headers=("ACCEPT",)), sequential=False)
    assert replayed(by_accept, "GET", "/r", headers=[("accept", "text/csv")]).body == b"csv"
    assert replayed(by_accept, "GET", "/r", headers=[("accept", "text/html")]).status == 404
    assert replayed(by_accept, "GET", "/r").status == 404
    ignoring = Replayer(cassette, sequential=False)
    assert replayed(ignoring, "GET", "/r", headers=[("accept", "text/csv")]).body == b"json"


def test_match_rules_reject_unknown_modes():
    with pytest.raises(ValueError, match="query must be one of"):
        MatchRules(query="fuzzy")


def test_parse_match_rules():
    assert parse_match_rules("") == MatchRules()
    assert parse_match_rules("query=ignore, body=json,headers=Accept,X-Tenant") == MatchRules(
        query="ignore", body="json", headers=("accept", "x-tenant"))
    assert parse_match_rules("method=ignore,path=ignore,query=subset") == MatchRules(
        method=False, path=False, query="subset")
    for bad, reason in [("query=fuzzy", "query must be one of exact, subset, ignore"),
                        ("colour=red", "unknown key 'colour'"),
                        ("body", "expected key=value"), ("query=", "expected key=value")]:
        with pytest.raises(UsageError, match=reason) as info:
            parse_match_rules(bad)
        assert info.value.location == "--match"


# --- playback order ----------------------------------------------------------------------

def test_sequential_playback_serves_recorded_order_then_repeats_the_last():
    cassette = Cassette([exchange("GET", "/count", answer=b"1"),
                         exchange("GET", "/other", answer=b"x"),
                         exchange("GET", "/count", answer=b"2")])
    replayer = Replayer(cassette)
    assert [replayed(replayer, "GET", "/count").body for _ in range(4)] == [b"1", b"2", b"2", b"2"]
    replayer.rewind()
    assert replayed(replayer, "GET", "/count").body == b"1"
    first_only = Replayer(cassette, sequential=False)
    assert [replayed(first_only, "GET", "/count").body for _ in range(3)] == [b"1"] * 3


# --- misses ------------------------------------------------------------------------------

def problem(answer: ServerResponse) -> dict:
    assert answer.status == 404
    assert answer.header("content-type") == "application/problem+json"
    return json.loads(answer.body)


MISSES = Cassette([
    exchange("GET", "/books/1"),
    exchange("POST", "/books", b'{"title": "Dune"}', headers=[("Content-Type", "application/json")]),
    exchange("GET", "/authors/1/books", query="page=1"),
])


def test_a_path_miss_names_the_nearest_request():
    body = problem(replayed(Replayer(MISSES), "GET", "/books/9", query="x=1"))
    assert body["detail"] == ("no recorded interaction matches GET /books/9?x=1; "
                              "nearest: GET /books/1 (path and query differ)")
    assert body["title"] == "Not Found" and body["type"] == "about:blank"
    assert body["nearest"]["index"] == 0 and body["nearest"]["differs"] == ["path", "query"]


def test_a_method_miss_names_the_nearest_request():
    body = problem(replayed(Replayer(MISSES), "DELETE", "/authors/1/books", query="page=1"))
    assert body["detail"].endswith("nearest: GET /authors/1/books?page=1 (method differs)")
    assert body["nearest"]["method"] == "GET"


def test_a_body_miss_names_the_nearest_request():
    body = problem(replayed(Replayer(MISSES), "POST", "/books", b'{"title": "Emma"}'))
    assert body["detail"].endswith("nearest: POST /books (body differs)")
    assert body["nearest"]["path"] == "/books"


def test_an_empty_cassette_says_so():
    body = problem(replayed(Replayer(Cassette()), "GET", "/"))
    assert "the cassette is empty" in body["detail"] and body["nearest"] is None


# --- load errors -------------------------------------------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


GOOD_REQUEST = "request: {method: GET, path: /a}"


@pytest.mark.parametrize(("text", "location", "message"), [
    ("interactions: [\n", "line 2, column 1", "invalid YAML"),
    ("- just a list\n", "line 1", "a cassette is a mapping with 'interactions'"),
    ("interactions:\n- request: {method: GET, path: /a}\n",
     "line 2, key interactions[0]", "missing key 'response'"),
    ("interactions:\n- " + GOOD_REQUEST + "\n  response:\n    status: ok\n",
     "line 4, key interactions[0].response.status", "expected an integer, found a string"),
    ("interactions:\n- " + GOOD_REQUEST + "\n  response: {status: 200, stauts: 1}\n",
     "line 3, key interactions[0].response.stauts", "unknown key 'stauts'"),
    ("interactions:\n- request: {method: GET, path: a}\n  response: {status: 200}\n",
     "line 2, key interactions[0].request.path", "expected a path starting with /"),
    ("interactions:\n- " + GOOD_REQUEST + "\n  response:\n    status: 200\n"
     "    headers: {X-A: {b: c}}\n",
     "line 5, key interactions[0].response.headers.X-A", "expected a value, or a list"),
    ("interactions:\n- " + GOOD_REQUEST + "\n  response:\n    status: 200\n"
     "    text: hi\n    base64: aGk=\n",
     "line 6, key interactions[0].response.base64", "found both text and base64"),
    ("interactions:\n- " + GOOD_REQUEST + "\n  response:\n    status: 200\n"
     "    base64: abc\n",
     "line 5, key interactions[0].response.base64", "expected base64 text"),
    ("interactions:\n- " + GOOD_REQUEST + "\n  response:\n    status: 200\n"
     "    json:\n      1: one\n",
     "line 6, key interactions[0].response.json['1']", "a JSON object key must be a string"),
    ("interactions:\n- " + GOOD_REQUEST + "\n  response:\n    status: 200\n"
     "    status: 201\n",
     "line 5, key interactions[0].response.status", "duplicate key 'status'"),
    ("version: 2\ninteractions: []\n", "line 1, key version", "expected 1"),
])
def test_load_errors_name_the_file_and_location(tmp_path, text, location, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_cassette(path)
    assert info.value.source == str(path)
    assert info.value.location == location
    assert message in info.value.message


def test_a_missing_or_binary_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such cassette file"):
        load_cassette(tmp_path / "absent.yaml")
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_cassette(path)


def test_a_hand_written_cassette_loads_with_lenient_scalars(tmp_path):
    path = write(tmp_path, """
        interactions:
        - request:
            method: get
            path: /books
            query: {limit: 10, tag: [a, b]}
          response:
            status: 200
            headers: {Retry-After: 2, X-Flag: true}
            json: {published: 2024-01-01, code: 0755, ok: yes}
        """)
    (item,) = load_cassette(path).interactions
    assert item.request.method == "GET"
    assert item.request.query == [("limit", "10"), ("tag", "a"), ("tag", "b")]
    assert item.response.headers == [("Retry-After", "2"), ("X-Flag", "true")]
    assert item.response.body.value == {"published": "2024-01-01", "code": "0755", "ok": "yes"}
    answer = Replayer(load_cassette(path)).respond(
        ServerRequest("GET", "/books", "tag=a&limit=10&tag=b"))
    assert answer.header("content-type") == "application/json"

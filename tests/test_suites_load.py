"""Loading suites: the issue's example verbatim, every key of the format, env vars, --var."""

from __future__ import annotations

from pathlib import Path

from assay.core.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    LoginAuth,
    OAuth2ClientCredentials,
)
from assay.core.records import NOT_SET
from assay.suites import (
    Capture,
    Expect,
    FilePart,
    Matcher,
    Retry,
    is_suite_document,
    load_suite,
    looks_like_suite,
    suite_schema,
)

DATA = Path(__file__).parent / "data" / "suites"


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issue_example_loads_and_means_what_it_says():
    suite = load_suite(DATA / "books.yaml", env={})

    assert suite.source == str(DATA / "books.yaml")
    assert suite.base_url == "http://127.0.0.1:8000"
    assert suite.spec == str((DATA / "openapi.yaml").resolve())
    assert suite.variables == {"author": "Herbert"}
    assert (suite.auth, suite.headers, suite.timeout, suite.setup, suite.teardown) == (
        (), {}, None, (), ())
    (scenario,) = suite.scenarios
    assert scenario.name == "create then read a book"
    assert scenario.rows == () and scenario.runs() == [("create then read a book", {})]
    create, read = scenario.steps
    assert create.name == "create" and create.line == 7 and create.label == "POST /books"
    assert create.request.method == "POST"
    assert create.request.path == "/books" and create.request.url is None
    assert create.request.json == {"title": "Dune", "author": "{{ author }}"}
    assert create.expect == Expect(
        status=(201,),
        latency=("<", 0.5),
        json=(("$.title", (Matcher("==", "Dune"),)), ("$.id", (Matcher("type", ("integer",)),))),
    )
    assert create.capture == (Capture("book_id", "json", "$.id", "body"),)
    assert create.retry is None
    assert read.name == "read" and read.line == 20
    assert read.request.method == "GET" and read.request.path == "/books/{{ book_id }}"
    assert read.request.json is NOT_SET
    assert read.expect.status == (200,)
    assert read.expect.json == (("$.author", (Matcher("==", "Herbert"),)),)


def test_every_key_of_the_format(tmp_path):
    suite = load_suite(DATA / "full.yaml", env={"TOKEN": "t0ken"})

    assert suite.base_url == "http://127.0.0.1:8000"  # ${BASE_URL:-...} default
    assert suite.spec == "https://example.test/openapi.json"  # URLs are kept as they are
    assert suite.headers == {"X-Client": "assay", "X-Token": "t0ken"}
    assert suite.timeout == 5.0
    assert suite.auth == (
        BearerAuth("t0ken"),
        BasicAuth("ann", "Herbert"),  # auth is rendered with variables: at load time
        ApiKeyAuth("k3y", name="X-Api-Key", location="query"),
        ApiKeyAuth("k3y", scheme="ApiKeyAuth"),
        OAuth2ClientCredentials("http://127.0.0.1:9/token", "cid", "s3cret", ("read", "write")),
        LoginAuth({"method": "POST", "path": "/login", "json": {"user": "ann", "password": "pw"}},
                  token="$.access_token"),
    )
    assert [s.name for s in suite.setup] == ["reset"]
    assert [s.name for s in suite.teardown] == ["clean up"]
    assert suite.teardown[0].steps[0].request.url == "http://127.0.0.1:9/books"

    create, upload, inline = suite.scenarios
    assert create.weight == 3.0 and create.think == (1.0, 3.0)
    step = create.steps[0]
    assert step.name == "POST /books"  # default name: method and path
    assert step.think == (2.0, 2.0)
    request = step.request
    assert request.method == "POST"  # upper-cased
    assert request.query == {"tag": ["a", "b"], "limit": "{{ limit }}"}
    assert request.form == {"title": "{{ title }}", "year": "{{ year }}"}
    assert request.timeout == 0.25
    expect = step.expect
    assert expect.status == (200, 201)
    assert expect.latency == ("<=", 1.0)
    assert expect.headers == (
        ("Content-Type", (Matcher("matches", "^application/json"),)),
        ("X-Debug", (Matcher("exists", False),)),
        ("Content-Length", (Matcher("==", "12"),)),  # header values are text
    )
    assert expect.json == (
        ("$.items[*].price", (Matcher(">", 0), Matcher("type", ("number",)))),
        ("$.tags", (Matcher("length", (Matcher(">=", 1),)), Matcher("contains", "new"))),
    )
    assert expect.body_contains == ("Dune",)
    assert expect.schema == {"type": "object", "required": ["id"]}
    assert step.capture == (
        Capture("book_id", "json", "$.id", "body"),
        Capture("location", "header", "Location", "headers"),
        Capture("slug", "regex", r"slug=(\w+)", "header:Link"),
        Capture("code", "status", "status", "status"),
        Capture("raw", "json", "$.raw", "body"),
    )
    assert step.retry == Retry(
        times=5, delay_s=0.2,
        until=Expect(status=("2xx",), json=(("$.state", (Matcher("==", "ready"),)),)),
    )

    cover, raw = upload.steps
    assert cover.request.multipart == {
        "note": "hello",
        "cover": FilePart(path=str((DATA / "cover.txt").resolve()), content_type="text/plain"),
        "inline": FilePart(content="x,y", filename="data.csv"),
    }
    assert raw.request.body == "plain text"
    assert raw.retry == Retry(times=2, delay_s=1.0, until=None)
    assert inline.rows == ({"title": "Dune", "year": 1965},)


def test_parametrize_rows_inline_csv_and_json():
    suite = load_suite(DATA / "full.yaml", env={"TOKEN": "t"})
    create, upload, inline = suite.scenarios

    # CSV values are strings; JSON and inline values keep their types.
    assert create.runs() == [
        ("create [title=Dune, year=1965]", {"title": "Dune", "year": "1965"}),
        ("create [title=Emma, year=1815]", {"title": "Emma", "year": "1815"}),
    ]
    assert upload.rows == ({"title": "Dune", "year": 1965}, {"title": "Emma", "year": 1815})
    assert upload.runs()[1][0] == "upload [title=Emma, year=1815]"
    assert inline.runs() == [
        ("inline rows [title=Dune, year=1965]", {"title": "Dune", "year": 1965})]


def test_environment_variables_are_substituted_at_load_time(tmp_path):
    path = write(tmp_path, """
base_url: http://127.0.0.1:${PORT:-8000}/v1
timeout: ${TIMEOUT:-5}
headers: {Authorization: "Bearer ${TOKEN}", X-Literal: "$${NOT_A_VAR}", X-Quoted: "${N}"}
variables:
  count: ${N}
  empty: "${EMPTY:-fallback}"
  text: 'cost: $$5'

scenarios:
  - name: s
    steps:
      - request: {path: "/x"}
""")
    suite = load_suite(path, env={"TOKEN": "abc", "N": "42", "EMPTY": ""})

    assert suite.base_url == "http://127.0.0.1:8000/v1"
    assert suite.timeout == 5.0
    assert suite.headers == {"Authorization": "Bearer abc", "X-Literal": "${NOT_A_VAR}",
                             "X-Quoted": "42"}
    # A plain scalar is typed as if its value had been written; a quoted one stays text.
    assert suite.variables == {"count": 42, "empty": "fallback", "text": "cost: $$5"}

    with_port = load_suite(path, env={"PORT": "9001", "TOKEN": "abc", "N": "1"})
    assert with_port.base_url == "http://127.0.0.1:9001/v1"


def test_environment_defaults_to_os_environ(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_TEST_BASE", "http://127.0.0.1:1234")
    path = write(tmp_path, "base_url: ${ASSAY_TEST_BASE}\nscenarios:\n"
                           "  - {name: s, steps: [{request: {path: /}}]}\n")
    assert load_suite(path).base_url == "http://127.0.0.1:1234"


def test_var_overrides_win_over_variables(tmp_path):
    path = write(tmp_path, """
variables: {author: Herbert, limit: 10}
auth: {bearer: "{{ token }}"}
scenarios:
  - name: s
    steps:
      - request: {path: "/books?author={{ author }}"}
""")
    suite = load_suite(path, overrides={"author": "Austen", "token": "from-cli"}, env={})

    assert suite.variables == {"author": "Austen", "limit": 10, "token": "from-cli"}
    assert suite.auth == (BearerAuth("from-cli"),)


def test_yaml_scalars_follow_the_core_schema(tmp_path):
    path = write(tmp_path, """
variables: {country: NO, answer: yes, date: 2024-01-01, time: 12:30, mode: 0755,
            flag: true, none: null, ratio: 1.5, hex: 0x1F}
scenarios:
  - {name: s, steps: [{request: {path: /}}]}
""")
    assert load_suite(path, env={}).variables == {
        "country": "NO", "answer": "yes", "date": "2024-01-01", "time": "12:30",
        "mode": "0755", "flag": True, "none": None, "ratio": 1.5, "hex": 31,
    }


def test_anchors_and_merge_keys_work(tmp_path):
    path = write(tmp_path, """
variables:
  common: &common {headers: {X-Env: "${ENV:-dev}"}, path: /a}
  literal: &literal "$${NOT_SUBSTITUTED}"
  again: *literal
scenarios:
  - name: s
    steps:
      - request: {<<: *common, method: GET}
      - request: *common
""")
    suite = load_suite(path, env={})
    steps = suite.scenarios[0].steps
    # An alias is substituted once: the escape is not undone twice.
    assert suite.variables["literal"] == suite.variables["again"] == "${NOT_SUBSTITUTED}"
    assert steps[0].request.headers == {"X-Env": "dev"} and steps[0].request.path == "/a"
    assert steps[1].request.headers == {"X-Env": "dev"}


def test_suite_detection(tmp_path):
    suite = write(tmp_path, "scenarios:\n  - {name: s, steps: [{request: {path: /}}]}\n")
    broken_suite = write(tmp_path, "scenarios:\n  - [unclosed\n", "broken.yaml")
    openapi = write(tmp_path, '{"openapi": "3.1.0", "paths": {}}', "api.json")
    openapi_yaml = write(tmp_path, "openapi: 3.0.3\npaths: {}\n", "api.yaml")

    assert looks_like_suite(suite) and looks_like_suite(broken_suite)
    assert not looks_like_suite(openapi) and not looks_like_suite(openapi_yaml)
    assert not looks_like_suite(tmp_path / "missing.yaml")
    assert is_suite_document({"scenarios": []})
    assert not is_suite_document({"openapi": "3.1.0"}) and not is_suite_document([1])


def test_the_shipped_schema_documents_every_key():
    schema = suite_schema()
    missing = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                documented = "description" in sub or "$ref" in sub
                if not documented and key not in ("username", "password", "token_url",
                                                  "client_id", "client_secret", "audience"):
                    missing.append(f"{where}.{key}")
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for index, sub in enumerate(node):
                walk(sub, f"{where}[{index}]")

    walk(schema, "#")
    assert missing == []
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

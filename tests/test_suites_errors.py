"""Bad suites: each error names the file, the line, the key path, what was expected and found."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.core.errors import SuiteError, UsageError
from assay.suites import load_suite


def load_error(tmp_path: Path, text: str, *, env: dict | None = None) -> SuiteError:
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError) as info:
        load_suite(path, env=env or {})
    error = info.value
    assert error.source == str(path)
    assert str(error).startswith(f"{path}: ")
    return error


STEP = """\
scenarios:
  - name: s
    steps:
      - request: {path: /books}
"""


def test_unknown_key_under_expect(tmp_path):
    error = load_error(tmp_path, STEP + """\
        expect:
          status: 200
          jsn: {$.title: Dune}
""")
    assert error.location == "line 7, key scenarios[0].steps[0].expect.jsn"
    assert error.message == ("unknown key 'jsn' (expected one of: status, headers, json, "
                             "body_contains, schema, latency)")


def test_status_of_a_wrong_type(tmp_path):
    error = load_error(tmp_path, STEP + "        expect: {status: ok}\n")
    assert error.location == "line 5, key scenarios[0].steps[0].expect.status"
    assert error.message == "expected a status code (201) or a class (2xx), found a string ('ok')"
    as_mapping = load_error(tmp_path, STEP + "        expect: {status: {code: 200}}\n")
    assert as_mapping.location == "line 5, key scenarios[0].steps[0].expect.status"
    assert as_mapping.message.startswith("expected a status code (201)")
    assert as_mapping.message.endswith("found a mapping with keys: code")


def test_status_list_item_of_a_wrong_type(tmp_path):
    error = load_error(tmp_path, STEP + "        expect:\n          status: [200, 700]\n")
    assert error.location == "line 6, key scenarios[0].steps[0].expect.status[1]"
    assert error.message == "expected a status code (201) or a class (2xx), found a number (700)"


def test_broken_yaml(tmp_path):
    error = load_error(tmp_path, "scenarios:\n  - name: s\n   steps: []\n")
    assert error.location == "line 3, column 4"
    assert error.message.startswith("invalid YAML: ")


def test_not_a_mapping(tmp_path):
    error = load_error(tmp_path, "- name: s\n  steps: []\n")
    assert error.location == "line 1"
    assert error.message == "a suite must be a mapping with 'scenarios', found a list of 1 item"


def test_no_scenarios(tmp_path):
    error = load_error(tmp_path, "base_url: http://127.0.0.1:8000\n")
    assert "no 'scenarios'" in error.message
    empty = load_error(tmp_path, "scenarios: []\n")
    assert empty.location == "line 1, key scenarios"
    assert empty.message == "expected at least 1 item, found a list of 0 items"


def test_unknown_top_level_key(tmp_path):
    error = load_error(tmp_path, "base_url: x\nbaseurl: y\n" + STEP)
    assert error.location == "line 2, key baseurl"
    assert error.message.startswith("unknown key 'baseurl' (expected one of: base_url, spec,")


def test_missing_required_key(tmp_path):
    error = load_error(tmp_path, "scenarios:\n  - name: s\n")
    assert error.location == "line 2, key scenarios[0]"
    assert error.message == "missing key 'steps' (required keys here: name, steps)"


def test_unset_environment_variable(tmp_path):
    error = load_error(tmp_path, "base_url: http://127.0.0.1:8000\nheaders:\n"
                                 "  Authorization: Bearer ${API_TOKEN}\n" + STEP)
    assert error.location == "line 3, key headers.Authorization"
    assert "API_TOKEN is not set" in error.message
    assert "${API_TOKEN:-default}" in error.message


def test_malformed_environment_reference(tmp_path):
    error = load_error(tmp_path, "base_url: http://${HOST\n" + STEP)
    assert error.location == "line 1, key base_url"
    assert "invalid environment variable reference '${HOST'" in error.message


def test_duplicate_key(tmp_path):
    error = load_error(tmp_path, STEP + "        expect: {status: 200, status: 201}\n")
    assert error.location == "line 5, key scenarios[0].steps[0].expect.status"
    assert "duplicate key 'status'" in error.message


def test_request_needs_exactly_one_of_path_and_url(tmp_path):
    error = load_error(tmp_path, "scenarios:\n  - name: s\n    steps:\n"
                                 "      - request: {method: GET}\n")
    assert error.location == "line 4, key scenarios[0].steps[0].request"
    assert error.message.startswith("expected exactly one of 'path' (joined to base_url) or "
                                    "'url' (absolute), found a mapping with keys: method")


def test_request_with_two_bodies(tmp_path):
    error = load_error(tmp_path, "scenarios:\n  - name: s\n    steps:\n"
                                 "      - request: {path: /x, json: {}, form: {a: b}}\n")
    assert error.message.startswith("expected at most one body: json, form, multipart or body")


def test_unknown_operator(tmp_path):
    error = load_error(tmp_path, STEP + "        expect:\n          json:\n"
                                        "            $.year: {'=>': 1960}\n")
    assert error.location == "line 7, key scenarios[0].steps[0].expect.json['$.year']['=>']"
    assert error.message.startswith("unknown key '=>' (expected one of: ==, !=, <, <=, >, >=, "
                                    "matches, contains, exists, type, length)")


def test_json_expectation_key_must_be_a_jsonpath(tmp_path):
    error = load_error(tmp_path, STEP + "        expect:\n          json: {title: Dune}\n")
    assert error.location == "line 6, key scenarios[0].steps[0].expect.json.title"
    assert "expected a JSONPath starting with $" in error.message


def test_invalid_jsonpath(tmp_path):
    error = load_error(tmp_path, STEP + "        expect:\n          json: {'$.items[': 1}\n")
    assert error.location == "line 6, key scenarios[0].steps[0].expect.json['$.items[']"
    assert error.message.startswith("invalid JSONPath '$.items['")


def test_invalid_type_name(tmp_path):
    error = load_error(tmp_path, STEP + "        expect:\n          json: {$.id: {type: int}}\n")
    assert error.location == "line 6, key scenarios[0].steps[0].expect.json['$.id'].type"
    assert "expected a JSON type name (string, integer" in error.message
    assert error.message.endswith("found a string ('int')")


def test_invalid_regex(tmp_path):
    error = load_error(tmp_path, STEP + "        expect:\n          headers:\n"
                                        "            ETag: {matches: '(unclosed'}\n")
    assert error.location == "line 7, key scenarios[0].steps[0].expect.headers.ETag.matches"
    assert error.message.startswith("invalid regular expression '(unclosed'")


def test_invalid_inline_schema(tmp_path):
    error = load_error(tmp_path, STEP + "        expect:\n          schema:\n"
                                        "            type: strnig\n")
    assert error.location == "line 7, key scenarios[0].steps[0].expect.schema.type"
    assert error.message.startswith("invalid JSON Schema")


def test_invalid_template(tmp_path):
    error = load_error(tmp_path, "scenarios:\n  - name: s\n    steps:\n"
                                 "      - request: {path: '/books/{{ id + 1 }}'}\n")
    assert error.location == "line 4, key scenarios[0].steps[0].request.path"
    assert error.message.startswith("invalid template '{{ id + 1 }}'")


def test_capture_needs_exactly_one_kind(tmp_path):
    error = load_error(tmp_path, STEP + "        capture:\n"
                                        "          id: {json: $.id, header: Location}\n")
    assert error.location == "line 6, key scenarios[0].steps[0].capture.id"
    assert error.message.startswith("expected exactly one of json, header, regex or status")


def test_capture_shorthand_must_be_a_jsonpath(tmp_path):
    error = load_error(tmp_path, STEP + "        capture: {id: id}\n")
    assert error.location == "line 5, key scenarios[0].steps[0].capture.id"
    assert error.message.endswith("found a string ('id')")


def test_bad_latency_and_duration(tmp_path):
    latency = load_error(tmp_path, STEP + "        expect: {latency: fast}\n")
    assert latency.location == "line 5, key scenarios[0].steps[0].expect.latency"
    assert latency.message == (
        "expected a limit such as '< 500ms' or '<= 1s', found a string ('fast')")
    delay = load_error(tmp_path, STEP + "        retry: {times: 2, delay: soon}\n")
    assert delay.location == "line 5, key scenarios[0].steps[0].retry.delay"
    assert delay.message.startswith("expected a duration such as 500ms")


def test_retry_needs_times(tmp_path):
    error = load_error(tmp_path, STEP + "        retry: {delay: 1s}\n")
    assert error.location == "line 5, key scenarios[0].steps[0].retry"
    assert error.message.startswith("missing key 'times'")


def test_api_key_needs_a_scheme_or_a_name(tmp_path):
    error = load_error(tmp_path, "auth:\n  api_key: {value: k}\n" + STEP)
    assert error.location == "line 2, key auth.api_key"
    assert error.message.startswith("expected 'scheme' (a security scheme of the spec) or 'name'")


def test_auth_with_an_undefined_variable(tmp_path):
    error = load_error(tmp_path, "auth:\n  - bearer: '{{ token }}'\n" + STEP)
    assert error.location == "line 2, key auth[0].bearer"
    assert error.message.startswith("undefined variable 'token'")


def test_parametrize_file_errors(tmp_path):
    missing = load_error(tmp_path, "scenarios:\n  - name: s\n    parametrize: {file: rows.csv}\n"
                                   "    steps: [{request: {path: /}}]\n")
    assert missing.location == "line 3, key scenarios[0].parametrize.file"
    assert "cannot read parametrize file" in missing.message

    (tmp_path / "rows.csv").write_text("title,year\nDune,1965\nEmma\n")
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path / "suite.yaml", env={})
    assert info.value.source == str(tmp_path / "rows.csv")
    assert info.value.location == "line 3"
    assert info.value.message == "expected 2 values (one per column: title, year), found 1"

    (tmp_path / "rows.json").write_text('[{"title": "Dune"}, "Emma"]')
    (tmp_path / "suite.yaml").write_text("scenarios:\n  - name: s\n    parametrize: "
                                         "{file: rows.json}\n    steps: [{request: {path: /}}]\n")
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path / "suite.yaml", env={})
    assert (info.value.source, info.value.location) == (str(tmp_path / "rows.json"), "/1")
    assert info.value.message == "expected an object, found \"Emma\""


def test_parametrize_of_an_unsupported_file_type(tmp_path):
    error = load_error(tmp_path, "scenarios:\n  - name: s\n    parametrize: {file: rows.xlsx}\n"
                                 "    steps: [{request: {path: /}}]\n")
    assert error.location == "line 3, key scenarios[0].parametrize.file"
    assert error.message == "expected a .csv or .json file, found a string ('rows.xlsx')"


def test_missing_multipart_file(tmp_path):
    error = load_error(tmp_path, "scenarios:\n  - name: s\n    steps:\n      - request:\n"
                                 "          path: /upload\n          multipart:\n"
                                 "            cover: {file: nope.png}\n")
    assert error.location == "line 7, key scenarios[0].steps[0].request.multipart.cover.file"
    assert error.message.startswith("no such file:")


def test_think_range_out_of_order(tmp_path):
    error = load_error(tmp_path, "scenarios:\n  - name: s\n    think: [3s, 1s]\n"
                                 "    steps: [{request: {path: /}}]\n")
    assert error.location == "line 3, key scenarios[0].think"


def test_unreadable_file(tmp_path):
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path / "absent.yaml", env={})
    assert info.value.source == str(tmp_path / "absent.yaml")
    assert "cannot read the suite" in info.value.message


def test_invalid_var_override_name(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(STEP)
    with pytest.raises(UsageError) as info:
        load_suite(path, overrides={"1bad": "x"}, env={})
    assert info.value.location == "--var"


def test_python_tags_are_refused(tmp_path):
    error = load_error(tmp_path, "variables:\n  x: !!python/object/apply:os.system ['true']\n"
                       + STEP)
    assert error.location.startswith("line 2")
    assert "could not determine a constructor" in error.message


def test_an_empty_file(tmp_path):
    error = load_error(tmp_path, "# nothing yet\n")
    assert error.message == "a suite must be a mapping with 'scenarios', found null"


def test_login_request_takes_only_what_a_login_sends(tmp_path):
    error = load_error(tmp_path, "auth:\n  login:\n    request: {path: /login, query: {a: 1}}\n"
                       + STEP)
    assert error.location == "line 3, key auth.login.request.query"
    assert error.message.startswith("unknown key 'query' (expected one of: method, path, url,")

"""Bad input: one clear message naming the file/key/flag, exit code 2, no traceback."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from assay.cli.main import cli
from assay.demo import spec_text

GOOD_SUITE = "scenarios:\n  - name: s\n    steps:\n      - request: {path: /}\n"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def assert_bad_input(result, *fragments):
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "openapi.yaml"
    path.write_text(spec_text())
    return path


def test_broken_yaml_spec(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("openapi: 3.0.3\ninfo: {title: x\npaths: {}\n")
    assert_bad_input(run("test", path, "--url", "http://127.0.0.1:1"), "broken.yaml", "line")


def test_missing_spec_file(tmp_path):
    assert_bad_input(run("test", tmp_path / "nope.yaml"), "nope.yaml")


def test_dangling_ref_skips_only_its_operation_with_a_warning(tmp_path):
    path = tmp_path / "dangling.yaml"
    path.write_text("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n"
                    "  /a:\n    get:\n      responses:\n"
                    "        '200': {$ref: '#/components/responses/Nope'}\n"
                    "  /c:\n    get:\n      responses: {'200': {description: ok}}\n")
    result = run("inspect", path, "-v")
    assert result.exit_code == 0
    assert "1 operations · 1 warnings" in result.output
    assert "GET /a" in result.output and "#/components/responses/Nope" in result.output
    assert "GET /c · responses: 200" in result.output
    tested = run("test", path, "--app", "assay.demo.app:fixed_app", "--dry-run")
    assert tested.exit_code == 0
    assert "warning: GET /a" in tested.output and "GET http://assay.app/c" in tested.output


def test_unknown_check_name(spec):
    assert_bad_input(run("test", spec, "--url", "http://127.0.0.1:1", "--checks", "nope"),
                     "--checks", "nope", "not_a_server_error")


def test_unknown_suite_key(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(GOOD_SUITE.replace("request: {path: /}",
                                       "request: {path: /}\n        expect: {stauts: 200}"))
    assert_bad_input(run("test", path, "--url", "http://127.0.0.1:1"),
                     "suite.yaml", "line 5", "stauts")


def test_unreachable_url(spec):
    port = closed_port()
    assert_bad_input(run("test", spec, "--url", f"http://127.0.0.1:{port}"),
                     f"127.0.0.1:{port}", "refused")


def test_url_that_is_not_a_url(spec):
    assert_bad_input(run("test", spec, "--url", "localhost:8000"), "--url")


def test_bad_app_path(spec):
    assert_bad_input(run("test", spec, "--app", "no_such_module_xyz:app"), "--app")


def test_bad_flag_value(spec):
    assert_bad_input(run("test", spec, "--url", "http://127.0.0.1:1", "--timeout", "soon"),
                     "--timeout")


def test_unknown_flag_is_a_usage_error(spec):
    result = run("test", spec, "--no-such-flag")
    assert result.exit_code == 2 and "--no-such-flag" in result.output


def test_suite_without_base_url(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(GOOD_SUITE)
    assert_bad_input(run("test", path), "--url")


def test_missing_environment_variable_in_suite(tmp_path, monkeypatch):
    monkeypatch.delenv("ASSAY_TEST_UNSET_VAR", raising=False)
    path = tmp_path / "suite.yaml"
    path.write_text("base_url: ${ASSAY_TEST_UNSET_VAR}\n" + GOOD_SUITE)
    assert_bad_input(run("test", path), "suite.yaml", "ASSAY_TEST_UNSET_VAR")


def test_unwritable_report_path(spec, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("test", spec, "--app", "assay.demo.app:fixed_app",
                 "--json", blocker / "r.json")
    assert_bad_input(result, "r.json")


def test_inspect_exit_code_with_one_broken_document(spec, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"openapi": "3.0.3", "info": ')
    result = run("inspect", spec, broken, "--format", "json")
    assert result.exit_code == 2
    import json
    docs = json.loads(result.stdout)
    assert [d["operations"] for d in docs] == [8, 0]
    assert "error" in docs[1]


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and "0.1.0" in result.output


def test_demo_serve_on_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert_bad_input(run("demo", "serve", "--port", port), "--port", f"127.0.0.1:{port}")


def test_filters_that_match_nothing_are_bad_input(spec):
    assert_bad_input(run("test", spec, "--app", "assay.demo.app:fixed_app",
                         "--include-tag", "nosuchtag"), "filters", "8 operations")


def test_a_document_with_no_usable_operation_is_bad_input(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n")
    assert_bad_input(run("test", path, "--url", "http://127.0.0.1:1"), "empty.yaml",
                     "no operation")


def test_neither_spec_nor_suite_mentions_both(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("scenarioz:\n  - name: s\n")
    assert_bad_input(run("test", path), "typo.yaml", "OpenAPI", "'scenarios'")


def test_suite_spec_that_does_not_exist_names_the_suite_key(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text("spec: missing.yaml\n" + GOOD_SUITE)
    assert_bad_input(run("test", path, "--url", "http://127.0.0.1:1"),
                     "suite.yaml", "key 'spec'", "missing.yaml")


def test_demo_serve_port_out_of_range():
    result = run("demo", "serve", "--port", "99999")
    assert result.exit_code == 2 and "--port" in result.output
    assert "Traceback" not in result.output


def test_suite_dry_run_lists_steps_that_use_captures(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(
        "scenarios:\n  - name: s\n    steps:\n"
        "      - request: {method: POST, path: /items}\n        capture: {item: $.id}\n"
        "      - request: {path: '/items/{{ item }}'}\n")
    result = run("test", path, "--url", "http://127.0.0.1:1", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "POST http://127.0.0.1:1/items" in result.output
    assert "DRY RUN: 2 requests listed, none sent" in result.output
    assert "error:" not in result.output and "undefined variable" not in result.output


def test_undefined_suite_variable_is_caught_at_load_time(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(
        "variables: {a: 1}\nscenarios:\n  - name: s\n    parametrize: [{row: x}]\n    steps:\n"
        "      - request: {path: '/{{ a }}/{{ row }}'}\n        capture: {got: $.id}\n"
        "      - request: {path: '/{{ got }}'}\n"
        "        expect: {json: {$.x: '{{ nope }}'}}\n")
    assert_bad_input(run("test", path, "--url", "http://127.0.0.1:1"),
                     "suite.yaml", "line 8", "'nope'", "a, got, row")

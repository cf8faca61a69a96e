"""Secrets from every source stay out of the console and of every report."""

from __future__ import annotations

import json

from click.testing import CliRunner

from assay.cli.main import cli
from servers import Canned, RecordingApp, serve

SPEC = {
    "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
    "paths": {"/echo": {"get": {"responses": {"200": {"description": "ok"}}}}},
}


def echo(request):
    return Canned(500, {"headers": request.headers})


def run_everywhere(tmp_path, *args):
    runner = CliRunner()
    result = runner.invoke(cli, [str(a) for a in args] + [
        "--report", "json,junit,html", "--report-dir", str(tmp_path / "out")])
    texts = [result.output] + [(tmp_path / "out" / n).read_text()
                               for n in ("report.json", "junit.xml", "report.html")]
    return result, texts


def test_credentials_in_the_url_are_secrets(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    app = RecordingApp({"GET /echo": echo})
    with serve(app) as url:
        creds_url = url.replace("http://", "http://bob:URLPASS666@")
        result, texts = run_everywhere(tmp_path, "test", spec, "--url", creds_url)
    assert result.exit_code == 1
    assert app.received[0].headers["authorization"].startswith("Basic ")
    for text in texts:
        assert "URLPASS666" not in text
        assert app.received[0].headers["authorization"][6:] not in text
    report = json.loads(texts[1])
    assert "$ASSAY_URL_CREDENTIALS@" in report["findings"][0]["reproduce"]


def test_sensitive_suite_headers_are_secrets(tmp_path):
    app = RecordingApp({"GET /echo": echo})
    with serve(app) as url:
        suite = tmp_path / "suite.yaml"
        suite.write_text(f"base_url: {url}\nheaders: {{X-Api-Key: SUITEHDR777}}\n"
                         "scenarios:\n  - name: s\n    steps:\n"
                         "      - request: {path: /echo}\n        expect: {status: 200}\n")
        result, texts = run_everywhere(tmp_path, "test", suite)
    assert result.exit_code == 1
    assert app.received[0].headers["x-api-key"] == "SUITEHDR777"
    for text in texts:
        assert "SUITEHDR777" not in text
    assert '"X-Api-Key: $ASSAY_HEADER_X_API_KEY"' in json.loads(texts[1])["findings"][0][
        "reproduce"]

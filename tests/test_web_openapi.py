"""assay's own API document: served as it runs, and ``assay test`` against the monitor's API
finds nothing, with every phase (examples, coverage, fuzz, stateful), token on and off."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml
from click.testing import CliRunner

from assay.cli.main import cli
from assay.web.app import create_app
from assay.web.notifications import STATUSES
from assay.web.openapi import document_text
from assay.web.params import DURATION_PATTERN, EPOCH_PATTERN, MONITOR_PATTERN, REASON_PATTERN
from servers import serve
from test_web_api import TOKEN, web_view

OPERATIONS = {
    ("get", "/api/monitors"), ("post", "/api/monitors/{name}/pause"),
    ("post", "/api/monitors/{name}/resume"), ("get", "/api/results"),
    ("get", "/api/incidents"), ("get", "/api/notifications"), ("get", "/api/silences"),
    ("post", "/api/silences"),
    ("get", "/api/silences/{silenceId}"), ("delete", "/api/silences/{silenceId}"),
    ("post", "/api/heartbeat/{name}"), ("get", "/api/openapi.json"),
}


def _operations(document: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


def test_the_document_lists_exactly_the_api_and_its_patterns_are_the_servers():
    document = yaml.safe_load(document_text())
    assert document["openapi"] == "3.1.0"
    assert _operations(document) == OPERATIONS
    schemas = document["components"]["schemas"]
    assert schemas["TimeText"]["anyOf"][1]["pattern"] == EPOCH_PATTERN
    new_silence = schemas["NewSilence"]["properties"]
    assert new_silence["duration"]["anyOf"][1]["pattern"] == DURATION_PATTERN
    assert new_silence["monitor"]["pattern"] == MONITOR_PATTERN
    assert new_silence["reason"]["pattern"] == REASON_PATTERN
    parameters = document["paths"]["/api/notifications"]["get"]["parameters"]
    [status] = [p for p in parameters if p.get("name") == "status"]
    assert tuple(status["schema"]["enum"]) == STATUSES
    assert tuple(schemas["Notification"]["properties"]["status"]["enum"]) == STATUSES


@pytest.mark.parametrize("auth", [True, False], ids=["token", "open"])
def test_assay_test_finds_nothing_in_the_monitor_api(tmp_path, auth):
    view = web_view(tmp_path)
    headers = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
    with serve(create_app(view, auth_token=TOKEN if auth else None)) as url:
        served = httpx.get(f"{url}/api/openapi.json", headers=headers)
        assert served.status_code == 200
        document = served.json()
        assert ("security" in document) is auth
        assert _operations(document) == OPERATIONS
        spec = tmp_path / "openapi.json"
        spec.write_text(json.dumps(document))
        report = tmp_path / "report.json"
        args = ["test", str(spec), "--url", url, "--json", str(report), "--no-color",
                "--seed", "1"]
        if auth:
            args += ["--auth-bearer", TOKEN]
        result = CliRunner().invoke(cli, args)
    data = json.loads(report.read_text())
    assert data["findings"] == [], result.output
    assert result.exit_code == 0, result.output
    assert (data["errors"], data["warnings"]) == ([], [])
    assert data["summary"]["operations"] == len(OPERATIONS)
    phases = data["summary"]["phases"]
    assert set(phases) == {"examples", "coverage", "fuzz", "stateful"}
    assert all(count > 0 for count in phases.values()), phases
    # The runs changed real state through the API: pauses, heartbeats, silences.
    assert view.store.last_heartbeat("nightly-backup") is not None

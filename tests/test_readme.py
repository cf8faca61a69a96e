"""The README's reference suite loads and runs as written against the fixed demo; its
faults file for `assay mock` is valid and its monitors file for `assay monitor` loads."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from assay.cli.main import cli
from assay.demo import spec_text
from assay.demo.app import create_app
from assay.mock.faults import load_faults
from assay.monitor.config import load_config
from assay.suites import load_suite
from servers import serve

README = Path(__file__).parents[1] / "README.md"


def reference_suite() -> str:
    text = README.read_text()
    section = text.split("## Suite reference", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)


def test_reference_suite_loads(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(reference_suite())
    suite = load_suite(str(path), env={})
    assert suite.base_url == "http://127.0.0.1:8000"
    assert [s.name for s in suite.scenarios] == ["create, read, delete"]
    assert len(suite.scenarios[0].rows) == 2 and suite.setup and suite.teardown


def test_reference_suite_runs_against_the_fixed_demo(tmp_path, monkeypatch):
    monkeypatch.delenv("TOKEN", raising=False)
    (tmp_path / "suite.yaml").write_text(reference_suite())
    (tmp_path / "openapi.yaml").write_text(spec_text())
    with serve(create_app(fixed=True)) as url:
        result = CliRunner().invoke(cli, ["test", str(tmp_path / "suite.yaml"), "--url", url,
                                          "--json", str(tmp_path / "r.json")])
    data = json.loads((tmp_path / "r.json").read_text())
    assert result.exit_code == 0, (result.output, data["findings"], data["errors"])
    assert data["summary"]["cases"] == 1 + 2 * 3 + 1


def test_reference_suite_runs_under_load_against_the_fixed_demo(tmp_path, monkeypatch):
    monkeypatch.delenv("TOKEN", raising=False)
    (tmp_path / "suite.yaml").write_text(reference_suite())
    (tmp_path / "openapi.yaml").write_text(spec_text())
    with serve(create_app(fixed=True)) as url:
        result = CliRunner().invoke(cli, [
            "load", str(tmp_path / "suite.yaml"), "--url", url, "--vus", "2",
            "--iterations", "6", "--workers", "1", "--threshold", "error_rate<1%",
            "--threshold", "checks>99%", "--quiet", "--json", str(tmp_path / "r.json")])
    data = json.loads((tmp_path / "r.json").read_text())
    assert result.exit_code == 0, (result.output, data["findings"], data["errors"])
    steps = data["load"]["by_step"]
    # Six iterations of the scenario's three steps, rows used in turn.
    assert {name: step["requests"] for name, step in steps.items()} == {
        "create": 6, "read until indexed": 6, "delete": 6}
    assert data["load"]["errors"] == 0


def test_the_faults_file_in_the_readme_is_valid(tmp_path):
    text = README.read_text()
    section = text[text.index("**Faults**"):]
    block = section[section.index("```yaml\n") + 8:section.index("```\n", 8)]
    path = tmp_path / "faults.yaml"
    path.write_text(block)
    faults = load_faults(path)
    assert len(faults.rules) == 3
    assert faults.rules[2].fault == "connection_reset"


def test_the_monitors_file_in_the_readme_loads_as_written(tmp_path):
    text = README.read_text()
    section = text[text.index("## `assay monitor`"):]
    block = section[section.index("```yaml\n") + 8:]
    block = block[:block.index("```\n")]
    path = tmp_path / "monitors.yaml"
    path.write_text(block)
    config = load_config(path)
    assert [(m.name, m.kind, m.every_s) for m in config.monitors] == [
        ("health", "http", 1.0), ("book flow", "scenario", 30.0)]
    assert [(c.name, c.kind, c.settings.failure_threshold) for c in config.channels] == [
        ("ops", "webhook", 3)]

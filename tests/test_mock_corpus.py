"""The mock conforms to its own spec, over a sample of the real-world corpus.

For each sampled document of ``../shared/corpus/openapi``: build the mock as ``assay mock``
does, serve it on 127.0.0.1, run ``assay test DOC --url <mock> --phases examples`` with a
credential for every security scheme, and expect zero findings and zero errors. Whatever the
tester sends as valid, the mock must accept, and whatever it answers, the tester's checks must
find documented (status, media type, headers, schema).

The sample is every 4th document (Swagger 2.0 and OpenAPI 3.0; base paths; basic, bearer,
OAuth2 and API-key security in headers and queries) plus documents that once showed a bug of
the mock. Skips when the corpus is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assay.cli.main import cli
from assay.core.errors import AssayError
from assay.engine.mock_run import MockConfig, build_app
from assay.http.fastserver import serve_in_thread
from assay.specs import load_spec
from assay.specs.model import ApiSpec
from corpus import CORPUS

REGRESSIONS = [
    "icons8.com_1.0.0.json",         # path variables held in the template's query
    "shipstation.com_1.0.0.json",    # queries in templates; literal paths beside templates
    "twilio_twilio_iam_v1.json",     # basic and bearer schemes in one document
]
_FRAGMENTS = ("its operations share 'POST /' and are told apart only by a URL fragment "
              "('/#DeleteRule'), which no client sends; several take the same request "
              "body, so no server can tell which one a request is for")
EXCLUDED = {
    "amazonaws.com_cloudhsm_2014-05-30.json": _FRAGMENTS,
    "amazonaws.com_datapipeline_2012-10-29.json": _FRAGMENTS,
    "amazonaws.com_kinesisanalytics_2015-08-14.json": _FRAGMENTS,
    "amazonaws.com_ssm_2014-11-06.json": _FRAGMENTS,
    "healthcare.gov_1.0.0.json": "/{pageName}{mediaTypeExtension} and "
    "/{stateName}{mediaTypeExtension} are the same template (OpenAPI forbids it) with "
    "different media types: a request cannot say which one it is for",
}
"""Sampled documents that contradict themselves, and why."""


def _sample() -> list[str]:
    if not CORPUS.is_dir():
        return []
    names = sorted(path.name for path in CORPUS.iterdir())
    return [*names[::4], *(name for name in REGRESSIONS if name not in names[::4])]


def credentials(spec: ApiSpec) -> list[str]:
    """``assay test`` flags giving a credential for every security scheme of ``spec``.

    One ``Authorization`` header holds either a bearer token or basic credentials: the one
    more operations require is given.
    """
    needed = {"basic": 0, "bearer": 0}
    for operation in spec.operations:
        for alternative in operation.security:
            for name in alternative:
                scheme = spec.security_schemes.get(name)
                if scheme is None or scheme.type in ("apiKey", "mutualTLS"):
                    continue
                basic = scheme.type == "http" and (scheme.scheme or "").lower() == "basic"
                needed["basic" if basic else "bearer"] += 1
    flags = []
    if needed["basic"] > needed["bearer"]:
        flags += ["--auth-basic", "user:password"]
    elif needed["bearer"]:
        flags += ["--auth-bearer", "token"]
    for name, scheme in spec.security_schemes.items():
        if scheme.type == "apiKey":
            flags += ["--api-key", f"{name}=key"]
    return flags


def _listing(report: dict, output: str) -> str:
    lines = [f"{f['check']} {f['operation']}: {f['message']} (status {f.get('status')})\n"
             f"    {f.get('reproduce', '')}" for f in report.get("findings", [])]
    lines += [f"error: {error}" for error in report.get("errors", [])]
    return "\n".join(lines) or output


@pytest.mark.slow
@pytest.mark.parametrize("name", _sample() or ["<corpus absent>"])
def test_the_mock_passes_the_examples_phase_of_its_own_spec(name: str, tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    if name in EXCLUDED:
        pytest.skip(EXCLUDED[name])
    document = str(CORPUS / name)
    try:
        spec = load_spec(document)
    except AssayError as exc:
        pytest.skip(f"does not load: {exc}")
    app = build_app(MockConfig(spec=document, port=0))
    report_path = tmp_path / "report.json"
    with serve_in_thread(app.handle) as server:
        result = CliRunner().invoke(cli, [
            "test", document, "--url", server.url + app.prefix, "--phases", "examples",
            "--seed", "1", "--no-replay", "--json", str(report_path), "--quiet",
            "--no-color", *credentials(spec)])
    assert report_path.exists(), result.output
    report = json.loads(report_path.read_text())
    assert report["summary"]["cases"] >= len(spec.operations) > 0
    assert not report["findings"] and not report.get("errors"), _listing(report, result.output)
    assert result.exit_code == 0, result.output

"""The checks of the generated phases, on hand-built cases and responses (pure logic)."""

from __future__ import annotations

import pytest

from assay.checks.registry import CheckContext, build_registry
from assay.core.records import Case, Negative, Response, Timings
from assay.specs.model import Operation, ResponseSpec

OPERATION = Operation("POST", "/books", responses={
    "201": ResponseSpec("201"), "401": ResponseSpec("401"), "422": ResponseSpec("422")})
CONTEXT = CheckContext(OPERATION)
OUT_OF_RANGE = Negative("out_of_range", "body", "/published", "2101 is above the maximum 2100")
NO_HEADER = Negative("missing_required", "header", "Idempotency-Key",
                     "required header parameter 'Idempotency-Key' is missing")


def answer(status: int, headers=()) -> Response:
    return Response(status, list(headers), b"", Timings(total=0.001))


def case(negative=None, probe=None, method="POST") -> Case:
    return Case("POST /books", method, "/books", phase="fuzz", negative=negative, probe=probe)


def run(check: str, the_case: Case, response: Response, ctx=CONTEXT) -> list:
    return build_registry([check]).run(ctx, response, the_case)


@pytest.mark.parametrize("status, fails", [(201, True), (200, True), (422, False), (400, False),
                                           (500, False)])
def test_negative_data_rejection_fails_on_any_2xx(status, fails):
    failures = run("negative_data_rejection", case(OUT_OF_RANGE), answer(status))
    assert bool(failures) is fails
    if fails:
        assert failures[0].cause == "body /published: out_of_range"
        assert failures[0].reason == OUT_OF_RANGE.message


def test_valid_cases_never_fail_negative_data_rejection():
    assert run("negative_data_rejection", case(), answer(201)) == []


def test_missing_required_header_has_its_own_check():
    accepted = case(NO_HEADER)
    assert run("negative_data_rejection", accepted, answer(201)) == []
    failures = run("missing_required_header", accepted, answer(201))
    assert failures and failures[0].cause == "idempotency-key"
    assert run("missing_required_header", accepted, answer(400)) == []


@pytest.mark.parametrize("status", [400, 422, 415, 405])
def test_positive_data_acceptance_fails_on_input_rejections(status):
    failures = run("positive_data_acceptance", case(), answer(status))
    assert [f.cause for f in failures] == [str(status)]


@pytest.mark.parametrize("status", [401, 403, 404, 409, 410, 429, 413, 201, 500])
def test_positive_data_acceptance_ignores_state_identity_and_success(status):
    assert run("positive_data_acceptance", case(), answer(status)) == []


def test_positive_data_acceptance_ignores_negative_cases_and_probes():
    assert run("positive_data_acceptance", case(OUT_OF_RANGE), answer(422)) == []
    assert run("positive_data_acceptance", case(probe="no_credentials"), answer(400)) == []
    assert run("positive_data_acceptance", case(), answer(422), CheckContext(None)) == []


@pytest.mark.parametrize("status, headers, cause", [
    (200, [], "200"), (404, [], "404"), (405, [], "405 without Allow"),
    (405, [("Allow", "GET")], None), (401, [], None), (500, [], None)])
def test_unsupported_method(status, headers, cause):
    failures = run("unsupported_method", case(probe="unsupported_method", method="PATCH"),
                   answer(status, headers), CheckContext(None))
    assert [f.cause for f in failures] == ([cause] if cause else [])


@pytest.mark.parametrize("probe", ["no_credentials", "invalid_credentials"])
def test_ignored_auth_fails_on_2xx_only(probe):
    assert run("ignored_auth", case(probe=probe), answer(201))[0].cause == probe
    for status in (401, 403, 404, 422):
        assert run("ignored_auth", case(probe=probe), answer(status)) == []
    assert run("ignored_auth", case(), answer(201)) == []


def test_undocumented_401_to_an_auth_probe_is_not_a_conformance_finding():
    registry = build_registry(["status_code_conformance"])
    ctx = CheckContext(Operation("POST", "/books", responses={"201": ResponseSpec("201")}))
    assert registry.run(ctx, answer(401), case(probe="no_credentials")) == []
    assert registry.run(ctx, answer(401), case())[0].cause == "401"


def test_use_after_free_and_resource_availability():
    after_delete = case(probe="read_after_delete", method="GET")
    assert run("use_after_free", after_delete, answer(200))[0].cause == "200"
    assert run("use_after_free", after_delete, answer(404)) == []
    assert run("use_after_free", case(method="GET"), answer(200)) == []
    after_create = case(probe="read_after_create", method="GET")
    assert run("ensure_resource_availability", after_create, answer(404))[0].cause == "404"
    assert run("ensure_resource_availability", after_create, answer(200)) == []
    assert run("ensure_resource_availability", case(method="GET"), answer(404)) == []

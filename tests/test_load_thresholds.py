"""Threshold parsing, evaluation on hand-built results, and the abort decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.core.errors import UsageError
from assay.load.results import LoadResult, Percentiles, StepStats, ThresholdResult
from assay.load.thresholds import (
    AbortPolicy,
    Threshold,
    evaluate,
    measure,
    parse_threshold,
    parse_thresholds,
)

# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "metric", "op", "value", "scope"), [
    ("p95<300ms", "p95", "<", 300.0, None),
    ("p99.9 <= 1.5s", "p99.9", "<=", 1500.0, None),
    ("max>2", "max", ">", 2.0, None),
    ("mean>=10ms", "mean", ">=", 10.0, None),
    ("min<0.5ms", "min", "<", 0.5, None),
    ("p50<.5s", "p50", "<", 500.0, None),
    ("P90 < 250 ms", "p90", "<", 250.0, None),
    ("p99<0ms", "p99", "<", 0.0, None),
    ("error_rate<1%", "error_rate", "<", 0.01, None),
    ("error_rate<=0.05", "error_rate", "<=", 0.05, None),
    ("error_rate < 100 %", "error_rate", "<", 1.0, None),
    ("rps>1000", "rps", ">", 1000.0, None),
    ("rps >= 1000/s", "rps", ">=", 1000.0, None),
    ("rps>2.5 / s", "rps", ">", 2.5, None),
    ("checks>99%", "checks", ">", 0.99, None),
    ("checks>0.995", "checks", ">", 0.995, None),
    ("p95{step:create}<200ms", "p95", "<", 200.0, ("step", "create")),
    (" p95 { step : create book } < 200 ms ", "p95", "<", 200.0, ("step", "create book")),
    ("p95{endpoint:GET /books/{id}}<200ms", "p95", "<", 200.0,
     ("endpoint", "GET /books/{id}")),
    ("error_rate{endpoint:PUT /a/{x}/b/{y}}<=2%", "error_rate", "<=", 0.02,
     ("endpoint", "PUT /a/{x}/b/{y}")),
    ("rps{Step:login}>5", "rps", ">", 5.0, ("step", "login")),
])
def test_parse_threshold_valid(text, metric, op, value, scope):
    threshold = parse_threshold(text)
    assert threshold.expr == text.strip()
    assert (threshold.metric, threshold.op, threshold.scope) == (metric, op, scope)
    assert threshold.value == pytest.approx(value)


@pytest.mark.parametrize(("text", "says"), [
    ("", "expected METRIC OP VALUE"),
    ("<300ms", "expected METRIC OP VALUE"),
    ("p42<1ms", "unknown metric 'p42'"),
    ("latency<1ms", "unknown metric 'latency'"),
    ("p95 300ms", "expected an operator <, <=, > or >= after 'p95'"),
    ("p95=300ms", "expected an operator"),
    ("p95==300ms", "expected an operator"),
    ("p95{step:x}", "expected an operator <, <=, > or >= after 'p95{step:x}'"),
    ("p95<", "expected a time in ms or s"),
    ("p95<2m", "expected a time in ms or s such as 300ms or 1.5s"),
    ("p95<300us", "expected a time in ms or s"),
    ("p95<fast", "found 'fast'"),
    ("p95<-1ms", "expected a time in ms or s"),
    ("p95<<1ms", "expected a time in ms or s"),
    ("error_rate<150%", "expected a percentage such as 1% or a fraction such as 0.01"),
    ("error_rate<5", "expected a percentage"),
    ("error_rate<1ms", "expected a percentage"),
    ("checks>101%", "expected a percentage"),
    ("rps>1000/m", "expected requests per second such as 1000 or 1000/s"),
    ("rps>fast", "expected requests per second"),
    ("p95{step:create<200ms", "unclosed '{'"),
    ("p95{stage:create}<200ms", "expected a scope {step:NAME} or {endpoint:METHOD /path}"),
    ("p95{step:}<1", "expected a scope"),
    ("p95{create}<1", "expected a scope"),
    ("p95}<1", "expected an operator"),
])
def test_parse_threshold_errors_say_what_was_expected(text, says):
    with pytest.raises(UsageError) as info:
        parse_threshold(text)
    assert info.value.location == "--threshold"
    assert says in info.value.message
    assert "for example p95<300ms, error_rate<1%" in info.value.message


def test_parse_threshold_error_location_can_be_a_config_key():
    with pytest.raises(UsageError) as info:
        parse_threshold("p95<", location="load.thresholds[2]")
    assert str(info.value).startswith("load.thresholds[2]: ")


def test_parse_thresholds_keeps_the_order():
    parsed = parse_thresholds(["rps>10", "p95<1s"])
    assert [t.metric for t in parsed] == ["rps", "p95"]


@given(st.sampled_from(["p50", "p90", "p95", "p99", "p99.9", "max", "mean", "min"]),
       st.sampled_from(["<", "<=", ">", ">="]), st.integers(0, 10**6),
       st.sampled_from(["", "ms", "s"]))
def test_latency_values_are_milliseconds(metric, op, number, unit):
    threshold = parse_threshold(f"{metric}{op}{number}{unit}")
    assert (threshold.metric, threshold.op) == (metric, op)
    assert threshold.value == number * (1000 if unit == "s" else 1)


# --- evaluation ------------------------------------------------------------------------


def step(name, requests, errors, p95, passed=0, failed=0):
    return StepStats(name, requests, errors, Percentiles(p95=p95), Percentiles(),
                     checks_passed=passed, checks_failed=failed)


RESULT = LoadResult(
    model="open", requests=1000, duration_s=10.0, errors=5,
    latency=Percentiles(p50=10.0, p90=20.0, p95=30.0, p99=50.0, p999=80.0, max=120.0,
                        min=1.0, mean=12.0),
    service_time=Percentiles(p50=1.0),
    checks_passed=990, checks_failed=10,
    by_step={"create": step("create", 200, 10, 250.0),
             "GET /books/{id}": step("GET /books/{id}", 800, 0, 40.0, passed=799, failed=1)},
)


@pytest.mark.parametrize(("text", "ok", "value"), [
    ("p95<300ms", True, 30.0),
    ("p95<20ms", False, 30.0),
    ("p50<=10", True, 10.0),
    ("p90>0.019s", True, 20.0),
    ("p99<50", False, 50.0),
    ("p99.9<=80ms", True, 80.0),
    ("p99.9<80ms", False, 80.0),
    ("max>100ms", True, 120.0),
    ("min>=1ms", True, 1.0),
    ("mean<12ms", False, 12.0),
    ("error_rate<1%", True, 0.005),
    ("error_rate<0.001", False, 0.005),
    ("rps>99", True, 100.0),
    ("rps>=100/s", True, 100.0),
    ("rps>100", False, 100.0),
    ("checks>=99%", True, 0.99),
    ("checks>99%", False, 0.99),
    ("p95{step:create}<200ms", False, 250.0),
    ("error_rate{step:create}<=5%", True, 0.05),
    ("rps{step:create}>=20", True, 20.0),
    ("checks{step:create}>0.5", False, None),
    ("p95{endpoint:GET /books/{id}}<50ms", True, 40.0),
    ("checks{endpoint:GET /books/{id}}>99.8%", True, 799 / 800),
    ("p95{step:delete}<1s", False, None),
    ("rps{endpoint:GET /books}>0", False, None),
])
def test_evaluate_reads_the_right_measurement(text, ok, value):
    (result,) = evaluate([parse_threshold(text)], RESULT)
    assert result == ThresholdResult(text, ok, pytest.approx(value) if value else value)
    assert result.ok is ok


def test_evaluate_keeps_order_and_expressions():
    thresholds = parse_thresholds(["rps>1", "p95 < 1ms", "checks>1%"])
    results = evaluate(thresholds, RESULT)
    assert [r.expr for r in results] == ["rps>1", "p95 < 1ms", "checks>1%"]
    assert [r.ok for r in results] == [True, False, True]


def test_nothing_measured_fails_with_no_value():
    empty = LoadResult(model="closed", requests=0, duration_s=0.0, errors=0,
                       latency=Percentiles(), service_time=Percentiles(),
                       by_step={"idle": step("idle", 0, 0, None)})
    texts = ["p95<1s", "max>0", "error_rate<100%", "rps>=0", "checks>=0%",
             "p95{step:idle}<1s", "error_rate{step:idle}<1", "rps{step:idle}>=0"]
    results = evaluate(parse_thresholds(texts), empty)
    assert [(r.ok, r.value) for r in results] == [(False, None)] * len(texts)


def test_a_run_with_requests_but_no_rps_floor_met_reports_zero():
    stalled = LoadResult(model="open", requests=0, duration_s=5.0, errors=0,
                         latency=Percentiles(), service_time=Percentiles())
    assert measure(parse_threshold("rps>10"), stalled) == 0.0
    assert evaluate([parse_threshold("rps>10")], stalled)[0].ok is False


# --- aborting ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "can_abort"), [
    ("p95<300ms", True), ("max<=1s", True), ("p99>10ms", False), ("min>=1ms", False),
    ("error_rate<1%", True), ("error_rate>1%", False), ("checks>99%", True),
    ("checks<50%", False), ("rps>1000", False), ("rps<1000", False),
    ("p95{step:create}<200ms", True),
])
def test_which_thresholds_may_stop_a_run(text, can_abort):
    assert parse_threshold(text).can_abort is can_abort


def failing(text, value=1.0):
    return ThresholdResult(text, False, value)


def test_abort_waits_for_the_grace_period():
    policy = AbortPolicy(grace_s=10.0)
    results = [ThresholdResult("rps>1", True, 5.0), failing("p95<300ms", 450.0)]
    assert not policy.should_abort(results, 9.99)
    assert policy.should_abort(results, 10.0)
    assert policy.reason(results, 12.0) == "threshold p95<300ms failed (value 450) after 12.0s"


@pytest.mark.parametrize("results", [
    [],
    [ThresholdResult("p95<300ms", True, 100.0)],
    [failing("rps>1000", 200.0)],
    [failing("p99>50ms", 10.0)],
    [failing("p95<300ms", None)],
])
def test_no_abort_for_passing_recoverable_or_unmeasured_thresholds(results):
    assert not AbortPolicy(0.0).should_abort(results, 60.0)
    assert AbortPolicy(0.0).reason(results, 60.0) is None


@pytest.mark.parametrize("text", ["error_rate<1%", "checks>=99%", "max<1s",
                                  "p95{endpoint:GET /books/{id}}<200ms"])
def test_abort_on_failures_that_mean_the_api_misbehaves(text):
    assert AbortPolicy(5.0).should_abort([failing("rps>1000"), failing(text)], 6.0)


def test_abort_decision_on_an_evaluated_run():
    results = evaluate(parse_thresholds(["rps>5000", "p95<20ms"]), RESULT)
    assert AbortPolicy(3.0).reason(results, 4.0).startswith("threshold p95<20ms failed")
    results = evaluate(parse_thresholds(["rps>5000", "p95<300ms"]), RESULT)
    assert not AbortPolicy(3.0).should_abort(results, 4.0)


def test_abort_policy_rejects_a_negative_grace():
    with pytest.raises(ValueError):
        AbortPolicy(-1.0)


def test_threshold_holds_uses_its_operator():
    threshold = Threshold("p95<=5", "p95", "<=", 5.0)
    assert threshold.holds(5.0) and not threshold.holds(5.1)

"""Fault rules of ``assay mock``: the file format, its errors, and the injector's decisions."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from assay.core.errors import ConfigError
from assay.mock.faults import (
    ErrorSpec,
    FaultInjector,
    FaultRule,
    FaultSet,
    Latency,
    Match,
    format_duration,
    load_faults,
    parse_faults,
)

# The example of issue 6, exactly as written there.
ISSUE_EXAMPLE = """\
faults:
  - match: {operation: "GET /books/{bookId}"}     # or path/method patterns; omit for all
    latency: {distribution: lognormal, median: 80ms, sigma: 0.4, max: 2s}
  - match: {method: POST}
    probability: 0.05
    error: {status: 503, headers: {Retry-After: "2"}}
  - probability: 0.01
    fault: connection_reset          # also: empty_response, malformed_chunk, random_data_then_close, timeout
"""


def rules(*items: dict) -> FaultSet:
    """A fault set from rule mappings, as a PUT to the admin API would give them."""
    return parse_faults({"faults": list(items)}, "test")


def config_error(data: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_faults(data, "faults.yaml")
    return info.value


# --- the file format -----------------------------------------------------------------------


def test_issue_example_parses_as_written(tmp_path):
    path = tmp_path / "faults.yaml"
    path.write_text(ISSUE_EXAMPLE)
    faults = load_faults(path)
    assert faults.rules == (
        FaultRule(match=Match(operation="GET /books/{bookId}"),
                  latency=Latency("lognormal", median=0.08, sigma=0.4, max=2.0)),
        FaultRule(match=Match(method="POST"), probability=0.05,
                  error=ErrorSpec(503, headers=(("Retry-After", "2"),))),
        FaultRule(probability=0.01, fault="connection_reset"),
    )


def test_latency_forms():
    faults = rules({"latency": "100ms"},
                   {"latency": {"distribution": "fixed", "value": "1.5s"}},
                   {"latency": {"distribution": "uniform", "min": "10ms", "max": "50ms"}})
    assert [rule.latency for rule in faults.rules] == [
        Latency("fixed", value=0.1), Latency("fixed", value=1.5),
        Latency("uniform", low=0.01, high=0.05)]


def test_to_json_round_trips_in_the_file_shape():
    faults = rules(
        {"match": {"operation": "get /books/{bookId}", "path": "/books/**"},
         "latency": {"distribution": "lognormal", "median": "80ms", "sigma": 0.4, "max": "2s"}},
        {"match": {"method": "post"}, "probability": 0.05,
         "error": {"status": 503, "headers": {"Retry-After": 2}, "body": {"why": "down"}}},
        {"latency": {"distribution": "uniform", "min": "250us", "max": "1.5s"},
         "error": {"status": 429, "body": "slow down"}},
        {"probability": 0, "fault": "random_data_then_close"},
    )
    data = json.loads(json.dumps(faults.to_json()))
    assert parse_faults(data, "again") == faults
    assert data["faults"][0] == {
        "match": {"operation": "GET /books/{bookId}", "path": "/books/**"},
        "latency": {"distribution": "lognormal", "median": "80ms", "sigma": 0.4, "max": "2s"}}
    assert data["faults"][1]["error"]["headers"] == {"Retry-After": "2"}
    assert data["faults"][2]["latency"] == {"distribution": "uniform", "min": "250us",
                                            "max": "1.5s"}
    assert FaultSet().to_json() == {"faults": []}


@pytest.mark.parametrize("seconds,text", [(0.08, "80ms"), (2.0, "2s"), (1.5, "1.5s"),
                                          (0.00025, "250us"), (0.0, "0s"), (90.0, "90s")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("data,location,expected", [
    ({"faults": [{"latency": "1s"}, {"latncy": "1s"}]}, "faults[1].latncy",
     "unknown key 'latncy' (known keys here: match, probability, latency, error, fault)"),
    ({"rules": []}, "rules", "unknown key 'rules' (known keys here: faults)"),
    ({"faults": [{"match": {"verb": "GET"}, "latency": "1s"}]}, "faults[0].match.verb",
     "known keys here: operation, method, path"),
    ({"faults": [{"latency": "1s"}, {"latency": {"distribution": "lognormal", "median": "fast",
                                                 "sigma": 0.4}}]},
     "faults[1].latency.median", "expected a duration such as 500ms or 2s, found 'fast'"),
    ({"faults": [{"latency": {"distribution": "lognormal", "median": "80ms"}}]},
     "faults[0].latency.sigma", "a lognormal latency needs sigma"),
    ({"faults": [{"latency": {"distribution": "gamma", "value": "1s"}}]},
     "faults[0].latency.distribution", "expected one of fixed, uniform, lognormal"),
    ({"faults": [{"latency": {"distribution": "uniform", "min": "50ms", "max": "10ms"}}]},
     "faults[0].latency.max", "expected max >= min"),
    ({"faults": [{"probability": 1.5, "fault": "timeout"}]}, "faults[0].probability",
     "expected a probability between 0 and 1, found a number (1.5)"),
    ({"faults": [{"probability": "5%", "fault": "timeout"}]}, "faults[0].probability",
     "expected a probability between 0 and 1"),
    ({"faults": [{"fault": "explode"}]}, "faults[0].fault",
     "expected one of connection_reset, empty_response, malformed_chunk, "
     "random_data_then_close, timeout, found a string ('explode')"),
    ({"faults": [{"error": {"status": 503}, "fault": "timeout"}]}, "faults[0]",
     "a rule may have error or fault, not both"),
    ({"faults": [{"match": {"method": "POST"}}]}, "faults[0]",
     "a rule needs at least one of latency, error or fault"),
    ({"faults": [{"error": {"status": 600}}]}, "faults[0].error.status",
     "expected an HTTP status from 100 to 599, found a number (600)"),
    ({"faults": [{"error": {"status": 503, "headers": {"X-A": "a\r\nX-B: b"}}}]},
     "faults[0].error.headers.X-A", "cannot contain a line break"),
    ({"faults": [{"match": {"operation": "/books"}, "fault": "timeout"}]},
     "faults[0].match.operation", "expected an operation such as 'GET /books/{bookId}'"),
    ({"faults": [{"match": {"path": "books/*"}, "fault": "timeout"}]},
     "faults[0].match.path", "expected a path glob starting with / or *"),
    ({"faults": "none"}, "faults", "expected a list of rules, found a string ('none')"),
])
def test_errors_name_the_location_and_what_was_expected(data, location, expected):
    error = config_error(data)
    assert error.source == "faults.yaml"
    assert error.location == location
    assert expected in error.message


def test_root_must_be_a_mapping():
    error = config_error([{"fault": "timeout"}])
    assert error.location is None
    assert "expected a mapping with a 'faults' list, found a list of 1 item" in str(error)


def test_file_errors_give_the_line(tmp_path):
    path = tmp_path / "faults.yaml"
    path.write_text(ISSUE_EXAMPLE.replace("probability: 0.05", "probability: 5"))
    with pytest.raises(ConfigError) as info:
        load_faults(path)
    assert str(info.value).startswith(
        f"{path}: line 5, key faults[1].probability: expected a probability between 0 and 1")


def test_file_env_substitution_and_broken_yaml(tmp_path):
    path = tmp_path / "faults.yaml"
    path.write_text("faults:\n  - probability: ${RATE:-0.5}\n    fault: timeout\n")
    assert load_faults(path, env={"RATE": "0.25"}).rules[0].probability == 0.25
    assert load_faults(path, env={}).rules[0].probability == 0.5
    path.write_text("faults: [\n")
    with pytest.raises(ConfigError) as info:
        load_faults(path, env={})
    assert type(info.value) is ConfigError and "invalid YAML" in str(info.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_faults(tmp_path / "nope.yaml")
    assert "cannot read the faults file" in str(info.value)
    assert info.value.source == str(tmp_path / "nope.yaml")


# --- decisions -----------------------------------------------------------------------------


def test_no_rules_decide_nothing():
    decision = FaultInjector(FaultSet(), seed=1).decide("GET", "/books", "GET /books")
    assert (decision.delay, decision.response, decision.fault, decision.rule_index) == (
        0.0, None, None, None)


def test_latency_rules_add_up():
    injector = FaultInjector(rules({"latency": "100ms"}, {"latency": "50ms"},
                                   {"match": {"method": "POST"}, "latency": "1s"}))
    decision = injector.decide("GET", "/books", None)
    assert decision.delay == pytest.approx(0.15)
    assert decision.response is None and decision.fault is None


def test_first_firing_error_or_fault_wins_and_later_latency_still_adds():
    injector = FaultInjector(rules(
        {"match": {"method": "POST"}, "error": {"status": 500}},   # does not match a GET
        {"probability": 0, "fault": "timeout"},                     # never fires
        {"error": {"status": 503, "headers": {"Retry-After": "2"}}},
        {"fault": "connection_reset"},                              # too late
        {"latency": "20ms"},
    ), seed=3)
    decision = injector.decide("GET", "/books/1", "GET /books/{bookId}")
    assert decision.rule_index == 2
    assert decision.fault is None
    assert decision.delay == pytest.approx(0.02)
    response = decision.response
    assert response.status == 503
    assert response.header("Retry-After") == "2"
    assert response.header("Content-Type") == "application/problem+json"
    assert json.loads(response.body) == {
        "type": "about:blank", "title": "Service Unavailable", "status": 503,
        "detail": "injected by assay mock fault rule 2"}


def test_error_bodies():
    injector = FaultInjector(rules(
        {"match": {"path": "/text"}, "error": {"status": 500, "body": "boom"}},
        {"match": {"path": "/json"}, "error": {"status": 400, "body": {"code": "bad"}}},
        {"match": {"path": "/typed"}, "error": {"status": 500, "body": "<b/>",
                                                "headers": {"content-type": "text/html"}}},
        {"match": {"path": "/empty"}, "error": {"status": 204}},
    ))
    text = injector.decide("GET", "/text", None).response
    assert (text.body, text.header("content-type")) == (b"boom", "text/plain; charset=utf-8")
    data = injector.decide("GET", "/json", None).response
    assert (json.loads(data.body), data.header("content-type")) == (
        {"code": "bad"}, "application/json")
    typed = injector.decide("GET", "/typed", None).response
    assert typed.headers == [("content-type", "text/html")]
    assert injector.decide("GET", "/empty", None).response.body == b""


def test_each_decision_gets_its_own_response_object():
    injector = FaultInjector(rules({"error": {"status": 503}}))
    first = injector.decide("GET", "/", None).response
    first.headers.append(("Content-Length", "0"))  # as a server might
    assert injector.decide("GET", "/", None).response.header("Content-Length") is None


@pytest.mark.parametrize("match,method,path,operation,hit", [
    ({"operation": "GET /books/{bookId}"}, "GET", "/books/1", "GET /books/{bookId}", True),
    ({"operation": "get /books/{bookId}"}, "get", "/books/1", "GET /books/{bookId}", True),
    ({"operation": "GET /books/{bookId}"}, "GET", "/books/1", "GET /books/{id}", False),
    ({"operation": "GET /books/{bookId}"}, "GET", "/books/1", None, False),
    ({"method": "post"}, "POST", "/books", None, True),
    ({"method": "POST"}, "GET", "/books", None, False),
    ({"path": "/books/*"}, "GET", "/books/1", None, True),
    ({"path": "/books/*"}, "GET", "/books/1/reviews", None, False),
    ({"path": "/books/*/reviews"}, "GET", "/books/1/reviews", None, True),
    ({"path": "/books/**"}, "GET", "/books/1/reviews", None, True),
    ({"path": "/books/**"}, "GET", "/books", None, True),
    ({"path": "/books/**"}, "GET", "/bookshelf", None, False),
    ({"path": "/**/reviews"}, "GET", "/books/1/reviews", None, True),
    ({"path": "/b?oks"}, "GET", "/books", None, True),
    ({"path": "**"}, "GET", "/a/b/c", None, True),
    ({"path": "/books.json"}, "GET", "/booksxjson", None, False),
    ({"method": "GET", "path": "/books"}, "GET", "/books", None, True),
    ({"method": "GET", "path": "/books"}, "DELETE", "/books", None, False),
])
def test_matching(match, method, path, operation, hit):
    injector = FaultInjector(rules({"match": match, "fault": "timeout"}))
    decision = injector.decide(method, path, operation)
    assert (decision.fault is not None) == hit


# --- randomness ----------------------------------------------------------------------------


def test_probability_rate_within_binomial_tolerance():
    injector = FaultInjector(rules({"match": {"method": "POST"}, "probability": 0.05,
                                    "error": {"status": 503}}), seed=11)
    n, p = 5000, 0.05
    hits = sum(injector.decide("POST", "/books", None).response is not None for _ in range(n))
    assert abs(hits / n - p) <= 4 * math.sqrt(p * (1 - p) / n)
    assert injector.decide("GET", "/books", None).response is None


def test_lognormal_median_and_cap():
    latency = Latency("lognormal", median=0.08, sigma=0.4, max=2.0)
    injector = FaultInjector(FaultSet((FaultRule(latency=latency),)), seed=5)
    delays = [injector.decide("GET", "/", None).delay for _ in range(5000)]
    # The sample median of the log-delays has a standard error of 1.2533 * sigma / sqrt(n).
    assert abs(math.log(statistics.median(delays) / 0.08)) <= 4 * 1.2533 * 0.4 / math.sqrt(5000)
    assert max(delays) <= 2.0 and min(delays) > 0

    capped = FaultInjector(rules({"latency": {"distribution": "lognormal", "median": "80ms",
                                              "sigma": 0.4, "max": "100ms"}}), seed=5)
    delays = [capped.decide("GET", "/", None).delay for _ in range(2000)]
    assert max(delays) == 0.1  # about 29% of draws are above 100 ms and capped
    assert 0.2 < sum(d == 0.1 for d in delays) / len(delays) < 0.4


def test_uniform_stays_in_range():
    injector = FaultInjector(rules({"latency": {"distribution": "uniform", "min": "10ms",
                                                "max": "50ms"}}), seed=2)
    delays = [injector.decide("GET", "/", None).delay for _ in range(2000)]
    assert 0.01 <= min(delays) < 0.012 and 0.048 < max(delays) <= 0.05


MIXED = (
    {"latency": {"distribution": "lognormal", "median": "80ms", "sigma": 0.4}},
    {"probability": 0.3, "latency": {"distribution": "uniform", "min": "0ms", "max": "1s"}},
    {"probability": 0.2, "fault": "random_data_then_close"},
    {"probability": 0.2, "error": {"status": 503}},
    {"probability": 0.1, "fault": "connection_reset"},
)


def decisions(seed: int | None, count: int = 300) -> list:
    injector = FaultInjector(rules(*MIXED), seed=seed)
    return [injector.decide("GET", f"/books/{i}", None) for i in range(count)]


def test_same_seed_same_decisions_different_seed_different():
    first = decisions(42)
    assert first == decisions(42)
    assert first != decisions(43)
    data = [d.fault.data for d in first if d.fault and d.fault.kind == "random_data_then_close"]
    assert data and all(len(chunk) == 64 for chunk in data)
    assert len(set(data)) == len(data)  # drawn afresh each time


def test_unseeded_injectors_differ():
    assert decisions(None) != decisions(None)


def test_replace_swaps_rules_and_restarts_a_seeded_stream():
    injector = FaultInjector(rules(*MIXED), seed=42)
    expected = [injector.decide("GET", "/", None) for _ in range(50)]
    injector.replace(FaultSet())
    assert injector.faults == FaultSet()
    assert injector.decide("GET", "/", None) == FaultInjector(FaultSet()).decide("GET", "/", None)
    injector.replace(rules(*MIXED))
    assert injector.faults == rules(*MIXED)
    assert [injector.decide("GET", "/", None) for _ in range(50)] == expected

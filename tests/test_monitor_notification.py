"""What a notification says: the webhook body, its HMAC signature, Apprise's text."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from assay.monitor.alerts import AlertMachine, alert_event
from assay.monitor.model import AlertSettings
from assay.monitor.notification import (
    SIGNATURE_HEADER,
    apprise_type,
    body_bytes,
    describe_result,
    iso_utc,
    payload,
    render_text,
    signature,
    verify_signature,
    webhook_headers,
)
from assay.monitor.records import AlertEvent, RunResult
from servers import Canned, RecordingApp, serve

AT = 1714564803.0  # 2024-05-01T12:00:03Z


def firing_event(**changes) -> AlertEvent:
    result = RunResult("health", "eu-1", AT - 1, AT - 1.2, False, status=500,
                       latency_ms=12.3456, reason="expected status 200, got 500")
    fields = dict(event="firing", monitor="health", channel="ops", location="eu-1", at=AT,
                  message="down: 3 failed runs in a row", dedup_key="health|ops|firing|1.000",
                  last_result=result, details={"failures": 3})
    fields.update(changes)
    return AlertEvent(**fields)


def test_payload_has_the_documented_fields():
    body = payload(firing_event())
    assert body == {
        "version": 1, "event": "firing", "monitor": "health", "channel": "ops",
        "location": "eu-1", "at": "2024-05-01T12:00:03.000Z",
        "message": "down: 3 failed runs in a row", "dedup_key": "health|ops|firing|1.000",
        "last_result": {"ok": False, "status": 500, "latency_ms": 12.346,
                        "reason": "expected status 200, got 500",
                        "at": "2024-05-01T12:00:02.000Z", "location": "eu-1"},
        "details": {"failures": 3},
    }


def test_payload_without_a_result_keeps_the_last_result_keys():
    body = payload(firing_event(event="slo_burn", last_result=None,
                                details={"burn": (14.4, float("inf")), 2: float("nan")}))
    assert body["last_result"] == {"ok": None, "status": None, "latency_ms": None,
                                   "reason": None, "at": None, "location": None}
    # JSON has no infinities: they become null; tuples lists; keys strings.
    assert body["details"] == {"burn": [14.4, None], "2": None}
    assert json.loads(body_bytes(body)) == body


def test_iso_times_are_utc_with_a_z():
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(1714564803.5) == "2024-05-01T12:00:03.500Z"


def test_body_bytes_are_canonical():
    first = {"b": {"y": 1, "x": [1, 2]}, "a": "café"}
    second = {"a": "café", "b": {"x": [1, 2], "y": 1}}
    assert body_bytes(first) == body_bytes(second)
    assert body_bytes(first) == '{"a":"café","b":{"x":[1,2],"y":1}}'.encode()


def test_signature_is_hmac_sha256_of_the_exact_body():
    body = body_bytes(payload(firing_event()))
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature(body, "s3cret") == f"sha256={expected}"
    assert verify_signature(body, "s3cret", signature(body, "s3cret"))
    assert not verify_signature(body + b" ", "s3cret", signature(body, "s3cret"))
    assert not verify_signature(body, "other", signature(body, "s3cret"))
    assert not verify_signature(body, "s3cret", None)
    assert not verify_signature(body, "s3cret", f"sha256={'0' * 64}")


def test_headers_are_signed_only_with_a_secret():
    body = b'{"a":1}'
    assert SIGNATURE_HEADER not in webhook_headers(body, None)
    headers = webhook_headers(body, "k")
    assert headers[SIGNATURE_HEADER] == signature(body, "k")
    assert headers["Content-Type"] == "application/json"


def test_a_receiver_verifies_what_arrived_over_http():
    """From a state machine's transition to bytes on the wire, checked as a receiver would."""
    machine = AlertMachine(AlertSettings(failure_threshold=2))
    result = RunResult("health", "eu-1", AT, AT, False, status=503, reason="HTTP 503")
    machine.observe(False, AT - 10, AT - 9.8, result)
    [transition] = machine.observe(False, AT, AT + 0.2, result)
    event = alert_event(transition, monitor="health", channel="ops", location="eu-1",
                        at=AT + 0.2, result=result)
    body = body_bytes(payload(event))
    app = RecordingApp({"POST /hook": Canned(204)})
    with serve(app) as base:
        response = httpx.post(f"{base}/hook", content=body,
                              headers=webhook_headers(body, "s3cret"))
    assert response.status_code == 204
    [received] = app.received
    assert verify_signature(received.body, "s3cret",
                            received.headers[SIGNATURE_HEADER.lower()])
    got = received.json()
    assert got["event"] == "firing"
    assert got["dedup_key"] == f"health|ops|firing|{AT - 10:.3f}"
    assert got["last_result"]["status"] == 503


def test_render_text_for_apprise():
    title, body = render_text(firing_event())
    assert title == "[FIRING] health @ eu-1"
    assert body.splitlines() == [
        "down: 3 failed runs in a row",
        "Last result: down, HTTP 500 in 12.3 ms: expected status 200, got 500",
        "At: 2024-05-01T12:00:03.000Z",
        "Key: health|ops|firing|1.000",
    ]
    title, body = render_text(firing_event(event="resolved", last_result=None,
                                           message="up again"))
    assert title == "[RESOLVED] health @ eu-1"
    assert "Last result" not in body


def test_apprise_types_and_result_phrases():
    assert [apprise_type(firing_event(event=e)) for e in
            ("firing", "resolved", "flapping", "reminder", "other")] == [
        "failure", "success", "warning", "failure", "info"]
    assert describe_result(RunResult("tcp", "eu", 0, 0, True, latency_ms=3.0)) == "up in 3.0 ms"

"""What a notification says: the webhook's JSON body, its signature, and Apprise's text.

The webhook body (``payload``), sent as ``body_bytes(payload)`` with ``Content-Type:
application/json``::

    {"version": 1, "event": "firing", "monitor": "health", "channel": "ops",
     "location": "eu-1", "at": "2024-05-01T12:00:03.000Z", "message": "down: 3 failed ...",
     "dedup_key": "health|ops|firing|1714564800.000",
     "last_result": {"ok": false, "status": 500, "latency_ms": 12.5, "reason": "...",
                     "at": "2024-05-01T12:00:02.000Z", "location": "eu-1"},
     "details": {...}}

``event`` is one of firing, resolved, reminder, flapping, anomaly, slo_burn. ``dedup_key``
is the same for every delivery of one occurrence (retries, several agents): receivers can
drop repeats with it. ``last_result`` always has its keys (null values when the event has no
result, as an SLO burn). Non-finite numbers in ``details`` (an anomaly's infinite z-score)
become null, since JSON has no such numbers.

Signing. With a channel ``secret``, the request carries ``X-Assay-Signature: sha256=<hex>``,
the HMAC-SHA256 of the exact body bytes with the secret as key. A receiver verifies it on the
raw body, before parsing, in constant time::

    expected = "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers["X-Assay-Signature"]): reject()

(``verify_signature`` does exactly that). The body's ``at`` lets a receiver refuse stale
replays. The body is canonical JSON (sorted keys, no spaces, UTF-8), so the signature can be
recomputed from the payload as well.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from datetime import UTC, datetime
from typing import Any

from .records import AlertEvent, RunResult

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Assay-Signature"

# Apprise's NotifyType values (plain strings, so this module needs no apprise import).
_APPRISE_TYPES = {"firing": "failure", "resolved": "success", "reminder": "failure",
                  "flapping": "warning", "anomaly": "warning", "slo_burn": "warning"}


def iso_utc(t: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds and ``Z``.

    >>> iso_utc(0.25)
    '1970-01-01T00:00:00.250Z'
    """
    text = datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def payload(event: AlertEvent) -> dict[str, Any]:
    """The webhook body of ``event`` as a JSON-able dict (see the module docstring)."""
    return {"version": PAYLOAD_VERSION, "event": event.event, "monitor": event.monitor,
            "channel": event.channel, "location": event.location, "at": iso_utc(event.at),
            "message": event.message, "dedup_key": event.dedup_key,
            "last_result": _result_fields(event.last_result),
            "details": _jsonable(event.details)}


def body_bytes(payload: dict[str, Any]) -> bytes:
    """Canonical JSON of ``payload``: sorted keys, compact separators, UTF-8.

    >>> body_bytes({"b": 1, "a": "é"})
    b'{"a":"\\xc3\\xa9","b":1}'
    """
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return text.encode("utf-8")


def signature(body: bytes, secret: str) -> str:
    """``"sha256=<hex>"``: HMAC-SHA256 of the exact ``body`` bytes keyed by ``secret``
    (the ``X-Assay-Signature`` header)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` (constant-time comparison): what a
    receiver does with the raw request body."""
    if not header:
        return False
    return hmac.compare_digest(signature(body, secret).encode(), header.strip().encode())


def webhook_headers(body: bytes, secret: str | None) -> dict[str, str]:
    """The headers of a webhook request carrying ``body`` (signed when there is a secret)."""
    headers = {"Content-Type": "application/json", "User-Agent": "assay-monitor"}
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    return headers


def render_text(event: AlertEvent) -> tuple[str, str]:
    """``(title, body)`` for an Apprise notification: plain text, a few lines.

    The title reads ``[FIRING] health @ eu-1``; the body gives the message, the last result,
    the time and the dedup key.
    """
    title = f"[{event.event.upper()}] {event.monitor} @ {event.location}"
    lines = [event.message]
    if event.last_result is not None:
        lines.append(f"Last result: {describe_result(event.last_result)}")
    lines.append(f"At: {iso_utc(event.at)}")
    lines.append(f"Key: {event.dedup_key}")
    return title, "\n".join(lines)


def apprise_type(event: AlertEvent) -> str:
    """Apprise's notify type for ``event``: failure, success or warning (info if unknown)."""
    return _APPRISE_TYPES.get(event.event, "info")


def describe_result(result: RunResult) -> str:
    """``"down, HTTP 500 in 12.5 ms: expected status 200"``: one result in a phrase."""
    parts = [result.outcome]
    if result.status is not None:
        parts.append(f"HTTP {result.status}")
    text = ", ".join(parts)
    if result.latency_ms is not None:
        text += f" in {result.latency_ms:.1f} ms"
    if result.reason:
        text += f": {result.reason}"
    return text


def _result_fields(result: RunResult | None) -> dict[str, Any]:
    if result is None:
        return {"ok": None, "status": None, "latency_ms": None, "reason": None, "at": None,
                "location": None}
    latency = None if result.latency_ms is None else round(result.latency_ms, 3)
    return {"ok": result.ok, "status": result.status, "latency_ms": _jsonable(latency),
            "reason": result.reason, "at": iso_utc(result.at), "location": result.location}


def _jsonable(value: Any) -> Any:
    """``value`` with tuples as lists, non-finite floats as None and keys as strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)

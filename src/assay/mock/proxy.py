"""Forwarding to a real API: the proxy, recording and validation-proxy modes of the mock.

``Upstream`` sends a received request on to ``--proxy URL`` with httpx (HTTP/1.1 and 2,
TLS, and the connection pooling a proxy wants) and turns the answer back into a
``ServerResponse``. The request path is appended to the upstream URL's own path as is.
Hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded either way; ``Host`` is the
upstream's. httpx decodes compressed bodies, so ``Content-Encoding`` is dropped with them.

``response_violations`` runs the same conformance checks as ``assay test`` on an upstream
answer, so that the validation proxy and the test runner never disagree.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from referencing import Registry

from ..checks.registry import CheckContext, build_registry
from ..core.records import Response, Timings
from ..http.serving import HOP_BY_HOP, ServerRequest, ServerResponse
from ..specs.model import Operation

_DECODED = frozenset({"content-encoding"})
RESPONSE_CHECKS = ("status_code_conformance", "content_type_conformance",
                   "response_headers_conformance", "response_schema_conformance")


class Upstream:
    """The real API behind the mock, at ``base_url``."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, verify: bool = True):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout, verify=verify,
                                         follow_redirects=False)

    async def forward(self, request: ServerRequest) -> ServerResponse:
        """The upstream's answer to ``request``; a 502 problem when it cannot be reached."""
        url = self.base_url + request.target
        headers = [(name, value) for name, value in request.headers
                   if name.lower() not in HOP_BY_HOP]
        try:
            answer = await self._client.request(request.method, url, headers=headers,
                                                content=request.body or None)
        except httpx.HTTPError as exc:
            return bad_gateway(f"the upstream {self.base_url} did not answer: "
                               f"{type(exc).__name__}: {exc}")
        headers = [(name, value) for name, value in answer.headers.multi_items()
                   if name.lower() not in HOP_BY_HOP and name.lower() not in _DECODED]
        return ServerResponse(answer.status_code, headers, answer.content)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def bad_gateway(detail: str, violations: list[str] | None = None) -> ServerResponse:
    """A 502 ``application/problem+json`` answer (with the violations in strict mode)."""
    body: dict[str, Any] = {"type": "about:blank", "title": "Bad Gateway", "status": 502,
                            "detail": detail}
    if violations is not None:
        body["violations"] = violations
    return ServerResponse(502, [("Content-Type", "application/problem+json")],
                          json.dumps(body).encode())


class ResponseChecker:
    """The response conformance checks of ``assay test`` for upstream answers."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.checks = build_registry(RESPONSE_CHECKS)
        self._validators: dict[Any, Any] = {}

    def violations(self, operation: Operation, response: ServerResponse) -> list[str]:
        """What is wrong with ``response`` as an answer of ``operation``, one line each."""
        # A fresh memo per answer: a long-running proxy must not remember every body.
        ctx = CheckContext(operation, self.registry, validators=self._validators)
        record = Response(response.status, list(response.headers), response.body,
                          Timings(0.0))
        return [f"{failure.check}: {failure.message}"
                for failure in self.checks.run(ctx, record, None)]


def violations_header(violations: list[str], limit: int = 2000) -> str:
    """The ``X-Assay-Violations`` value: the violations joined, on one line, bounded."""
    text = " | ".join(" ".join(line.split()) for line in violations)
    text = text.encode("ascii", "replace").decode("ascii")
    return text if len(text) <= limit else text[:limit - 3] + "..."

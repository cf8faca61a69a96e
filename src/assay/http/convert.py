"""Conversions between assay's records and httpx objects, shared by both transports."""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from assay.core.records import Request, Response, Timings


def httpx_headers(request: Request) -> list[tuple[bytes, bytes]]:
    """The request's headers as bytes, in order, duplicates kept.

    Values are encoded as UTF-8 ourselves: httpx would refuse non-ASCII text, and generated
    negative cases do send such values on purpose.
    """
    return [
        (name.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass"))
        for name, value in request.headers
    ]


def build_httpx_request(
    client: httpx.AsyncClient, request: Request, *, timeout: float | None, extensions: dict
) -> httpx.Request:
    """An ``httpx.Request`` that sends exactly ``request`` (no cookies added from a jar)."""
    return client.build_request(
        request.method,
        request.url,
        headers=httpx_headers(request),
        content=request.body,
        timeout=httpx.Timeout(timeout),
        extensions=extensions,
    )


def response_from_httpx(response: httpx.Response, timings: Timings) -> Response:
    """assay's ``Response`` for a fully read httpx response.

    Header names keep the case the server sent (``headers.raw``); the body is
    ``response.content``: the bytes received, after content decoding (gzip, deflate).
    """
    encoding = response.headers.encoding
    headers = [
        (name.decode(encoding), value.decode(encoding)) for name, value in response.headers.raw
    ]
    return Response(
        status=response.status_code,
        headers=headers,
        body=response.content,
        timings=timings,
        http_version=response.http_version,
        reason=response.reason_phrase,
    )


def refusing_cookie_jar() -> CookieJar:
    """A cookie jar that stores nothing.

    httpx keeps ``Set-Cookie`` values and sends them on later requests; assay's requests
    must be exactly what ``Request`` says (and what a curl reproduction sends), so sessions
    are carried explicitly (captures, authentication) instead.
    """
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))

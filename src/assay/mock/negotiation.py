"""What a request asks of the mock: ``Prefer`` preferences, ``__`` query overrides, ``Accept``.

``parse_prefer`` reads a request into a ``Choice``; ``negotiate`` ranks the documented media
types of a response against an ``Accept`` header; ``problem`` builds the
``application/problem+json`` answer the mock gives when it cannot honour a request.

Negotiation follows RFC 9110 12.5.1: the most specific matching range sets a type's q-value,
and ``q=0`` refuses it. Two leniencies make real clients work: ``Accept: application/json``
also takes a ``+json`` type (``application/problem+json`` error documents), and among equally
acceptable types one the client named beats one reached by a wildcard, then JSON beats the
rest, then document order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from ..http.body import is_json_media_type
from ..http.serving import ServerRequest, ServerResponse

PROBLEM_JSON = "application/problem+json"
QUERY_OVERRIDES = ("__code", "__example", "__dynamic")
"""Query parameters that choose a response (request validation should ignore them)."""
_TRUE = frozenset(("true", "1", "yes"))


@dataclass(slots=True)
class Choice:
    """What the caller asked for.

    ``code``: ``Prefer: code=N``; ``example``: ``Prefer: example=name``; ``dynamic``:
    ``Prefer: dynamic=true`` (a generated body even when an example exists); ``accept``: the
    ``Accept`` header; ``invalid``: why a preference could not be read (``code=abc``), which
    the mock answers with a 400.
    """

    code: int | None = None
    example: str | None = None
    dynamic: bool = False
    accept: str | None = None
    invalid: str | None = None


def parse_prefer(request: ServerRequest) -> Choice:
    """The ``Choice`` of a request: its ``Prefer`` headers (RFC 7240: several preferences,
    quoted values, ``;`` parameters, the first instance of each counting), its
    ``?__code=``, ``?__example=`` and ``?__dynamic=`` query parameters (which win over the
    header: they are the more specific), and its ``Accept`` headers.

    >>> parse_prefer(ServerRequest("GET", "/b", headers=[("Prefer", 'code=404, example="x"')]))
    Choice(code=404, example='x', dynamic=False, accept=None, invalid=None)
    """
    wanted: dict[str, str] = {}
    for name, value in _preferences(request.header_values("prefer")):
        wanted.setdefault(name, value)
    if "__" in request.query:  # the usual request has none: skip decoding its query
        for name, value in request.query_pairs():
            if name in QUERY_OVERRIDES:
                wanted[name[2:]] = value
    accept = request.header_values("accept")
    choice = Choice(example=wanted.get("example") or None,
                    dynamic=wanted.get("dynamic", "").strip().lower() in _TRUE,
                    accept=", ".join(accept) if accept else None)
    code = wanted.get("code", "").strip()
    if code:
        if code.isdigit() and 100 <= int(code) <= 599:
            choice.code = int(code)
        else:
            choice.invalid = f"the preferred status code must be 100 to 599; got {code!r}"
    return choice


def _preferences(headers: list[str]) -> list[tuple[str, str]]:
    """``(name, value)`` of each preference, then of its parameters (accepted as
    preferences too: ``Prefer: code=404; example=x`` is a common way to ask for both)."""
    found: list[tuple[str, str]] = []
    for header in headers:
        for element in _split(header, ","):
            for piece in _split(element, ";"):
                name, _, value = piece.partition("=")
                if name.strip():
                    found.append((name.strip().lower(), _unquote(value.strip())))
    return found


def _split(text: str, separator: str) -> list[str]:
    """``text`` split on ``separator`` outside quoted strings."""
    parts, start, quoted, escaped = [], 0, False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def problem(status: int, detail: str, **members: Any) -> ServerResponse:
    """An ``application/problem+json`` answer (RFC 9457) with extension ``members``."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": detail, **members}
    return ServerResponse(status, [("Content-Type", PROBLEM_JSON)],
                          json.dumps(body, ensure_ascii=False).encode())


def negotiate(accept: str | None, documented: list[str]) -> list[tuple[str, str]]:
    """The acceptable ``(documented key, media type to send)`` pairs, best first; empty
    when the client accepts none of them (a 406).

    A wildcard key (``*/*``, ``application/*``) sends the most wanted concrete type it
    covers, ``application/json`` when the client accepts anything.

    >>> negotiate("text/html, */*;q=0.5", ["application/xml", "application/json"])
    [('application/json', 'application/json'), ('application/xml', 'application/xml')]
    """
    ranges = _accept_ranges(accept)
    ranked = []
    for index, key in enumerate(documented):
        base = key.split(";", 1)[0].strip().lower()
        quality, specificity, concrete = _quality(base, ranges)
        if quality > 0:
            send = key if "*" not in base else concrete
            ranked.append((-quality, -specificity, _json_rank(send), index, key, send))
    return [(key, send) for *_, key, send in sorted(ranked)]


def _accept_ranges(accept: str | None) -> list[tuple[str, float]]:
    """``(media range, q)`` of an Accept header; none (or nothing readable) is ``*/*``."""
    ranges = []
    for part in (accept or "*/*").split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        media = "*/*" if media == "*" else media
        if "/" not in media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((media, quality))
    return ranges or [("*/*", 1.0)]


def _quality(base: str, ranges: list[tuple[str, float]]) -> tuple[float, int, str]:
    """(q, how specific the deciding range is, the concrete type) for a documented type."""
    best: tuple[int, float, str] = (-1, 0.0, "")
    kind, _, sub = base.partition("/")
    for media, quality in ranges:
        r_kind, _, r_sub = media.partition("/")
        if "*" in base:  # the document allows a family: the best overlapping range decides
            if kind in ("*", r_kind) or r_kind == "*":
                specificity = 0 if r_kind == "*" else 1 if r_sub == "*" else 3
                concrete = media if specificity == 3 else _family_default(base, media)
                if (quality, specificity) > (best[1], best[0]):
                    best = (specificity, quality, concrete)
            continue
        if media == base:
            specificity = 3
        elif media == "application/json" and sub.endswith("+json"):
            specificity = 2
        elif r_sub == "*" and r_kind in ("*", kind):
            specificity = 0 if r_kind == "*" else 1
        else:
            continue
        if specificity > best[0]:
            best = (specificity, quality, base)
    return best[1], best[0], best[2]


def _family_default(base: str, media: str) -> str:
    family = media.split("/")[0] if base.startswith("*") else base.split("/")[0]
    return {"*": "application/json", "application": "application/json",
            "text": "text/plain"}.get(family, f"{family}/octet-stream")


def _json_rank(media_type: str) -> int:
    base = media_type.split(";", 1)[0].strip().lower()
    return 0 if base == "application/json" else 1 if is_json_media_type(base) else 2

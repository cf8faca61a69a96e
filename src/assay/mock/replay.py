"""Replay: answer requests from a cassette, and say which recorded request came nearest.

A request matches a recorded one when every field ``MatchRules`` compares is equal; a
recorded ``<redacted>`` value (a credential left out of the file) matches any value. When
several recorded interactions match (the same ``GET`` recorded twice, before and after a
change), ``sequential`` replay serves them in recorded order and then repeats the last, as
VCR's ``allow_playback_repeats`` and Polly's per-request order do; otherwise the first
always answers. An unmatched request gets a 404 problem that names the nearest recorded
request and what differs, as Hoverfly's "closest miss" does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..core.errors import UsageError
from ..http.body import encode_json
from ..http.serving import ServerRequest, ServerResponse
from .cassette import REDACTED, Cassette, Interaction, RecordedBody

QUERY_MODES = ("exact", "subset", "ignore")
BODY_MODES = ("exact", "json", "ignore")


@dataclass(frozen=True, slots=True)
class MatchRules:
    """What must be equal for a request to match a recorded one.

    - ``method``, ``path``: compared when true (paths segment by segment, percent-decoded);
    - ``query``: ``exact`` (the same parameters and values, in any order), ``subset`` (the
      recorded ones are all there; more are allowed) or ``ignore``;
    - ``body``: ``exact`` (the same bytes; a JSON body the same value, key order included),
      ``json`` (the same JSON value, key order and spacing ignored) or ``ignore``;
    - ``headers``: names of headers whose values must also be equal (any case).
    """

    method: bool = True
    path: bool = True
    query: str = "exact"
    body: str = "exact"
    headers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.query not in QUERY_MODES:
            raise ValueError(f"query must be one of {', '.join(QUERY_MODES)}; "
                             f"got {self.query!r}")
        if self.body not in BODY_MODES:
            raise ValueError(f"body must be one of {', '.join(BODY_MODES)}; got {self.body!r}")


def parse_match_rules(text: str) -> MatchRules:
    """The rules of a ``--match`` flag: comma-separated ``key=value`` items.

    Keys: ``method`` and ``path`` (``exact`` or ``ignore``), ``query`` (``exact``,
    ``subset``, ``ignore``), ``body`` (``exact``, ``json``, ``ignore``), ``headers`` (a
    header name; names after it without ``=`` are headers too). Raises ``UsageError``.

    >>> parse_match_rules("query=ignore,body=json,headers=accept,x-tenant")
    MatchRules(method=True, path=True, query='ignore', body='json', headers=('accept', 'x-tenant'))
    """
    values: dict[str, Any] = {}
    headers: list[str] = []
    previous = ""
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sign, value = (part.strip().lower() for part in item.partition("="))
        if not sign and previous == "headers":
            key, sign, value = "headers", "=", key
        if not sign or not value:
            raise _match_error(f"expected key=value, found {item!r}")
        if key == "headers":
            headers.append(value)
        else:
            values[key] = _rule_value(key, value)
        previous = key
    return MatchRules(**values, headers=tuple(headers))


def _rule_value(key: str, value: str) -> Any:
    choices = {"method": ("exact", "ignore"), "path": ("exact", "ignore"),
               "query": QUERY_MODES, "body": BODY_MODES}
    if key not in choices:
        raise _match_error(f"unknown key {key!r} (expected one of: method, path, query, "
                           "body, headers)")
    if value not in choices[key]:
        raise _match_error(f"{key} must be one of {', '.join(choices[key])}, found {value!r}")
    return value == "exact" if key in ("method", "path") else value


def _match_error(message: str) -> UsageError:
    return UsageError(message, location="--match")


class _Incoming:
    """A received request in the shapes matching compares, each computed once."""

    def __init__(self, request: ServerRequest):
        self.request = request
        self.method = request.method.upper()
        self.segments = path_segments(request.path)
        self.query = _grouped(request.query_pairs(), fold_case=False)
        self.headers = _grouped(request.headers, fold_case=True)
        self._json: Any = _UNPARSED

    def json(self) -> Any:
        """The body as JSON, or ``_NOT_JSON``."""
        if self._json is _UNPARSED:
            try:
                self._json = json.loads(self.request.body) if self.request.body else _NOT_JSON
            except ValueError:
                self._json = _NOT_JSON
        return self._json


_UNPARSED = object()
_NOT_JSON = object()


class _Recorded:
    """A recorded interaction prepared for matching, and its answer encoded once."""

    def __init__(self, index: int, interaction: Interaction):
        request = interaction.request
        self.index = index
        self.interaction = interaction
        self.method = request.method.upper()
        self.segments = path_segments(request.path)
        self.query = _grouped(request.query, fold_case=False)
        self.headers = _grouped(request.headers, fold_case=True)
        self.body = request.body
        self.answer = interaction.response.to_server_response()

    def differences(self, incoming: _Incoming, rules: MatchRules, *,
                    first: bool = False) -> list[str]:
        """The fields compared by ``rules`` that differ (only the first with ``first``)."""
        found: list[str] = []
        for name, same in self._comparisons(incoming, rules):
            if not same():
                found.append(name)
                if first:
                    break
        return found

    def _comparisons(self, incoming: _Incoming, rules: MatchRules):
        if rules.method:
            yield "method", lambda: self.method == incoming.method
        if rules.path:
            yield "path", lambda: self.segments == incoming.segments
        if rules.query != "ignore":
            yield "query", lambda: _fields_match(self.query, incoming.query,
                                                 exact=rules.query == "exact")
        for name in rules.headers:
            key = name.lower()
            yield f"header {name}", lambda key=key: _values_match(
                self.headers.get(key, []), incoming.headers.get(key, []), exact=True)
        if rules.body != "ignore":
            yield "body", lambda: body_matches(self.body, incoming, rules.body)

    def score(self, incoming: _Incoming) -> int:
        """How alike the requests are, to pick the nearest when none matches: the path
        weighs most, then the method, then query names and the body."""
        common = sum(1 for a, b in zip(self.segments, incoming.segments, strict=False)
                     if a == b and a)
        score = 3 * common + (3 if self.segments == incoming.segments else 0)
        score += 2 if self.method == incoming.method else 0
        score += len(self.query.keys() & incoming.query.keys())
        return score + (1 if body_matches(self.body, incoming, "json") else 0)


class Replayer:
    """Answers requests from ``cassette`` (see the module docstring).

    Matching is indexed by method and path when the rules compare them, so a large cassette
    costs a dictionary look-up per request, not a scan.
    """

    def __init__(self, cassette: Cassette, rules: MatchRules = MatchRules(), *,
                 sequential: bool = True):
        self.cassette = cassette
        self.rules = rules
        self.sequential = sequential
        self._recorded = [_Recorded(i, item) for i, item in enumerate(cassette.interactions)]
        self._index: dict[tuple[Any, Any], list[_Recorded]] = {}
        for entry in self._recorded:
            self._index.setdefault(self._key(entry.method, entry.segments), []).append(entry)
        self._played: set[int] = set()

    def respond(self, request: ServerRequest) -> ServerResponse:
        """The recorded answer to ``request``, or a 404 problem naming the nearest one."""
        incoming = _Incoming(request)
        candidates = self._index.get(self._key(incoming.method, incoming.segments), ())
        matches = [entry for entry in candidates
                   if not entry.differences(incoming, self.rules, first=True)]
        if not matches:
            return self._not_found(incoming)
        chosen = matches[0]
        if self.sequential:
            chosen = next((m for m in matches if m.index not in self._played), matches[-1])
            self._played.add(chosen.index)
        answer = chosen.answer
        return ServerResponse(answer.status, list(answer.headers), answer.body)

    def rewind(self) -> None:
        """Start sequential playback again from the first recorded answers."""
        self._played.clear()

    def _key(self, method: str, segments: tuple[str, ...]) -> tuple[Any, Any]:
        return (method if self.rules.method else None, segments if self.rules.path else None)

    def _not_found(self, incoming: _Incoming) -> ServerResponse:
        target = f"{incoming.method} {incoming.request.target}"
        problem: dict[str, Any] = {"type": "about:blank", "title": "Not Found", "status": 404}
        if not self._recorded:
            problem["detail"] = f"no recorded interaction matches {target}: the cassette is empty"
            problem["nearest"] = None
        else:
            nearest = max(self._recorded, key=lambda entry: entry.score(incoming))
            differs = nearest.differences(incoming, self.rules)
            label = nearest.interaction.request.label
            problem["detail"] = (f"no recorded interaction matches {target}; nearest: {label} "
                                 f"({_join(differs)} {'differ' if len(differs) > 1 else 'differs'})")
            recorded = nearest.interaction.request
            problem["nearest"] = {"index": nearest.index, "request": label,
                                  "method": recorded.method, "path": recorded.path,
                                  "differs": differs,
                                  "recorded_at": nearest.interaction.recorded_at or None}
        return ServerResponse(404, [("Content-Type", "application/problem+json")],
                              encode_json(problem))


def _join(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def path_segments(path: str) -> tuple[str, ...]:
    """A raw path as decoded segments: ``/a%20b/c`` -> ``('', 'a b', 'c')``; an encoded ``/``
    stays inside its segment."""
    return tuple(unquote(segment) for segment in path.split("/"))


def _grouped(pairs: Iterable[tuple[str, str]], *, fold_case: bool) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name.lower() if fold_case else name, []).append(value)
    return grouped


def _fields_match(recorded: dict[str, list[str]], actual: dict[str, list[str]], *,
                  exact: bool) -> bool:
    """Query parameters: ``exact`` wants the same names; without it, recorded ones suffice."""
    if exact and recorded.keys() != actual.keys():
        return False
    return all(_values_match(values, actual.get(name, []), exact=exact)
               for name, values in recorded.items())


def _values_match(recorded: list[str], actual: list[str], *, exact: bool) -> bool:
    """Every recorded value has its own actual value (and, ``exact``, none is left over);
    redacted values are matched last, against what remains."""
    left = list(actual)
    patterns = [value for value in recorded if REDACTED in value]
    for value in recorded:
        if REDACTED in value:
            continue
        if value not in left:
            return False
        left.remove(value)
    for pattern in patterns:
        hit = next((value for value in left if text_matches(pattern, value)), None)
        if hit is None:
            return False
        left.remove(hit)
    return not left if exact else True


def text_matches(recorded: str, actual: str) -> bool:
    """Equal text, where each ``<redacted>`` in ``recorded`` stands for any non-empty text."""
    if REDACTED not in recorded:
        return recorded == actual
    pattern = "(?s:.+?)".join(re.escape(part) for part in recorded.split(REDACTED))
    return re.fullmatch(pattern, actual) is not None


def body_matches(recorded: RecordedBody, incoming: _Incoming, mode: str) -> bool:
    """Whether the received body matches the recorded one under ``mode`` (not ``ignore``)."""
    data = incoming.request.body
    if recorded.kind == "none":
        return not data
    if mode == "json":
        expected = recorded.value if recorded.kind == "json" else _parsed(recorded)
        actual = incoming.json()
        if expected is not _NOT_JSON and actual is not _NOT_JSON:
            return json_matches(expected, actual, ordered=False)
    if recorded.kind == "json":
        actual = incoming.json()
        return actual is not _NOT_JSON and json_matches(recorded.value, actual, ordered=True)
    if recorded.kind == "text":
        try:
            return text_matches(recorded.value, data.decode("utf-8"))
        except UnicodeDecodeError:
            return False
    return recorded.value == data


def _parsed(body: RecordedBody) -> Any:
    if body.kind != "text":
        return _NOT_JSON
    try:
        return json.loads(body.value)
    except ValueError:
        return _NOT_JSON


def json_matches(recorded: Any, actual: Any, *, ordered: bool) -> bool:
    """Equal JSON values (``true`` is not ``1``; ``1`` is ``1.0``), a redacted string
    matching any string; ``ordered`` also compares the order of object keys."""
    if isinstance(recorded, str):
        return isinstance(actual, str) and text_matches(recorded, actual)
    if isinstance(recorded, dict):
        if not isinstance(actual, dict) or recorded.keys() != actual.keys():
            return False
        if ordered and list(recorded) != list(actual):
            return False
        return all(json_matches(value, actual[key], ordered=ordered)
                   for key, value in recorded.items())
    if isinstance(recorded, list):
        return (isinstance(actual, list) and len(recorded) == len(actual)
                and all(json_matches(a, b, ordered=ordered)
                        for a, b in zip(recorded, actual, strict=True)))
    if isinstance(recorded, bool) or isinstance(actual, bool) or actual is None:
        return recorded is actual
    return isinstance(actual, int | float) and recorded == actual

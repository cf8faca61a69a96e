"""What the mock answers for an operation: the status, the media type, the body, the headers.

The decisions, in order (``ResponseBook.plan``):

1. **Status.** ``Prefer: code=N`` (or ``?__code=N``) takes the documented response for N:
   the exact code, then its ``4XX`` range, then ``default``. A code the operation does not
   document gets a 400 problem listing the documented ones: a client test that asks for a
   response the document lacks has a bug, which the mock names rather than hides (a 5xx
   would look like the outage the test may be simulating, a 404 like a missing resource).
   Without a code: ``default_status``.
2. **Media type.** ``Accept`` is negotiated against the response's ``content``
   (``negotiation.negotiate``); nothing acceptable: 406 listing the available types. A
   response without ``content``, and every 204, 205 and 304, has no body.
3. **Body.** ``Prefer: example=name`` (or ``?__example=name``) serves that example; without
   a code it is also looked for in the operation's other responses (``example=notFound``
   finds the 404). Otherwise the first valid example: the media type's own, then the
   schema's ``examples`` and ``default``, else one assembled from the examples of
   properties and items. ``Prefer: dynamic=true`` skips examples. With no example, a body
   is generated from the schema (``values.ValueMaker``), deterministic for the seed; when
   nothing valid can be built, a 500 names the schema. A media type with neither schema
   nor example has an empty body.
4. **Headers.** Each documented header that is required or has an example gets a value
   (never ``Content-Type``, ``Content-Length`` and the like: the server sets those).

Every example is validated against its schema (response direction) when the book is built:
one that does not validate is never served, and ``ResponseBook.warnings`` names it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from ..core.records import NOT_SET
from ..http.params import serialize_header
from ..http.serving import ServerResponse
from ..specs.model import ApiSpec, MediaType, Operation, ResponseSpec
from .negotiation import Choice, negotiate, parse_prefer, problem
from .values import ValueMaker, encode

__all__ = ["Choice", "Planned", "ResponseBook", "default_status", "parse_prefer"]

NO_BODY_STATUSES = frozenset((204, 205, 304))
NOT_THE_REQUEST = (404, 409, 410, 412, 423, 428)
"""Errors that blame the state of things, not the request, in the order the mock prefers
them for an operation that documents no success: a mock holds no data, so "not found"
is honest, while a 400 would tell a client its valid request is wrong."""
CACHE_LIMIT = 4096
"""Rendered answers ``respond`` keeps (one per operation and distinct choice)."""
# Never taken from the document: the server frames and dates the message itself.
_SERVER_HEADERS = frozenset(("content-type", "content-length", "transfer-encoding",
                             "connection", "date"))
_RANGE_KEY = re.compile(r"[1-5][xX][xX]")
_ASSEMBLED = "property examples"
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


@dataclass(slots=True)
class Planned:
    """A response for one operation, before any state is applied.

    ``body`` is a JSON value (``bytes``/``str`` for a non-JSON media type), a fresh copy
    the caller may change; it is ignored when ``media_type`` is ``None`` (no body).
    ``headers`` are the documented ones (``render`` adds ``Content-Type``). ``source`` says
    where the body came from: ``"example 'dune'"``, ``"generated"``, ``"schema-less"``...
    """

    status: int
    media_type: str | None
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""


@dataclass(slots=True)
class _Example:
    value: Any
    name: str | None
    label: str


def default_status(operation: Operation) -> int:
    """The status answered without ``Prefer: code``: the lowest documented 2xx, else the
    lowest 3xx, else 200 for ``default``; an operation that documents only errors gets
    the first of ``NOT_THE_REQUEST`` it documents, else its first code (a 1xx only when
    nothing else is documented: an interim status cannot end an exchange). A range key
    counts as its first code (``2XX`` is 200); no responses at all: 200."""
    codes = [_first_code(key) for key in operation.responses if key != "default"]
    for low in (200, 300):
        in_class = [code for code in codes if low <= code < low + 100]
        if in_class:
            return min(in_class)
    if "default" in operation.responses:
        return 200
    final = [code for code in codes if code >= 200]
    for code in NOT_THE_REQUEST:
        if code in final:
            return code
    return (final or codes or [200])[0]


def _first_code(key: str) -> int:
    if key == "default":
        return 200
    return int(key[0]) * 100 if _RANGE_KEY.fullmatch(key) else int(key)


def _response_key(operation: Operation, status: int) -> str | None:
    """The key of ``operation.response_for(status)``: exact, then range, then default."""
    if str(status) in operation.responses:
        return str(status)
    for key in operation.responses:
        if _RANGE_KEY.fullmatch(key) and key[0] == str(status)[0]:
            return key
    return "default" if "default" in operation.responses else None


class ResponseBook:
    """The responses of one spec: examples validated up front, generated values and
    rendered answers cached. ``warnings`` names every example that is never served.

    Not thread-safe: the mock server uses it from its one event loop.
    """

    def __init__(self, spec: ApiSpec, *, seed: int = 0):
        self.spec = spec
        self.seed = seed
        self.warnings: list[str] = []
        self.values = ValueMaker(spec.registry, seed=seed)
        self._examples: dict[tuple[str, str, str], list[_Example]] = {}
        self._generated: dict[tuple[str, str, str], tuple[Any, str] | None] = {}
        self._header_examples: dict[tuple[str, str], dict[str, str]] = {}
        self._headers: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._rendered: dict[tuple, ServerResponse] = {}
        for operation in spec.operations:
            for key, response in operation.responses.items():
                for media_key, media in response.content.items():
                    self._examples_of(operation, key, media_key, media)
                self._valid_header_examples(operation, key, response)

    def plan(self, operation: Operation, choice: Choice) -> Planned | ServerResponse:
        """The response to serve, or a problem answer when ``choice`` cannot be honoured:
        400 for an unreadable preference, an undocumented code or an unknown example
        name; 406 when no documented media type is acceptable; 500 when no valid body can
        be built. ``Planned.body`` is a fresh copy."""
        if choice.invalid:
            return problem(400, choice.invalid)
        if choice.code is not None:
            key = _response_key(operation, choice.code)
            if key is None:
                return problem(400, f"{operation.label} documents no response for status "
                               f"{choice.code}", documented=list(operation.responses))
            targets = [(choice.code, key)]
        else:
            status = default_status(operation)
            key = _response_key(operation, status)
            if key is None:
                return Planned(status, None, None, [], "no documented response")
            targets = [(status, key)]
            if choice.example is not None:
                targets += [(_first_code(other), other) for other in operation.responses
                            if other != key]
        if choice.example is not None:
            return self._named(operation, targets, choice)
        return self._planned(operation, *targets[0], choice)

    def render(self, planned: Planned) -> ServerResponse:
        """``planned`` as bytes (``values.encode``): JSON for JSON media types, with the
        media type as documented for ``Content-Type``; UTF-8 text for ``text/*``; bytes as
        they are; then the documented headers. 204, 205 and 304 never carry a body."""
        if planned.media_type is None or planned.status in NO_BODY_STATUSES:
            return ServerResponse(planned.status, list(planned.headers), b"")
        body, content_type = encode(planned.body, planned.media_type)
        return ServerResponse(planned.status, [("Content-Type", content_type),
                                               *planned.headers], body)

    def respond(self, operation: Operation, choice: Choice) -> ServerResponse:
        """``render(plan(...))``, cached per operation and choice, so that a repeated
        request costs a dict lookup. Each call returns its own ``ServerResponse`` (sharing
        only the immutable body bytes)."""
        key = (operation.label, choice.code, choice.example, choice.dynamic, choice.accept,
               choice.invalid)
        answer = self._rendered.get(key)
        if answer is None:
            planned = self.plan(operation, choice)
            answer = planned if isinstance(planned, ServerResponse) else self.render(planned)
            if len(self._rendered) < CACHE_LIMIT:
                self._rendered[key] = answer
        return ServerResponse(answer.status, list(answer.headers), answer.body)

    # -- one response ----------------------------------------------------------------------

    def _planned(self, operation: Operation, status: int, key: str,
                 choice: Choice) -> Planned | ServerResponse:
        response = operation.responses[key]
        headers = self._header_values(operation, key, response)
        if not response.content or status in NO_BODY_STATUSES:
            return Planned(status, None, None, headers, "no content")
        acceptable = negotiate(choice.accept, list(response.content))
        if not acceptable:
            return problem(406, f"{operation.label} {key} has no media type the Accept header "
                           f"({choice.accept}) allows", available=list(response.content))
        media_key, send = acceptable[0]
        media = response.content[media_key]
        if media.schema is None and not media.examples:
            return Planned(status, send, b"", headers, "schema-less")
        examples = [] if choice.dynamic else self._examples_of(operation, key, media_key, media)
        if examples:
            body, source = examples[0].value, examples[0].label
        else:
            generated = self._generated_body(operation, key, media_key, media)
            if generated is None:
                return problem(500, f"no valid body could be built for {operation.label} "
                               f"{key} {media_key}: assay cannot satisfy its schema")
            body, source = generated
        if source == _ASSEMBLED or not examples:  # the document's own examples stay as written
            body = self._with_status(media, body, status)
        return Planned(status, send, copy.deepcopy(body), headers, source)

    def _named(self, operation: Operation, targets: list[tuple[int, str]],
               choice: Choice) -> Planned | ServerResponse:
        names: list[str] = []
        for status, key in targets:
            response = operation.responses[key]
            if status in NO_BODY_STATUSES:
                continue
            for media_key, send in negotiate(choice.accept, list(response.content)):
                for example in self._examples_of(operation, key, media_key,
                                                 response.content[media_key]):
                    if example.name == choice.example:
                        headers = self._header_values(operation, key, response)
                        return Planned(status, send, copy.deepcopy(example.value), headers,
                                       example.label)
                    if example.name is not None and example.name not in names:
                        names.append(example.name)
        where = f"status {choice.code}" if choice.code is not None else "any response"
        return problem(400, f"{operation.label} has no valid example named "
                       f"{choice.example!r} for {where} in an accepted media type",
                       examples=names)

    def _with_status(self, media: MediaType, body: Any, status: int) -> Any:
        """An error document made to agree with the status served, when its schema
        allows: a generated 404 saying ``"status": 400`` or ``"title": "Bad Request"``
        would mislead whoever reads it. Success bodies are left alone (their ``status``
        is the resource's own)."""
        if status < 400 or not isinstance(body, dict) \
                or not isinstance(body.get("status"), int) or body["status"] == status:
            return body
        changed = {**body, "status": status}
        if body.get("type") == "about:blank" and isinstance(body.get("title"), str) \
                and status in _PHRASES:
            changed["title"] = _PHRASES[status]  # RFC 9457 4.2.1: the status's phrase
        schema = media.schema if media.schema is not None else True
        return changed if self.values.validator(schema).is_valid(changed) else body

    # -- examples and generated bodies -----------------------------------------------------

    def _examples_of(self, operation: Operation, key: str, media_key: str,
                     media: MediaType) -> list[_Example]:
        slot = (operation.label, key, media_key)
        if slot not in self._examples:
            self._examples[slot] = self._valid_examples(operation, key, media_key, media)
        return self._examples[slot]

    def _valid_examples(self, operation: Operation, key: str, media_key: str,
                        media: MediaType) -> list[_Example]:
        schema = media.schema if media.schema is not None else True
        raw = [_Example(e.value, e.name, f"example {e.name!r}" if e.name else "example")
               for e in media.examples]
        raw += [_Example(value, None, "schema example")
                for value in self.values.schema_examples(schema)]
        if not raw:
            assembled = self.values.assembled(schema)
            if assembled is not NOT_SET:
                raw.append(_Example(assembled, None, _ASSEMBLED))
        validator = self.values.validator(schema)
        valid: list[_Example] = []
        seen: list[Any] = []
        for example in raw:
            if example.value in seen:
                continue
            seen.append(example.value)
            error = next(iter(validator.iter_errors(example.value)), None)
            if error is None:
                valid.append(example)
            else:
                self.warnings.append(f"{operation.label} {key} {media_key}: {example.label} "
                                     f"does not match its schema: {error.message}; not served")
        return valid

    def _generated_body(self, operation: Operation, key: str, media_key: str,
                        media: MediaType) -> tuple[Any, str] | None:
        slot = (operation.label, key, media_key)
        if slot not in self._generated:
            schema = media.schema if media.schema is not None else True
            self._generated[slot] = self.values.body(schema, *slot)
        return self._generated[slot]

    # -- headers ---------------------------------------------------------------------------

    def _valid_header_examples(self, operation: Operation, key: str,
                               response: ResponseSpec) -> dict[str, str]:
        """Each header's first valid example, as sent; invalid ones are warned about once."""
        slot = (operation.label, key)
        if slot in self._header_examples:
            return self._header_examples[slot]
        found: dict[str, str] = {}
        for name, header in response.headers.items():
            if name.lower() in _SERVER_HEADERS:
                continue
            for value in self.values.schema_examples(header.schema):
                text = serialize_header(value)
                if self.values.header_valid(text, header.schema):
                    found.setdefault(name, text)
                else:
                    self.warnings.append(f"{operation.label} {key}: example {value!r} of "
                                         f"header {name!r} does not match its schema; not "
                                         "served")
        self._header_examples[slot] = found
        return found

    def _header_values(self, operation: Operation, key: str,
                       response: ResponseSpec) -> list[tuple[str, str]]:
        slot = (operation.label, key)
        if slot not in self._headers:
            examples = self._valid_header_examples(operation, key, response)
            values = []
            for name, header in response.headers.items():
                if name in examples:
                    values.append((name, examples[name]))
                elif header.required and name.lower() not in _SERVER_HEADERS:
                    text = self.values.header_text(header.schema, *slot, name)
                    if text is not None:
                        values.append((name, text))
            self._headers[slot] = values
        return list(self._headers[slot])

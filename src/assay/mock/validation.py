"""Request validation for ``assay mock``: does a request match its operation in the spec?

The inverse of what assay's generators send: parameters are read back from their style
(``param_parsing``), bodies from their media type (``body_parsing``), and each value is
judged by the request-direction validator (``readOnly`` properties not required, formats
checked). So a request the tester sends as valid is accepted here and one it sends as
invalid is rejected: the mock and the tester agree.

The order is that of most real APIs: credentials first (a request without the ones its
security requires gets 401 whatever else is wrong), then the parameters and the body. The
answer to an invalid request is 415 for a body media type the operation does not document,
else 422 when the operation documents 422, else 400 (``error_status``), with an
``application/problem+json`` body (``problem_response``).

>>> validator = RequestValidator(spec)                                  # doctest: +SKIP
>>> validated = validator.validate(operation, request, {"bookId": "7"})  # doctest: +SKIP
>>> answer = problem_response(validated.status, validated.problems)     # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from jsonschema.exceptions import best_match
from referencing.exceptions import Unresolvable

from ..generation.examples import ignored_parameter
from ..http.serving import ServerRequest, ServerResponse
from ..specs.model import ApiSpec, MediaType, Operation, Parameter
from ..specs.validators import schema_validator
from .body_parsing import SKIP, BodyReader, match_media_type, media_type_of
from .credentials import SecurityPlan, security_plan
from .param_parsing import (
    MISSING,
    Malformed,
    Shape,
    group_pairs,
    parse_cookies,
    read_content,
    read_header,
    read_path,
    read_query,
    shape_of,
)
from .router import query_variables

MAX_PARAMETER_ERRORS = 3
MAX_BODY_ERRORS = 10
MOCK_QUERY_PARAMETERS = frozenset({"__example"})
"""Query parameters the mock itself reads (``?__example=name``): never part of an object."""
_MESSAGE_LIMIT = 300
_SCALARS = frozenset((str, int, float, bool, type(None)))
_VERDICTS = 1024  # remembered verdicts per parameter, and per operation for bodies
_REMEMBERED_BODY = 4096  # bytes: larger bodies are validated every time
_LOCATIONS = ("path", "query", "header", "cookie")
_FORM = "application/x-www-form-urlencoded"


@dataclass(slots=True)
class Problem:
    """One way a request breaks its operation's rules.

    ``location`` is ``query.limit``, ``path.bookId``, ``header.X-Request-Id``,
    ``cookie.session`` (a JSON pointer follows for a place inside the value:
    ``query.filter/color``), ``body`` or a pointer into it (``body/title``), or
    ``security``. ``challenges`` are the ``WWW-Authenticate`` challenges that would
    satisfy a ``security`` problem.
    """

    location: str
    message: str
    challenges: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(slots=True)
class Validated:
    """The outcome of validating one request.

    ``params`` holds, per location, the values read (coerced to their schema's types: what
    a handler would see); ``body`` the parsed body (JSON value; a dict for forms and
    multipart, with ``bytes`` for files; ``str`` or ``bytes`` otherwise), ``None`` when
    absent; ``media_type`` the request's ``Content-Type`` without parameters. ``status``
    is 200 when valid, else 401, 415, 422 or 400.
    """

    params: dict[str, dict[str, Any]]
    body: Any
    media_type: str | None
    problems: list[Problem] = field(default_factory=list)
    status: int = 200

    @property
    def ok(self) -> bool:
        """Whether the request is valid."""
        return self.status == 200


def error_status(operation: Operation) -> int:
    """422 if ``operation`` documents a 422 response (exactly, not through ``4XX`` or
    ``default``), else 400."""
    return 422 if "422" in operation.responses else 400


def problem_response(status: int, problems: list[Problem], *, detail: str | None = None,
                     headers: list[tuple[str, str]] | tuple = ()) -> ServerResponse:
    """An RFC 9457 ``application/problem+json`` answer listing ``problems``.

    The body holds ``type`` (``about:blank``: the status says what kind of problem it
    is), ``title`` (the reason phrase), ``status``, ``detail`` (given, else the problems
    in one line) and ``errors`` (``[{"location", "message"}]``). A 401 carries a
    ``WWW-Authenticate`` header per challenge of its problems unless ``headers`` has one.
    """
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    document = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail if detail is not None else _detail(problems, title),
        "errors": [{"location": p.location, "message": p.message} for p in problems],
    }
    out = [("Content-Type", "application/problem+json"), *headers]
    if status == 401 and not any(name.lower() == "www-authenticate" for name, _ in headers):
        challenges = dict.fromkeys(c for p in problems for c in p.challenges)
        out.extend(("WWW-Authenticate", challenge) for challenge in challenges or ["Bearer"])
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return ServerResponse(status, out, body)


def _detail(problems: list[Problem], title: str) -> str:
    if not problems:
        return title
    shown = "; ".join(str(p) for p in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return f"{shown}{more}"


class RequestValidator:
    """Validates requests against the operations of ``spec``.

    The work that does not depend on the request (which parameters, their shapes, the
    validators of their schemas, the security alternatives) is done once per operation,
    on its first request, and kept.
    """

    def __init__(self, spec: ApiSpec):
        self.spec = spec
        self._plans: dict[int, _Plan] = {}

    def validate(self, operation: Operation, request: ServerRequest,
                 path_params: dict[str, str]) -> Validated:
        """Validate ``request`` for ``operation``; ``path_params`` are the decoded texts the
        router captured for the path template's variables."""
        plan = self._plans.get(id(operation))
        if plan is None or plan.operation is not operation:
            plan = self._plans[id(operation)] = _Plan(operation, self.spec)
        media_type = media_type_of(request.header("content-type"))
        params: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {},
                                             "cookie": {}}
        if plan.trivial:
            return Validated(params, None, media_type)
        inputs = _Inputs(request)
        if plan.security is not None and not plan.security.satisfied(inputs):
            problem = Problem("security", plan.security.message, plan.security.challenges)
            return Validated(params, None, media_type, [problem], 401)
        problems: list[Problem] = []
        for check in plan.checks:
            check.run(inputs, path_params, params, problems)
        body, unsupported = plan.body(request, media_type, problems)
        status = 200 if not problems else 415 if unsupported else plan.error_status
        return Validated(params, body, media_type, problems, status)


class _Inputs:
    """The parts of a request that are parsed at most once, and only when needed."""

    __slots__ = ("request", "_query", "_cookies")

    def __init__(self, request: ServerRequest):
        self.request = request
        self._query: dict[str, list[str]] | None = None
        self._cookies: dict[str, list[str]] | None = None

    def query(self) -> dict[str, list[str]]:
        """The query string's pairs by name."""
        if self._query is None:
            query = self.request.query
            if "%" in query or "+" in query:
                pairs = self.request.query_pairs()
            else:  # nothing to decode: splitting is all parse_qsl would do, 5x faster
                pairs = [piece.partition("=")[::2] for piece in query.split("&") if piece]
            self._query = group_pairs(pairs)
        return self._query

    def cookies(self) -> dict[str, list[str]]:
        """The cookies by name."""
        if self._cookies is None:
            self._cookies = parse_cookies(self.request.header_values("cookie"))
        return self._cookies

    def header(self, name: str) -> str | None:
        """The first value of header ``name``."""
        return self.request.header(name)


class _Plan:
    """What is known of one operation before any request: its checks, body readers and
    security alternatives."""

    def __init__(self, operation: Operation, spec: ApiSpec):
        self.operation = operation
        self.spec = spec
        self.security: SecurityPlan | None = security_plan(operation, spec)
        params = [p for p in operation.parameters if not ignored_parameter(p)]
        # A path variable the template holds in its query ("/get?code={code}") comes in
        # the query: read it there (and keep it from an exploded object's properties).
        moved = query_variables(operation.path)
        in_query = frozenset(moved[p.name] for p in params
                             if p.location == "path" and p.name in moved)
        claimed = _claimed(params, self.security, in_query)
        order = {location: index for index, location in enumerate(_LOCATIONS)}
        params.sort(key=lambda p: order.get(p.location, len(order)))
        self.checks = [_ParameterCheck(p, spec, claimed.get(p.location, frozenset()),
                                       moved.get(p.name) if p.location == "path" else None)
                       for p in params if p.location in order]
        self.error_status = error_status(operation)
        self.trivial = (not self.checks and operation.request_body is None
                        and self.security is None)
        self._readers: dict[str, tuple[BodyReader, Any]] = {}
        self._verdicts: dict[tuple[str | None, bytes], tuple[Problem, ...]] = {}
        content = operation.request_body.content if operation.request_body else {}
        self._expected = ", ".join(content) or "none"

    def body(self, request: ServerRequest, media_type: str | None,
             problems: list[Problem]) -> tuple[Any, bool]:
        """The request's body read and checked: ``(value, unsupported media type)``."""
        spec = self.operation.request_body
        if spec is None:
            return None, False  # a body the operation does not describe is ignored
        if not request.body and media_type != _FORM:  # an empty form is the object {}
            if spec.required:
                problems.append(Problem("body", "a request body is required"))
            return None, False
        if not spec.content:
            return request.body, False
        documented = match_media_type(spec.content, media_type) if media_type else None
        if documented is None:
            sent = f"media type {media_type!r}" if media_type else "a body without Content-Type"
            problems.append(Problem("body", f"{sent} is not accepted; expected "
                                            f"{self._expected}"))
            return None, True
        reader, validator = self._reader(documented)
        try:
            value, checked = reader.read(request.body, request.header("content-type") or "")
        except Malformed as exc:
            problems.append(Problem("body" + exc.pointer, exc.message))
            return None, False
        if checked is not SKIP:
            problems.extend(self._body_verdict(validator, checked, request))
        return value, False

    def _body_verdict(self, validator: Any, checked: Any,
                      request: ServerRequest) -> tuple[Problem, ...]:
        """The problems of a body, remembered for small bodies: clients (and benchmarks)
        send the same body again and again, and validating it costs more than reading it."""
        if len(request.body) > _REMEMBERED_BODY:
            return tuple(_schema_problems(validator, checked, "body", MAX_BODY_ERRORS))
        key = (request.header("content-type"), request.body)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = tuple(_schema_problems(validator, checked, "body", MAX_BODY_ERRORS))
            if len(self._verdicts) >= _VERDICTS:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def _reader(self, media: MediaType) -> tuple[BodyReader, Any]:
        found = self._readers.get(media.media_type)
        if found is None:
            schema = True if media.schema is None else media.schema
            validator = schema_validator(schema, self.spec.registry, direction="request")
            found = self._readers[media.media_type] = (
                BodyReader(media, self.spec.registry), validator)
        return found


def _claimed(params: list[Parameter], security: SecurityPlan | None,
             in_query: frozenset[str] = frozenset()) -> dict[str, frozenset[str]]:
    """Per location, the names that belong to a declared parameter or a credential (an
    exploded object parameter does not take them as its properties); ``in_query`` names
    the query parameters that carry path variables."""
    names: dict[str, set[str]] = {"query": set(MOCK_QUERY_PARAMETERS) | in_query,
                                  "cookie": set()}
    for param in params:
        if param.location in names:
            names[param.location].add(param.name)
    if security is not None:
        for location, name in security.parameter_names():
            if location in names:
                names[location].add(name)
    return {location: frozenset(found) for location, found in names.items()}


class _ParameterCheck:
    """Reads and validates one parameter; its validator is compiled on first use."""

    __slots__ = ("param", "where", "shape", "claimed", "spec", "query_name", "_validator",
                 "_verdicts")

    def __init__(self, param: Parameter, spec: ApiSpec, claimed: frozenset[str],
                 query_name: str | None = None):
        self.param = param
        self.query_name = query_name  # a path variable sent in the query, under this name
        self.where = f"{param.location}.{param.name}"
        self.shape: Shape = shape_of(param.schema, spec.registry)
        self.claimed = claimed
        self.spec = spec
        self._validator: Any = None
        self._verdicts: dict[tuple[type, Any], tuple[Problem, ...]] = {}

    def run(self, inputs: _Inputs, path_params: dict[str, str],
            params: dict[str, dict[str, Any]], problems: list[Problem]) -> None:
        """Read the parameter from ``inputs`` into ``params``; report what is wrong."""
        try:
            value = self._read(inputs, path_params)
        except Malformed as exc:
            problems.append(Problem(self.where + exc.pointer, exc.message))
            return
        if value is MISSING:
            if self.param.required:
                problems.append(Problem(self.where, "required parameter is missing"))
            return
        params[self.param.location][self.param.name] = value
        if value.__class__ not in _SCALARS:
            problems.extend(_schema_problems(self._compiled(), value, self.where,
                                             MAX_PARAMETER_ERRORS))
            return
        # Clients send the same few values again and again (a benchmark, a polling UI):
        # the verdict on a scalar is remembered, in a bounded table.
        key = (value.__class__, value)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = tuple(_schema_problems(self._compiled(), value, self.where,
                                             MAX_PARAMETER_ERRORS))
            if len(self._verdicts) >= _VERDICTS:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        problems.extend(verdict)

    def _compiled(self) -> Any:
        if self._validator is None:
            self._validator = schema_validator(self.param.schema, self.spec.registry,
                                               direction="request")
        return self._validator

    def _read(self, inputs: _Inputs, path_params: dict[str, str]) -> Any:
        param = self.param
        content = param.media_type
        location = param.location
        if location == "path":
            text = path_params.get(param.name)
            if text is None and self.query_name is not None:
                text = next(iter(inputs.query().get(self.query_name, ())), None)
            if text is None or text == "{" + param.name + "}":
                return MISSING  # "/items/{id}" sent as is: the client left the variable out
            return read_content(text, content) if content else read_path(param, self.shape, text)
        if location == "header":
            values = inputs.request.header_values(param.name)
            if content and values:
                return read_content(values[0].strip(), content)
            return read_header(param, self.shape, values)
        groups = inputs.query() if location == "query" else inputs.cookies()
        if content:
            values = groups.get(param.name)
            return read_content(values[0], content) if values else MISSING
        return read_query(param, self.shape, groups, self.claimed)


def _schema_problems(validator: Any, value: Any, where: str, limit: int) -> list[Problem]:
    """Up to ``limit`` problems of ``value``; none when the schema itself cannot be used
    (an unresolvable ref, a pattern Python cannot compile): that says nothing about the
    request."""
    found: list[Problem] = []
    try:
        for error in validator.iter_errors(value):
            if error.context:  # anyOf/oneOf: say which branch came closest, and where
                error = best_match([error])
            found.append(Problem(where + _pointer(error.absolute_path), _short(error.message)))
            if len(found) >= limit:
                break
    except (Unresolvable, re.error, RecursionError, TypeError):
        # TypeError: a keyword of the wrong type in the document ("minimum": "5").
        return []
    return found


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _short(message: str) -> str:
    if len(message) <= _MESSAGE_LIMIT:
        return message
    return message[:_MESSAGE_LIMIT - 1] + "…"

"""Cassettes: recorded request/response pairs in a YAML file a person can read and edit.

``assay mock --proxy URL --record FILE`` appends an ``Interaction`` for every forwarded
request (``interaction_from``) and saves the cassette; ``assay mock --replay FILE`` loads it
(``load_cassette``) and answers from it (``assay.mock.replay``). The layout borrows what
VCR.py, WireMock and Hoverfly users already know, with choices of its own::

    version: 1
    interactions:
    - recorded_at: '2024-06-01T10:00:00+00:00'
      request:
        method: POST
        path: /books
        query: {dry_run: 'true'}          # a list of values when a name repeats
        headers:
          Content-Type: application/json
          Authorization: Bearer <redacted>
        json: {title: Dune}
      response:
        status: 201
        headers: {Content-Type: application/json}
        json: {id: 1, title: Dune}

- A body sits under one of three keys: ``json`` (a JSON body, by its content type, as YAML,
  so it can be edited), ``text`` (UTF-8 text, a block literal when it spans lines) or
  ``base64`` (anything else, byte for byte); no key means an empty body.
- Credentials are never stored: headers whose name carries them read ``<redacted>``
  (``Bearer <redacted>`` keeps the scheme), and so does every registered secret wherever
  it appears. On replay a redacted value matches any value.
- Hop-by-hop headers, ``Content-Length`` and the response ``Date`` are not stored: the
  server writes its own.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.secrets import Secrets, is_sensitive_name
from ..http.body import encode_json, is_json_media_type
from ..http.serving import HOP_BY_HOP, ServerRequest, ServerResponse
from .cassette_yaml import decode_base64, dump_yaml, read_cassette_file, scalar_text

REDACTED = "<redacted>"
CASSETTE_VERSION = 1

NOT_STORED = HOP_BY_HOP | {"trailers"}
"""Headers a cassette leaves out: hop-by-hop ones (RFC 9110 7.6.1) and what a server sets."""
_NOT_STORED_IN_RESPONSES = NOT_STORED | {"date"}
_CREDENTIAL_SCHEMES = ("authorization", "proxy-authorization")
_TEXT_CONTROLS = (frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}) | {"\x7f"}


@dataclass(slots=True)
class RecordedBody:
    """A body as a cassette holds it.

    ``kind`` is ``none`` (empty), ``json`` (``value`` a parsed JSON value), ``text``
    (``value`` a ``str``, UTF-8 on the wire) or ``binary`` (``value`` the ``bytes``).
    """

    kind: str = "none"
    value: Any = None

    def to_bytes(self) -> bytes:
        """The body as sent on the wire (a JSON body re-encoded: same value, any spacing)."""
        if self.kind == "json":
            return encode_json(self.value)
        if self.kind == "text":
            return self.value.encode("utf-8")
        if self.kind == "binary":
            return self.value
        return b""


@dataclass(slots=True)
class RecordedRequest:
    """A recorded request: ``path`` as received (percent-encoded), ``query`` decoded pairs."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: RecordedBody = field(default_factory=RecordedBody)

    @property
    def label(self) -> str:
        """``GET /books?limit=10``: how messages name the request."""
        query = "&".join(f"{name}={value}" for name, value in self.query)
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


@dataclass(slots=True)
class RecordedResponse:
    """A recorded response."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: RecordedBody = field(default_factory=RecordedBody)

    def to_server_response(self) -> ServerResponse:
        """The answer to send; a JSON body without a ``Content-Type`` gets one."""
        headers = [(name, value) for name, value in self.headers
                   if name.lower() not in _NOT_STORED_IN_RESPONSES]
        if self.body.kind == "json" and not any(n.lower() == "content-type" for n, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return ServerResponse(self.status, headers, self.body.to_bytes())


@dataclass(slots=True)
class Interaction:
    """One recorded exchange; ``recorded_at`` is ISO 8601 (UTC when assay recorded it)."""

    request: RecordedRequest
    response: RecordedResponse
    recorded_at: str = ""


def interaction_from(request: ServerRequest, response: ServerResponse, *,
                     secrets: Secrets | None = None,
                     recorded_at: str | None = None) -> Interaction:
    """The ``Interaction`` to store for a forwarded ``request`` and the upstream's ``response``.

    Credentials are redacted (see the module docstring); ``recorded_at`` defaults to now.

    >>> i = interaction_from(ServerRequest("GET", "/a", headers=[("Cookie", "s=1")]),
    ...                      ServerResponse(200), recorded_at="2024-01-01T00:00:00+00:00")
    >>> i.request.headers
    [('Cookie', '<redacted>')]
    """
    redactor = _Redactor(secrets)
    recorded = RecordedRequest(
        method=request.method.upper(),
        path=redactor.text(request.path),
        query=[(name, redactor.field(name, value)) for name, value in request.query_pairs()],
        headers=redactor.headers(request.headers, NOT_STORED),
        body=redactor.body(request.body, request.header("content-type")),
    )
    answer = RecordedResponse(
        status=response.status,
        headers=redactor.headers(response.headers, _NOT_STORED_IN_RESPONSES),
        body=redactor.body(response.body, response.header("content-type")),
    )
    when = recorded_at or datetime.now(UTC).isoformat(timespec="seconds")
    return Interaction(recorded, answer, when)


class _Redactor:
    """Replaces credentials by ``<redacted>``: by header or parameter name, and by value."""

    def __init__(self, secrets: Secrets | None):
        values = secrets.values if secrets is not None else {}
        # Longest first, so that a secret containing another is replaced whole.
        self.values = sorted(values, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def field(self, name: str, value: str) -> str:
        if not is_sensitive_name(name):
            return self.text(value)
        scheme, _, rest = value.partition(" ")
        if rest and scheme.isalpha() and name.lower() in _CREDENTIAL_SCHEMES:
            return f"{scheme} {REDACTED}"
        return REDACTED

    def headers(self, headers: list[tuple[str, str]],
                left_out: frozenset[str]) -> list[tuple[str, str]]:
        return [(name, self.field(name, value)) for name, value in headers
                if name.lower() not in left_out]

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self.json(item) for key, item in value.items()}
        return value

    def body(self, data: bytes, content_type: str | None) -> RecordedBody:
        body = classify_body(data, content_type)
        if body.kind == "json":
            return RecordedBody("json", self.json(body.value))
        if body.kind == "text":
            return RecordedBody("text", self.text(body.value))
        if body.kind == "binary":
            for value in self.values:
                body.value = body.value.replace(value.encode(), REDACTED.encode())
        return body


def classify_body(data: bytes, content_type: str | None) -> RecordedBody:
    """How ``data`` is stored: JSON when its content type says so and it parses, text when it
    is UTF-8 without control characters (other than tabs and line breaks), else binary."""
    if not data:
        return RecordedBody()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return RecordedBody("binary", data)
    if is_json_media_type(content_type):
        try:
            return RecordedBody("json", json.loads(text))
        except ValueError:
            pass
    if _TEXT_CONTROLS.isdisjoint(text):
        return RecordedBody("text", text)
    return RecordedBody("binary", data)


@dataclass(slots=True)
class Cassette:
    """Recorded interactions, in the order they happened.

    ``save`` renders each interaction once and keeps the text, so that saving after every
    recorded request costs the new interaction plus a file write; an interaction is taken as
    final once it is in the cassette (replace it rather than change it in place).
    """

    interactions: list[Interaction] = field(default_factory=list)
    _rendered: dict[int, tuple[Interaction, str]] = field(default_factory=dict, init=False,
                                                          repr=False, compare=False)

    def append(self, interaction: Interaction) -> None:
        """Add ``interaction`` at the end."""
        self.interactions.append(interaction)

    def dumps(self) -> str:
        """The cassette as YAML text."""
        chunks = [self._render(index, item) for index, item in enumerate(self.interactions)]
        for index in [i for i in self._rendered if i >= len(self.interactions)]:
            del self._rendered[index]
        body = "".join(chunks) if chunks else " []\n"
        return f"{_HEADER}version: {CASSETTE_VERSION}\ninteractions:" + \
            ("\n" if chunks else "") + body

    def save(self, path: Path) -> None:
        """Write the cassette to ``path`` atomically: a temporary file in the same folder,
        then ``os.replace``, so that a reader (or a kill mid-write) sees the old file or the
        new one, never half of one."""
        path = Path(path)
        data = self.dumps().encode("utf-8")
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        # os.open with 0o666 lets the umask decide the mode, as for any file the user writes.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _render(self, index: int, interaction: Interaction) -> str:
        cached = self._rendered.get(index)
        if cached is not None and cached[0] is interaction:
            return cached[1]
        text = dump_yaml([interaction_to_data(interaction)])
        self._rendered[index] = (interaction, text)
        return text


_HEADER = """\
# assay cassette: recorded by `assay mock --record`, served by `assay mock --replay`.
# Edit freely. A body is under `json`, `text` or `base64`; `<redacted>` matches any value.
"""


def interaction_to_data(interaction: Interaction) -> dict[str, Any]:
    """``interaction`` as the plain mapping written to the YAML file."""
    request, response = interaction.request, interaction.response
    data: dict[str, Any] = {}
    if interaction.recorded_at:
        data["recorded_at"] = interaction.recorded_at
    req: dict[str, Any] = {"method": request.method, "path": request.path}
    if request.query:
        req["query"] = _pairs_to_mapping(request.query, fold_case=False)
    data["request"] = _with_headers_and_body(req, request.headers, request.body)
    res: dict[str, Any] = {"status": response.status}
    data["response"] = _with_headers_and_body(res, response.headers, response.body)
    return data


def _with_headers_and_body(data: dict[str, Any], headers: list[tuple[str, str]],
                           body: RecordedBody) -> dict[str, Any]:
    if headers:
        data["headers"] = _pairs_to_mapping(headers, fold_case=True)
    if body.kind == "json":
        data["json"] = body.value
    elif body.kind == "text":
        data["text"] = body.value
    elif body.kind == "binary":
        data["base64"] = _base64_lines(body.value)
    return data


def _base64_lines(data: bytes) -> str:
    """Base64 in lines of 76 characters (as MIME does), written as a block literal."""
    text = base64.b64encode(data).decode("ascii")
    if len(text) <= 76:
        return text
    return "".join(text[i:i + 76] + "\n" for i in range(0, len(text), 76))


def _pairs_to_mapping(pairs: list[tuple[str, str]], *, fold_case: bool) -> dict[str, Any]:
    """Pairs as a mapping, a list of values for a repeated name (header names match in any
    case, under their first spelling)."""
    spelling: dict[str, str] = {}
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        key = spelling.setdefault(name.lower() if fold_case else name, name)
        grouped.setdefault(key, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def load_cassette(path: Path) -> Cassette:
    """The cassette in ``path``.

    Raises ``ConfigError`` naming the file and where it is wrong (``line 12, key
    interactions[1].response.status``) when it cannot be read, is not YAML, or does not
    have the shape of ``cassette.schema.json`` (shipped next to this module).
    """
    return Cassette([_interaction(item) for item in read_cassette_file(Path(path))])


def _interaction(data: dict[str, Any]) -> Interaction:
    req, res = data["request"], data["response"]
    request = RecordedRequest(
        method=req["method"].upper(), path=req["path"],
        query=_mapping_to_pairs(req.get("query")),
        headers=_mapping_to_pairs(req.get("headers")), body=_body(req),
    )
    response = RecordedResponse(status=res["status"],
                                headers=_mapping_to_pairs(res.get("headers")), body=_body(res))
    return Interaction(request, response, data.get("recorded_at") or "")


def _mapping_to_pairs(mapping: dict[Any, Any] | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in (mapping or {}).items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((str(name), scalar_text(item)))
    return pairs


def _body(data: dict[str, Any]) -> RecordedBody:
    if "json" in data:
        return RecordedBody("json", data["json"])
    content = decode_base64(data["base64"]) if "base64" in data else data.get("text")
    if not content:
        return RecordedBody()
    return RecordedBody("binary" if "base64" in data else "text", content)

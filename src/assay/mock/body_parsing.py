"""Request bodies back to values: the inverse of ``http.body``, for the mock's validation.

=========================================== ==================================================
media type of the request                   value
=========================================== ==================================================
``application/json``, ``*/*+json``          the parsed JSON
``application/x-www-form-urlencoded``       a dict; fields coerced by their property schema
                                            (``encoding`` style/explode where given; an
                                            object field without one is JSON text, as
                                            ``http.body`` writes it)
``multipart/form-data``                     a dict of parts: JSON parts parsed, file parts
                                            (a filename or a non-text type) as bytes, other
                                            parts as text coerced by their property schema
``text/*``                                  a string (the Content-Type's charset, else UTF-8)
anything else                               bytes
=========================================== ==================================================

Text and binary bodies are judged only by a string schema (length, pattern), except that
JSON sent where the schema wants structured data is read as JSON (``http.body`` writes
such values as JSON whatever the media type): a file upload passes, a wrong JSON document
does not. XML is never judged.

Multipart bodies are parsed with the standard library's ``email`` package: what a browser
or ``http.body`` sends is MIME, and no other dependency is needed for it.
"""

from __future__ import annotations

import json
from email import errors as email_errors
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from referencing import Registry

from ..http.body import is_json_media_type
from ..specs.model import MediaType, Parameter
from .param_parsing import MISSING, Malformed, Shape, group_pairs, read_query, shape_of

SKIP: Any = MISSING
"""What ``BodyReader.read`` gives to validate when the schema says nothing about a body."""

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_BROKEN_MULTIPART = (email_errors.NoBoundaryInMultipartDefect,
                     email_errors.StartBoundaryNotFoundDefect,
                     email_errors.CloseBoundaryNotFoundDefect,
                     email_errors.MultipartInvariantViolationDefect)


def media_type_of(content_type: str | None) -> str | None:
    """A ``Content-Type`` value without parameters, lower-cased; ``None`` when empty."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def match_media_type(content: dict[str, MediaType], media_type: str) -> MediaType | None:
    """The documented media type that ``media_type`` falls under: the same type, else a
    range (``application/*``, ``*/*``, ``application/*+json``); ``None`` when none does."""
    ranges = []
    for key, media in content.items():
        documented = media_type_of(key) or ""
        if documented == media_type:
            return media
        ranges.append((documented, media))
    kind, _, subtype = media_type.partition("/")
    for documented, media in ranges:
        wanted_kind, _, wanted_sub = documented.partition("/")
        if wanted_kind not in ("*", kind):
            continue
        if wanted_sub == "*" or (wanted_sub.startswith("*+")
                                 and subtype.endswith(wanted_sub[1:])):
            return media
    return None


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


def _decode(data: bytes, charset: str, pointer: str = "") -> str:
    try:
        return data.decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise Malformed(f"not valid {charset} text: {exc}", pointer) from exc


def _json(data: bytes | str, pointer: str = "") -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"not valid JSON: {exc}", pointer) from exc


def _pointer(name: str) -> str:
    return "/" + name.replace("~", "~0").replace("/", "~1")


def as_text(value: Any) -> Any:
    """``value`` with every ``bytes`` (an uploaded file) as a string, so that a JSON Schema
    validator can judge it (``format: binary`` is a string): UTF-8 text as its characters
    (what a client's string was), other bytes one character each."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    if isinstance(value, dict):
        return {key: as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_text(item) for item in value]
    return value


class BodyReader:
    """Reads request bodies for one documented ``MediaType``; the shapes of its fields are
    worked out once and kept."""

    def __init__(self, media: MediaType, registry: Registry):
        self.media = media
        self.shape: Shape = shape_of(True if media.schema is None else media.schema, registry)
        self._styled: dict[str, Parameter] = {}

    def read(self, body: bytes, content_type: str) -> tuple[Any, Any]:
        """``(value, checked)`` for ``body`` sent as ``content_type``: the value read, and
        what to validate against the schema (``SKIP`` when the schema says nothing about
        it: a text or binary body is only judged by a string schema). Raises ``Malformed``.
        """
        media_type = media_type_of(content_type) or ""
        if is_json_media_type(media_type):
            value = _json(body)
        elif media_type == _FORM:
            value = self._form(body)
        elif media_type == _MULTIPART:
            value = self._multipart(body, content_type)
            return value, SKIP if self.media.schema is None else as_text(value)
        else:
            return self._opaque(body, media_type, content_type)
        return value, SKIP if self.media.schema is None else value

    def _opaque(self, body: bytes, media_type: str, content_type: str) -> tuple[Any, Any]:
        """A body of another media type: text or bytes, judged by a string schema only; but
        JSON sent for a schema that wants structured data is read and judged as JSON
        (``http.body`` writes such values as JSON whatever the media type)."""
        value: Any = _decode(body, _charset(content_type)) if media_type.startswith("text/") \
            else body
        if self.media.schema is None:
            return value, SKIP
        types = self.shape.flat.get("type")
        if types == "string" or (isinstance(types, list) and "string" in types):
            return value, as_text(value)
        if self.shape.flat and "xml" not in media_type:
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                return value, SKIP  # a file, an image: nothing the schema can judge
            return parsed, parsed
        return value, SKIP

    def _declared(self) -> dict[str, Any]:
        properties = self.shape.flat.get("properties")
        return properties if isinstance(properties, dict) else {}

    def _form(self, body: bytes) -> dict[str, Any]:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        groups = group_pairs(pairs)
        declared = self._declared()
        claimed = frozenset(declared)
        result: dict[str, Any] = {}
        exploded = False
        for name in declared:
            shape = self.shape.property(name)
            param = self._styled_field(name)
            if param is None:
                value = self._field(name, shape, groups.get(name))
            else:
                value = read_query(param, shape, groups, claimed)
                exploded = exploded or shape.kind == "object"
            if value is not MISSING:
                result[name] = value
        if not exploded:  # an exploded object field owns the other pairs
            for name, values in groups.items():
                if name not in declared:
                    result[name] = self._field(name, self.shape.property(name), values)
        return result

    def _styled_field(self, name: str) -> Parameter | None:
        """A field whose ``encoding`` gives a style, read as a query parameter of it."""
        if name in self._styled:
            return self._styled[name]
        encoding = self.media.encoding.get(name)
        param = None
        if isinstance(encoding, dict) and ("style" in encoding or "explode" in encoding):
            style = encoding.get("style") if isinstance(encoding.get("style"), str) else "form"
            explode = encoding.get("explode")
            param = Parameter(name, "query", style=style,
                              explode=explode if isinstance(explode, bool) else style == "form")
        self._styled[name] = param
        return param

    def _field(self, name: str, shape: Shape, values: list[str] | None) -> Any:
        if values is None:
            return MISSING
        if shape.kind == "object" or self._json_field(name):
            return _json(values[0], _pointer(name))
        if shape.kind == "array" and all(v == "" for v in values):
            return []  # "tags=": how an empty array is written, as in a query
        return shape.texts(values)

    def _json_field(self, name: str) -> bool:
        encoding = self.media.encoding.get(name)
        declared = encoding.get("contentType") if isinstance(encoding, dict) else None
        return isinstance(declared, str) and is_json_media_type(declared)

    def _multipart(self, body: bytes, content_type: str) -> dict[str, Any]:
        head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        boundary = message.get_param("boundary")
        if isinstance(boundary, str) and body.strip() == f"--{boundary}--".encode("latin-1"):
            return {}  # no parts at all, as http.body writes an empty mapping
        broken = [d for d in message.defects if isinstance(d, _BROKEN_MULTIPART)]
        if broken or not message.is_multipart():
            reason = str(broken[0]) if broken else "no parts"
            raise Malformed(f"not a valid multipart/form-data body ({reason})")
        parts: dict[str, list[Any]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or not name:
                raise Malformed("a part has no name in its Content-Disposition header")
            parts.setdefault(name, []).append(_part_value(part, _pointer(name)))
        return {name: _combine(self.shape.property(name), values, _pointer(name))
                for name, values in parts.items()}


class _Text(str):
    """A text part, still to be coerced by its property's schema."""

    __slots__ = ()


def _part_value(part: Message, pointer: str) -> Any:
    data = part.get_payload(decode=True)
    data = data if isinstance(data, bytes) else b""
    kind = part.get_content_type()
    if is_json_media_type(kind):
        return _json(data, pointer)
    if part.get_filename() is not None or not kind.startswith("text/"):
        return data
    return _Text(_decode(data, part.get_content_charset() or "utf-8", pointer))


def _combine(shape: Shape, values: list[Any], pointer: str) -> Any:
    """The parts of one name as one value: an array's items, else one value."""
    if shape.kind == "array":
        if len(values) == 1 and isinstance(values[0], list):
            return values[0]  # the whole array as one JSON part
        return [shape.item(str(v)) if isinstance(v, _Text) else v for v in values]
    read = [_coerced(shape, v, pointer) for v in values]
    return read[0] if len(read) == 1 else read


def _coerced(shape: Shape, value: Any, pointer: str) -> Any:
    if not isinstance(value, _Text):
        return value
    text = str(value)
    if shape.kind == "object":
        return _json(text, pointer)  # an object field sent as a plain text part
    return shape.scalar(text)

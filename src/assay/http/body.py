"""Request bodies: a Python value and a media type in, bytes and a ``Content-Type`` out.

============================================ ============================================
media type                                   encoding
============================================ ============================================
``application/json``, ``*/*+json``           JSON (``bytes`` sent as they are: raw bodies)
``application/x-www-form-urlencoded``        a mapping as ``k=v&k=v`` (lists repeat keys)
``multipart/form-data``                      a mapping as parts; ``bytes`` values are files
``text/*``                                   a string as UTF-8
``application/octet-stream``                 bytes, or a string as UTF-8
anything else                                bytes or a string as they are, else JSON
============================================ ============================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from .params import scalar_text


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a ``multipart/form-data`` body; a ``filename`` makes it a file part."""

    name: str
    content: bytes
    filename: str | None = None
    content_type: str | None = None


def is_json_media_type(media_type: str | None) -> bool:
    """True for ``application/json``, ``text/json`` and any ``+json`` type
    (``application/problem+json``)."""
    if not media_type:
        return False
    base = media_type.split(";", 1)[0].strip().lower()
    return base.endswith("/json") or base.endswith("+json")


def default_media_type(value: Any) -> str:
    """The media type assumed for a body given without one."""
    if isinstance(value, bytes):
        return "application/octet-stream"
    if isinstance(value, str):
        return "text/plain"
    return "application/json"


def encode_body(
    value: Any, media_type: str | None, *, encoding: Mapping[str, Any] | None = None
) -> tuple[bytes, str]:
    """``(body, content_type)`` for ``value`` sent as ``media_type``.

    ``encoding`` is the OpenAPI encoding object of a multipart body (per-property
    ``contentType``). The returned content type carries the multipart boundary.

    >>> encode_body({"a": 1}, "application/json")
    (b'{"a": 1}', 'application/json')
    """
    media_type = media_type or default_media_type(value)
    base = media_type.split(";", 1)[0].strip().lower()
    if is_json_media_type(base):
        return (value if isinstance(value, bytes) else encode_json(value)), media_type
    if isinstance(value, bytes):
        return value, media_type
    if base == "application/x-www-form-urlencoded" and isinstance(value, Mapping):
        return encode_form(value), media_type
    if base == "multipart/form-data" and isinstance(value, Mapping):
        return encode_multipart(multipart_parts(value, encoding or {}))
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass"), media_type
    if base.startswith("text/"):
        return scalar_text(value).encode("utf-8", "surrogatepass"), media_type
    return encode_json(value), media_type


def encode_json(value: Any) -> bytes:
    """JSON as UTF-8; non-ASCII characters are kept, not escaped (except lone surrogates,
    which UTF-8 cannot hold: then the whole document is written with ``\\u`` escapes)."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value).encode("ascii")


def encode_form(value: Mapping[str, Any]) -> bytes:
    """``application/x-www-form-urlencoded``: lists repeat the key; objects become JSON."""
    pairs: list[tuple[str, str]] = []
    for key, item in value.items():
        if isinstance(item, list | tuple):
            pairs.extend((str(key), scalar_text(v)) for v in item)
        else:
            pairs.append((str(key), scalar_text(item)))
    return urlencode(pairs, errors="surrogatepass").encode("ascii")


def multipart_parts(value: Mapping[str, Any], encoding: Mapping[str, Any]) -> list[Part]:
    """Parts for a mapping: ``bytes`` are files (named after the field), lists give one part
    per item, objects are JSON parts; ``encoding[field]["contentType"]`` wins."""
    parts: list[Part] = []
    for key, item in value.items():
        declared = (encoding.get(key) or {}).get("contentType")
        items = item if isinstance(item, list) and _all_simple(item) else [item]
        for element in items:
            parts.append(_part(str(key), element, declared))
    return parts


def encode_multipart(parts: Sequence[Part]) -> tuple[bytes, str]:
    """``(body, "multipart/form-data; boundary=...")`` using httpx's encoder."""
    boundary = os.urandom(16).hex()
    content_type = f"multipart/form-data; boundary={boundary}"
    if not parts:
        return f"--{boundary}--\r\n".encode(), content_type
    files = [
        (p.name, (p.filename, p.content, p.content_type) if p.content_type
         else (p.filename, p.content))
        for p in parts
    ]
    # Every field goes as a "file" tuple (filename None for plain fields) so that httpx
    # always writes multipart, and in the given order.
    request = httpx.Request(
        "POST", "http://assay.invalid/", files=files, headers={"content-type": content_type}
    )
    return request.read(), content_type


def _part(name: str, value: Any, declared: str | None) -> Part:
    if isinstance(value, bytes):
        return Part(name, value, filename=name, content_type=declared or "application/octet-stream")
    if isinstance(value, Mapping | list):
        return Part(name, encode_json(value), content_type=declared or "application/json")
    return Part(name, scalar_text(value).encode("utf-8", "surrogatepass"), content_type=declared)


def _all_simple(items: list) -> bool:
    return all(not isinstance(v, Mapping | list) for v in items)

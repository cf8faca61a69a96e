"""From a logical ``Case`` (or a suite step) to the exact ``Request`` that goes on the wire.

The base URL carries the API's path prefix: ``http://h/v2`` + ``/books`` is
``http://h/v2/books`` (exactly one slash between them). Parameters are serialized by their
style (``assay.http.params``), bodies by media type (``assay.http.body``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from assay.core.errors import SuiteError
from assay.core.records import NOT_SET, Case, Request
from assay.specs.model import Operation, Parameter

from .body import Part, encode_body, encode_form, encode_json, encode_multipart
from .params import (
    scalar_text,
    serialize_cookie,
    serialize_header,
    serialize_path,
    serialize_query,
)

_TEMPLATE_VAR = re.compile(r"\{([^{}]+)\}")


def build_request(
    case: Case,
    operation: Operation | None,
    base_url: str,
    *,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> Request:
    """The ``Request`` for ``case``, serialized as ``operation`` documents its parameters.

    Without an operation (or for a parameter it does not document) the OpenAPI defaults
    apply: ``simple`` for path and headers, ``form`` with explode for query and cookies.
    A ``Content-Type`` given in ``case.headers`` wins over the body's media type (negative
    cases send a wrong one on purpose). ``extra_headers`` (auth, ``--header``) come last.
    """
    path = _fill_path(case.path, case.path_params, operation)
    query = [
        piece
        for name, value in case.query.items()
        for piece in _query_pieces(name, value, _param(operation, name, "query"))
    ]
    headers = [
        (name, _header_value(value, _param(operation, name, "header")))
        for name, value in case.headers.items()
    ]
    if case.cookies:
        headers.append(("Cookie", _cookie_header(case.cookies, operation)))
    body = None
    if case.body is not NOT_SET:
        media_type = case.media_type or _first_media_type(operation)
        body, content_type = encode_body(
            case.body, media_type, encoding=_encoding(operation, media_type)
        )
        if not _has_header(headers, "content-type"):
            headers.append(("Content-Type", content_type))
    headers.extend(extra_headers)
    url = join_url(base_url, path, query)
    label = operation.label if operation is not None else case.operation
    return Request(case.method.upper(), url, headers, body, label)


def build_raw_request(
    method: str,
    url_or_path: str,
    base_url: str,
    *,
    query: Mapping[str, Any] | None = None,
    headers: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
    json: Any = NOT_SET,
    form: Mapping[str, Any] | None = None,
    multipart: Mapping[str, Any] | None = None,
    body: bytes | str | None = None,
    operation_label: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> Request:
    """A ``Request`` from a YAML suite step, written as the step says.

    ``url_or_path`` is an absolute URL or a path joined to ``base_url`` (it may carry a
    query string; ``query`` values are appended, lists repeating the key). At most one of
    ``json``, ``form``, ``multipart`` and ``body`` is given. ``multipart`` values are strings
    (fields), ``{"file": path, "content_type": ..., "filename": ...}`` (paths relative to
    ``base_dir``) or ``{"content": ..., "filename": ..., "content_type": ...}``.
    """
    given = [n for n, v in (("json", json is not NOT_SET), ("form", form is not None),
                            ("multipart", multipart is not None), ("body", body is not None)) if v]
    if len(given) > 1:
        raise SuiteError(f"a step sends one body, found {' and '.join(given)}", location="request")
    header_list = _header_pairs(headers)
    content, content_type = _raw_body(json, form, multipart, body, base_dir)
    if content_type and not _has_header(header_list, "content-type"):
        header_list.append(("Content-Type", content_type))
    pieces = [p for name, value in (query or {}).items() for p in serialize_query(name, value)]
    if urlsplit(url_or_path).scheme:
        url = join_url(url_or_path, "", pieces)
    else:
        url = join_url(base_url, url_or_path, pieces)
    label = operation_label or f"{method.upper()} {url_or_path.split('?', 1)[0]}"
    return Request(method.upper(), url, header_list, content, label)


def join_url(base_url: str, path: str, query: Sequence[str] = ()) -> str:
    """``base_url`` + ``path`` with exactly one slash between, plus encoded query pieces.

    >>> join_url("http://h/v2/", "/books", ["limit=5"])
    'http://h/v2/books?limit=5'
    """
    scheme, netloc, base_path, base_query, _ = urlsplit(base_url)
    path, _, path_query = path.partition("?")
    if path:
        full_path = base_path.rstrip("/") + "/" + path.lstrip("/")
    else:
        full_path = base_path
    parts = [q for q in (base_query, path_query, "&".join(query)) if q]
    return urlunsplit((scheme, netloc, full_path, "&".join(parts), ""))


def _fill_path(template: str, values: Mapping[str, Any], operation: Operation | None) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            # Leave the gap visible (and valid in a URL) rather than guess a value.
            return quote(match.group(0), safe="")
        param = _param(operation, name, "path")
        style, explode = (param.style, param.explode) if param else ("simple", False)
        value = _content_value(values[name], param)
        return serialize_path(name, value, style, explode)

    return _TEMPLATE_VAR.sub(replace, template)


def _query_pieces(name: str, value: Any, param: Parameter | None) -> list[str]:
    if param is None:
        return serialize_query(name, value)
    value = _content_value(value, param)
    return serialize_query(name, value, param.style, param.explode, param.allow_reserved)


def _header_value(value: Any, param: Parameter | None) -> str:
    value = _content_value(value, param)
    return serialize_header(value, param.explode if param else False)


def _cookie_header(cookies: Mapping[str, Any], operation: Operation | None) -> str:
    pairs: list[str] = []
    for name, value in cookies.items():
        param = _param(operation, name, "cookie")
        value = _content_value(value, param)
        pairs.extend(serialize_cookie(name, value, param.explode if param else True))
    return "; ".join(pairs)


def _content_value(value: Any, param: Parameter | None) -> Any:
    """Parameters described with ``content`` (not ``schema``) travel as one encoded string."""
    if param is None or param.media_type is None:
        return value
    if "json" in param.media_type:
        return encode_json(value).decode("utf-8")
    return scalar_text(value)


def _param(operation: Operation | None, name: str, location: str) -> Parameter | None:
    return operation.parameter(name, location) if operation is not None else None


def _first_media_type(operation: Operation | None) -> str | None:
    if operation is None or operation.request_body is None:
        return None
    return next(iter(operation.request_body.content), None)


def _encoding(operation: Operation | None, media_type: str | None) -> dict[str, Any]:
    if operation is None or operation.request_body is None or media_type is None:
        return {}
    described = operation.request_body.content.get(media_type)
    return described.encoding if described is not None else {}


def _has_header(headers: Sequence[tuple[str, str]], name: str) -> bool:
    return any(key.lower() == name for key, _ in headers)


def _header_pairs(headers: Mapping[str, Any] | Sequence[tuple[str, str]] | None) -> list:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(name), scalar_text(value)) for name, value in items]


def _raw_body(
    json: Any, form: Any, multipart: Any, body: Any, base_dir: Any
) -> tuple[bytes | None, str | None]:
    if json is not NOT_SET:
        return encode_json(json), "application/json"
    if form is not None:
        return encode_form(form), "application/x-www-form-urlencoded"
    if multipart is not None:
        return encode_multipart([_raw_part(k, v, base_dir) for k, v in multipart.items()])
    if isinstance(body, str):
        return body.encode("utf-8"), None
    return body, None


def _raw_part(name: str, spec: Any, base_dir: Any) -> Part:
    if not isinstance(spec, Mapping):
        return Part(name, scalar_text(spec).encode("utf-8"))
    content_type = spec.get("content_type")
    if "file" in spec:
        path = os.path.join(base_dir or ".", os.fspath(spec["file"]))
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError as exc:
            raise SuiteError(
                f"cannot read the file to upload {path!r}: {exc.strerror or exc}",
                location=f"multipart.{name}.file",
            ) from exc
        filename = spec.get("filename") or os.path.basename(path)
        return Part(name, content, filename, content_type or "application/octet-stream")
    if "content" in spec:
        raw = spec["content"]
        content = raw if isinstance(raw, bytes) else scalar_text(raw).encode("utf-8")
        return Part(name, content, spec.get("filename"), content_type)
    raise SuiteError(
        "expected a string, {file: path} or {content: ...} for a multipart field",
        location=f"multipart.{name}",
    )

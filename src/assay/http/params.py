"""Serialization of parameter values by OpenAPI ``style`` and ``explode``.

The rules are those of the OpenAPI 3.1 style table (themselves RFC 6570 URI templates).
With ``color`` = ``"blue"``, ``["blue", "black", "brown"]`` or
``{"R": 100, "G": 200, "B": 150}``:

=============== ======= ============== ==================================== ================================
style           explode primitive      array                                object
=============== ======= ============== ==================================== ================================
matrix          false   ``;color=blue`` ``;color=blue,black,brown``          ``;color=R,100,G,200,B,150``
matrix          true    ``;color=blue`` ``;color=blue;color=black;...``      ``;R=100;G=200;B=150``
label           false   ``.blue``       ``.blue,black,brown``                ``.R,100,G,200,B,150``
label           true    ``.blue``       ``.blue.black.brown``                ``.R=100.G=200.B=150``
simple          false   ``blue``        ``blue,black,brown``                 ``R,100,G,200,B,150``
simple          true    ``blue``        ``blue,black,brown``                 ``R=100,G=200,B=150``
form            false   ``color=blue``  ``color=blue,black,brown``           ``color=R,100,G,200,B,150``
form            true    ``color=blue``  ``color=blue&color=black&...``       ``R=100&G=200&B=150``
spaceDelimited  false   (as form)       ``color=blue%20black%20brown``       ``color=R%20100%20G%20200...``
pipeDelimited   false   (as form)       ``color=blue|black|brown``           ``color=R|100|G|200|B|150``
deepObject      true    (as form)       (as form)                            ``color[R]=100&color[G]=200...``
=============== ======= ============== ==================================== ================================

Scalars are written as JSON writes them (``true``, ``null``, ``1.5``); values nested inside
arrays or objects are written as compact JSON. Path and query output is percent-encoded
(path values keep only unreserved characters); header values are not encoded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

# RFC 3986 reserved characters that ``allowReserved`` lets through, except "#": a literal
# "#" would end the request target and cut the query short.
_RESERVED = ":/?[]@!$&'()*+,;="
# Characters RFC 6265 allows in a cookie value, besides letters and digits.
_COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"
# Generated strings may hold lone surrogates; they are sent as the bytes Python gives them
# rather than crash the run (servers then see invalid UTF-8, a fair negative input).
_ERRORS = "surrogatepass"


def scalar_text(value: Any) -> str:
    """A value as text: strings as they are, everything else as JSON (``true``, ``null``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def serialize_path(name: str, value: Any, style: str = "simple", explode: bool = False) -> str:
    """The percent-encoded text that replaces ``{name}`` in a path template."""
    text = _expand(name, value, style, explode, lambda s: quote(s, safe="", errors=_ERRORS))
    if text in (".", ".."):
        # A "." or ".." segment would be removed by URL normalization (RFC 3986 5.2.4);
        # "%2E" means the same to the server and survives.
        text = text.replace(".", "%2E")
    return text


def serialize_query(
    name: str, value: Any, style: str = "form", explode: bool = True, allow_reserved: bool = False
) -> list[str]:
    """The encoded ``key=value`` pieces for a query parameter (joined with ``&`` by callers)."""
    safe = _RESERVED if allow_reserved else ""

    def enc(s: str) -> str:
        return quote(s, safe=safe, errors=_ERRORS)

    if isinstance(value, Mapping) and style == "deepObject":
        return _deep_object(enc(name), value, enc)
    if isinstance(value, list | tuple) and value and not explode:
        if style == "spaceDelimited":
            return [f"{enc(name)}=" + "%20".join(enc(scalar_text(v)) for v in value)]
        if style == "pipeDelimited":
            return [f"{enc(name)}=" + "|".join(enc(scalar_text(v)) for v in value)]
    if isinstance(value, Mapping) and value and not explode:
        if style == "spaceDelimited":
            return [f"{enc(name)}=" + "%20".join(enc(p) for p in _flat_pairs(value))]
        if style == "pipeDelimited":
            return [f"{enc(name)}=" + "|".join(enc(p) for p in _flat_pairs(value))]
    return _form(name, value, explode, enc)


def serialize_header(value: Any, explode: bool = False) -> str:
    """A header parameter's value (style ``simple``), not percent-encoded."""
    return _simple(value, explode, lambda s: s)


def serialize_cookie(name: str, value: Any, explode: bool = True) -> list[str]:
    """``name=value`` pairs for one ``Cookie`` header (style ``form``).

    Arrays are comma-joined (repeated ``name=v`` pairs when exploded); exploded objects give
    one cookie per property. Characters a cookie value cannot hold are percent-encoded.
    """

    def enc(s: str) -> str:
        return quote(s, safe=_COOKIE_SAFE, errors=_ERRORS)

    if isinstance(value, Mapping) and explode:
        return [f"{k}={enc(scalar_text(v))}" for k, v in value.items()]
    if isinstance(value, list | tuple) and explode and value:
        return [f"{name}={enc(scalar_text(v))}" for v in value]
    return [f"{name}={_simple(value, False, enc)}"]


def _expand(name: str, value: Any, style: str, explode: bool, enc) -> str:
    if style == "label":
        return "." + _label(value, explode, enc)
    if style == "matrix":
        return _matrix(name, value, explode, enc)
    return _simple(value, explode, enc)


def _simple(value: Any, explode: bool, enc) -> str:
    if isinstance(value, Mapping):
        if explode:
            return ",".join(f"{enc(str(k))}={enc(scalar_text(v))}" for k, v in value.items())
        return ",".join(enc(p) for p in _flat_pairs(value))
    if isinstance(value, list | tuple):
        return ",".join(enc(scalar_text(v)) for v in value)
    return enc(scalar_text(value))


def _label(value: Any, explode: bool, enc) -> str:
    if isinstance(value, Mapping):
        if explode:
            return ".".join(f"{enc(str(k))}={enc(scalar_text(v))}" for k, v in value.items())
        return ",".join(enc(p) for p in _flat_pairs(value))
    if isinstance(value, list | tuple):
        sep = "." if explode else ","
        return sep.join(enc(scalar_text(v)) for v in value)
    return enc(scalar_text(value))


def _matrix(name: str, value: Any, explode: bool, enc) -> str:
    key = enc(name)
    if _is_empty(value):
        return ";" + key
    if isinstance(value, Mapping):
        if explode:
            return "".join(f";{enc(str(k))}={enc(scalar_text(v))}" for k, v in value.items())
        return f";{key}=" + ",".join(enc(p) for p in _flat_pairs(value))
    if isinstance(value, list | tuple):
        if explode:
            return "".join(f";{key}={enc(scalar_text(v))}" for v in value)
        return f";{key}=" + ",".join(enc(scalar_text(v)) for v in value)
    return f";{key}={enc(scalar_text(value))}"


def _form(name: str, value: Any, explode: bool, enc) -> list[str]:
    key = enc(name)
    if _is_empty(value) and not isinstance(value, str):
        return [f"{key}="]
    if isinstance(value, Mapping):
        if explode:
            return [f"{enc(str(k))}={enc(scalar_text(v))}" for k, v in value.items()]
        return [f"{key}=" + ",".join(enc(p) for p in _flat_pairs(value))]
    if isinstance(value, list | tuple):
        if explode:
            return [f"{key}={enc(scalar_text(v))}" for v in value]
        return [f"{key}=" + ",".join(enc(scalar_text(v)) for v in value)]
    return [f"{key}={enc(scalar_text(value))}"]


def _deep_object(key: str, value: Mapping, enc) -> list[str]:
    pieces: list[str] = []
    for prop, item in value.items():
        nested = f"{key}[{enc(str(prop))}]"
        if isinstance(item, Mapping):
            pieces.extend(_deep_object(nested, item, enc))
        elif isinstance(item, list | tuple):
            pieces.extend(f"{nested}={enc(scalar_text(v))}" for v in item)
        else:
            pieces.append(f"{nested}={enc(scalar_text(item))}")
    return pieces


def _flat_pairs(value: Mapping) -> list[str]:
    flat: list[str] = []
    for key, item in value.items():
        flat.extend((str(key), scalar_text(item)))
    return flat


def _is_empty(value: Any) -> bool:
    return value == "" or (isinstance(value, list | tuple | Mapping) and len(value) == 0)

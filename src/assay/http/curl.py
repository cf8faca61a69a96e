"""``to_curl``: a shell command that sends exactly the same request again.

Quoting: everything is single-quoted (nothing inside is special to a POSIX shell), except
strings holding a secret, which refer to its environment variable (``$ASSAY_TOKEN``) and so
are double-quoted for the shell to expand it. When the rest of such a string holds a
character special inside double quotes (``$``, backtick, ``"``, ``\\``, ``!``), the string
is written as adjacent single- and double-quoted pieces (``'a$b '"$ASSAY_TOKEN"``), which the
shell joins into one word.

Bodies: text goes in ``--data-binary '...'``. A body that is not printable UTF-8 text (or
that starts with ``@``, which curl would read as a file name) is piped in:
``printf '\\000\\377...' | curl ... --data-binary @-``, with octal escapes that every POSIX
``printf`` understands. Basic credentials become ``-u "$ASSAY_USERNAME:$ASSAY_PASSWORD"``.
Headers curl writes itself are left out: ``Content-Length``, ``Accept-Encoding``,
``Connection``, ``User-Agent`` and ``Host`` when it names the URL's host.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from assay.core.records import Request
from assay.core.secrets import Secrets

_CURL_OWN_HEADERS = frozenset({"content-length", "accept-encoding", "connection", "user-agent"})
_DOUBLE_QUOTE_SPECIAL = frozenset('\\"$`!')
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")

Segment = tuple[str, str | None]  # (literal text, None) or ("", ENV_NAME)


def to_curl(request: Request, secrets: Secrets) -> str:
    """The curl command for ``request``; secret values appear only as ``$ENV`` references.

    >>> to_curl(Request("GET", "http://h/books?limit=5"), Secrets())
    "curl -X GET 'http://h/books?limit=5'"
    """
    words = ["curl"]
    words += ["-I"] if request.method == "HEAD" else ["-X", request.method]
    if any(c in request.url for c in "[]{}"):
        words.append("-g")  # brackets are curl URL globbing otherwise (deepObject queries)
    words.append(quote_arg(request.url, secrets))
    host = urlsplit(request.url).netloc.lower()
    for name, value in request.headers:
        words += _header_words(name, value, host, secrets)
    prefix = ""
    if request.body:
        if _is_plain_text(request.body):
            words += ["--data-binary", quote_arg(request.body.decode("utf-8"), secrets)]
        else:
            prefix = _printf(request.body, secrets) + " | "
            words += ["--data-binary", "@-"]
    return prefix + " ".join(words)


def quote_arg(text: str, secrets: Secrets) -> str:
    """One shell word for ``text``, with secrets replaced by ``$ENV`` references."""
    return render(split_secrets(text, secrets.values))


def split_secrets(text: str, needles: Mapping[str, str]) -> list[Segment]:
    """``text`` cut into literal pieces and secret references (longest secret first)."""
    if not needles or not text:
        return [(text, None)]
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    segments: list[Segment] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            segments.append((text[position:match.start()], None))
        segments.append(("", needles[match.group(0)]))
        position = match.end()
    if position < len(text):
        segments.append((text[position:], None))
    return segments


def render(segments: list[Segment]) -> str:
    """Shell-quote literal pieces and ``$ENV`` references as one word."""
    if all(env is None for _, env in segments):
        return _single("".join(text for text, _ in segments))
    literal = "".join(text for text, env in segments if env is None)
    if not _DOUBLE_QUOTE_SPECIAL & set(literal):
        return '"' + "".join(_ref(segments, i) for i in range(len(segments))) + '"'
    return "".join(
        _single(text) if env is None else f'"{_ref(segments, i)}"'
        for i, (text, env) in enumerate(segments)
        if env is not None or text
    )


def _ref(segments: list[Segment], index: int) -> str:
    text, env = segments[index]
    if env is None:
        return text
    following = segments[index + 1][0] if index + 1 < len(segments) else ""
    # "$ASSAY_TOKENabc" would name another variable: brace it when a name character follows.
    return f"${{{env}}}" if following and _NAME_CHAR.match(following[0]) else f"${env}"


def _single(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _header_words(name: str, value: str, host: str, secrets: Secrets) -> list[str]:
    lowered = name.lower()
    if lowered in _CURL_OWN_HEADERS or (lowered == "host" and value.lower() == host):
        return []
    if lowered == "authorization" and value[:6].lower() == "basic ":
        user = _basic_user(value[6:].strip(), secrets)
        if user is not None:
            return ["-u", user]
    if value == "":
        return ["-H", quote_arg(f"{name};", secrets)]  # "Name:" would remove the header
    return ["-H", quote_arg(f"{name}: {value}", secrets)]


def _basic_user(encoded: str, secrets: Secrets) -> str | None:
    """The ``-u`` argument for a Basic credential, or ``None`` when it does not decode."""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if ":" not in decoded:
        return None
    user, password = decoded.split(":", 1)
    env = secrets.values.get(password) or secrets.values.get(encoded)
    if env is None:
        return quote_arg(decoded, secrets)
    user_part: Segment = (
        ("", "ASSAY_USERNAME") if "ASSAY_USERNAME" in secrets.descriptions else (user, None)
    )
    return render([user_part, (":", None), ("", env)])


def _is_plain_text(body: bytes) -> bool:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if text.startswith("@"):
        return False
    return all(c >= " " or c in "\t\n\r" for c in text) and "\x7f" not in text


def _printf(body: bytes, secrets: Secrets) -> str:
    """``printf 'FORMAT' "$ENV"...`` writing ``body``; secrets become ``%s`` arguments."""
    needles = {v.encode("utf-8").decode("latin-1"): env for v, env in secrets.values.items()}
    fmt: list[str] = []
    args: list[str] = []
    for text, env in split_secrets(body.decode("latin-1"), needles):
        if env is not None:
            fmt.append("%s")
            args.append(f'"${env}"')
        else:
            fmt.append("".join(_octal(ord(c)) for c in text))
    return " ".join(["printf", "'" + "".join(fmt) + "'", *args])


def _octal(byte: int) -> str:
    char = chr(byte)
    if 0x20 <= byte < 0x7F and char not in "'\\%":
        return char
    return f"\\{byte:03o}"

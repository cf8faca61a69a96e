"""Strategies for string ``format``s: realistic values that the validator accepts.

Each builder makes values constructively (a date from a drawn date, an email from a local
part and a host name), so no draw is wasted on a filter. Lengths (``minLength`` /
``maxLength``) are met by a filter, and ``natural_lengths`` lets the caller see at once when
a format and a length range cannot meet. Formats the validator does not check (``byte``,
``binary``, ``password``, vendor formats) still get format-like values where we know one;
unknown formats get ``None`` (plain text is valid for them).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from datetime import date, timedelta

from hypothesis import strategies as st

from .alphabets import Alphabet
from .filtering import keep

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_TLDS = ("com", "org", "net", "io", "dev", "example")
_MIN_DATE = date(1900, 1, 1)
_MAX_DATE = date(2100, 12, 31)
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_COLORS = ("red", "blue", "green", "black", "white", "#fff", "#00ff00", "#123abc")
_REGEXES = ("^[a-z]+$", "[0-9]{3}", "a|b", ".*", "^\\w+@\\w+$")
# Vendor spellings of the standard formats (unchecked by the validator, but the server
# parses them the same way).
_ALIASES = {
    "datetime": "date-time", "dateTime": "date-time", "google-datetime": "date-time",
    "date_time": "date-time", "iso8601": "date-time", "url": "uri", "iri": "uri",
    "iri-reference": "uri-reference", "idn-email": "email", "idn-hostname": "hostname",
    "google-duration": "duration-seconds", "phone": "phone-number", "tel": "phone-number",
    "uuid4": "uuid", "guid": "uuid", "base64": "byte",
}
# (shortest, longest) length of each builder's values; None: unbounded.
_LENGTHS: dict[str, tuple[int, int | None]] = {
    "date": (10, 10), "date-time": (20, 30), "time": (8, 18), "uuid": (36, 36),
    "ipv4": (7, 15), "ipv6": (2, 39), "email": (6, 318), "hostname": (4, 253),
    "uri": (5, None), "uri-reference": (1, None), "byte": (0, None), "duration": (3, 8),
    "json-pointer": (0, 18), "relative-json-pointer": (1, 3), "regex": (2, 11),
    "http-method": (3, 7), "color": (3, 7), "phone-number": (12, 12),
    "uri-template": (4, 24), "duration-seconds": (2, 8),
}


# A few typical values per format, for quick eager checks against a pattern.
_SAMPLES: dict[str, tuple[str, ...]] = {
    "date": ("2024-06-15",), "date-time": ("2024-06-15T10:20:30Z", "2024-06-15T10:20:30.123Z",
                                           "2024-06-15T10:20:30+01:00"),
    "time": ("10:20:30Z", "10:20:30"), "uuid": ("0b8e5ac2-4c5e-4d8e-9f0a-1c2d3e4f5a6b",),
    "ipv4": ("192.168.10.1",), "ipv6": ("2001:db8::1",), "email": ("user.name@example.com",),
    "hostname": ("api.example.com",), "uri": ("https://example.com/a/b",),
    "uri-reference": ("/a/b",), "byte": ("aGVsbG8=",), "duration": ("P1D", "PT5M"),
}


def format_samples(name: str) -> tuple[str, ...]:
    """Typical values of format ``name`` (empty when we know none)."""
    return _SAMPLES.get(canonical_format(name), ())


def canonical_format(name: str) -> str:
    """The standard name for a vendor spelling (``dateTime`` -> ``date-time``)."""
    return _ALIASES.get(name, name)


def natural_lengths(name: str) -> tuple[int, int | None] | None:
    """The length range of values ``format_strategy`` builds for ``name`` (``None``:
    the format is unknown)."""
    return _LENGTHS.get(canonical_format(name))


def format_strategy(name: str, alphabet: Alphabet, *, min_size: int = 0,
                    max_size: int | None = None) -> st.SearchStrategy[str] | None:
    """Values of format ``name`` with ``min_size``..``max_size`` characters that survive
    in ``alphabet``'s location; ``None`` for formats we have no builder for, or whose
    values cannot meet those sizes in that location.

    >>> format_strategy("uuid", alphabet_for("body"))  # doctest: +SKIP
    """
    builder = _BUILDERS.get(canonical_format(name))
    if builder is None:
        return None
    strategy = builder(alphabet, min_size, max_size)
    if strategy is None:
        return None
    if min_size > 0 or max_size is not None:
        strategy = keep(strategy, lambda s: min_size <= len(s) <= (max_size or math.inf))
    return keep(strategy, alphabet.accepts)


def _dates(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    return st.integers(0, _DAYS).map(lambda n: _day(n).isoformat())


def _day(number: int) -> date:
    """Days around _CENTER: 0, +1, -1, +2... (small draws give recent dates)."""
    offset = (number + 1) // 2 if number % 2 else -(number // 2)
    return min(max(_CENTER + timedelta(days=offset), _MIN_DATE), _MAX_DATE)


# Date-times and times come from one integer each (hypothesis spends tens of microseconds
# per draw): milliseconds since the first moment, times an offset from _OFFSETS.
_DAYS = (_MAX_DATE - _MIN_DATE).days
_CENTER = date(2024, 6, 15)
_MILLIS_PER_DAY = 86_400_000
_OFFSETS = ("Z", "+00:00", "-05:00", "+01:00", "+05:30", "-08:00", "+09:00", "+14:00",
            "-12:00", "+02:45")


def _clock(millis: int, fraction: bool) -> str:
    seconds, milli = divmod(millis % _MILLIS_PER_DAY, 1000)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return text + (f".{milli:03d}" if fraction and milli else "")


def _date_time(number: int) -> str:
    millis, offset = divmod(number, len(_OFFSETS))
    day = _day(millis // _MILLIS_PER_DAY)
    # Whole seconds on half of the values: fractions are valid but rarer in real payloads.
    fraction = (millis // 1000) % 2 == 1
    return f"{day.isoformat()}T{_clock(millis, fraction)}{_OFFSETS[offset]}"


def _date_times(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    count = (_DAYS + 1) * _MILLIS_PER_DAY * len(_OFFSETS)
    return st.integers(0, count - 1).map(_date_time)


def _time_of_day(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    # RFC 3339 full-time has an offset; older drafts' "time" has none. Both are offered and
    # the validator's own format check keeps the kind it accepts.
    def text(number: int) -> str:
        millis, offset = divmod(number, 2 * len(_OFFSETS))
        if offset >= len(_OFFSETS):
            return _clock(millis, False)
        return _clock(millis, True) + _OFFSETS[offset]

    return st.integers(0, _MILLIS_PER_DAY * 2 * len(_OFFSETS) - 1).map(text)


def _uuids(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    return st.uuids().map(str)


def _ipv4(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    return st.ip_addresses(v=4).map(str)


def _ipv6(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    return st.ip_addresses(v=6).map(str)


def _labels(size: int) -> st.SearchStrategy[str]:
    """A host name label: a letter, then letters, digits and inner hyphens."""
    return st.tuples(st.sampled_from(_LOWER),
                     st.text(alphabet=_LOWER + _DIGITS, min_size=0, max_size=size)).map("".join)


def _hostnames(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    if low <= 12:
        return st.tuples(st.lists(_labels(8), min_size=1, max_size=2),
                         st.sampled_from(_TLDS)).map(lambda t: ".".join([*t[0], t[1]]))
    # Long enough labels (at most 63 characters each) to reach ``low``.
    sizes, need = [], low - 4
    while need > 0:
        sizes.append(min(need, 62))
        need -= sizes[-1] + 1
    labels = [st.tuples(st.sampled_from(_LOWER), st.text(alphabet=_LOWER + _DIGITS,
                                                         min_size=size - 1, max_size=size + 1))
              .map("".join) for size in sizes]
    return st.tuples(*labels, st.sampled_from(_TLDS)).map(".".join)


def _emails(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    # The local part holds at most 64 characters; a long minLength also needs a long host.
    local_least = max(1, min(64, low - 20))
    local = keep(st.text(alphabet=_LOWER + _DIGITS + "._+-", min_size=local_least,
                         max_size=max(local_least, min(64, 10 + low // 2))),
                 lambda s: s[0] not in "._+-" and s[-1] != "." and ".." not in s)
    return st.tuples(local, _hostnames(alphabet, max(0, low - 65), None)).map("@".join)


def _uris(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    if "/" in alphabet.forbidden:  # a path segment: a URI without slashes
        return st.tuples(st.sampled_from(("urn", "mailto", "tag")), _labels(12)).map(
            lambda t: f"{t[0]}:{t[1]}")
    segment = st.text(alphabet=_LOWER + _DIGITS + "-_", min_size=1, max_size=max(8, low))
    return st.tuples(st.sampled_from(("https", "http")), _hostnames(alphabet, 0, None),
                     st.lists(segment, max_size=3)).map(
        lambda t: f"{t[0]}://{t[1]}/" + "/".join(t[2]))


def _uri_references(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    relative = st.text(alphabet=_LOWER + _DIGITS, min_size=1, max_size=max(8, low))
    if "/" not in alphabet.forbidden:
        relative = st.one_of(relative, relative.map(lambda s: "/" + s))
    return st.one_of(relative, _uris(alphabet, low, high))


def _bytes(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    # Base64 text of n bytes is 4 * ceil(n / 3) characters long.
    least = 0 if low == 0 else 3 * (math.ceil(low / 4) - 1) + 1
    most = max(least, 15) if high is None else 3 * (high // 4)
    if most < least:
        return None
    return st.binary(min_size=least, max_size=most).map(
        lambda b: base64.b64encode(b).decode("ascii"))


def _durations(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    number = st.integers(1, 99)
    return st.one_of(
        number.map(lambda n: f"P{n}D"),
        st.tuples(number, number).map(lambda t: f"P{t[0]}Y{t[1]}M"),
        st.tuples(number, number).map(lambda t: f"PT{t[0]}H{t[1]}M"),
        number.map(lambda n: f"PT{n}S"),
        number.map(lambda n: f"P{n}W"),
    )


def _json_pointers(alphabet: Alphabet, low: int, high: int | None):
    if "/" in alphabet.forbidden:
        return None  # every pointer but "" has a slash
    segment = st.text(alphabet=_LOWER + _DIGITS, max_size=5)
    return st.lists(segment, max_size=3).map(lambda parts: "".join("/" + p for p in parts))


def _relative_json_pointers(alphabet: Alphabet, low: int,
                            high: int | None) -> st.SearchStrategy[str]:
    return st.tuples(st.integers(0, 9), st.sampled_from(("", "#", "/a", "/0"))).map(
        lambda t: f"{t[0]}{t[1]}")


def _choices(values: tuple[str, ...]) -> Callable[..., st.SearchStrategy[str]]:
    return lambda alphabet, low, high: st.sampled_from(values)


def _phones(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    return st.integers(0, 9_999_999).map(lambda n: f"+1555{n:07d}"[:12].ljust(12, "0"))


def _seconds(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    return st.integers(0, 999_999).map(lambda n: f"{n}s")


def _uri_templates(alphabet: Alphabet, low: int, high: int | None) -> st.SearchStrategy[str]:
    if "/" in alphabet.forbidden:
        return st.sampled_from(("{id}", "item-{id}"))
    return st.sampled_from(("https://example.com/{id}", "/items/{id}{?limit}"))


_BUILDERS: dict[str, Callable[[Alphabet, int, int | None], st.SearchStrategy[str] | None]] = {
    "date": _dates, "date-time": _date_times, "time": _time_of_day, "uuid": _uuids,
    "ipv4": _ipv4, "ipv6": _ipv6, "email": _emails, "hostname": _hostnames, "uri": _uris,
    "uri-reference": _uri_references, "byte": _bytes, "duration": _durations,
    "json-pointer": _json_pointers, "relative-json-pointer": _relative_json_pointers,
    "regex": _choices(_REGEXES), "http-method": _choices(_HTTP_METHODS),
    "color": _choices(_COLORS), "phone-number": _phones, "uri-template": _uri_templates,
    "duration-seconds": _seconds,
}

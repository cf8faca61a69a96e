"""Which characters a generated string may hold, by where the value travels.

A JSON body carries any Unicode text (lone surrogates aside: they cannot be encoded). A
parameter travels as text in a URL or a header, where some characters change meaning or do
not survive: ``Alphabet`` says which characters a string may use (``allows``) and which whole
strings are acceptable (``accepts``, for rules like "no leading space in a header"). The
rules match ``generation.wire``, which judges what a server receives:

========= =====================================================================
location  strings are
========= =====================================================================
body      any text without lone surrogates
query     printable text (``str.isprintable``)
path      printable, non-empty, not ``.`` or ``..``, without ``/ ? # %``
header    printable ASCII, non-empty, no leading or trailing whitespace
cookie    as header, cookie-safe characters only (no space ``" , ; \\ %``)
========= =====================================================================

Strings nested in a parameter's array or object also avoid the separators ``, = & [ ]``
(and ``|`` and space, which the delimited styles use).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
# Free text for regex wildcards and negated classes: printable ASCII plus a few letters and
# symbols from other scripts. A finite, plain set keeps ECMA-262 and Python regex
# semantics in agreement (no exotic spaces or digits) and values readable.
_EXTRA = "éüßñçÅøŁžЖжλΩ中文あア€™😀"
FREE_UNIVERSE = _PRINTABLE_ASCII + _EXTRA
_COOKIE_SAFE = frozenset(
    "!#$&'()*+-./:<=>?@[]^_`{|}~0123456789"
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_NESTED_SEPARATORS = frozenset(",=&[]| ")
LOCATIONS = ("body", "path", "query", "header", "cookie")


@dataclass(frozen=True, slots=True)
class Alphabet:
    """The characters and whole strings allowed for one location.

    ``ascii_only`` and ``printable_only`` restrict characters; ``forbidden`` removes some;
    ``min_size`` is the shortest acceptable string; ``no_padding`` forbids leading and
    trailing whitespace; ``no_dots`` forbids ``.`` and ``..`` (path segments).
    """

    name: str
    ascii_only: bool = False
    printable_only: bool = False
    forbidden: frozenset[str] = field(default_factory=frozenset)
    allowed_only: frozenset[str] | None = None
    min_size: int = 0
    no_padding: bool = False
    no_dots: bool = False

    def allows(self, char: str) -> bool:
        """True when ``char`` may appear in a string for this location."""
        if 0xD800 <= ord(char) <= 0xDFFF or char in self.forbidden:
            return False
        if self.allowed_only is not None and char not in self.allowed_only:
            return False
        if self.ascii_only and not char.isascii():
            return False
        return not self.printable_only or char.isprintable()

    def accepts(self, text: str) -> bool:
        """True when the whole string ``text`` survives the trip in this location."""
        if len(text) < self.min_size:
            return False
        if self.no_padding and text != text.strip():
            return False
        if self.no_dots and text in (".", ".."):
            return False
        return all(self.allows(c) for c in text)

    @property
    def has_string_rules(self) -> bool:
        """True when ``accepts`` says more than "every character is allowed"."""
        return self.min_size > 0 or self.no_padding or self.no_dots

    def free_chars(self) -> str:
        """The characters of ``FREE_UNIVERSE`` this alphabet allows, as one string."""
        return "".join(c for c in FREE_UNIVERSE if self.allows(c))

    def characters(self) -> st.SearchStrategy[str]:
        """A strategy for single characters of unconstrained text in this location."""
        if self.name == "body":
            # Any assigned, non-control character: wide Unicode coverage finds real bugs,
            # control and private-use characters mostly find arguments about them.
            return st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn"))
        if self.ascii_only or self.allowed_only is not None:
            chars = "".join(c for c in _PRINTABLE_ASCII if self.allows(c))
            return st.characters(categories=(), include_characters=chars)
        # Exactly what str.isprintable() accepts: no "Other" and no separators but " ".
        return st.characters(
            exclude_categories=("C", "Z"),
            include_characters=" " if " " not in self.forbidden else None,
            exclude_characters="".join(sorted(self.forbidden)) or None,
        )

    def nested(self) -> Alphabet:
        """The alphabet for strings inside a parameter's array or object."""
        if self.name == "body":
            return self
        return Alphabet(
            self.name + "-nested", self.ascii_only, self.printable_only,
            self.forbidden | _NESTED_SEPARATORS, self.allowed_only, self.min_size,
            self.no_padding, self.no_dots,
        )


def alphabet_for(location: str) -> Alphabet:
    """The ``Alphabet`` of ``location``: ``body`` or a parameter location.

    >>> alphabet_for("path").accepts("a/b")
    False
    """
    if location == "body":
        return Alphabet("body")
    if location == "query":
        return Alphabet("query", printable_only=True)
    if location == "path":
        return Alphabet("path", printable_only=True, forbidden=frozenset("/?#%"), min_size=1,
                        no_dots=True)
    if location == "header":
        return Alphabet("header", ascii_only=True, printable_only=True, min_size=1,
                        no_padding=True)
    if location == "cookie":
        return Alphabet("cookie", ascii_only=True, printable_only=True,
                        allowed_only=_COOKIE_SAFE, min_size=1, no_padding=True)
    raise ValueError(f"location must be one of {', '.join(LOCATIONS)}; got {location!r}")

"""ECMA-262 patterns (what JSON Schema means) read as Python regexes (what the validator runs).

JSON Schema patterns are ECMA-262 regexes; the validator (jsonschema) runs them with
Python's ``re``. ``translate_ecma`` rewrites a pattern so that every string the result
matches is matched by the pattern under both readings: ``\\d`` and ``\\w`` become their
ASCII classes (Python's are Unicode-wide), ``\\s`` the whitespace both agree on, ``.``
stops at every ECMA line terminator, ``$`` means the very end, ``(?<name>`` is a named
group and ``\\p{...}`` a class spelled out over a sample of Unicode.
"""

from __future__ import annotations

import re
import unicodedata

from .regex import RegexTooHard

_ECMA_SPACE = "\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_ECMA_DOT = "[^\n\r\u2028\u2029]"
_WORD = "a-zA-Z0-9_"
_PROPERTY_UNIVERSE = "".join(
    chr(c)
    for low, high in (
        (0x00, 0x7F), (0xA0, 0x17F), (0x300, 0x30F), (0x391, 0x3A9), (0x3B1, 0x3C9),
        (0x410, 0x44F), (0x5D0, 0x5EA), (0x627, 0x63A), (0x660, 0x669), (0x905, 0x939),
        (0xE01, 0xE2E), (0x2010, 0x2029), (0x2030, 0x203A), (0x20A0, 0x20B9),
        (0x2190, 0x2195), (0x2200, 0x220F), (0x3000, 0x3002), (0x3041, 0x3060),
        (0x30A1, 0x30C0), (0x4E00, 0x4E2F), (0xAC00, 0xAC10), (0xE000, 0xE003),
        (0x1F600, 0x1F60F),
    )
    for c in range(low, high + 1)
)
_CATEGORY_NAMES = {
    "letter": "L", "cased_letter": "LC", "uppercase_letter": "Lu", "lowercase_letter": "Ll",
    "titlecase_letter": "Lt", "modifier_letter": "Lm", "other_letter": "Lo", "mark": "M",
    "combining_mark": "M", "nonspacing_mark": "Mn", "spacing_mark": "Mc",
    "enclosing_mark": "Me", "number": "N", "decimal_number": "Nd", "digit": "Nd",
    "letter_number": "Nl", "other_number": "No", "punctuation": "P", "punct": "P",
    "connector_punctuation": "Pc", "dash_punctuation": "Pd", "open_punctuation": "Ps",
    "close_punctuation": "Pe", "initial_punctuation": "Pi", "final_punctuation": "Pf",
    "other_punctuation": "Po", "symbol": "S", "math_symbol": "Sm", "currency_symbol": "Sc",
    "modifier_symbol": "Sk", "other_symbol": "So", "separator": "Z",
    "space_separator": "Zs", "line_separator": "Zl", "paragraph_separator": "Zp",
    "other": "C", "control": "Cc", "cntrl": "Cc", "format": "Cf", "private_use": "Co",
    "unassigned": "Cn", "surrogate": "Cs",
}
_SCRIPT_PREFIXES = {"han": ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")}


def translate_ecma(pattern: str) -> str:
    """A Python regex matching only strings that ``pattern`` matches read both as
    ECMA-262 (what JSON Schema means) and as Python (what the validator runs).

    Raises ``RegexTooHard`` for constructs it cannot translate (an unknown ``\\p{...}``
    property, a conditional group).

    >>> translate_ecma(r"^\\d+$")
    '^[0-9]+\\\\Z'
    """
    return _Translator(pattern).run()


class _Translator:
    def __init__(self, pattern: str):
        self.src = pattern
        self.pos = 0
        self.out: list[str] = []

    def run(self) -> str:
        while self.pos < len(self.src):
            char = self.src[self.pos]
            self.pos += 1
            if char == "\\":
                self.out.append(self.escape())
            elif char == "[":
                self.out.append(self.char_class())
            elif char == ".":
                self.out.append(_ECMA_DOT)
            elif char == "$":
                self.out.append(r"\Z")
            elif char == "(" and self.src.startswith("?<", self.pos) and \
                    self.src[self.pos + 2:self.pos + 3] not in ("=", "!"):
                self.out.append("(?P<")
                self.pos += 2
            else:
                self.out.append(char)
        return "".join(self.out)

    def escape(self) -> str:
        if self.pos >= len(self.src):
            raise RegexTooHard(f"pattern {self.src!r} ends with a lone backslash")
        char = self.src[self.pos]
        self.pos += 1
        simple = {"d": "[0-9]", "w": f"[{_WORD}]", "s": f"[{_ECMA_SPACE}]", "D": r"\D",
                  "W": r"\W", "S": "[^\\s\ufeff]", "z": r"\Z", "Z": r"\Z"}
        if char in simple:
            return simple[char]
        if char in "pP":
            return _class_of(_property_chars(self.property_name(), negated=char == "P"))
        if char == "k" and self.src.startswith("<", self.pos):
            end = self.src.index(">", self.pos)
            name = self.src[self.pos + 1:end]
            self.pos = end + 1
            return f"(?P={name})"
        if char in "bBA123456789":
            return "\\" + char
        return _literal(self.escaped_char(char))

    def escaped_char(self, char: str) -> str:
        """The character an escape (after ``\\``) stands for, outside or inside a class."""
        controls = {"t": "\t", "n": "\n", "v": "\x0b", "f": "\x0c", "r": "\r", "0": "\0"}
        if char in controls:
            return controls[char]
        if char == "c" and self.pos < len(self.src) and self.src[self.pos].isalpha():
            self.pos += 1
            return chr(ord(self.src[self.pos - 1]) % 32)
        if char == "x" and _is_hex(self.src[self.pos:self.pos + 2], 2):
            self.pos += 2
            return chr(int(self.src[self.pos - 2:self.pos], 16))
        if char == "u":
            return self.unicode_escape()
        return char  # an identity escape: "\/" is "/", "\-" is "-"

    def unicode_escape(self) -> str:
        if self.src.startswith("{", self.pos):
            end = self.src.find("}", self.pos)
            digits = self.src[self.pos + 1:end]
            if end > 0 and _is_hex(digits, len(digits)) and int(digits, 16) <= 0x10FFFF:
                self.pos = end + 1
                return chr(int(digits, 16))
        if _is_hex(self.src[self.pos:self.pos + 4], 4):
            self.pos += 4
            return chr(int(self.src[self.pos - 4:self.pos], 16))
        return "u"

    def property_name(self) -> str:
        if not self.src.startswith("{", self.pos) or "}" not in self.src[self.pos:]:
            raise RegexTooHard(f"\\p without {{name}} in {self.src!r}")
        end = self.src.index("}", self.pos)
        name = self.src[self.pos + 1:end]
        self.pos = end + 1
        return name

    def char_class(self) -> str:
        negated = self.src.startswith("^", self.pos)
        self.pos += negated
        items: list[tuple[str, str]] = []  # ("chars", c) or ("class", python text)
        properties: list[tuple[str, bool]] = []
        while True:
            if self.pos >= len(self.src):
                raise RegexTooHard(f"unterminated character class in {self.src!r}")
            char = self.src[self.pos]
            self.pos += 1
            if char == "]":
                break
            if char == "\\":
                escaped = self.src[self.pos:self.pos + 1]
                if escaped in ("p", "P"):
                    self.pos += 1
                    properties.append((self.property_name(), escaped == "P"))
                    continue
                if escaped and escaped in "dDwWsS":
                    self.pos += 1
                    items.append(("class", _class_escape(escaped, negated)))
                    continue
                if escaped == "b":
                    self.pos += 1
                    items.append(("char", "\b"))
                    continue
                self.pos += 1
                items.append(("char", self.escaped_char(escaped)))
                continue
            items.append(("char", char))
        return _build_class(_ranges(items), negated, properties)


def _ranges(items: list[tuple[str, str]]) -> list[str]:
    """Class items as Python class text, ``a-z`` ranges kept and stray ``-`` literal."""
    out: list[str] = []
    index = 0
    while index < len(items):
        kind, value = items[index]
        is_range = (kind == "char" and index + 2 < len(items) and items[index + 1] == ("char", "-")
                    and items[index + 2][0] == "char")
        if is_range and ord(value) <= ord(items[index + 2][1]):
            out.append(f"{_class_literal(value)}-{_class_literal(items[index + 2][1])}")
            index += 3
            continue
        out.append(_class_literal(value) if kind == "char" else value)
        index += 1
    return out


def _build_class(parts: list[str], negated: bool, properties: list[tuple[str, bool]]) -> str:
    if not properties:
        if not parts:
            return "(?s:.)" if negated else "(?!)"
        return "[" + ("^" if negated else "") + "".join(parts) + "]"
    # A class with \p{...}: decide membership character by character over a sample of
    # Unicode, then write the members out as a plain positive class.
    plain = re.compile("[" + "".join(parts) + "]") if parts else None
    predicates = [(_property_predicate(name), inverted) for name, inverted in properties]
    members = "".join(
        c for c in _PROPERTY_UNIVERSE
        if negated != (bool(plain and plain.fullmatch(c))
                       or any(pred(c) != inverted for pred, inverted in predicates))
    )
    return _class_of(members)


def _class_escape(letter: str, negated_class: bool) -> str:
    """``\\d \\w \\s`` (and uppercase) inside a class, read safely for both engines.

    In a positive class the narrower ECMA (ASCII) sets are used; inside a negated class the
    wider Python sets are excluded, so the complement is narrower too.
    """
    if not negated_class:
        return {"d": "0-9", "w": _WORD, "s": _ECMA_SPACE, "D": r"\D", "W": r"\W",
                "S": r"\S"}[letter]
    if letter in "dw":
        return "\\" + letter
    if letter == "s":
        return r"\s\ufeff"
    narrow = {"D": "0123456789", "W": "".join(c for c in map(chr, range(128))
                                                 if re.fullmatch(r"\w", c, re.ASCII)),
              "S": " \t\n\x0b\x0c\r"}[letter]
    return _complement_ranges(narrow)


def _complement_ranges(chars: str) -> str:
    codes = sorted(ord(c) for c in set(chars))
    out, start = [], 0
    for code in codes:
        if code > start:
            out.append(_class_literal(chr(start)) + "-" + _class_literal(chr(code - 1)))
        start = code + 1
    out.append(_class_literal(chr(start)) + "-" + _class_literal(chr(0x10FFFF)))
    return "".join(out)


def _class_of(chars: str) -> str:
    if not chars:
        return "(?!)"
    return "[" + "".join(_class_literal(c) for c in chars) + "]"


def _class_literal(char: str) -> str:
    if char.isascii() and char.isalnum():
        return char
    return f"\\U{ord(char):08x}"


def _literal(char: str) -> str:
    return re.escape(char) if char.isascii() and char.isprintable() else f"\\U{ord(char):08x}"


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length > 0 and all(c in "0123456789abcdefABCDEF" for c in text)


def _property_chars(name: str, *, negated: bool) -> str:
    predicate = _property_predicate(name)
    return "".join(c for c in _PROPERTY_UNIVERSE if predicate(c) != negated)


def _property_predicate(name: str):
    """A test for one character of Unicode property ``name`` (``L``, ``Script=Greek``...).
    Exact over ``_PROPERTY_UNIVERSE``, which holds no character where these tests and the
    Unicode property tables disagree."""
    key, _, value = name.partition("=")
    if value:
        if key in ("General_Category", "gc"):
            return _property_predicate(value)
        if key in ("Script", "sc", "Script_Extensions", "scx"):
            prefixes = _SCRIPT_PREFIXES.get(value.lower(),
                                            (value.upper().replace("_", " ") + " ",))
            if value.lower() in ("common", "inherited", "zyyy", "zinh", "unknown"):
                raise RegexTooHard(f"unsupported Unicode property \\p{{{name}}}")
            return lambda c: unicodedata.name(c, "").startswith(prefixes)
        raise RegexTooHard(f"unsupported Unicode property \\p{{{name}}}")
    category = _CATEGORY_NAMES.get(name.lower(), name)
    if category == "LC":
        return lambda c: unicodedata.category(c) in ("Lu", "Ll", "Lt")
    if category in ("L", "M", "N", "P", "S", "Z", "C"):
        return lambda c: unicodedata.category(c)[0] == category
    if len(category) == 2 and category[0] in "LMNPSZC":
        return lambda c: unicodedata.category(c) == category
    binary = {
        "any": lambda c: True,
        "ascii": lambda c: c.isascii(),
        "alphabetic": lambda c: unicodedata.category(c)[0] == "L",
        "alpha": lambda c: unicodedata.category(c)[0] == "L",
        "white_space": lambda c: c.isspace(),
        "space": lambda c: c.isspace(),
        "uppercase": lambda c: c.isupper(),
        "upper": lambda c: c.isupper(),
        "lowercase": lambda c: c.islower(),
        "lower": lambda c: c.islower(),
        "ascii_hex_digit": lambda c: c in "0123456789abcdefABCDEF",
        "hex_digit": lambda c: c in "0123456789abcdefABCDEF",
    }
    if name.lower() in binary:
        return binary[name.lower()]
    raise RegexTooHard(f"unsupported Unicode property \\p{{{name}}}")

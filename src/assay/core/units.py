"""Parsing of durations (``500ms``, ``1.5s``, ``2m``) and rates (``100/s``, ``6000/m``)."""

from __future__ import annotations

import re

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|h|d)?\s*")
_FACTORS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
            None: 1.0}
_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*")
_RATE_FACTORS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
                 "h": 3600, "hour": 3600}


def parse_duration(text: str | int | float, *, default_unit: str = "s") -> float:
    """Seconds in ``text``: ``"500ms"`` -> 0.5, ``"2m"`` -> 120.0, ``3`` -> 3.0.

    Raises ``ValueError`` naming what was expected.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as 500ms or 2s, found {text!r}")
    if isinstance(text, int | float):
        return float(text) * _FACTORS[default_unit]
    match = _DURATION.fullmatch(str(text))
    if not match:
        raise ValueError(f"expected a duration such as 500ms or 2s, found {text!r}")
    unit = match.group(2) or default_unit
    return float(match.group(1)) * _FACTORS[unit]


def parse_rate(text: str) -> float:
    """Requests per second in ``text``: ``"100/s"`` -> 100.0, ``"60/m"`` -> 1.0."""
    match = _RATE.fullmatch(str(text))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"expected a rate such as 100/s or 600/m, found {text!r}")
    return float(match.group(1)) / _RATE_FACTORS[match.group(2)]

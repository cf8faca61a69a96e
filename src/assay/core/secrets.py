"""Secrets: values that must never appear in any output.

Every secret (a token from ``--auth-bearer``, a password, an API key, a token fetched at run
time) is registered here once with the environment variable a reproduction should use
instead. Reporters and the console pass every string they print through ``redact``; curl
reproductions use ``reference`` to write ``$ASSAY_TOKEN`` instead of the value.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

REDACTED = "[REDACTED]"
_SENSITIVE_NAME = re.compile(r"authorization|cookie|token|secret|api[-_]?key|password",
                             re.IGNORECASE)


def is_sensitive_name(name: str) -> bool:
    """True for header (or query parameter) names whose values are credentials: every
    ``*authorization*``, ``*cookie*``, ``*token*``, ``*secret*``, ``*api-key*``, ``*password*``.

    >>> is_sensitive_name("X-Api-Key"), is_sensitive_name("Accept")
    (True, False)
    """
    return _SENSITIVE_NAME.search(name) is not None


@dataclass(slots=True)
class Secrets:
    """The run's secrets: value -> environment variable name.

    >>> s = Secrets(); s.add("t0ps3cret", "ASSAY_TOKEN", "bearer token")
    >>> s.redact("Authorization: Bearer t0ps3cret")
    'Authorization: Bearer [REDACTED]'
    """

    values: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)

    def add(self, value: str | None, env: str, description: str = "") -> None:
        """Register ``value`` (ignored when empty or shorter than 3 characters)."""
        if not value or len(value) < 3:
            return
        self.values[value] = env
        self.descriptions[env] = description or env
        # A basic-auth pair also travels base64-encoded.
        if ":" in value:
            encoded = base64.b64encode(value.encode()).decode()
            self.values.setdefault(encoded, env)

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by ``[REDACTED]``."""
        if not text or not self.values:
            return text
        for value in sorted(self.values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def reference(self, text: str) -> str:
        """``text`` with every secret value replaced by ``$ENV_NAME`` (for shell commands)."""
        if not text or not self.values:
            return text
        for value in sorted(self.values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, "$" + self.values[value])
        return text

    def env_names(self) -> dict[str, str]:
        """Environment variable name -> what it holds (never the value)."""
        return dict(self.descriptions)

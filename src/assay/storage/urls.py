"""Database URLs: shown redacted everywhere, and opened into a ``Store``.

``--db`` takes ``sqlite:///PATH`` (the default, ``sqlite:///assay-monitor.db``),
``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB`` (``postgresql://`` and ``postgres://``
mean the same) or ``memory://`` (nothing kept after exit).
"""

from __future__ import annotations

import re

from .base import Store

MEMORY_URL = "memory://"
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>.*)@")
_QUERY_PASSWORD = re.compile(r"(?P<key>[?&]password=)[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with its password shown as ``***`` (in the user part or a ``password=``
    query parameter).

    >>> redact_url("postgresql+psycopg://assay:s3cret@db:5432/assay")
    'postgresql+psycopg://assay:***@db:5432/assay'
    >>> redact_url("sqlite:///assay-monitor.db")
    'sqlite:///assay-monitor.db'
    """
    # Greedy up to the last "@": a password with an unescaped "@" is hidden whole (at worst
    # more than the password is hidden, never less).
    match = _USERINFO.match(url)
    if match and ":" in match.group("userinfo"):
        user = match.group("userinfo").split(":", 1)[0]
        url = f"{match.group('scheme')}{user}:***@{url[match.end():]}"
    return _QUERY_PASSWORD.sub(r"\g<key>***", url)


def open_store(url: str) -> Store:
    """The store for ``url``: ``memory://`` -> ``MemoryStore``, SQLite and PostgreSQL URLs
    -> ``SqlStore`` (opened, migrated). An unsupported URL or a database that cannot be
    opened raises ``ConfigError`` naming the redacted URL and what was expected.
    """
    if url.strip().lower() == MEMORY_URL:
        from .memory import MemoryStore

        return MemoryStore()
    # Imported here: SQLAlchemy is only loaded when a SQL database is used.
    from .sql import SqlStore

    return SqlStore(url)

"""Real identifiers the API returned, kept for later cases.

Whenever a response feeds a link (explicit or inferred: ``POST /books`` → ``bookId`` of
``GET /books/{bookId}``), the values the link yields are kept for its target operation.
Later phases draw path parameters from them half of the time, so that generated requests
reach the code behind the 404 that a random id gets.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from ..core.records import Case, Exchange
from ..generation.links import Link, link_values
from ..specs.model import Operation, status_key_covers

MAX_VALUES = 16


def status_matches(documented: str, status: int) -> bool:
    """Whether a documented response key (``"201"``, ``"2XX"``, ``"default"``) covers
    ``status``; ``default`` only covers successes here (links feed on created resources)."""
    if documented == "default":
        return 200 <= status < 300
    return status_key_covers(documented, status)


class IdentifierPool:
    """Values for ``(target operation, location, name)``, most recent first, bounded."""

    def __init__(self, links: list[Link]):
        self.links: dict[str, list[Link]] = defaultdict(list)
        for link in links:
            self.links[link.source.label].append(link)
        self.values: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
        self.lock = threading.Lock()

    def record(self, operation: Operation, case: Case, exchange: Exchange) -> None:
        """Keep what the links of ``operation`` yield from this exchange."""
        response = exchange.response
        if response is None or not 200 <= response.status < 300:
            return
        for link in self.links.get(operation.label, ()):
            if not status_matches(link.status, response.status):
                continue
            found = link_values(link, exchange.request, case, response)
            for (location, name), value in (found or {}).items():
                if location == "path" and (value is None or value == ""):
                    continue
                self._add((link.target.label, location, name), value)

    def _add(self, key: tuple[str, str, str], value: Any) -> None:
        with self.lock:
            values = self.values[key]
            if value in values:
                return
            values.insert(0, value)
            del values[MAX_VALUES:]

    def snapshot(self, operation: Operation) -> dict[tuple[str, str], list[Any]]:
        """The path-parameter values known for ``operation`` now, as ``(location, name)``.

        A snapshot: a hypothesis run must see the same choices when it replays a case.
        """
        with self.lock:
            return {(location, name): list(values)
                    for (label, location, name), values in self.values.items()
                    if label == operation.label and location == "path" and values}

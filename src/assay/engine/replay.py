"""The failure database: the smallest failing case of each finding, replayed first next time.

A SQLite file (``--failures-db``, default ``.assay/failures.db``) keyed by the API's title,
the operation, the check and the cause. At the start of the ``fuzz`` phase every stored case
of a selected operation is sent again (``source: replay``); after the run, each finding of
the coverage and fuzz phases stores its smallest case, and stored cases that no longer fail
as recorded are dropped. ``--no-replay`` neither reads nor writes it.

stdlib ``sqlite3`` is enough here: one small table, one writer (the run), atomic commits.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from ..core.records import NOT_SET, Case, Negative

_SCHEMA = """
CREATE TABLE IF NOT EXISTS failures (
    api TEXT NOT NULL, operation TEXT NOT NULL, check_name TEXT NOT NULL, cause TEXT NOT NULL,
    case_json TEXT NOT NULL, PRIMARY KEY (api, operation, check_name, cause)
)
"""


def case_to_json(case: Case) -> str:
    """``case`` as JSON text (bytes bodies hex-encoded)."""
    body: Any = case.body
    data: dict[str, Any] = {
        "operation": case.operation, "method": case.method, "path": case.path,
        "path_params": case.path_params, "query": case.query, "headers": case.headers,
        "cookies": case.cookies, "media_type": case.media_type, "source": case.source,
        "probe": case.probe,
    }
    if isinstance(body, bytes):
        data["body_bytes"] = body.hex()
    elif body is not NOT_SET:
        data["body"] = body
    if case.negative is not None:
        n = case.negative
        data["negative"] = [n.kind, n.location, n.name, n.message]
    return json.dumps(data, sort_keys=True, default=str)


def case_from_json(text: str, phase: str) -> Case:
    """The case stored by ``case_to_json``, for ``phase``."""
    data = json.loads(text)
    body = bytes.fromhex(data["body_bytes"]) if "body_bytes" in data else data.get("body",
                                                                                  NOT_SET)
    negative = Negative(*data["negative"]) if data.get("negative") else None
    return Case(data["operation"], data["method"], data["path"], data["path_params"],
                data["query"], data["headers"], data["cookies"], body, data["media_type"],
                phase, "replay of a stored failure", negative, data.get("probe"))


class FailureStore:
    """Read and write the failure database of one API."""

    def __init__(self, path: str, api: str):
        self.path, self.api = Path(path), api

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path)
            connection.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"cannot open the failure database {str(self.path)!r}: {exc}",
                             location="--failures-db") from exc
        return connection

    def check(self) -> None:
        """Open (create) the database now, so that a bad path fails before the run."""
        with closing(self._connect()):
            pass

    def load(self, operations: set[str]) -> dict[tuple[str, str, str], str]:
        """Stored cases of these operations: (operation, check, cause) -> case JSON."""
        if not self.path.exists():
            return {}
        with closing(self._connect()) as db:
            rows = db.execute("SELECT operation, check_name, cause, case_json FROM failures "
                              "WHERE api = ? ORDER BY operation, check_name, cause",
                              (self.api,)).fetchall()
        return {(op, check, cause): text for op, check, cause, text in rows if op in operations}

    def save(self, found: dict[tuple[str, str, str], Case],
             gone: set[tuple[str, str, str]]) -> None:
        """Store ``found`` (replacing older cases of the same key), drop ``gone``."""
        with closing(self._connect()) as db, db:
            db.executemany("DELETE FROM failures WHERE api = ? AND operation = ? AND "
                           "check_name = ? AND cause = ?",
                           [(self.api, *key) for key in gone])
            db.executemany("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)",
                           [(self.api, *key, case_to_json(case))
                            for key, case in found.items()])

"""Session-wide test settings: keep assay's failure database out of the working tree."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _failures_db(tmp_path, monkeypatch):
    """Each test gets its own failure database (``--failures-db`` reads this variable)."""
    monkeypatch.setenv("ASSAY_FAILURES_DB", str(tmp_path / "failures.db"))

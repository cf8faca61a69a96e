"""The store contract against ``MemoryStore``."""

from __future__ import annotations

import pytest

from assay.storage.memory import MemoryStore
from storage_contract import StoreContract


class TestMemoryStore(StoreContract):
    """``MemoryStore`` passes the shared suite."""

    @pytest.fixture
    def store(self):
        store = MemoryStore()
        yield store
        store.close()

    def test_size_is_unknown(self, store):
        assert store.size_bytes() is None

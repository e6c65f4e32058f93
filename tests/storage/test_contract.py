"""Both built-in backends pass the same contract suite."""

from __future__ import annotations

from pathlib import Path

from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.protocol import Store
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import StoreContract


class TestMemoryStore(StoreContract):
    def new_store(self, directory: Path) -> Store:
        return MemoryStore()


class TestSqliteStore(StoreContract):
    def new_store(self, directory: Path) -> Store:
        return SqliteStore(directory / "cssc.db")

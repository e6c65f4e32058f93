"""A SQLite store whose commit fails: every write raises StorageError and leaves nothing behind.

The fault is injected with an authorizer that refuses ``COMMIT`` (as a full disk or an I/O error would
make it fail), for each write the store offers in turn; the logical content (``iterdump()``) must be
what it was, and the same write must succeed once the fault is gone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from cssc_core.errors import StorageError
from cssc_core.storage.records import (
    Acknowledgement,
    AuditEntry,
    DeliveryStatus,
    DeliveryUpdate,
    Timer,
)
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import T0, sample_cascade, sample_delivery, sample_message, sample_network
from tests.reliability.tally import TALLY

_SQLITE_TRANSACTION = 22  # the authorizer's action code for BEGIN, COMMIT and ROLLBACK

WRITES: dict[str, Callable[[SqliteStore], object]] = {
    "replace_network": lambda store: store.replace_network(sample_network()),
    "upsert_organisations": lambda store: store.upsert_organisations(sample_network().organisations[:1]),
    "erase_contact": lambda store: store.erase_contact("c-0001", T0),
    "start_cascade": lambda store: store.start_cascade(
        sample_cascade("msg-2"), sample_message("msg-2"), [sample_delivery("d-9", "msg-2")]
    ),
    "add_deliveries": lambda store: store.add_deliveries([sample_delivery("d-8")]),
    "claim_due": lambda store: store.claim_due(T0, 10, 60, "w2"),
    "record_results": lambda store: store.record_results(
        [DeliveryUpdate("d-1", DeliveryStatus.DELIVERED, T0)], "w1", T0
    ),
    "update_deliveries": lambda store: store.update_deliveries(
        [DeliveryUpdate("d-3", DeliveryStatus.CANCELLED, T0)]
    ),
    "finish_cascade": lambda store: store.finish_cascade("msg-1", T0),
    "add_timers": lambda store: store.add_timers([Timer("t-1", "msg-1", "ack-timeout", T0)]),
    "remove_timers": lambda store: store.remove_timers(["t-0"]),
    "record_acknowledgement": lambda store: store.record_acknowledgement(
        Acknowledgement("msg-1", "c-0001", T0)
    ),
    "append_audit": lambda store: store.append_audit([AuditEntry(at=T0, event="test")]),
    "set_setting": lambda store: store.set_setting("k", "v"),
    "setting_or_default": lambda store: store.setting_or_default("k2", "v"),
}


def _prepared(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    store.replace_network(sample_network())
    store.start_cascade(sample_cascade(), sample_message(), [sample_delivery(f"d-{i}") for i in range(1, 4)])
    store.claim_due(T0, 2, 60, "w1")
    store.add_timers([Timer("t-0", "msg-1", "relay-deadline", T0 + timedelta(minutes=5))])
    return store


def _refuse_commit(action: int, operation: str | None, *_: object) -> int:
    return (
        sqlite3.SQLITE_DENY if action == _SQLITE_TRANSACTION and operation == "COMMIT" else sqlite3.SQLITE_OK
    )


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_failed_commit_raises_storage_error_and_writes_nothing(tmp_path: Path, write: str) -> None:
    store = _prepared(tmp_path / "cssc.db")
    before = list(store.connection.iterdump())
    store.connection.set_authorizer(_refuse_commit)
    TALLY.faults_injected += 1
    with pytest.raises(StorageError, match="failed"):
        WRITES[write](store)
    store.connection.set_authorizer(None)
    after = list(store.connection.iterdump())
    if after != before:
        TALLY.partial_writes += 1
    assert after == before
    WRITES[write](store)  # the fault gone, the same write goes through
    assert store.integrity_check() == []
    store.close()

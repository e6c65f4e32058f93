"""What the SQLite store promises beyond the contract: durability settings, schema, atomicity, erasure."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from cssc_core.errors import StorageError, ValidationError
from cssc_core.plugins import PluginHost
from cssc_core.storage import _sqlite_rows as rows
from cssc_core.storage import _sqlite_schema as schema
from cssc_core.storage.records import CascadeRecord, Delivery, DeliveryStatus, DeliveryUpdate, StatusChange
from cssc_core.storage.sqlite import SCHEMA_VERSION, SqliteStore, sqlite_url
from cssc_core.testing import T0, sample_cascade, sample_delivery, sample_message, sample_network


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cssc.db"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(path)
    yield store
    store.close()


def pragma(store: SqliteStore, name: str) -> object:
    return store.connection.execute(f"PRAGMA {name}").fetchone()[0]


def test_wal_full_sync_secure_delete_and_foreign_keys_by_default(store: SqliteStore) -> None:
    assert pragma(store, "journal_mode") == "wal"
    assert pragma(store, "synchronous") == 2  # FULL
    assert pragma(store, "secure_delete") == 1
    assert pragma(store, "foreign_keys") == 1


def _temporary_files() -> list[str]:
    """The files this process has open that SQLite made for scratch work (their names start with
    ``etilqs_``; SQLite unlinks them at once, so only an open descriptor shows them)."""
    found = []
    for descriptor in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed since it was listed
            if "etilqs_" in os.readlink(f"/proc/self/fd/{descriptor}"):
                found.append(descriptor)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="lists open files through /proc")
def test_a_nested_transaction_journals_in_memory_not_in_a_scratch_file(store: SqliteStore) -> None:
    # A savepoint keeps the pages it changes as they were before it; past 64 KiB, SQLite's default
    # is to spill them to a scratch file, which a national cascade did hundreds of times.
    with store.transaction():
        store.connection.executemany(
            "INSERT INTO settings VALUES (?, ?)", ((f"k{i}", "x" * 2000) for i in range(300))
        )
    with store.transaction(), store.transaction():
        store.connection.execute("UPDATE settings SET value = value || 'y'")
        assert _temporary_files() == []
    assert pragma(store, "temp_store") == 2  # MEMORY


def test_the_url_may_ask_for_normal_sync(tmp_path: Path) -> None:
    store = PluginHost.load(entry_points=False).open_store(f"sqlite:///{tmp_path}/a.db?synchronous=normal")
    assert isinstance(store, SqliteStore)
    assert pragma(store, "synchronous") == 1
    store.close()


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///", "sqlite:///x.db?journal=off", "sqlite:///x.db?synchronous=off"]
)
def test_bad_sqlite_urls_are_bad_input(url: str) -> None:
    with pytest.raises(ValidationError):
        PluginHost.load(entry_points=False).open_store(url)


def test_sqlite_url_of_a_path_opens_that_file(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "b.db")
    assert url == f"sqlite:///{tmp_path}/b.db"
    PluginHost.load(entry_points=False).open_store(url).close()
    assert (tmp_path / "b.db").exists()


def test_any_file_name_survives_the_url(tmp_path: Path) -> None:
    odd = tmp_path / "what?100%.db"
    store = PluginHost.load(entry_points=False).open_store(sqlite_url(odd))
    assert isinstance(store, SqliteStore)
    store.close()
    assert odd.exists()


def test_the_schema_is_versioned_and_migrated_once(path: Path) -> None:
    SqliteStore(path).close()
    store = SqliteStore(path)
    assert store.schema_versions() == list(range(1, SCHEMA_VERSION + 1))
    assert pragma(store, "user_version") == SCHEMA_VERSION
    store.close()


def test_a_sound_file_passes_the_integrity_check(store: SqliteStore) -> None:
    store.replace_network(sample_network())
    store.start_cascade(sample_cascade(), sample_message(), [sample_delivery("d-1")])
    assert store.integrity_check() == []
    store.connection.execute("PRAGMA foreign_keys = OFF")
    store.connection.execute("INSERT INTO cascades VALUES ('ghost', 0, '{}', NULL)")
    assert store.integrity_check() == ["cascades row 2 refers to a missing messages"]


def test_a_new_migration_upgrades_an_old_file_once(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqliteStore(path)
    store.replace_network(sample_network())
    store.close()
    upgrade = (SCHEMA_VERSION + 1, "delivery tags", ("ALTER TABLE deliveries ADD COLUMN tag TEXT",))
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, upgrade))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    for _ in range(2):
        upgraded = SqliteStore(path)
        assert upgraded.schema_versions() == [*range(1, SCHEMA_VERSION + 1), SCHEMA_VERSION + 1]
        assert upgraded.load_network() == sample_network()
        columns = [row[1] for row in upgraded.connection.execute("PRAGMA table_info(deliveries)")]
        assert columns.count("tag") == 1
        upgraded.close()


@contextlib.contextmanager
def _as_of_schema(monkeypatch: pytest.MonkeyPatch, version: int) -> Iterator[pytest.MonkeyPatch]:
    """Inside the block, stores open files as an older cssc_core did: migrations up to ``version``."""
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:version])
        patch.setattr(schema, "SCHEMA_VERSION", version)
        yield patch


def _insert_cascade_with_plan(store: SqliteStore, cascade: CascadeRecord) -> None:
    """A cascade as schemas before 7 wrote it: its plan in the row."""
    store.connection.execute(
        "INSERT INTO cascades VALUES (?, ?, ?, ?, NULL)",
        (cascade.message, rows.micros_of(cascade.started_at), cascade.channels, cascade.plan),
    )


def _store_of_schema(
    path: Path, version: int, monkeypatch: pytest.MonkeyPatch, deliveries: list[Delivery]
) -> None:
    """A file as an older cssc_core left it: migrations up to ``version``, then the deliveries
    written with the columns that schema had."""
    with _as_of_schema(monkeypatch, version) as patch:
        # Today's columns, written below as that schema had them.
        patch.setattr(SqliteStore, "_insert_deliveries", lambda self, deliveries: None)
        patch.setattr(SqliteStore, "_insert_cascade", _insert_cascade_with_plan)
        old = SqliteStore(path)
        old.start_cascade(sample_cascade(), sample_message(), [])
        row = functools.partial(rows.delivery_row, lines=rows.HistoryLines())
        old.connection.executemany(
            f"INSERT INTO deliveries ({schema.DELIVERY_COLUMNS}, due_at) VALUES ({', '.join('?' * 18)})",
            (row(delivery)[:18] for delivery in deliveries),
        )
        old.close()


def test_a_file_of_schema_3_keeps_its_outbox_and_gets_write_order_indexes(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_of_schema(path, 3, monkeypatch, [sample_delivery(name) for name in ("d-c", "d-a", "d-b")])
    store = SqliteStore(path)
    assert store.schema_versions()[-1] == SCHEMA_VERSION >= 4
    plan = store.connection.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM deliveries INDEXED BY deliveries_undelivered "
        "WHERE message = 'msg-1' AND settled_at IS NULL ORDER BY rowid"
    ).fetchall()
    assert "USE TEMP B-TREE" not in str(plan)  # the index gives write order without sorting
    assert [ref.id for ref in store.undelivered("msg-1")] == ["d-c", "d-a", "d-b"]
    assert [d.id for d in store.claim_due(T0, 10, 60, "w1")] == ["d-c", "d-a", "d-b"]
    store.close()


def _large_plan_cascade() -> CascadeRecord:
    """A cascade whose plan, like a national one's, fills many pages (about 1 MB of JSON)."""
    recipients = [{"contact": f"c-{i:06}", "channels": ["email"], "ack": False} for i in range(16_000)]
    return attrs.evolve(sample_cascade(), plan=json.dumps({"recipients": recipients}))


def test_a_file_of_schema_6_keeps_its_cascades_plans(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cascade = _large_plan_cascade()
    with _as_of_schema(monkeypatch, 6) as patch:
        patch.setattr(SqliteStore, "_insert_cascade", _insert_cascade_with_plan)
        old = SqliteStore(path)
        old.start_cascade(cascade, sample_message(), [])
        old.close()
    store = SqliteStore(path)
    assert store.get_cascade("msg-1") == cascade
    assert store.cascades(unfinished=True) == [cascade]
    store.finish_cascade("msg-1", T0 + timedelta(hours=1))
    assert store.get_cascade("msg-1") == attrs.evolve(cascade, finished_at=T0 + timedelta(hours=1))
    store.close()


def test_finishing_a_cascade_leaves_its_plan_where_it_lies(path: Path) -> None:
    store = SqliteStore(path)
    store.start_cascade(_large_plan_cascade(), sample_message(), [])
    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.finish_cascade("msg-1", T0)
    # (busy, frames in the log, frames checkpointed): the pages the finish wrote. In the row of the
    # cascade, the 1 MB plan was written out again, some 250 pages (and as many zeroed).
    _, frames, _ = store.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames < 10
    assert store.get_cascade("msg-1") == attrs.evolve(_large_plan_cascade(), finished_at=T0)
    store.close()


def test_a_plan_is_kept_compressed_and_read_back_whole(path: Path) -> None:
    cascade = _large_plan_cascade()
    store = SqliteStore(path)
    store.start_cascade(cascade, sample_message(), [])
    (stored,) = store.connection.execute("SELECT plan FROM cascade_plans").fetchone()
    assert isinstance(stored, bytes)
    assert len(stored) * 10 < len(cascade.plan)
    assert store.get_cascade("msg-1") == cascade
    store.close()


def test_reading_the_network_back_sorts_nothing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _as_of_schema(monkeypatch, 5):  # a file of schema 5, whose organisations had no such index
        old = SqliteStore(path)
        old.replace_network(sample_network())
        old.close()
    store = SqliteStore(path)
    plans = []

    def plan_of(sql: str) -> None:  # each ordered read's plan, as SQLite runs it
        if sql.startswith("SELECT") and "ORDER BY" in sql:
            plans.append(store.connection.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())

    store.connection.set_trace_callback(plan_of)
    assert store.load_network() == sample_network()
    store.connection.set_trace_callback(None)
    assert len(plans) == 3  # organisations, contacts, roles
    assert not [plan for plan in plans if "USE TEMP B-TREE" in str(plan)]
    store.close()


def test_a_file_of_schema_4_learns_when_its_settled_deliveries_settled(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivered = attrs.evolve(
        sample_delivery("d-done"),
        status=DeliveryStatus.DELIVERED,
        history=(
            StatusChange(DeliveryStatus.CREATED, T0),
            StatusChange(DeliveryStatus.DELIVERED, T0 + timedelta(seconds=7), "ok"),
        ),
    )
    cancelled = sample_delivery("d-gone", status=DeliveryStatus.CANCELLED, at=T0 + timedelta(minutes=2))
    _store_of_schema(path, 4, monkeypatch, [sample_delivery("d-open"), delivered, cancelled])
    store = SqliteStore(path)
    assert store.schema_versions() == list(range(1, SCHEMA_VERSION + 1))
    settled = dict(store.connection.execute("SELECT id, settled_at FROM deliveries"))
    assert settled == {
        "d-open": None,
        "d-done": int((T0 + timedelta(seconds=7)).timestamp() * 1_000_000),
        "d-gone": int((T0 + timedelta(minutes=2)).timestamp() * 1_000_000),
    }
    assert [ref.id for ref in store.undelivered("msg-1")] == ["d-open"]
    store.close()


def test_only_writes_that_settle_a_delivery_set_settled_at(store: SqliteStore) -> None:
    """The undelivered index is keyed on settled_at: claims and releases leave it NULL (and the index
    untouched), results and cancels set it to their time."""
    held = sample_delivery("d-held", status=DeliveryStatus.HELD)
    store.start_cascade(sample_cascade(), sample_message(), [sample_delivery("d-1"), held])

    def settled() -> dict[str, object]:
        return dict(store.connection.execute("SELECT id, settled_at FROM deliveries"))

    (claimed,) = store.claim_due(T0, 10, 60, "w1")
    release = DeliveryUpdate("d-held", DeliveryStatus.CREATED, T0, "released")
    assert store.update_deliveries([release]).applied == ("d-held",)
    assert settled() == {"d-1": None, "d-held": None}
    later = T0 + timedelta(seconds=3)
    store.record_results([DeliveryUpdate(claimed.id, DeliveryStatus.DELIVERED, later, "ok")], "w1", T0)
    store.update_deliveries([DeliveryUpdate("d-held", DeliveryStatus.CANCELLED, later, "stood down")])
    at = int(later.timestamp() * 1_000_000)
    assert settled() == {"d-1": at, "d-held": at}
    assert store.undelivered("msg-1") == []


def test_a_newer_schema_is_refused(path: Path) -> None:
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_migrations VALUES (?, 'from the future')", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageError, match="schema version"):
        SqliteStore(path)


def test_a_file_that_is_not_a_database_is_a_storage_error(path: Path) -> None:
    path.write_bytes(b"this is not a database, just text" * 100)
    with pytest.raises(StorageError, match="cannot open"):
        SqliteStore(path)


def test_everything_survives_reopening(path: Path) -> None:
    store = SqliteStore(path)
    store.replace_network(sample_network())
    store.start_cascade(sample_cascade(), sample_message(), [sample_delivery("d-1")])
    store.claim_due(T0, 10, 60, "w1")
    store.close()
    again = SqliteStore(path)
    assert again.load_network() == sample_network()
    delivery = again.get_delivery("d-1")
    assert delivery is not None
    assert (delivery.status, delivery.lease_owner) == (DeliveryStatus.SENDING, "w1")
    again.close()


def test_a_network_written_by_another_process_changes_the_revision(path: Path) -> None:
    reader, writer = SqliteStore(path), SqliteStore(path)
    try:
        before = reader.network_revision()
        writer.replace_network(sample_network())
        assert reader.network_revision() != before
        assert reader.network_revision() == writer.network_revision()
    finally:
        reader.close()
        writer.close()


def test_replace_network_failing_mid_write_leaves_the_old_network(store: SqliteStore) -> None:
    old = sample_network()
    store.replace_network(old)
    # A trigger makes the database itself fail on the last contact row, after the others were written.
    store.connection.execute(
        "CREATE TRIGGER refuse_c3 BEFORE INSERT ON contacts WHEN NEW.id = 'c-0003' "
        "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
    )
    new = attrs.evolve(old, organisations=tuple(reversed(old.organisations)))
    with pytest.raises(sqlite3.IntegrityError, match="disk trouble"):
        store.replace_network(new)
    assert store.load_network() == old
    assert not store.connection.in_transaction


def test_a_batch_of_results_is_one_commit(store: SqliteStore) -> None:
    store.start_cascade(
        sample_cascade(), sample_message(), [sample_delivery(f"d-{i:03}") for i in range(200)]
    )
    store.claim_due(T0, 200, 60, "w1")
    batch = [DeliveryUpdate(f"d-{i:03}", DeliveryStatus.DELIVERED, T0) for i in range(200)]
    statements = statements_of(store, lambda: store.record_results(batch, "w1", T0))
    assert store.undelivered("msg-1") == []
    assert [s for s in statements if s.startswith(("COMMIT", "BEGIN"))] == ["BEGIN IMMEDIATE", "COMMIT"]


def statements_of(store: SqliteStore, call: Callable[[], object]) -> list[str]:
    """The SQL statements ``call`` runs, with their parameters filled in."""
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    try:
        call()
    finally:
        store.connection.set_trace_callback(None)
    return statements


def _commit_setting(store: SqliteStore, *, durable: bool, fail: bool = False) -> list[str]:
    """The statements of one transaction that writes a setting, cut to those that frame it."""

    def write() -> None:
        with store.transaction(durable=durable):
            store.set_setting("k", "v")
            if fail:
                raise RuntimeError("boom")

    def run() -> None:
        with contextlib.suppress(RuntimeError):
            write()

    return [s for s in statements_of(store, run) if s.startswith(("PRAGMA synchronous", "BEGIN", "COMMIT"))]


def test_a_transaction_that_need_not_be_durable_commits_without_a_sync(store: SqliteStore) -> None:
    assert _commit_setting(store, durable=False) == [
        "PRAGMA synchronous = NORMAL",
        "BEGIN IMMEDIATE",
        "COMMIT",
        "PRAGMA synchronous = FULL",
    ]
    assert _commit_setting(store, durable=True) == ["BEGIN IMMEDIATE", "COMMIT"]
    assert pragma(store, "synchronous") == 2  # every other write stays as durable as configured


def test_a_failed_transaction_that_need_not_be_durable_restores_full_sync(store: SqliteStore) -> None:
    assert _commit_setting(store, durable=False, fail=True)[-1] == "PRAGMA synchronous = FULL"
    assert pragma(store, "synchronous") == 2
    assert store.get_setting("k") is None


def test_only_the_outermost_transaction_decides_how_durable_it_is(store: SqliteStore) -> None:
    def nested() -> None:
        with store.transaction(), store.transaction(durable=False):
            store.set_setting("k", "v")

    assert not [s for s in statements_of(store, nested) if s.startswith("PRAGMA")]


def test_a_store_opened_with_normal_sync_never_switches(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "n.db", synchronous="normal")
    try:
        assert _commit_setting(store, durable=False) == ["BEGIN IMMEDIATE", "COMMIT"]
        assert pragma(store, "synchronous") == 1
    finally:
        store.close()


def query_plan(store: SqliteStore, sql: str) -> str:
    return " ".join(str(row[-1]) for row in store.connection.execute(f"EXPLAIN QUERY PLAN {sql}"))


def test_the_undelivered_lookup_uses_its_partial_index(store: SqliteStore) -> None:
    (select,) = statements_of(store, lambda: store.undelivered("msg-1"))
    plan = query_plan(store, select)
    assert "INDEX deliveries_undelivered" in plan
    assert "TEMP B-TREE" not in plan  # the index gives the order too


def test_claims_find_due_deliveries_through_their_index(store: SqliteStore) -> None:
    statements = statements_of(store, lambda: store.claim_due(T0, 10, 60, "w1"))
    (select,) = [s for s in statements if s.startswith("SELECT")]
    plan = query_plan(store, select)
    assert "INDEX deliveries_due" in plan
    assert "TEMP B-TREE" not in plan


def test_two_workers_never_claim_the_same_delivery(path: Path) -> None:
    first, second = SqliteStore(path), SqliteStore(path)
    first.start_cascade(sample_cascade(), sample_message(), [sample_delivery(f"d-{i}") for i in range(10)])
    a = first.claim_due(T0, 6, 60, "w1")
    b = second.claim_due(T0, 6, 60, "w2")
    assert len(a) == 6
    assert len(b) == 4
    assert not {d.id for d in a} & {d.id for d in b}
    first.close()
    second.close()


def test_the_audit_log_cannot_be_rewritten(store: SqliteStore) -> None:
    store.replace_network(sample_network())
    store.erase_contact("c-0001", T0)
    for sql in ("UPDATE audit_log SET detail = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.connection.execute(sql)
    assert len(store.audit_log()) == 1


@pytest.mark.parametrize("in_transaction", [False, True])
def test_an_erased_contact_leaves_no_trace_in_the_files(path: Path, in_transaction: bool) -> None:
    store = SqliteStore(path)
    # Churn so the contact's row has older copies in the WAL and in freed pages.
    for _ in range(4):
        store.replace_network(sample_network())
    if in_transaction:
        with store.transaction():
            store.set_setting("erasing", "c-0001")
            store.erase_contact("c-0001", T0 + timedelta(minutes=1))
    else:
        store.erase_contact("c-0001", T0 + timedelta(minutes=1))
    wal = path.with_name(path.name + "-wal")
    # Read while the store is still open: closing would checkpoint anyway and hide a missing one.
    data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    store.close()
    for secret in (b"sam@example.org", b"Sam Example", b"+447400123456"):
        assert secret not in data
    assert b"alex@example.org" in data  # the others are still there


def test_threads_share_a_store_and_never_claim_twice(store: SqliteStore) -> None:
    store.start_cascade(
        sample_cascade(), sample_message(), [sample_delivery(f"d-{i:03}") for i in range(200)]
    )
    claimed: list[str] = []

    def work(worker: str) -> None:
        while batch := store.claim_due(T0, 7, 60, worker):
            results = [DeliveryUpdate(d.id, DeliveryStatus.DELIVERED, T0) for d in batch]
            assert not store.record_results(results, worker, T0).refused
            claimed.extend(d.id for d in batch)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, ["w1", "w2", "w3", "w4"]))
    assert sorted(claimed) == [f"d-{i:03}" for i in range(200)]
    assert store.undelivered("msg-1") == []


def test_another_threads_call_never_lands_inside_a_transaction(store: SqliteStore) -> None:
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        inside.wait()
        store.set_setting("other", "kept")  # waits for the transaction below to end
        done.set()

    thread = threading.Thread(target=other)
    thread.start()

    def mine() -> None:
        with store.transaction():
            store.set_setting("mine", "rolled back")
            inside.set()
            assert not done.wait(0.2)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        mine()
    thread.join()
    assert (store.get_setting("mine"), store.get_setting("other")) == (None, "kept")


def test_an_erasure_during_another_read_is_scrubbed_by_the_next_store_to_close(path: Path) -> None:
    # Regression: a reader's snapshot made the erasure's checkpoint fail silently, leaving the old
    # pages in the WAL for good; and the TRUNCATE checkpoint waited out the busy timeout doing so.
    keeper = SqliteStore(path)
    for _ in range(3):
        keeper.replace_network(sample_network())
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM contacts").fetchone()
    eraser = SqliteStore(path)
    eraser.erase_contact("c-0001", T0)
    assert eraser.get_setting("storage.wal-scrub-pending") == "1"
    eraser.close()
    reader.close()
    assert b"sam@example.org" in path.with_name(path.name + "-wal").read_bytes()
    SqliteStore(path).close()
    wal = path.with_name(path.name + "-wal")
    data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert keeper.get_setting("storage.wal-scrub-pending") is None
    keeper.close()
    assert b"sam@example.org" not in data

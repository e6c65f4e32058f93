"""The SQLite store: the embedded default, on the standard library's :mod:`sqlite3`.

- WAL journal, ``synchronous=FULL`` unless the URL asks for ``NORMAL`` (a power cut then may lose
  the last commits, never corrupt the file), ``secure_delete`` on so that erased data is overwritten.
- The schema is versioned: ``schema_migrations`` lists the migrations applied, each in a transaction.
  The migrations and the outbox's statements are in ``_sqlite_schema``, the rows and the records
  they hold, both ways, in ``_sqlite_rows``.
- The outbox hot path writes batches with ``executemany`` in one transaction; a status write carries
  its own guard (lease holder, lease time, not final) in its ``WHERE`` clause, so that a batch in which
  every write is accepted costs one statement. Claims use a partial index on the due time, and the
  undelivered lookup a partial index on the message of deliveries not yet settled (``settled_at``
  NULL), which only a write that settles a delivery has to touch.
- Times are stored as whole microseconds since 1970-01-01 UTC.
- A store may be shared by the threads of a process: calls take turns on its one connection, and a
  transaction keeps the other threads waiting until it ends. Processes share the file through
  SQLite's own locking (a write waits up to ``timeout_s`` for another process's).

URLs: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, optionally
``?synchronous=normal``.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qsl, unquote

from cssc_core.domain.models import Contact, Organisation
from cssc_core.domain.network import Network
from cssc_core.errors import ConflictError, NotFoundError, StorageError, ValidationError
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import StorageBackend
from cssc_core.storage import _sqlite_schema as schema
from cssc_core.storage import rules
from cssc_core.storage._sqlite_rows import (
    HistoryLines,
    acknowledgement_from_row,
    audit_from_row,
    cascade_from_row,
    cell_text,
    delivery_from_row,
    delivery_ref,
    delivery_row,
    history_line,
    message_from_row,
    micros_of,
    opt_instant_of,
    opt_micros_of,
    stored_plan,
    timer_from_row,
)
from cssc_core.storage._sqlite_schema import (
    CASCADE_SELECT,
    CLAIM_SQL,
    DELIVERY_COLUMNS,
    REF_COLUMNS,
    RESULT_SQL,
    SCHEMA_VERSION,
    UPDATE_OPEN_SQL,
    UPDATE_SQL,
)
from cssc_core.storage.network_rows import (
    contact_document,
    network_from_rows,
    organisation_document,
    role_document,
    sequence_document,
)
from cssc_core.storage.records import (
    FINAL_STATUSES,
    Acknowledgement,
    AuditEntry,
    CascadeRecord,
    Delivery,
    DeliveryRef,
    DeliveryStatus,
    DeliveryUpdate,
    MessageRecord,
    Refusal,
    Timer,
    WriteOutcome,
)

__all__ = ["SCHEMA_VERSION", "SqliteStore", "cssc_storage_backends", "sqlite_url"]

# A setting stored with each erasure and cleared once the WAL has been checkpointed and truncated.
_SCRUB_PENDING = "storage.wal-scrub-pending"
_NETWORK_REVISION = "storage.network-revision"
_CHECKPOINT_PAGES = 10_000
_CACHE_KIB = 65_536
_IDS_PER_QUERY = 500  # well under SQLite's limit on bound parameters

P = ParamSpec("P")
R = TypeVar("R")


def _serialised(method: Callable[Concatenate[SqliteStore, P], R]) -> Callable[Concatenate[SqliteStore, P], R]:
    """Runs the method holding the store's lock, so that threads take turns on the connection."""

    @functools.wraps(method)
    def serialised(self: SqliteStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.IntegrityError:
                raise  # a broken invariant, not a failing store: the methods map the ones they expect
            except sqlite3.Error as error:
                raise _failed(self, error) from error

    return serialised


def _failed(store: SqliteStore, error: sqlite3.Error) -> StorageError:
    """A failing database (disk full, I/O error, locked past the timeout) as the library's error."""
    return StorageError(f"the store {store.path} failed: {error}")


class _Mismatch(Exception):
    """Some guarded write in a batch changed nothing: redo the batch row by row."""


def _sql_limit(limit: int | None) -> int:
    """A ``LIMIT`` value: none (-1 to SQLite) when not given."""
    return -1 if limit is None else max(limit, 0)


def _conflict(error: sqlite3.IntegrityError) -> Exception:
    text = str(error)
    if "FOREIGN KEY" in text:
        return NotFoundError("a delivery is of a message that is not stored")
    if "idempotency_key" in text:
        return ConflictError("an idempotency key is already stored")
    if "messages.id" in text:
        return ConflictError("the message is already stored")
    return ConflictError(f"already stored ({text})")


class SqliteStore:
    """A :class:`~cssc_core.storage.protocol.Store` in one SQLite file.

    Args:
        path: The database file (created when missing), or ``:memory:``.
        synchronous: ``FULL`` (the default: a commit survives a power cut) or ``NORMAL``.
        timeout_s: How long to wait for another process's write lock before failing.

    Raises:
        StorageError: when the file's schema is newer than this version of cssc_core knows.
    """

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", timeout_s: float = 5.0) -> None:
        if synchronous.upper() not in {"FULL", "NORMAL"}:
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = str(path)
        # One connection shared by the threads of a process; _lock serialises them, and a transaction
        # holds it to the end, so another thread's call never lands inside it.
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
        except (sqlite3.Error, ValueError) as error:  # a missing folder, a NUL in the name
            raise StorageError(f"cannot open {self.path!r} as a cssc store: {error}") from None
        self._lock = threading.RLock()
        self._depth = 0
        self._synchronous = synchronous.upper()
        self._scrub_wal = False
        try:
            self.journal_mode: str = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA secure_delete = ON")
            # Savepoints (a step of a commit group is one) journal in memory: at SQLite's default, a
            # savepoint's journal past 64 KiB went to a scratch file, created, written page by page
            # and deleted again, hundreds of times in a national cascade.
            self._db.execute("PRAGMA temp_store = MEMORY")
            # Checkpoint every 40 MB of WAL rather than SQLite's default 4 MB: a cascade rewrites the
            # same pages many times over (claims, results), and each checkpoint copies them back.
            self._db.execute(f"PRAGMA wal_autocheckpoint = {_CHECKPOINT_PAGES}")
            # A page cache of 64 MiB rather than 2: the outbox of a national cascade is written all
            # over its indexes, and every page that has to be read again costs a system call.
            self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            self._migrate()
            if self._scrub_pending():
                self._scrub()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise StorageError(f"cannot open {self.path} as a cssc store: {error}") from None
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection, for inspection (benchmarks, integrity checks); do not write."""
        return self._db

    def _migrate(self) -> None:
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, description TEXT NOT NULL)"
        )
        with self.transaction():
            current = self._db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[
                0
            ]
            # Read through the module at each open, not the name imported above: the schema tests
            # open files as an older or a newer cssc_core would by patching these two.
            newest = schema.SCHEMA_VERSION
            if current > newest:
                raise StorageError(
                    f"{self.path} has schema version {current}; this cssc_core reads up to {newest}"
                )
            for version, description, statements in schema.MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    self._db.execute(statement)
                self._db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, description))
            self._db.execute(f"PRAGMA user_version = {newest}")

    @_serialised
    def integrity_check(self) -> list[str]:
        """SQLite's ``PRAGMA integrity_check`` and ``foreign_key_check``: empty when the file is sound."""
        problems = [row[0] for row in self._db.execute("PRAGMA integrity_check") if row[0] != "ok"]
        problems.extend(
            f"{table} row {rowid} refers to a missing {parent}"
            for table, rowid, parent, _ in self._db.execute("PRAGMA foreign_key_check")
        )
        return problems

    @_serialised
    def schema_versions(self) -> list[int]:
        """The versions of the migrations applied to the file, in order."""
        return [row[0] for row in self._db.execute("SELECT version FROM schema_migrations ORDER BY version")]

    @_serialised
    def close(self) -> None:
        """Closes the connection, first scrubbing the WAL if an erasure left that pending."""
        try:
            if self._scrub_pending():
                self._scrub()
        except sqlite3.Error:
            pass  # another process holds the file busy: whichever store closes or erases next scrubs it
        self._db.close()

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """A write transaction (``BEGIN IMMEDIATE``); a nested block is a savepoint that it rolls back
        to when it raises. Other threads wait until the outermost block ends.

        An outermost block with ``durable=False`` commits under ``synchronous=NORMAL``: in WAL mode
        the commit is not synced to the disk, so a power cut may lose it (never corrupt the file),
        and the next ``FULL`` commit's sync covers it as well.
        """
        with self._lock:
            relaxed = not durable and not self._depth and self._synchronous == "FULL"
            if relaxed:
                # Set outside the transaction and restored after it: the setting is the
                # connection's, and every other write on it must stay as durable as configured.
                self._db.execute("PRAGMA synchronous = NORMAL")
            try:
                yield from self._transaction()
            finally:
                if relaxed:
                    self._db.execute("PRAGMA synchronous = FULL")

    def _transaction(self) -> Iterator[None]:
        if self._depth:
            savepoint = f"nested_{self._depth}"
            self._db.execute(f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._db.execute(f"ROLLBACK TO {savepoint}")
                self._db.execute(f"RELEASE {savepoint}")
                raise
            else:
                self._db.execute(f"RELEASE {savepoint}")
            finally:
                self._depth -= 1
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise _failed(self, error) from error
        self._depth = 1
        try:
            yield
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                raise _failed(self, error) from error
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._scrub_wal = False
            raise
        finally:
            self._depth = 0
        if self._scrub_wal:
            self._scrub_wal = False
            self._scrub()

    def _scrub(self) -> None:
        """Checkpoints and truncates the WAL, and clears the pending mark once that worked.

        Old page images (an erased contact's, say) stay in the WAL until a checkpoint copies the new
        pages over them and the WAL is truncated. While another connection reads an older snapshot,
        the checkpoint cannot finish; the mark, stored with the erasure, stays, and the next store on
        this file to open, commit an erasure or close tries again.
        """
        # A TRUNCATE checkpoint waits for readers as long as the busy timeout allows: do not wait
        # here, the next try comes soon enough.
        timeout = self._db.execute("PRAGMA busy_timeout").fetchone()[0]
        self._db.execute("PRAGMA busy_timeout = 0")
        try:
            busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        if busy:
            return
        self._db.execute("DELETE FROM settings WHERE key = ?", (_SCRUB_PENDING,))
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _scrub_pending(self) -> bool:
        return (
            self._db.execute("SELECT 1 FROM settings WHERE key = ?", (_SCRUB_PENDING,)).fetchone() is not None
        )

    # --- the network -------------------------------------------------------------------------------

    @_serialised
    def load_network(self) -> Network | None:
        """Rebuilds the stored network from its rows."""
        head = self._db.execute("SELECT regions, sectors FROM network").fetchone()
        if head is None:
            return None
        return network_from_rows(
            head[0],
            head[1],
            self._db.execute("SELECT id, document FROM organisations ORDER BY position"),
            self._db.execute("SELECT organisation, document FROM contacts ORDER BY organisation, position"),
            (document for (document,) in self._db.execute("SELECT document FROM roles ORDER BY position")),
        )

    @_serialised
    def network_revision(self) -> str | None:
        """The number of network writes committed to the file, by any process."""
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (_NETWORK_REVISION,)).fetchone()
        return "0" if row is None else str(row[0])

    def _network_written(self) -> None:
        # Inside the writing transaction, so that the new revision commits with the rows it counts.
        self._db.execute(
            "INSERT INTO settings VALUES (?, '1') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (_NETWORK_REVISION,),
        )

    @_serialised
    def replace_network(self, network: Network) -> None:
        """Deletes the stored network's rows and writes the new one, in one transaction."""
        with self.transaction():
            self._network_written()
            for table in ("contacts", "roles", "organisations", "network"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.execute(
                "INSERT INTO network VALUES (1, ?, ?)",
                (sequence_document(network.regions), sequence_document(network.sectors)),
            )
            self._write_organisations(enumerate(network.organisations))
            self._db.executemany(
                "INSERT INTO roles VALUES (?, ?, ?)",
                ((i, role.contact, role_document(role)) for i, role in enumerate(network.roles)),
            )

    def _write_organisations(self, positioned: Iterable[tuple[int, Organisation]]) -> None:
        placed = list(positioned)
        self._db.executemany(
            "INSERT INTO organisations VALUES (?, ?, ?)",
            (
                (organisation.id, position, organisation_document(organisation))
                for position, organisation in placed
            ),
        )
        self._db.executemany(
            "INSERT INTO contacts VALUES (?, ?, ?, ?)",
            (
                (contact.id, organisation.id, i, contact_document(contact))
                for _, organisation in placed
                for i, contact in enumerate(organisation.contacts)
            ),
        )

    @_serialised
    def upsert_organisations(self, organisations: Iterable[Organisation]) -> Network:
        """Adds or replaces organisations by id, in one transaction."""
        incoming = list(organisations)
        with self.transaction():
            current = self.load_network()
            network = rules.upserted(current, incoming)
            if current is None:
                self.replace_network(network)
                return network
            positions = dict(self._db.execute("SELECT id, position FROM organisations").fetchall())
            next_position = max(positions.values(), default=-1) + 1
            placed: list[tuple[int, Organisation]] = []
            for organisation in {o.id: o for o in incoming}.values():
                if organisation.id in positions:
                    position = positions[organisation.id]
                    self._db.execute("DELETE FROM contacts WHERE organisation = ?", (organisation.id,))
                    self._db.execute("DELETE FROM organisations WHERE id = ?", (organisation.id,))
                else:
                    position, next_position = next_position, next_position + 1
                placed.append((position, organisation))
            self._write_organisations(placed)
            self._network_written()
        return network

    @_serialised
    def erase_contact(self, contact_id: str, at: datetime) -> Contact:
        """Overwrites the contact's row with a tombstone and drops its roles; once the outermost
        transaction commits, checkpoints and truncates the WAL."""
        with self.transaction():
            network = self.load_network()
            if network is None:
                raise NotFoundError(f"unknown contact {contact_id!r}")
            _, grave = rules.tombstone(network, contact_id)
            self._db.execute(
                "UPDATE contacts SET document = ? WHERE id = ?",
                (contact_document(grave), contact_id),
            )
            self._db.execute("DELETE FROM roles WHERE contact = ?", (contact_id,))
            self._network_written()
            self.append_audit([AuditEntry(at=at, event="contact-erased", contact=contact_id)])
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, '1')", (_SCRUB_PENDING,))
            self._scrub_wal = True
        return grave

    # --- messages and cascades ---------------------------------------------------------------------

    @_serialised
    def get_message(self, message_id: str) -> MessageRecord | None:
        """The message, or None."""
        row = self._db.execute(
            "SELECT id, sent, status, type, refs, expires, document FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        return None if row is None else message_from_row(row)

    @_serialised
    def messages(self) -> list[MessageRecord]:
        """Every message by (sent, id)."""
        rows = self._db.execute(
            "SELECT id, sent, status, type, refs, expires, document FROM messages ORDER BY sent, id"
        )
        return [message_from_row(row) for row in rows]

    @_serialised
    def start_cascade(
        self, cascade: CascadeRecord, message: MessageRecord, deliveries: Sequence[Delivery]
    ) -> None:
        """Writes the message, the cascade and the deliveries in one transaction."""
        if cascade.message != message.id:
            raise ValueError(f"the cascade is of {cascade.message!r}, the message is {message.id!r}")
        if any(delivery.message != message.id for delivery in deliveries):
            raise NotFoundError("a delivery of a cascade is of another message")
        try:
            with self.transaction():
                self._db.execute(
                    "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        message.id,
                        micros_of(message.sent),
                        message.status,
                        message.type,
                        json.dumps(list(message.references)),
                        opt_micros_of(message.expires),
                        message.document,
                    ),
                )
                self._insert_cascade(cascade)
                self._insert_deliveries(deliveries)
        except sqlite3.IntegrityError as error:
            raise _conflict(error) from None

    def _insert_cascade(self, cascade: CascadeRecord) -> None:
        self._db.execute(
            "INSERT INTO cascades VALUES (?, ?, ?, ?)",
            (
                cascade.message,
                micros_of(cascade.started_at),
                cascade.channels,
                opt_micros_of(cascade.finished_at),
            ),
        )
        self._db.execute(
            "INSERT INTO cascade_plans VALUES (?, ?)", (cascade.message, stored_plan(cascade.plan))
        )

    @_serialised
    def get_cascade(self, message_id: str) -> CascadeRecord | None:
        """The cascade, or None."""
        row = self._db.execute(f"{CASCADE_SELECT} WHERE message = ?", (message_id,)).fetchone()
        return None if row is None else cascade_from_row(row)

    @_serialised
    def cascades(self, *, unfinished: bool = False, since: datetime | None = None) -> list[CascadeRecord]:
        """Cascades by (start, message id)."""
        terms = ["finished_at IS NULL"] if unfinished else []
        if since is not None:
            terms.append("started_at >= :since")
        where = f"WHERE {' AND '.join(terms)}" if terms else ""
        rows = self._db.execute(
            f"{CASCADE_SELECT} {where} ORDER BY started_at, message",
            {"since": opt_micros_of(since)},
        )
        return [cascade_from_row(row) for row in rows]

    @_serialised
    def finish_cascade(self, message_id: str, at: datetime) -> None:
        """Marks the cascade finished."""
        with self.transaction():
            changed = self._db.execute(
                "UPDATE cascades SET finished_at = ? WHERE message = ?", (micros_of(at), message_id)
            ).rowcount
            if not changed:
                raise NotFoundError(f"unknown cascade {message_id!r}")

    # --- the delivery outbox -----------------------------------------------------------------------

    def _insert_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        self._db.executemany(
            f"INSERT INTO deliveries ({DELIVERY_COLUMNS}, due_at, settled_at) VALUES ({', '.join('?' * 19)})",
            map(functools.partial(delivery_row, lines=HistoryLines()), deliveries),
        )

    @_serialised
    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Inserts the deliveries with one ``executemany`` in one transaction."""
        messages = list({delivery.message for delivery in deliveries})
        try:
            with self.transaction():
                known = {
                    row[0]
                    for row in self._db.execute(
                        f"SELECT id FROM messages WHERE id IN ({', '.join('?' * len(messages))})", messages
                    )
                }
                for delivery in deliveries:
                    if delivery.message not in known:
                        raise NotFoundError(
                            f"delivery {delivery.id!r} is of unknown message {delivery.message!r}"
                        )
                self._insert_deliveries(deliveries)
        except sqlite3.IntegrityError as error:
            raise _conflict(error) from None

    @_serialised
    def get_delivery(self, delivery_id: str) -> Delivery | None:
        """The delivery, or None."""
        row = self._db.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?", (delivery_id,)
        ).fetchone()
        return None if row is None else delivery_from_row(row)

    @_serialised
    def get_deliveries(self, delivery_ids: Iterable[str]) -> list[Delivery]:
        """The deliveries, by id: one query per few hundred ids."""
        return [delivery_from_row(row) for row in self._rows_by_id(DELIVERY_COLUMNS, delivery_ids)]

    @_serialised
    def delivery_refs(self, delivery_ids: Iterable[str]) -> list[DeliveryRef]:
        """The refs of the deliveries, by id, read as :meth:`get_deliveries` reads rows."""
        return list(map(delivery_ref, self._rows_by_id(REF_COLUMNS, delivery_ids)))

    def _rows_by_id(self, columns: str, delivery_ids: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        wanted = sorted(set(delivery_ids))
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            yield from self._db.execute(
                f"SELECT {columns} FROM deliveries WHERE id IN ({', '.join('?' * len(chunk))}) ORDER BY id",
                chunk,
            )

    @_serialised
    def deliveries_of(self, message_id: str) -> list[Delivery]:
        """A message's deliveries by id."""
        rows = self._db.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE message = ? ORDER BY id", (message_id,)
        )
        return [delivery_from_row(row) for row in rows]

    @_serialised
    def undelivered(self, message_id: str, *, limit: int | None = None) -> list[DeliveryRef]:
        """Open deliveries of a message, through the partial index ``deliveries_undelivered``."""
        cursor = self._db.execute(
            # Named: deliveries_by_message has the same key, and SQLite may pick it and read every row.
            f"SELECT {REF_COLUMNS} FROM deliveries INDEXED BY deliveries_undelivered "
            "WHERE message = ? AND settled_at IS NULL ORDER BY rowid LIMIT ?",
            (message_id, _sql_limit(limit)),
        )
        return list(map(delivery_ref, cursor))

    @_serialised
    def claim_due(self, now: datetime, limit: int, lease_s: float, worker: str) -> list[Delivery]:
        """Selects what is due through ``deliveries_due`` and leases it, in one transaction."""
        until = now + timedelta(seconds=lease_s)
        now_us, until_us = micros_of(now), micros_of(until)
        with self.transaction():
            rows = self._db.execute(
                f"SELECT {DELIVERY_COLUMNS}, rowid FROM deliveries WHERE due_at IS NOT NULL AND due_at <= ? "
                "ORDER BY due_at, rowid LIMIT ?",
                (now_us, max(limit, 0)),
            ).fetchall()
            line = history_line(DeliveryStatus.SENDING, now_us, None)
            self._db.executemany(CLAIM_SQL, ((worker, until_us, until_us, line, row[17]) for row in rows))
        # Each row as the claim left it: status, attempts, lease and history (columns 9 to 16).
        return [
            delivery_from_row(
                (*row[:9], "sending", *row[10:12], row[12] + 1, worker, until_us, row[15], row[16] + line)
            )
            for row in rows
        ]

    def _states(self, ids: Iterable[str]) -> dict[str, tuple[DeliveryStatus, str | None, datetime | None]]:
        states = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _IDS_PER_QUERY):
            chunk = unique[start : start + _IDS_PER_QUERY]
            rows = self._db.execute(
                "SELECT id, status, lease_owner, lease_until FROM deliveries "
                f"WHERE id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            states.update({row[0]: (DeliveryStatus(row[1]), row[2], opt_instant_of(row[3])) for row in rows})
        return states

    @_serialised
    def record_results(self, results: Sequence[DeliveryUpdate], worker: str, now: datetime) -> WriteOutcome:
        """Writes results with one guarded ``executemany``; when a guard refuses any, works out which."""
        rules.check_result_statuses(results)
        if not results:
            return WriteOutcome()
        lines = HistoryLines()
        temporary = DeliveryStatus.TEMPORARY_FAILURE
        now_us = micros_of(now)
        micros: dict[datetime, int] = {}  # the results of a batch mostly share their time
        rows = []
        for result in results:
            at, reason, status = result.at, result.reason, result.status
            if status is temporary:
                retry, settled = opt_micros_of(result.next_attempt_at), None
            else:
                retry, settled = None, micros.get(at)
                if settled is None:
                    settled = micros[at] = micros_of(at)
            value = status._value_
            line = lines.line(value, at, reason)
            rows.append((value, reason, retry, retry, line, settled, result.delivery, worker, now_us))
        return self._guarded_write(
            RESULT_SQL,
            results,
            rows,
            lambda state: rules.refuse_result(state[0], state[1], state[2], worker, now),
        )

    @_serialised
    def update_deliveries(self, updates: Sequence[DeliveryUpdate]) -> WriteOutcome:
        """Writes updates with one guarded ``executemany``; when a guard refuses any, works out which."""
        rules.check_update_statuses(updates)
        if not updates:
            return WriteOutcome()
        lines = HistoryLines()
        rows: list[tuple[Any, ...]] = [
            (
                update.status._value_,
                update.reason,
                opt_micros_of(update.not_before),
                cell_text(update.cell),
                lines.line(update.status._value_, update.at, update.reason),
                update.delivery,
            )
            for update in updates
        ]
        sql = UPDATE_OPEN_SQL
        if any(update.status in FINAL_STATUSES for update in updates):
            sql = UPDATE_SQL
            rows = [
                (*row, micros_of(update.at) if update.status in FINAL_STATUSES else None)
                for row, update in zip(rows, updates, strict=True)
            ]
        return self._guarded_write(sql, updates, rows, lambda state: rules.refuse_update(state[0]))

    def _guarded_write(
        self,
        sql: str,
        writes: Sequence[DeliveryUpdate],
        rows: list[tuple[Any, ...]],
        refusal: Callable[[tuple[DeliveryStatus | None, str | None, datetime | None]], str | None],
    ) -> WriteOutcome:
        """Runs ``sql`` over ``rows``, one per write; each row's WHERE clause guards it.

        When every guard passes (the usual case), that is one ``executemany``. Otherwise the attempt
        is rolled back and the batch redone: the current states are read, ``refusal`` applied to each
        write in order (a write changes the state the next one sees), and only the accepted rows run.
        """
        try:
            with self.transaction():
                if self._db.executemany(sql, rows).rowcount != len(rows):
                    raise _Mismatch
            return WriteOutcome(tuple(write.delivery for write in writes))
        except _Mismatch:
            pass
        with self.transaction():
            states = self._states(write.delivery for write in writes)
            accepted: list[int] = []
            refused: list[Refusal] = []
            for index, write in enumerate(writes):
                reason = refusal(states.get(write.delivery, (None, None, None)))
                if reason is not None:
                    refused.append(Refusal(write.delivery, reason))
                    continue
                accepted.append(index)
                states[write.delivery] = (write.status, None, None)
            self._db.executemany(sql, [rows[index] for index in accepted])
        return WriteOutcome(tuple(writes[index].delivery for index in accepted), tuple(refused))

    # --- timers ------------------------------------------------------------------------------------

    @_serialised
    def add_timers(self, timers: Sequence[Timer]) -> None:
        """Schedules timers, replacing any with the same id."""
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO timers VALUES (?, ?, ?, ?, ?)",
                ((t.id, t.message, t.kind, micros_of(t.due_at), t.subject) for t in timers),
            )

    @_serialised
    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        """Timers due by ``now`` in (due, id) order."""
        rows = self._db.execute(
            "SELECT id, message, kind, due_at, subject FROM timers "
            "WHERE due_at <= ? ORDER BY due_at, id LIMIT ?",
            (micros_of(now), max(limit, 0)),
        )
        return [timer_from_row(row) for row in rows]

    @_serialised
    def remove_timers(self, timer_ids: Iterable[str]) -> None:
        """Removes timers; unknown ids are ignored."""
        with self.transaction():
            self._db.executemany("DELETE FROM timers WHERE id = ?", ((timer_id,) for timer_id in timer_ids))

    @_serialised
    def timers_of(self, message_id: str, *, limit: int | None = None) -> list[Timer]:
        """A message's timers in (due, id) order."""
        rows = self._db.execute(
            "SELECT id, message, kind, due_at, subject FROM timers WHERE message = ? "
            "ORDER BY due_at, id LIMIT ?",
            (message_id, _sql_limit(limit)),
        )
        return [timer_from_row(row) for row in rows]

    @_serialised
    def next_due(self) -> datetime | None:
        """The earliest due time of a delivery or timer."""
        (earliest,) = self._db.execute(
            "SELECT min(due) FROM (SELECT min(due_at) AS due FROM deliveries WHERE due_at IS NOT NULL "
            "UNION ALL SELECT min(due_at) FROM timers)"
        ).fetchone()
        return opt_instant_of(earliest)

    # --- acknowledgements --------------------------------------------------------------------------

    @_serialised
    def record_acknowledgement(self, acknowledgement: Acknowledgement) -> bool:
        """Inserts the acknowledgement unless one is stored for the same (message, contact)."""
        with self.transaction():
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO acknowledgements VALUES (?, ?, ?, ?)",
                (
                    acknowledgement.message,
                    acknowledgement.contact,
                    micros_of(acknowledgement.at),
                    acknowledgement.via,
                ),
            )
            return cursor.rowcount == 1

    @_serialised
    def get_acknowledgement(self, message_id: str, contact_id: str) -> Acknowledgement | None:
        """The acknowledgement, or None."""
        row = self._db.execute(
            "SELECT message, contact, at, via FROM acknowledgements WHERE message = ? AND contact = ?",
            (message_id, contact_id),
        ).fetchone()
        return None if row is None else acknowledgement_from_row(row)

    @_serialised
    def acknowledgements(self, message_id: str) -> list[Acknowledgement]:
        """A message's acknowledgements by contact id."""
        rows = self._db.execute(
            "SELECT message, contact, at, via FROM acknowledgements WHERE message = ? ORDER BY contact",
            (message_id,),
        )
        return [acknowledgement_from_row(row) for row in rows]

    # --- audit log and settings --------------------------------------------------------------------

    @_serialised
    def append_audit(self, entries: Iterable[AuditEntry]) -> None:
        """Appends entries; SQLite numbers them (``seq`` is the rowid, never reused: no row is deleted)."""
        with self.transaction():
            self._db.executemany(
                "INSERT INTO audit_log (at, event, message, contact, delivery, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                ((micros_of(e.at), e.event, e.message, e.contact, e.delivery, e.detail) for e in entries),
            )

    @_serialised
    def audit_log(
        self,
        *,
        message_id: str | None = None,
        after: int = 0,
        events: Collection[str] | None = None,
        contact: str | None = None,
    ) -> list[AuditEntry]:
        """Entries after ``after``; of one message, of the given events and naming one contact, when
        given."""
        where = ["seq > ?"]
        parameters: list[object] = [after]
        if message_id is not None:
            where.append("message = ?")
            parameters.append(message_id)
        if events is not None:
            where.append(f"event IN ({', '.join('?' * len(events))})")
            parameters.extend(events)
        if contact is not None:
            where.append("contact = ?")
            parameters.append(contact)
        rows = self._db.execute(
            "SELECT seq, at, event, message, contact, delivery, detail FROM audit_log "
            f"WHERE {' AND '.join(where)} ORDER BY seq",
            parameters,
        )
        return [audit_from_row(row) for row in rows]

    @_serialised
    def get_setting(self, key: str) -> str | None:
        """A setting, or None."""
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @_serialised
    def set_setting(self, key: str, value: str) -> None:
        """Stores a setting."""
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    @_serialised
    def setting_or_default(self, key: str, default: str) -> str:
        """The stored setting, or ``default`` stored now (one transaction, so two processes agree)."""
        with self.transaction():
            self._db.execute("INSERT OR IGNORE INTO settings VALUES (?, ?)", (key, default))
            return str(self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()[0])


def sqlite_url(path: str | Path) -> str:
    """The store URL of a SQLite file (``cssc.db`` -> ``sqlite:///cssc.db``).

    ``%`` and ``?`` in the path are percent-encoded, so that any file name survives the trip.
    """
    return "sqlite:///" + str(path).replace("%", "%25").replace("?", "%3F")


def _open(url: str) -> SqliteStore:
    rest = url.removeprefix("sqlite://")
    if rest == url or not rest.startswith("/") or rest == "/":
        raise ValidationError.single("--store", f"expected sqlite:///PATH, got {url!r}")
    encoded, _, query = rest[1:].partition("?")
    path = unquote(encoded)
    if "\x00" in path:
        raise ValidationError.single("--store", "a file name cannot hold a NUL character")
    options = dict(parse_qsl(query, keep_blank_values=True))
    synchronous = options.pop("synchronous", "FULL")
    if options or synchronous.upper() not in {"FULL", "NORMAL"}:
        raise ValidationError.single(
            "--store", f"a sqlite store takes only synchronous=full or synchronous=normal, got {query!r}"
        )
    return SqliteStore(path, synchronous=synchronous)


@hookimpl
def cssc_storage_backends() -> Iterable[StorageBackend]:
    """The SQLite backend, ``sqlite:///PATH``."""
    return [
        StorageBackend(
            name="sqlite",
            schemes=("sqlite",),
            open=_open,
            description="one SQLite file (WAL, synchronous=FULL); the embedded default",
        )
    ]

"""The SQLite store's schema and the statements of its hot path.

The schema is the list of migrations, each applied once in a transaction and recorded in
``schema_migrations``; a file is brought up to :data:`SCHEMA_VERSION` when a store opens it. The
outbox's status writes are kept here beside the indexes they rely on.
"""

from __future__ import annotations

__all__ = [
    "CASCADE_SELECT",
    "CLAIM_SQL",
    "DELIVERY_COLUMNS",
    "MIGRATIONS",
    "REF_COLUMNS",
    "RESULT_SQL",
    "SCHEMA_VERSION",
    "UPDATE_OPEN_SQL",
    "UPDATE_SQL",
]

# The open statuses (records.OPEN_STATUSES), written out for the guards of status writes.
_OPEN = "('held', 'created', 'sending', 'temporary-failure')"

MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "network, messages, cascades, outbox, timers, acknowledgements, audit log, settings",
        (
            """CREATE TABLE network (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                regions TEXT NOT NULL,
                sectors TEXT NOT NULL)""",
            """CREATE TABLE organisations (
                id TEXT PRIMARY KEY,
                position INTEGER NOT NULL,
                document TEXT NOT NULL)""",
            """CREATE TABLE contacts (
                id TEXT PRIMARY KEY,
                organisation TEXT NOT NULL REFERENCES organisations (id),
                position INTEGER NOT NULL,
                document TEXT NOT NULL)""",
            "CREATE INDEX contacts_by_organisation ON contacts (organisation, position)",
            """CREATE TABLE roles (
                position INTEGER PRIMARY KEY,
                contact TEXT NOT NULL,
                document TEXT NOT NULL)""",
            "CREATE INDEX roles_by_contact ON roles (contact)",
            """CREATE TABLE messages (
                id TEXT PRIMARY KEY,
                sent INTEGER NOT NULL,
                status TEXT NOT NULL,
                type TEXT NOT NULL,
                refs TEXT NOT NULL,
                expires INTEGER,
                document TEXT NOT NULL)""",
            """CREATE TABLE cascades (
                message TEXT PRIMARY KEY REFERENCES messages (id),
                started_at INTEGER NOT NULL,
                channels TEXT NOT NULL,
                plan TEXT NOT NULL,
                finished_at INTEGER)""",
            """CREATE TABLE deliveries (
                id TEXT PRIMARY KEY,
                message TEXT NOT NULL REFERENCES messages (id),
                contact TEXT NOT NULL,
                channel TEXT NOT NULL,
                address_kind TEXT NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                cell TEXT,
                subject_contact TEXT,
                status TEXT NOT NULL,
                not_before INTEGER,
                next_attempt_at INTEGER,
                attempts INTEGER NOT NULL,
                lease_owner TEXT,
                lease_until INTEGER,
                reason TEXT,
                history TEXT NOT NULL,
                due_at INTEGER)""",
            "CREATE INDEX deliveries_due ON deliveries (due_at, id) WHERE due_at IS NOT NULL",
            f"CREATE INDEX deliveries_undelivered ON deliveries (message, id) WHERE status IN {_OPEN}",
            "CREATE INDEX deliveries_by_message ON deliveries (message, id)",
            """CREATE TABLE timers (
                id TEXT PRIMARY KEY,
                message TEXT NOT NULL,
                kind TEXT NOT NULL,
                due_at INTEGER NOT NULL,
                subject TEXT)""",
            "CREATE INDEX timers_due ON timers (due_at, id)",
            """CREATE TABLE acknowledgements (
                message TEXT NOT NULL,
                contact TEXT NOT NULL,
                at INTEGER NOT NULL,
                via TEXT,
                PRIMARY KEY (message, contact)) WITHOUT ROWID""",
            """CREATE TABLE audit_log (
                seq INTEGER PRIMARY KEY,
                at INTEGER NOT NULL,
                event TEXT NOT NULL,
                message TEXT,
                contact TEXT,
                delivery TEXT,
                detail TEXT NOT NULL)""",
            "CREATE INDEX audit_log_by_message ON audit_log (message, seq)",
            """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
            """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        ),
    ),
    (
        2,
        "timers by message, for timers_of",
        ("CREATE INDEX timers_by_message ON timers (message, due_at, id)",),
    ),
    (
        3,
        "audit entries by message, event and contact: settled cells, escalations already sent",
        ("CREATE INDEX audit_log_by_event ON audit_log (message, event, contact)",),
    ),
    (
        4,
        "delivery indexes in write order, so that a cascade's rows are indexed side by side",
        # Ids are hashes: indexed by (message, id), a cascade's copies landed at random places in
        # three indexes, and every batch of status writes dirtied a page per row in each. Keyed by
        # the rowid (write order) instead, a cell's copies written together stay together.
        (
            "DROP INDEX deliveries_due",
            "DROP INDEX deliveries_undelivered",
            "DROP INDEX deliveries_by_message",
            "CREATE INDEX deliveries_due ON deliveries (due_at) WHERE due_at IS NOT NULL",
            f"CREATE INDEX deliveries_undelivered ON deliveries (message) WHERE status IN {_OPEN}",
            "CREATE INDEX deliveries_by_message ON deliveries (message)",
        ),
    ),
    (
        5,
        "settled_at: the undelivered index keyed on when a delivery settled rather than on its status",
        # Indexed on the open statuses, every status write (a claim, a release) rewrote the row's
        # entry in deliveries_undelivered although the row stayed open. SQLite leaves an index alone
        # when an UPDATE sets none of the columns it reads: settled_at is set only by the writes
        # that can settle a delivery, so claims and releases no longer touch the index.
        (
            "ALTER TABLE deliveries ADD COLUMN settled_at INTEGER",
            # A settled delivery's last history line (a JSON array [status, at, reason]) says when.
            "UPDATE deliveries SET settled_at = json_extract("
            "'[' || replace(rtrim(history, char(10)), char(10), ',') || ']', '$[#-1][1]') "
            f"WHERE status NOT IN {_OPEN}",
            "DROP INDEX deliveries_undelivered",
            "CREATE INDEX deliveries_undelivered ON deliveries (message) WHERE settled_at IS NULL",
        ),
    ),
    (
        6,
        "organisations by position, so that reading the network back sorts nothing",
        # Without it, every read of the network sorted all the organisations' documents (28 MB at
        # 100,000 organisations) in a temporary b-tree before the first could be decoded.
        ("CREATE INDEX organisations_by_position ON organisations (position)",),
    ),
    (
        7,
        "cascade plans in a table of their own, so that finishing a cascade rewrites a small row",
        # SQLite rewrites the whole row on an UPDATE. With the plan in it (29 MB of JSON at 100,000
        # organisations), marking a cascade finished wrote 14,000 pages to the log: the plan's old
        # pages zeroed (secure_delete) and a new copy of it, for one timestamp.
        (
            """CREATE TABLE cascade_plans (
                message TEXT PRIMARY KEY REFERENCES messages (id),
                plan TEXT NOT NULL)""",
            "INSERT INTO cascade_plans SELECT message, plan FROM cascades",
            """CREATE TABLE cascades_without_plans (
                message TEXT PRIMARY KEY REFERENCES messages (id),
                started_at INTEGER NOT NULL,
                channels TEXT NOT NULL,
                finished_at INTEGER)""",
            "INSERT INTO cascades_without_plans "
            "SELECT message, started_at, channels, finished_at FROM cascades",
            "DROP TABLE cascades",
            "ALTER TABLE cascades_without_plans RENAME TO cascades",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]
"""The schema version the SQLite store creates and reads."""

DELIVERY_COLUMNS = (
    "id, message, contact, channel, address_kind, idempotency_key, kind, cell, subject_contact, status, "
    "not_before, next_attempt_at, attempts, lease_owner, lease_until, reason, history"
)

CASCADE_SELECT = (
    "SELECT message, started_at, channels, plan, finished_at FROM cascades JOIN cascade_plans USING (message)"
)
"""A cascade's row with its plan, which lies in a table of its own (migration 7)."""

REF_COLUMNS = "id, contact, channel, kind, status"  # DeliveryRef's fields, in its order

# A delivery's history is JSON lines, one ``[status, at, reason]`` array per change, so that a status
# write appends with a plain concatenation instead of rewriting a JSON document.
RESULT_SQL = """UPDATE deliveries SET status = ?, reason = ?, next_attempt_at = ?, due_at = ?,
    lease_owner = NULL, lease_until = NULL, history = history || ?, settled_at = ?
    WHERE id = ? AND status = 'sending' AND lease_owner = ? AND lease_until > ?"""

_UPDATE_TEMPLATE = f"""UPDATE deliveries SET status = ?1, reason = ?2, not_before = coalesce(?3, not_before),
    cell = coalesce(?4, cell), next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL,
    due_at = CASE WHEN ?1 = 'created' THEN coalesce(?3, not_before, 0) END,
    history = history || ?5{{settled}}
    WHERE id = ?6 AND status IN {_OPEN}"""

UPDATE_OPEN_SQL = _UPDATE_TEMPLATE.format(settled="")
"""Updates that leave every delivery open (a release, a take-back): settled_at stays NULL, and with
it the row's entry in ``deliveries_undelivered``."""

UPDATE_SQL = _UPDATE_TEMPLATE.format(settled=", settled_at = ?7")
"""Updates of which some may settle a delivery (a cancel, an expiry)."""

CLAIM_SQL = """UPDATE deliveries SET status = 'sending', attempts = attempts + 1, lease_owner = ?,
    lease_until = ?, due_at = ?, history = history || ?
    WHERE rowid = ?"""
"""Addressed by rowid, which the claim's own select read: the row is found in the table itself rather
than through the index on the delivery id (a hash, so each lookup lands somewhere new)."""

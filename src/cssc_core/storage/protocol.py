"""The :class:`Store` protocol: everything the product keeps, behind one interface.

A storage backend is a plugin (hook ``cssc_storage_backends``) that opens stores of this shape.
:mod:`cssc_core.storage.memory` is the reference implementation; :mod:`cssc_core.storage.sqlite` the
embedded default; :mod:`cssc_core.testing` holds the contract suite every backend must pass.

Stores take the time as an argument wherever it matters and never read a clock, so that a replay
gives the same rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

from cssc_core.domain.models import Contact, Organisation
from cssc_core.domain.network import Network
from cssc_core.storage.records import (
    Acknowledgement,
    AuditEntry,
    CascadeRecord,
    Delivery,
    DeliveryRef,
    DeliveryUpdate,
    MessageRecord,
    Timer,
    WriteOutcome,
)

__all__ = ["Store"]


@runtime_checkable
class Store(Protocol):
    """A place to keep the network, messages, cascades, the delivery outbox and the audit log.

    Every method is atomic on its own. :meth:`transaction` groups several calls into one
    all-or-nothing unit; calls made inside it join it.
    """

    # --- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Releases the store's resources; the store is not used afterwards."""
        ...

    def transaction(self, *, durable: bool = True) -> AbstractContextManager[None]:
        """Groups the calls made inside the ``with`` block into one transaction.

        When the block raises, nothing it wrote is kept and the exception propagates. Transactions
        nest: an inner block joins the outer one, and when it raises, only what it wrote is undone
        (a savepoint); the outer block goes on.

        Args:
            durable: False lets the store commit without waiting for the disk, for writes that a
                crash may lose because they are done again (the dispatcher's claims and results:
                the copy is sent again). What it commits must still be all or nothing, and the next
                durable commit makes it durable too. A store with one way of committing ignores
                it; only the outermost block's value counts.
        """
        ...

    # --- the network -------------------------------------------------------------------------------

    def load_network(self) -> Network | None:
        """The stored network, or None when none was ever stored."""
        ...

    def network_revision(self) -> str | None:
        """A token that changes whenever the stored network changes.

        Every write of the network (``replace_network``, ``upsert_organisations``,
        ``erase_contact``) gives a new token, also when another process made it, so that a caller
        holding a network it loaded can tell cheaply whether to read it again. None means the
        backend cannot tell, and callers read the network every time they need it.
        """
        ...

    def replace_network(self, network: Network) -> None:
        """Stores ``network`` in place of the stored one, all or nothing."""
        ...

    def upsert_organisations(self, organisations: Iterable[Organisation]) -> Network:
        """Adds organisations, or replaces those with the same id (with their contacts).

        New organisations go after the existing ones. The result must be a valid network; when it is
        not, :class:`~cssc_core.errors.ValidationError` is raised and nothing is written.

        Returns:
            The network as stored afterwards.
        """
        ...

    def erase_contact(self, contact_id: str, at: datetime) -> Contact:
        """Erases a contact's personal data, leaving a pseudonymous tombstone.

        The contact keeps its id (so deliveries, acknowledgements and statistics still add up) but
        loses its name, addresses, channels and preferences, and its roles are removed. Backends
        that keep files also scrub the freed space. An audit entry ``contact-erased`` is appended.

        Raises:
            NotFoundError: when the network has no such contact.

        Returns:
            The tombstone.
        """
        ...

    # --- messages and cascades -------------------------------------------------------------------

    def get_message(self, message_id: str) -> MessageRecord | None:
        """The message with this id, or None."""
        ...

    def messages(self) -> list[MessageRecord]:
        """Every stored message, ordered by ``sent`` then id."""
        ...

    def start_cascade(
        self, cascade: CascadeRecord, message: MessageRecord, deliveries: Sequence[Delivery]
    ) -> None:
        """Stores a message, its cascade and every planned delivery in one transaction.

        Raises:
            ConflictError: when the message id, a delivery id or an idempotency key is already
                stored; nothing is written then.
        """
        ...

    def get_cascade(self, message_id: str) -> CascadeRecord | None:
        """The cascade of a message, or None."""
        ...

    def cascades(self, *, unfinished: bool = False, since: datetime | None = None) -> list[CascadeRecord]:
        """The cascades ordered by start time then message id.

        Args:
            unfinished: Only the running ones.
            since: Only those started at or after this time (both filters apply when both are given).
        """
        ...

    def finish_cascade(self, message_id: str, at: datetime) -> None:
        """Marks a cascade finished (nothing left to send, no timer left).

        Raises:
            NotFoundError: when there is no such cascade.
        """
        ...

    # --- the delivery outbox ---------------------------------------------------------------------

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Adds deliveries (later channels, escalation notices) in one transaction.

        Raises:
            ConflictError: when a delivery id or idempotency key is already stored.
            NotFoundError: when a delivery's message is not stored.
        """
        ...

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        """The delivery with this id, or None."""
        ...

    def get_deliveries(self, delivery_ids: Iterable[str]) -> list[Delivery]:
        """The deliveries with these ids that exist, ordered by id (ids not found are left out)."""
        ...

    def delivery_refs(self, delivery_ids: Iterable[str]) -> list[DeliveryRef]:
        """:meth:`get_deliveries` in brief: the refs of those that exist, ordered by id (a release
        reads its cell's held copies this way; it needs no more of them than a ref holds)."""
        ...

    def deliveries_of(self, message_id: str) -> list[Delivery]:
        """Every delivery of a message, ordered by id."""
        ...

    def undelivered(self, message_id: str, *, limit: int | None = None) -> list[DeliveryRef]:
        """The deliveries of a message not yet in a final status, in the order they were written
        (an indexed lookup); the first ``limit`` of them when given (``limit=1`` asks whether there
        is any)."""
        ...

    def claim_due(self, now: datetime, limit: int, lease_s: float, worker: str) -> list[Delivery]:
        """Claims up to ``limit`` deliveries due by ``now`` for ``worker``, in due order.

        Due are ``created`` deliveries at their ``not_before``, temporary failures at their
        ``next_attempt_at``, and ``sending`` ones whose lease has lapsed. Each claimed delivery
        becomes ``sending`` with a lease to ``worker`` until ``now + lease_s`` and one more attempt.
        Claims are atomic: two workers never hold the same lease.

        Returns:
            The claimed deliveries as they are after the claim, ordered by due time, then in the
            order they were written (a cascade's copies go in the order it wrote them).
        """
        ...

    def record_results(self, results: Sequence[DeliveryUpdate], worker: str, now: datetime) -> WriteOutcome:
        """Records what happened to claimed deliveries, in one transaction.

        Each status must be one of :data:`~cssc_core.storage.records.RESULT_STATUSES`. A result is
        refused (and reported in the outcome, not raised) unless its delivery is ``sending`` under a
        lease held by ``worker`` that has not lapsed at ``now``; a final status is never overwritten.
        """
        ...

    def update_deliveries(self, updates: Sequence[DeliveryUpdate]) -> WriteOutcome:
        """Sets statuses that need no lease (releases, expiry, cancels), in one transaction.

        Each status must be one of :data:`~cssc_core.storage.records.UPDATE_STATUSES`. The lease, if
        any, is dropped, so a worker still sending finds its result refused. Updates to deliveries in
        a final status, and to unknown ids, are refused and reported in the outcome.
        """
        ...

    # --- timers ------------------------------------------------------------------------------------

    def add_timers(self, timers: Sequence[Timer]) -> None:
        """Schedules timers; one with an id already stored replaces it."""
        ...

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        """Up to ``limit`` timers due by ``now``, ordered by (due time, id)."""
        ...

    def remove_timers(self, timer_ids: Iterable[str]) -> None:
        """Removes timers (done or no longer needed); unknown ids are ignored."""
        ...

    def timers_of(self, message_id: str, *, limit: int | None = None) -> list[Timer]:
        """The timers of one message still to fall due, ordered by (due time, id); the first
        ``limit`` of them when given."""
        ...

    def next_due(self) -> datetime | None:
        """The earliest time at which a delivery or a timer falls due, or None when none will."""
        ...

    # --- acknowledgements ------------------------------------------------------------------------

    def record_acknowledgement(self, acknowledgement: Acknowledgement) -> bool:
        """Records an acknowledgement; returns False (and changes nothing) when one is already stored
        for the same message and contact."""
        ...

    def get_acknowledgement(self, message_id: str, contact_id: str) -> Acknowledgement | None:
        """The acknowledgement of a message by a contact, or None."""
        ...

    def acknowledgements(self, message_id: str) -> list[Acknowledgement]:
        """The acknowledgements of a message, ordered by contact id."""
        ...

    # --- audit log and settings ------------------------------------------------------------------

    def append_audit(self, entries: Iterable[AuditEntry]) -> None:
        """Appends entries to the audit log; the store numbers them. The log is never rewritten."""
        ...

    def audit_log(
        self,
        *,
        message_id: str | None = None,
        after: int = 0,
        events: Collection[str] | None = None,
        contact: str | None = None,
    ) -> list[AuditEntry]:
        """Audit entries with ``seq`` greater than ``after``, in order; of one message, of the given
        kinds of event and naming one contact, when given (one message's events of a kind, and
        those naming a contact, are indexed lookups)."""
        ...

    def get_setting(self, key: str) -> str | None:
        """A stored setting (the acknowledgement signing key, say), or None."""
        ...

    def set_setting(self, key: str, value: str) -> None:
        """Stores a setting, replacing any previous value."""
        ...

    def setting_or_default(self, key: str, default: str) -> str:
        """The stored setting; when there is none, stores ``default`` and returns it (atomically)."""
        ...

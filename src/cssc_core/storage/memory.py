"""The in-memory store: the reference every other backend is tested against, and a built-in plugin.

Its rule is to be obviously right rather than fast: plain dictionaries of immutable records, each
method checking everything before it changes anything. URL: ``memory://`` (a new, empty store).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

import attrs

from cssc_core.domain.models import Contact, Organisation
from cssc_core.domain.network import Network
from cssc_core.errors import ConflictError, NotFoundError, ValidationError
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import StorageBackend
from cssc_core.storage import rules
from cssc_core.storage.records import (
    Acknowledgement,
    AuditEntry,
    CascadeRecord,
    Delivery,
    DeliveryRef,
    DeliveryStatus,
    DeliveryUpdate,
    MessageRecord,
    Refusal,
    StatusChange,
    Timer,
    WriteOutcome,
)

__all__ = ["MemoryStore", "cssc_storage_backends"]


@attrs.define
class _State:
    network: Network | None = None
    messages: dict[str, MessageRecord] = attrs.Factory(dict)
    cascades: dict[str, CascadeRecord] = attrs.Factory(dict)
    deliveries: dict[str, Delivery] = attrs.Factory(dict)
    keys: set[str] = attrs.Factory(set)
    timers: dict[str, Timer] = attrs.Factory(dict)
    acknowledgements: dict[tuple[str, str], Acknowledgement] = attrs.Factory(dict)
    audit: list[AuditEntry] = attrs.Factory(list)
    settings: dict[str, str] = attrs.Factory(dict)
    network_revision: int = 0


class MemoryStore:
    """A :class:`~cssc_core.storage.protocol.Store` held in memory, lost when the process ends."""

    def __init__(self) -> None:
        self._state = _State()

    def __repr__(self) -> str:
        return f"MemoryStore(deliveries={len(self._state.deliveries)})"

    def close(self) -> None:
        """Nothing to release."""

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """Groups calls; on an exception the state goes back to what it was when this block began
        (``durable`` means nothing to a store in memory)."""
        saved = self._snapshot()
        try:
            yield
        except BaseException:
            self._state = saved
            raise

    def _snapshot(self) -> _State:
        # Records are immutable, so copying the containers is a full snapshot.
        saved = copy.copy(self._state)
        for field in attrs.fields(_State):
            value = getattr(saved, field.name)
            if isinstance(value, dict | set | list):
                setattr(saved, field.name, copy.copy(value))
        return saved

    # --- the network -------------------------------------------------------------------------------

    def load_network(self) -> Network | None:
        """The stored network, or None."""
        return self._state.network

    def network_revision(self) -> str | None:
        """Counts the writes of the network."""
        return str(self._state.network_revision)

    def _set_network(self, network: Network) -> None:
        self._state.network = network
        self._state.network_revision += 1

    def replace_network(self, network: Network) -> None:
        """Stores ``network`` in place of the stored one."""
        self._set_network(network)

    def upsert_organisations(self, organisations: Iterable[Organisation]) -> Network:
        """Adds or replaces organisations by id; raises ValidationError (writing nothing) when invalid."""
        network = rules.upserted(self._state.network, organisations)
        self._set_network(network)
        return network

    def erase_contact(self, contact_id: str, at: datetime) -> Contact:
        """Replaces a contact with a tombstone and drops its roles."""
        if self._state.network is None:
            raise NotFoundError(f"unknown contact {contact_id!r}")
        network, grave = rules.tombstone(self._state.network, contact_id)
        entry = AuditEntry(at=at, event="contact-erased", contact=contact_id)
        self._set_network(network)
        self.append_audit([entry])
        return grave

    # --- messages and cascades ---------------------------------------------------------------------

    def get_message(self, message_id: str) -> MessageRecord | None:
        """The message, or None."""
        return self._state.messages.get(message_id)

    def messages(self) -> list[MessageRecord]:
        """Every message by (sent, id)."""
        return sorted(self._state.messages.values(), key=lambda message: (message.sent, message.id))

    def start_cascade(
        self, cascade: CascadeRecord, message: MessageRecord, deliveries: Sequence[Delivery]
    ) -> None:
        """Stores the message, its cascade and its deliveries, or nothing."""
        if cascade.message != message.id:
            raise ValueError(f"the cascade is of {cascade.message!r}, the message is {message.id!r}")
        if any(delivery.message != message.id for delivery in deliveries):
            raise NotFoundError("a delivery of a cascade is of another message")
        if message.id in self._state.messages:
            raise ConflictError(f"message {message.id!r} is already stored")
        self._check_new_deliveries(deliveries, {message.id})
        self._state.messages[message.id] = message
        self._state.cascades[message.id] = cascade
        self._insert(deliveries)

    def get_cascade(self, message_id: str) -> CascadeRecord | None:
        """The cascade, or None."""
        return self._state.cascades.get(message_id)

    def cascades(self, *, unfinished: bool = False, since: datetime | None = None) -> list[CascadeRecord]:
        """Cascades by (start, message id)."""
        found = (
            c
            for c in self._state.cascades.values()
            if not (unfinished and c.is_finished) and (since is None or c.started_at >= since)
        )
        return sorted(found, key=lambda cascade: (cascade.started_at, cascade.message))

    def finish_cascade(self, message_id: str, at: datetime) -> None:
        """Marks the cascade finished."""
        cascade = self._state.cascades.get(message_id)
        if cascade is None:
            raise NotFoundError(f"unknown cascade {message_id!r}")
        self._state.cascades[message_id] = attrs.evolve(cascade, finished_at=at)

    # --- the delivery outbox -----------------------------------------------------------------------

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Adds deliveries, all or none."""
        self._check_new_deliveries(deliveries, set(self._state.messages))
        self._insert(deliveries)

    def _check_new_deliveries(self, deliveries: Sequence[Delivery], messages: set[str]) -> None:
        ids: set[str] = set()
        keys: set[str] = set()
        for delivery in deliveries:
            if delivery.message not in messages:
                raise NotFoundError(f"delivery {delivery.id!r} is of unknown message {delivery.message!r}")
        for delivery in deliveries:
            if delivery.id in self._state.deliveries or delivery.id in ids:
                raise ConflictError(f"delivery {delivery.id!r} is already stored")
            if delivery.idempotency_key in self._state.keys or delivery.idempotency_key in keys:
                raise ConflictError(f"idempotency key {delivery.idempotency_key!r} is already stored")
            ids.add(delivery.id)
            keys.add(delivery.idempotency_key)

    def _insert(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            self._state.deliveries[delivery.id] = delivery
            self._state.keys.add(delivery.idempotency_key)

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        """The delivery, or None."""
        return self._state.deliveries.get(delivery_id)

    def get_deliveries(self, delivery_ids: Iterable[str]) -> list[Delivery]:
        """The deliveries with these ids, by id."""
        found = (self._state.deliveries.get(delivery_id) for delivery_id in set(delivery_ids))
        return sorted((d for d in found if d is not None), key=lambda d: d.id)

    def delivery_refs(self, delivery_ids: Iterable[str]) -> list[DeliveryRef]:
        """The refs of the deliveries with these ids, by id."""
        return [delivery.ref() for delivery in self.get_deliveries(delivery_ids)]

    def deliveries_of(self, message_id: str) -> list[Delivery]:
        """A message's deliveries by id."""
        return sorted(
            (d for d in self._state.deliveries.values() if d.message == message_id), key=lambda d: d.id
        )

    def undelivered(self, message_id: str, *, limit: int | None = None) -> list[DeliveryRef]:
        """A message's deliveries not in a final status, in the order they were written."""
        return [
            d.ref()
            for d in self._state.deliveries.values()
            if d.message == message_id and not d.status.is_final
        ][:limit]

    def claim_due(self, now: datetime, limit: int, lease_s: float, worker: str) -> list[Delivery]:
        """Claims what is due, by due time, then in the order written (the dict keeps it)."""
        due = sorted(
            (d.due_at, position, d.id)
            for position, d in enumerate(self._state.deliveries.values())
            if d.due_at is not None and d.due_at <= now
        )
        until = now + timedelta(seconds=lease_s)
        claimed = []
        for _, _, delivery_id in due[: max(limit, 0)]:
            delivery = attrs.evolve(
                self._state.deliveries[delivery_id],
                status=DeliveryStatus.SENDING,
                attempts=self._state.deliveries[delivery_id].attempts + 1,
                lease_owner=worker,
                lease_until=until,
                history=(
                    *self._state.deliveries[delivery_id].history,
                    StatusChange(DeliveryStatus.SENDING, now),
                ),
            )
            self._state.deliveries[delivery_id] = delivery
            claimed.append(delivery)
        return claimed

    def record_results(self, results: Sequence[DeliveryUpdate], worker: str, now: datetime) -> WriteOutcome:
        """Records results under a live lease of ``worker``; refuses the rest."""
        rules.check_result_statuses(results)
        applied: list[str] = []
        refused: list[Refusal] = []
        for result in results:
            current = self._state.deliveries.get(result.delivery)
            reason = rules.refuse_result(
                current.status if current else None,
                current.lease_owner if current else None,
                current.lease_until if current else None,
                worker,
                now,
            )
            if current is None or reason is not None:
                refused.append(Refusal(result.delivery, reason or "unknown delivery"))
                continue
            retry = result.next_attempt_at if result.status is DeliveryStatus.TEMPORARY_FAILURE else None
            self._state.deliveries[result.delivery] = attrs.evolve(
                current,
                status=result.status,
                reason=result.reason,
                next_attempt_at=retry,
                lease_owner=None,
                lease_until=None,
                history=(*current.history, StatusChange(result.status, result.at, result.reason)),
            )
            applied.append(result.delivery)
        return WriteOutcome(tuple(applied), tuple(refused))

    def update_deliveries(self, updates: Sequence[DeliveryUpdate]) -> WriteOutcome:
        """Sets lease-free statuses; refuses final and unknown deliveries."""
        rules.check_update_statuses(updates)
        applied: list[str] = []
        refused: list[Refusal] = []
        for update in updates:
            current = self._state.deliveries.get(update.delivery)
            reason = rules.refuse_update(current.status if current else None)
            if current is None or reason is not None:
                refused.append(Refusal(update.delivery, reason or "unknown delivery"))
                continue
            self._state.deliveries[update.delivery] = attrs.evolve(
                current,
                status=update.status,
                reason=update.reason,
                not_before=update.not_before or current.not_before,
                cell=update.cell or current.cell,
                next_attempt_at=None,
                lease_owner=None,
                lease_until=None,
                history=(*current.history, StatusChange(update.status, update.at, update.reason)),
            )
            applied.append(update.delivery)
        return WriteOutcome(tuple(applied), tuple(refused))

    # --- timers ------------------------------------------------------------------------------------

    def add_timers(self, timers: Sequence[Timer]) -> None:
        """Schedules timers, replacing any with the same id."""
        for timer in timers:
            self._state.timers[timer.id] = timer

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        """Timers due by ``now`` in (due, id) order."""
        due = sorted(
            (t for t in self._state.timers.values() if t.due_at <= now), key=lambda t: (t.due_at, t.id)
        )
        return due[: max(limit, 0)]

    def remove_timers(self, timer_ids: Iterable[str]) -> None:
        """Removes timers; unknown ids are ignored."""
        for timer_id in timer_ids:
            self._state.timers.pop(timer_id, None)

    def timers_of(self, message_id: str, *, limit: int | None = None) -> list[Timer]:
        """A message's timers in (due, id) order."""
        found = (t for t in self._state.timers.values() if t.message == message_id)
        return sorted(found, key=lambda t: (t.due_at, t.id))[:limit]

    def next_due(self) -> datetime | None:
        """The earliest due time of a delivery or timer."""
        times = [d.due_at for d in self._state.deliveries.values() if d.due_at is not None]
        times.extend(timer.due_at for timer in self._state.timers.values())
        return min(times, default=None)

    # --- acknowledgements --------------------------------------------------------------------------

    def record_acknowledgement(self, acknowledgement: Acknowledgement) -> bool:
        """Records the first acknowledgement per (message, contact)."""
        key = (acknowledgement.message, acknowledgement.contact)
        if key in self._state.acknowledgements:
            return False
        self._state.acknowledgements[key] = acknowledgement
        return True

    def get_acknowledgement(self, message_id: str, contact_id: str) -> Acknowledgement | None:
        """The acknowledgement, or None."""
        return self._state.acknowledgements.get((message_id, contact_id))

    def acknowledgements(self, message_id: str) -> list[Acknowledgement]:
        """A message's acknowledgements by contact id."""
        found = (a for (message, _), a in self._state.acknowledgements.items() if message == message_id)
        return sorted(found, key=lambda acknowledgement: acknowledgement.contact)

    # --- audit log and settings --------------------------------------------------------------------

    def append_audit(self, entries: Iterable[AuditEntry]) -> None:
        """Appends entries, numbering them from 1."""
        for entry in entries:
            self._state.audit.append(attrs.evolve(entry, seq=len(self._state.audit) + 1))

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
        return [
            entry
            for entry in self._state.audit[max(after, 0) :]
            if (message_id is None or entry.message == message_id)
            and (events is None or entry.event in events)
            and (contact is None or entry.contact == contact)
        ]

    def get_setting(self, key: str) -> str | None:
        """A setting, or None."""
        return self._state.settings.get(key)

    def set_setting(self, key: str, value: str) -> None:
        """Stores a setting."""
        self._state.settings[key] = value

    def setting_or_default(self, key: str, default: str) -> str:
        """The stored setting, or ``default`` stored now."""
        return self._state.settings.setdefault(key, default)


def _open(url: str) -> MemoryStore:
    if url.rstrip("/").lower() != "memory:":
        raise ValidationError.single("--store", f"a memory store takes no path or options: {url!r}")
    return MemoryStore()


@hookimpl
def cssc_storage_backends() -> Iterable[StorageBackend]:
    """The in-memory backend, ``memory://``."""
    return [
        StorageBackend(
            name="memory",
            schemes=("memory",),
            open=_open,
            description="in memory, gone when the process ends; the reference implementation",
        )
    ]

"""The records a store keeps: messages, cascades, deliveries, acknowledgements, timers, audit entries.

Every record is an immutable :func:`attrs.frozen` value; times are timezone-aware and kept in UTC
(a naive datetime is refused). A store returns records equal to those it was given.

The delivery status lifecycle is that of SPEC.md section 7::

    held -> created -> sending -> delivered | temporary-failure | permanent-failure | technical-failure
    (or expired, cancelled)

``delivered``, ``permanent-failure``, ``technical-failure``, ``expired`` and ``cancelled`` are final:
a store never overwrites them.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import attrs

from cssc_core.domain.clock import require_aware
from cssc_core.domain.network import Cell

__all__ = [
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "RESULT_STATUSES",
    "UPDATE_STATUSES",
    "Acknowledgement",
    "AuditEntry",
    "CascadeRecord",
    "Delivery",
    "DeliveryKind",
    "DeliveryRef",
    "DeliveryStatus",
    "DeliveryUpdate",
    "MessageRecord",
    "Refusal",
    "RelayRelease",
    "StatusChange",
    "Timer",
    "WriteOutcome",
    "kind_of",
    "make_idempotency_key",
    "redact",
    "status_of",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The due time of a ``created`` delivery without ``not_before``: due at once."""


class DeliveryStatus(enum.StrEnum):
    """Where a delivery stands (SPEC.md section 7, after GOV.UK Notify)."""

    HELD = "held"
    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    TECHNICAL_FAILURE = "technical-failure"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """Final statuses are never overwritten."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.PERMANENT_FAILURE,
        DeliveryStatus.TECHNICAL_FAILURE,
        DeliveryStatus.EXPIRED,
        DeliveryStatus.CANCELLED,
    }
)
"""Statuses a store never overwrites."""

OPEN_STATUSES = frozenset(DeliveryStatus) - FINAL_STATUSES
"""Statuses of deliveries not yet done with: held, created, sending, temporary-failure."""

RESULT_STATUSES = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.TEMPORARY_FAILURE,
        DeliveryStatus.PERMANENT_FAILURE,
        DeliveryStatus.TECHNICAL_FAILURE,
    }
)
"""Statuses a worker records for the deliveries it claimed (:meth:`Store.record_results`)."""

UPDATE_STATUSES = frozenset(
    {
        DeliveryStatus.HELD,
        DeliveryStatus.CREATED,
        DeliveryStatus.PERMANENT_FAILURE,
        DeliveryStatus.TECHNICAL_FAILURE,
        DeliveryStatus.EXPIRED,
        DeliveryStatus.CANCELLED,
    }
)
"""Statuses set without a lease (:meth:`Store.update_deliveries`): releases, expiry, cancels."""


class DeliveryKind(enum.StrEnum):
    """What a delivery carries."""

    MESSAGE = "message"
    RELAY_REQUEST = "relay-request"
    ESCALATION = "escalation"


def _utc(value: datetime) -> datetime:
    return require_aware(value)


# Records are made by the hundred thousand on a national cascade, almost always from values of the
# right type already: these converters return those as they are, and only convert the rest.


def status_of(value: DeliveryStatus | str) -> DeliveryStatus:
    """``value`` as a :class:`DeliveryStatus` (returned as it is when it is one)."""
    return value if type(value) is DeliveryStatus else DeliveryStatus(value)


def kind_of(value: DeliveryKind | str) -> DeliveryKind:
    """``value`` as a :class:`DeliveryKind` (returned as it is when it is one)."""
    return value if type(value) is DeliveryKind else DeliveryKind(value)


def _optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else require_aware(value)


def _cell(value: Cell | list[str] | None) -> Cell | None:
    if value is None:
        return None
    region, sector = value
    return (region, sector)


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _changes(value: Iterable[StatusChange]) -> tuple[StatusChange, ...]:
    return tuple(value)


def make_idempotency_key(
    message: str,
    contact: str,
    channel: str,
    kind: DeliveryKind | str = DeliveryKind.MESSAGE,
    *,
    cell: Cell | None = None,
    subject_contact: str | None = None,
) -> str:
    """The idempotency key of a delivery, derived from its identity (SPEC.md section 7).

    The same message, contact, channel and kind (and, for a relay request, the cell; for an
    escalation notice, the unacknowledged contact) always give the same key, so a channel can drop
    a copy it has already accepted.
    """
    identity = [message, contact, channel, str(kind), "/".join(cell) if cell else "", subject_contact or ""]
    joined = "".join(identity)
    # Printable ASCII other than the quote and the backslash is what json.dumps writes as it is:
    # for such text the list is written without its machinery (keys are made for every delivery
    # of a national cascade, and the bytes hashed must never change). String methods rather than a
    # pattern per field: a fifth of the time.
    if joined.isascii() and joined.isprintable() and '"' not in joined and "\\" not in joined:
        text = '["' + '", "'.join(identity) + '"]'
    else:
        text = json.dumps(identity)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@attrs.frozen
class StatusChange:
    """One step of a delivery's history.

    Attributes:
        status: The status it moved to.
        at: When.
        reason: Why, for failures, cancels and refusals; never an address or message text.
    """

    status: DeliveryStatus = attrs.field(converter=status_of)
    at: datetime = attrs.field(converter=_utc)
    reason: str | None = None


@attrs.frozen
class Delivery:
    """One message to one contact over one channel: a durable outbox row.

    Attributes:
        id: Unique in the store.
        message: The message id.
        contact: The receiving contact's id.
        channel: The channel name (``email``, ``sms``, a region's ``pager``...).
        address_kind: Which contact field the channel delivers to (``email``, ``phone``, ``webhook``);
            the address itself is looked up at send time and never stored here.
        idempotency_key: Derived from the delivery's identity (:func:`make_idempotency_key`); unique.
        kind: A message copy, a relay request to an ISL, or an escalation notice.
        cell: For a relay request, the cell it asks to relay; for a copy released through an ISL,
            the cell that released it; else None.
        subject_contact: For an escalation notice, the contact who did not acknowledge.
        status: Where it stands.
        not_before: When a ``created`` delivery falls due (after quiet hours, say); None means at once.
        next_attempt_at: When a ``temporary-failure`` is retried.
        attempts: How many times it has been claimed for sending.
        lease_owner: The worker that claimed it, while ``sending``.
        lease_until: When that claim lapses and another worker may claim it.
        reason: Why it last failed or was refused.
        history: Every status change, oldest first.
    """

    id: str
    message: str
    contact: str
    channel: str
    address_kind: str
    idempotency_key: str
    kind: DeliveryKind = attrs.field(default=DeliveryKind.MESSAGE, converter=kind_of)
    cell: Cell | None = attrs.field(default=None, converter=_cell)
    subject_contact: str | None = None
    status: DeliveryStatus = attrs.field(default=DeliveryStatus.CREATED, converter=status_of)
    not_before: datetime | None = attrs.field(default=None, converter=_optional_utc)
    next_attempt_at: datetime | None = attrs.field(default=None, converter=_optional_utc)
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = attrs.field(default=None, converter=_optional_utc)
    reason: str | None = None
    history: tuple[StatusChange, ...] = attrs.field(default=(), converter=_changes)

    @property
    def due_at(self) -> datetime | None:
        """When a worker may claim it, or None when nothing will make it due by itself.

        A ``created`` delivery is due at ``not_before`` (at once without one), a temporary failure at
        ``next_attempt_at``, and a ``sending`` one when its lease lapses (its worker is presumed dead).
        """
        if self.status is DeliveryStatus.CREATED:
            return self.not_before or EPOCH
        if self.status is DeliveryStatus.TEMPORARY_FAILURE:
            return self.next_attempt_at or EPOCH
        if self.status is DeliveryStatus.SENDING:
            return self.lease_until or EPOCH
        return None

    def ref(self) -> DeliveryRef:
        """The few fields that :meth:`Store.undelivered` returns."""
        return DeliveryRef(self.id, self.contact, self.channel, self.kind.value, self.status.value)


class DeliveryRef(NamedTuple):
    """A delivery not yet done with, as :meth:`Store.undelivered` lists it (kind and status as text)."""

    id: str
    contact: str
    channel: str
    kind: str
    status: str


@attrs.frozen
class DeliveryUpdate:
    """A new status for one delivery.

    Attributes:
        delivery: The delivery's id.
        status: The new status.
        at: When it changed.
        reason: Why (a failure's cause, a cancel's message id); never an address or message text.
        next_attempt_at: For ``temporary-failure``, when to try again (required); else ignored.
        not_before: For ``created``, when it falls due; None keeps what the delivery has.
        cell: The cell that released a held copy; None keeps what the delivery has.
    """

    delivery: str
    status: DeliveryStatus = attrs.field(converter=status_of)
    at: datetime = attrs.field(converter=_utc)
    reason: str | None = None
    next_attempt_at: datetime | None = attrs.field(default=None, converter=_optional_utc)
    not_before: datetime | None = attrs.field(default=None, converter=_optional_utc)
    cell: Cell | None = attrs.field(default=None, converter=_cell)

    def __attrs_post_init__(self) -> None:
        if self.status is DeliveryStatus.TEMPORARY_FAILURE and self.next_attempt_at is None:
            raise ValueError("a temporary failure needs next_attempt_at")


@attrs.frozen
class Refusal:
    """A write the store refused, and why."""

    delivery: str
    reason: str


@attrs.frozen
class WriteOutcome:
    """What a batch of status writes did.

    Attributes:
        applied: Ids of the deliveries whose status changed, in the order given.
        refused: The writes refused (final status, lapsed lease, unknown id), in the order given.
    """

    applied: tuple[str, ...] = ()
    refused: tuple[Refusal, ...] = ()


@attrs.frozen
class MessageRecord:
    """A message as the store keeps it: its document plus the fields storage queries.

    Attributes:
        id: The message id (unique in the store).
        document: The ``cssc-message/1`` JSON document, as text.
        sent: The message's ``sent`` time.
        status: ``actual``, ``exercise`` or ``test``.
        type: ``alert``, ``update`` or ``cancel``.
        references: Ids of the messages an update or cancel replaces.
        expires: After this, undelivered copies expire.
    """

    id: str
    document: str
    sent: datetime = attrs.field(converter=_utc)
    status: str = "actual"
    type: str = "alert"
    references: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    expires: datetime | None = attrs.field(default=None, converter=_optional_utc)


_SECRET_KEY = re.compile(
    r"(?:^|[_-])(?:password|passwd|secret|token|api[_-]?key|authorization|credentials?)$"
)


def _secret_keys(value: Any, path: str) -> list[str]:
    if isinstance(value, dict):
        found = [
            f"{path}.{key}"
            for key, item in value.items()
            if isinstance(key, str) and _SECRET_KEY.search(key.lower()) and isinstance(item, str) and item
        ]
        for key, item in value.items():
            found.extend(_secret_keys(item, f"{path}.{key}"))
        return found
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _secret_keys(item, f"{path}[{index}]")]
    return []


def _check_channels(_: object, __: attrs.Attribute[str], value: str) -> None:
    try:
        document = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"the channel configuration is not JSON: {error.msg}") from None
    found = _secret_keys(document, "$")
    if found:
        raise ValueError(
            "a stored channel configuration names secrets by their environment variables "
            f"(password_env = ...), never by value: {', '.join(found)}"
        )


@attrs.frozen
class CascadeRecord:
    """One message's run through the network; a message has at most one.

    Attributes:
        message: The message id, which also names the cascade.
        started_at: When ``send`` persisted it.
        channels: The channel configuration it was sent with, as a JSON document; secrets appear only
            as the names of their environment variables (``password_env``), and a value under a
            secret-looking key is refused.
        plan: The routing plan (SPEC.md section 9) as a JSON document.
        finished_at: When nothing more was left to do, or None while it runs.
    """

    message: str
    started_at: datetime = attrs.field(converter=_utc)
    channels: str = attrs.field(default="{}", validator=_check_channels)
    plan: str = "{}"
    finished_at: datetime | None = attrs.field(default=None, converter=_optional_utc)

    @property
    def is_finished(self) -> bool:
        """Whether the cascade has nothing left to do."""
        return self.finished_at is not None


@attrs.frozen
class Acknowledgement:
    """A contact confirmed it received a message (from an ISL of a relayed cell, also a release).

    Attributes:
        message: The message id.
        contact: The contact id.
        at: When it was recorded.
        via: Where it came from (a channel name, ``portal``, ``cli``), if known.
    """

    message: str
    contact: str
    at: datetime = attrs.field(converter=_utc)
    via: str | None = None


@attrs.frozen
class RelayRelease:
    """An Industry Sector Lead released a message to the organisations of its cell.

    Attributes:
        message: The message id.
        cell: The (region, sector) cell released.
        contact: The ISL who released it (the lead or a deputy).
        at: When.
    """

    message: str
    cell: Cell = attrs.field(converter=_cell)
    contact: str
    at: datetime = attrs.field(converter=_utc)


@attrs.frozen
class Timer:
    """Something to do at a set time: a relay deadline, an acknowledgement timeout.

    Attributes:
        id: Unique in the store.
        message: The message it belongs to.
        kind: What falls due (``relay-deadline``, ``ack-timeout``, ...): the cascade's vocabulary.
        due_at: When.
        subject: What it is about (a cell as ``REGION/sector``, a contact id), if anything.
    """

    id: str
    message: str
    kind: str
    due_at: datetime = attrs.field(converter=_utc)
    subject: str | None = None


_REDACTIONS = (
    # URLs first, so that an address inside one goes with it. No word boundary before the scheme:
    # text run into it ("0https://...") must not save the URL.
    re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE),
    re.compile(r"[^\s<>()\[\]{},;:\"']+@[^\s<>()\[\]{},;:\"']+\.[^\s<>()\[\]{},;:\"']+"),
    re.compile(r"\+?\d[\d ()-]{6,}\d"),
)


def redact(text: str) -> str:
    """Removes what looks like an email address, a URL or a phone number from ``text``.

    The audit log keeps causes (``550 mailbox unavailable``), never where a copy went.
    """
    for pattern in _REDACTIONS:
        text = pattern.sub("[redacted]", text)
    return text


@attrs.frozen
class AuditEntry:
    """One line of the append-only audit log: who did what to which record, and when.

    An entry holds ids, an event name and a short detail; never a message body or a contact's address
    (the detail is passed through :func:`redact`).

    Attributes:
        at: When it happened.
        event: What happened (``network-replaced``, ``contact-erased``, ``cascade-started``...).
        message: The message id concerned, if any.
        contact: The contact id concerned, if any.
        delivery: The delivery id concerned, if any.
        detail: A short free text, redacted.
        seq: The entry's position in the log, given by the store (None before it is appended).
    """

    at: datetime = attrs.field(converter=_utc)
    event: str
    message: str | None = None
    contact: str | None = None
    delivery: str | None = None
    detail: str = attrs.field(default="", converter=redact)
    seq: int | None = None

"""What every step of a cascade needs to know about it, read back from the store.

A cascade is planned once, at ``send``; every later step (a release, a deadline, an acknowledgement)
works from the plan stored with it, never by routing again. :class:`CascadeContext` holds that plan,
the message, the channel setup and the network, and makes the deliveries and timers of the cascade
with identities derived from what they are, so that a step run twice finds its own work already done.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from cssc_core.channels.config import DEFAULT_OUTBOX, ChannelFile, channels_from_document, default_channels
from cssc_core.domain.marking import Marking
from cssc_core.domain.message import Message, Severity, Status, Urgency
from cssc_core.domain.models import Contact, IslRole
from cssc_core.domain.network import Cell, Network
from cssc_core.formats.message import message_from_document
from cssc_core.routing.plan import Exclusion, Gap, Recipient, Relay, RoutingPlan
from cssc_core.routing.policy import Via
from cssc_core.storage.records import (
    CascadeRecord,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    MessageRecord,
    StatusChange,
    Timer,
    make_idempotency_key,
)

__all__ = [
    "ACK_TIMEOUT",
    "EXPIRY",
    "RELAY_DEADLINE",
    "CascadeContext",
    "cell_text",
    "delivery_id",
    "parse_cell",
    "plan_from_document",
    "plan_to_document",
    "plan_to_json",
    "send_channels",
    "stored_channels",
]

RELAY_DEADLINE = "relay-deadline"
"""Timer kind: the ISL asked last has not released its cell in time (subject: the cell)."""

ACK_TIMEOUT = "ack-timeout"
"""Timer kind: a contact has not acknowledged the copy on its current channel (subject: the contact)."""

EXPIRY = "expiry"
"""Timer kind: the message expires; copies not yet sent never will be."""

_NEVER_HELD_SEVERITIES = frozenset({Severity.EXTREME, Severity.SEVERE})


def cell_text(cell: Cell) -> str:
    """A cell as text: ``EAST/retail``."""
    return f"{cell[0]}/{cell[1]}"


def parse_cell(text: str) -> Cell:
    """The cell of :func:`cell_text`."""
    region, _, sector = text.partition("/")
    return (region, sector)


def delivery_id(idempotency_key: str) -> str:
    """A delivery's id, derived from its idempotency key, so that the same delivery is never made twice."""
    return f"d-{idempotency_key[:24]}"


def send_channels() -> ChannelFile:
    """The channels of a cascade sent without a channel file: file channels in ``./cssc-outbox``,
    the folder kept as an absolute path so that later commands run elsewhere write beside it."""
    return default_channels(outbox=os.path.abspath(DEFAULT_OUTBOX))


def stored_channels(text: str) -> ChannelFile:
    """The channel configuration stored with a cascade (``{}``: the default file channels).

    Raises:
        ValidationError: when it names an environment variable that is not set now.
    """
    document = json.loads(text)
    if not document:
        return send_channels()
    return channels_from_document(document, source="the channel configuration stored with the cascade")


def plan_to_document(plan: RoutingPlan) -> dict[str, Any]:
    """The plan as stored with a cascade: SPEC.md section 9, plus the timings and relay channels."""
    document = plan.to_document()
    document["marking"] = str(plan.marking)
    for entry, recipient in zip(document["recipients"], plan.recipients, strict=True):
        entry["ack_timeout_s"] = recipient.ack_timeout_s
        entry["relay_deadline_s"] = recipient.relay_deadline_s
    for entry, relay in zip(document["relays"], plan.relays, strict=True):
        entry["isl_channels"] = [list(channels) for channels in relay.isl_channels]
    return document


def plan_to_json(plan: RoutingPlan) -> str:
    """``json.dumps(plan_to_document(plan), sort_keys=True)``: the same text, made faster.

    A national plan has a hundred thousand recipients, and most of what each entry holds (channels,
    timings, cells, routes) is shared with thousands of others: each distinct part before the
    contact and after the organisation is encoded once, and an entry costs the encoding of its two
    ids. Parts are cached by value, on the ground that equal values encode alike: true of the
    strings, bools and ints a plan's fields are typed as (not of ``1`` and ``True``, or ``60`` and
    ``60.0``, which no plan mixes).
    """
    heads: dict[tuple[Any, ...], str] = {}
    tails: dict[tuple[Any, ...], str] = {}
    entries = []
    for r in plan.recipients:
        # An entry's keys in sorted order: ack, ack_timeout_s, channels (its head); contact,
        # organisation; region, relay, relay_deadline_s, routes, via (its tail).
        before = (r.ack, r.ack_timeout_s, r.channels)
        head = heads.get(before)
        if head is None:
            fields = _json_fields("{", ack=r.ack, ack_timeout_s=r.ack_timeout_s, channels=list(r.channels))
            head = heads[before] = fields + ', "contact": '
        after = (r.region, r.relay, r.relay_deadline_s, r.routes, r.via)
        tail = tails.get(after)
        if tail is None:
            tail = tails[after] = (
                _json_fields(
                    ", ",
                    region=r.region,
                    relay=[list(cell) for cell in r.relay],
                    relay_deadline_s=r.relay_deadline_s,
                    routes=list(r.routes),
                    via=str(r.via),
                )
                + "}"
            )
        ids = _encode_string(r.contact) + ', "organisation": ' + _encode_string(r.organisation)
        entries.append(head + ids + tail)
    values = {
        key: json.dumps(value, sort_keys=True)
        for key, value in plan_to_document(attrs.evolve(plan, recipients=())).items()
        if key != "recipients"
    }
    values["recipients"] = f"[{', '.join(entries)}]"
    return "{" + ", ".join(f"{_encode_string(key)}: {values[key]}" for key in sorted(values)) + "}"


def _json_fields(before: str, **fields: Any) -> str:
    """``fields`` as json.dumps writes them in an object, after ``before``."""
    return before + ", ".join(f"{_encode_string(key)}: {json.dumps(value)}" for key, value in fields.items())


_encode_string = json.encoder.encode_basestring_ascii  # json.dumps's own


def plan_from_document(document: Mapping[str, Any]) -> RoutingPlan:
    """The plan of :func:`plan_to_document`."""
    return RoutingPlan(
        message=document["message"],
        marking=Marking(document["marking"]),
        recipients=tuple(
            Recipient(
                contact=r["contact"],
                organisation=r["organisation"],
                region=r["region"],
                via=Via(r["via"]),
                relay=tuple((region, sector) for region, sector in r["relay"]),
                channels=tuple(r["channels"]),
                ack=bool(r["ack"]),
                routes=tuple(r["routes"]),
                ack_timeout_s=int(r["ack_timeout_s"]),
                relay_deadline_s=int(r["relay_deadline_s"]),
            )
            for r in document["recipients"]
        ),
        relays=tuple(
            Relay(
                region=r["region"],
                sector=r["sector"],
                isl=tuple(r["isl"]),
                isl_channels=tuple(tuple(c) for c in r["isl_channels"]),
                deadline_s=int(r["deadline_s"]),
            )
            for r in document["relays"]
        ),
        excluded=tuple(Exclusion(e["organisation"], e["contact"], e["reason"]) for e in document["excluded"]),
        gaps=tuple(Gap(g["region"], g["sector"]) for g in document["gaps"]),
    )


@functools.lru_cache(maxsize=16)
def _stored_plan(text: str) -> RoutingPlan:
    # Every call of the engine reads its cascades back; a plan never changes once stored and is
    # immutable, so the few in use are parsed once (a national cascade's plan is megabytes of JSON).
    return plan_from_document(json.loads(text))


@attrs.define
class CascadeContext:
    """One cascade's message, plan, channels and network, and the deliveries and timers it makes.

    Attributes:
        message: The message.
        plan: Its routing plan, as planned at ``send``.
        channels: The channels it delivers through.
        network: The network as stored now (addresses are read at send time).
    """

    message: Message
    plan: RoutingPlan
    channels: ChannelFile
    network: Network
    _recipients: dict[str, Recipient] = attrs.field(init=False, factory=dict)
    _relays: dict[Cell, Relay] = attrs.field(init=False, factory=dict)
    _through: dict[Cell, tuple[Recipient, ...]] | None = attrs.field(init=False, default=None)
    _askable: dict[Cell, bool] = attrs.field(init=False, factory=dict)
    _isl_cells: dict[str, tuple[Cell, ...]] = attrs.field(init=False, factory=dict)
    settled: set[str] | None = attrs.field(init=False, default=None)
    """The cells settled so far (released, or gone direct), once read: see :mod:`~cssc_core.cascade.relays`.

    The engine drops it when a transaction fails, so it never outlives a write that was rolled back."""
    settled_after: int = attrs.field(init=False, default=0)
    """The last audit entry :attr:`settled` was read up to."""
    settled_current: bool = attrs.field(init=False, default=False)
    """Whether :attr:`settled` was brought up to date in this call of the engine (the engine resets
    it at each call, so that entries another process wrote meanwhile are read)."""

    def __attrs_post_init__(self) -> None:
        self._recipients = {r.contact: r for r in self.plan.recipients}
        self._relays = {(r.region, r.sector): r for r in self.plan.relays}
        isl_cells: dict[str, list[Cell]] = {}
        for cell, relay in self._relays.items():
            for isl in relay.isl:
                isl_cells.setdefault(isl, []).append(cell)
        self._isl_cells = {isl: tuple(cells) for isl, cells in isl_cells.items()}

    @classmethod
    def load(
        cls,
        record: MessageRecord,
        cascade: CascadeRecord,
        network: Network,
        channels: ChannelFile | None = None,
    ) -> CascadeContext:
        """Reads a cascade back; ``channels`` replaces the stored channel configuration when given.

        Raises:
            ValidationError: when the stored configuration names an environment variable that is
                not set now.
        """
        message = message_from_document(json.loads(record.document))
        plan = _stored_plan(cascade.plan)
        if channels is None:
            channels = stored_channels(cascade.channels)
        return cls(message, plan, channels, network)

    @property
    def id(self) -> str:
        """The message id."""
        return self.message.id

    # --- who is who ------------------------------------------------------------------------------

    def recipient(self, contact: str) -> Recipient | None:
        """The plan's entry for a recipient contact, or None."""
        return self._recipients.get(contact)

    def recipients(self) -> Iterable[Recipient]:
        """Every planned recipient, by contact id."""
        return self.plan.recipients

    def eligible(self, contact: str) -> bool:
        """Whether a contact may be sent anything of this message (a ``test`` message: test contacts only)."""
        if self.message.status is not Status.TEST:
            return True
        return self.network.has_contact(contact) and self.network.contact(contact).test

    def isls(self, cell: Cell) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The ISLs of a relayed cell that may be asked, lead first, each with its relay channels."""
        relay = self._relays.get(cell)
        if relay is None:
            return ()
        return tuple(
            (isl, channels)
            for isl, channels in zip(relay.isl, relay.isl_channels, strict=True)
            if self.eligible(isl)
        )

    def cells_of(self, recipient: Recipient) -> tuple[Cell, ...]:
        """The cells a recipient is relayed through that have an ISL to ask (none: it goes direct)."""
        if recipient.via is not Via.ISL:
            return ()
        return tuple(cell for cell in recipient.relay if self._has_isls(cell))

    def _has_isls(self, cell: Cell) -> bool:
        # Asked for every recipient of every cell: the answer depends on the plan alone, so it is kept.
        if cell not in self._askable:
            self._askable[cell] = bool(self.isls(cell))
        return self._askable[cell]

    def relayed_through(self, cell: Cell) -> tuple[Recipient, ...]:
        """The recipients whose copies the cell releases (those it is one of the cells of)."""
        if self._through is None:
            through: dict[Cell, list[Recipient]] = {}
            for recipient in self.plan.recipients:
                for each in self.cells_of(recipient):
                    through.setdefault(each, []).append(recipient)
            self._through = {each: tuple(recipients) for each, recipients in through.items()}
        return self._through.get(cell, ())

    def first_channels(self, recipient: Recipient) -> tuple[str, ...]:
        """The channels a recipient's copies start on: all of them, or the first when it must acknowledge."""
        return recipient.channels[:1] if recipient.ack else recipient.channels

    def is_isl_of(self, contact: str, cell: Cell) -> bool:
        """Whether a contact is an ISL of a cell: planned to relay it, or holding the role now."""
        relay = self._relays.get(cell)
        if relay is not None and contact in relay.isl:
            return True
        return any(role.contact == contact for role in self.network.isls(*cell))

    def relayed_cells_of_isl(self, contact: str) -> list[Cell]:
        """The relayed cells of the plan of which the contact is an ISL (planned, or holding the role
        now), in the plan's order."""
        cells = set(self._isl_cells.get(contact, ()))
        if self.network.has_contact(contact):
            cells.update(
                (role.region, role.sector)
                for role in self.network.roles_of(contact)
                if isinstance(role, IslRole) and (role.region, role.sector) in self._relays
            )
        return [cell for cell in self._relays if cell in cells] if cells else []

    def contact(self, contact: str) -> Contact | None:
        """The contact as the network holds it now, or None when it has gone."""
        return self.network.contact(contact) if self.network.has_contact(contact) else None

    def address_kind(self, channel: str) -> str:
        """Which contact field a channel delivers to (``none`` for a channel the configuration lacks)."""
        config = self.channels.channel(channel)
        return config.address if config is not None else "none"

    # --- time --------------------------------------------------------------------------------------

    def due_time(self, contact: str, at: datetime) -> datetime:
        """When a copy made at ``at`` may go: at once, or when the contact's quiet hours end.

        Immediate messages of extreme or severe severity are never held back.
        """
        if self.message.urgency is Urgency.IMMEDIATE and self.message.severity in _NEVER_HELD_SEVERITIES:
            return at
        person = self.contact(contact)
        if person is None or person.quiet_hours is None:
            return at
        return person.quiet_hours.end_after(at)

    def expired(self, at: datetime) -> bool:
        """Whether the message has expired by ``at``."""
        return self.message.expires is not None and at >= self.message.expires

    # --- deliveries and timers -----------------------------------------------------------------

    def key(
        self,
        contact: str,
        channel: str,
        kind: DeliveryKind,
        *,
        cell: Cell | None = None,
        subject_contact: str | None = None,
    ) -> str:
        """The idempotency key of one of this cascade's deliveries."""
        return make_idempotency_key(
            self.id, contact, channel, kind, cell=cell, subject_contact=subject_contact
        )

    def delivery_id(
        self,
        contact: str,
        channel: str,
        kind: DeliveryKind = DeliveryKind.MESSAGE,
        *,
        cell: Cell | None = None,
        subject_contact: str | None = None,
    ) -> str:
        """The id the delivery with this identity has (or will have)."""
        return delivery_id(self.key(contact, channel, kind, cell=cell, subject_contact=subject_contact))

    def delivery(
        self,
        contact: str,
        channel: str,
        at: datetime,
        *,
        kind: DeliveryKind = DeliveryKind.MESSAGE,
        held: bool = False,
        cell: Cell | None = None,
        subject_contact: str | None = None,
    ) -> Delivery:
        """A new delivery: ``held`` for a relay, else ``created`` and due after any quiet hours."""
        key = self.key(contact, channel, kind, cell=cell, subject_contact=subject_contact)
        status = DeliveryStatus.HELD if held else DeliveryStatus.CREATED
        return Delivery(
            id=delivery_id(key),
            message=self.id,
            contact=contact,
            channel=channel,
            address_kind=self.address_kind(channel),
            idempotency_key=key,
            kind=kind,
            cell=cell,
            subject_contact=subject_contact,
            status=status,
            not_before=None if held else self.due_time(contact, at),
            history=(StatusChange(status, at),),
        )

    def timer(self, kind: str, subject: str, step: int, due_at: datetime) -> Timer:
        """A timer of this cascade; its id is derived from what it times, so setting it twice is harmless."""
        return Timer(self.timer_id(kind, subject, step), self.id, kind, due_at, subject)

    def timer_id(self, kind: str, subject: str, step: int) -> str:
        """The id of the timer of :meth:`timer`."""
        return f"{self.id}|{kind}|{subject}|{step}"

    @staticmethod
    def timer_step(timer: Timer) -> int:
        """The step a timer of :meth:`timer` times (which ISL of a cell, which channel of a contact)."""
        return int(timer.id.rsplit("|", 1)[1])

    def deadline(self, cell: Cell, at: datetime) -> datetime:
        """When the ISL asked at ``at`` must have released the cell."""
        relay = self._relays[cell]
        return at + timedelta(seconds=relay.deadline_s)

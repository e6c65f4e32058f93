"""Sending a message: plan it, then persist the message, its cascade and every planned delivery at once.

Everything ``send`` writes (the message, the cascade with its plan and channels, every copy and
relay request, the expiry timer, and for a cancel the stopping of what it cancels) goes into one
transaction: after a crash the cascade either exists whole or not at all.

Updates and cancels go to exactly the contacts the referenced messages reached (a copy or a relay
request ``delivered``), on the channels that reached them, with the new marking applied again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from cssc_core.cascade import timers
from cssc_core.cascade.context import EXPIRY, CascadeContext, plan_to_json
from cssc_core.cascade.work import Work
from cssc_core.channels.config import ChannelFile
from cssc_core.domain.message import Message, MessageType
from cssc_core.domain.network import Cell, Network
from cssc_core.errors import ValidationError
from cssc_core.formats.message import dumps_message_json
from cssc_core.routing.engine import plan_message
from cssc_core.routing.plan import Reach, RoutingPlan
from cssc_core.routing.policy import RoutingPolicy
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import (
    CascadeRecord,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    MessageRecord,
)

__all__ = ["CANCELLED_BY", "initial_deliveries", "persist_cascade", "plan_for_store", "reach_of"]

CANCELLED_BY = "cancelled"
"""Audit event on a cancelled message (detail: the cancel's id)."""

_REACHING = frozenset({DeliveryKind.MESSAGE, DeliveryKind.RELAY_REQUEST})


def _delivered_at(delivery: Delivery) -> tuple[str, str]:
    when = next(
        (change.at.isoformat() for change in delivery.history if change.status is DeliveryStatus.DELIVERED),
        "",
    )
    return (when, delivery.id)


def reach_of(store: Store, message_id: str) -> list[Reach]:
    """The contacts a message reached (a copy or a relay request delivered), with the channels that
    reached them in the order they did."""
    channels: dict[str, list[str]] = {}
    delivered = [
        d
        for d in store.deliveries_of(message_id)
        if d.status is DeliveryStatus.DELIVERED and d.kind in _REACHING
    ]
    for delivery in sorted(delivered, key=_delivered_at):
        listed = channels.setdefault(delivery.contact, [])
        if delivery.channel not in listed:
            listed.append(delivery.channel)
    return [Reach(contact, tuple(names)) for contact, names in sorted(channels.items())]


def plan_for_store(
    store: Store,
    network: Network,
    message: Message,
    policy: RoutingPolicy | None,
    channels: ChannelFile,
) -> RoutingPlan:
    """Plans a message over a network; updates and cancels reach whom their references reached.

    Raises:
        ValidationError: when the audience names what the network lacks, or a reference is not a
            stored message (naming it).
    """
    reached: Mapping[str, Sequence[Reach]] | None = None
    if message.type is not MessageType.ALERT:
        reached = {ref: reach_of(store, ref) for ref in message.references if store.get_message(ref)}
    return plan_message(network, message, policy, channels=channels.flags(), reached=reached)


def initial_deliveries(ctx: CascadeContext, at: datetime) -> list[Delivery]:
    """Every delivery written at ``send``: copies (``held`` behind a relay, else ``created``), and
    relay requests to the lead of every cell relaying something.

    A recipient that must acknowledge gets its first channel only; a ``test`` message goes only to
    test contacts, and a recipient whose cells have no test ISL goes direct.
    """
    direct: list[Delivery] = []
    held: dict[Cell, list[Delivery]] = {}
    for recipient in ctx.recipients():
        if not ctx.eligible(recipient.contact):
            continue
        cells = ctx.cells_of(recipient)
        copies = (
            ctx.delivery(recipient.contact, c, at, held=bool(cells)) for c in ctx.first_channels(recipient)
        )
        if cells:
            held.setdefault(cells[0], []).extend(copies)
            for cell in cells[1:]:
                held.setdefault(cell, [])
        else:
            direct.extend(copies)
    # Written in this order, a cell's held copies lie side by side in the store, so that releasing,
    # sending and recording them touches a few pages rather than one page per copy.
    deliveries = direct + [copy for cell in sorted(held) for copy in held[cell]]
    for cell in sorted(held):
        isl, channels = ctx.isls(cell)[0]
        deliveries.extend(
            ctx.delivery(isl, c, at, kind=DeliveryKind.RELAY_REQUEST, cell=cell) for c in channels
        )
    return deliveries


def persist_cascade(
    work: Work,
    ctx: CascadeContext,
    contexts: Callable[[str], CascadeContext | None],
) -> list[Delivery]:
    """Writes a planned message's cascade in the work's transaction; a cancel also stops its references.

    Raises:
        ValidationError: when the store already holds a message with this id (an update is a new
            message that references the old one).
    """
    message = ctx.message
    store = work.store
    if store.get_message(message.id) is not None:
        raise ValidationError.single(
            "$.id", f"message {message.id!r} is already stored; an update is a new message that references it"
        )
    deliveries = initial_deliveries(ctx, work.at)
    record = MessageRecord(
        id=message.id,
        document=dumps_message_json(message),
        sent=message.sent,
        status=message.status.value,
        type=message.type.value,
        references=message.references,
        expires=message.expires,
    )
    cascade = CascadeRecord(
        message=message.id,
        started_at=work.at,
        channels=json.dumps(ctx.channels.to_document(), sort_keys=True),
        plan=plan_to_json(ctx.plan),
    )
    store.start_cascade(cascade, record, deliveries)
    work.created(deliveries)
    work.touched.add(message.id)
    if message.expires is not None and deliveries:
        work.set_timers([ctx.timer(EXPIRY, "message", 0, max(message.expires, work.at))])
    work.audit("cascade-started", message.id, detail=f"{len(deliveries)} deliveries planned")
    work.routed.append((message.id, ctx.plan))
    if message.type is MessageType.CANCEL:
        for reference in message.references:
            cancelled = contexts(reference)
            if cancelled is None:
                continue
            timers.stop(work, cancelled, DeliveryStatus.CANCELLED, f"cancelled by {message.id}")
            work.audit(CANCELLED_BY, reference, detail=message.id)
    return deliveries

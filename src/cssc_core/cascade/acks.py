"""Acknowledgements, the next channel at each timeout, and escalation notices (SPEC.md sections 5, 7).

A recipient with ``ack = "required"`` gets the message on its first channel; each ``ack_timeout``
without an acknowledgement from it (counted from when the copy went out) sends it on the next; a
permanent or technical failure moves on at once. After the last channel, the region's hub contacts
get an escalation notice on their channels that the marking allows, or the national hub when the
region has none; with neither, the notice is recorded as a permanent failure with that reason.

An acknowledgement from an ISL of a relayed cell is also that cell's release.
"""

from __future__ import annotations

from datetime import timedelta

from cssc_core.cascade import relays
from cssc_core.cascade.context import ACK_TIMEOUT, CascadeContext
from cssc_core.cascade.work import Work
from cssc_core.routing.engine import allowed_channels
from cssc_core.routing.plan import Recipient
from cssc_core.storage.records import (
    Acknowledgement,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    StatusChange,
)

__all__ = [
    "ESCALATED",
    "NO_HUB",
    "acknowledge",
    "advance",
    "escalate",
    "on_copy_claimed",
    "on_copy_failed",
    "on_copy_reached",
    "start_timer",
]

ESCALATED = "escalated"
"""Audit event: a contact did not acknowledge on any channel; hubs were sent a notice."""

NO_HUB = "no hub contact to escalate to: neither the region nor the national hub has one the marking allows"
"""The reason of an escalation notice that could not be sent to anyone."""


def _step(ctx: CascadeContext, recipient: Recipient, work: Work) -> int:
    """The recipient's current channel: the last one it has a delivery on."""
    current = 0
    for step, channel in enumerate(recipient.channels):
        if work.store.get_delivery(ctx.delivery_id(recipient.contact, channel)) is not None:
            current = step
    return current


def start_timer(work: Work, ctx: CascadeContext, recipient: Recipient, step: int) -> None:
    """The copy on channel ``step`` went out: its acknowledgement timeout starts now.

    Called once per copy: when it is first claimed, or, for a copy a relay request made unnecessary
    before it was ever claimed, when that relay request was delivered.
    """
    if work.store.get_acknowledgement(ctx.id, recipient.contact) is not None:
        return
    due = work.at + timedelta(seconds=recipient.ack_timeout_s)
    work.set_timers([ctx.timer(ACK_TIMEOUT, recipient.contact, step, due)])


def on_copy_claimed(work: Work, ctx: CascadeContext, delivery: Delivery) -> None:
    """A copy went out for the first time: an acknowledgement-required recipient's timeout starts."""
    recipient = ctx.recipient(delivery.contact)
    if recipient is None or not recipient.ack or delivery.channel not in recipient.channels:
        return
    start_timer(work, ctx, recipient, recipient.channels.index(delivery.channel))


def on_copy_reached(work: Work, ctx: CascadeContext, copy: Delivery) -> None:
    """A copy was not sent because a relay request reached its contact on that channel: for an
    acknowledgement-required recipient that counts as the copy going out, so its timeout starts
    (unless the copy had been tried already, which started it)."""
    if copy.attempts == 0:
        on_copy_claimed(work, ctx, copy)


def on_copy_failed(work: Work, ctx: CascadeContext, delivery: Delivery) -> None:
    """A copy failed for good: an acknowledgement-required recipient moves to its next channel now."""
    recipient = ctx.recipient(delivery.contact)
    if recipient is None or not recipient.ack or delivery.channel not in recipient.channels:
        return
    advance(work, ctx, recipient, recipient.channels.index(delivery.channel))


def advance(work: Work, ctx: CascadeContext, recipient: Recipient, step: int) -> None:
    """No acknowledgement on channel ``step``: send on the next channel, or escalate after the last."""
    contact = recipient.contact
    if work.store.get_acknowledgement(ctx.id, contact) is not None or _step(ctx, recipient, work) != step:
        return
    work.remove_timers(ctx.id, [ctx.timer_id(ACK_TIMEOUT, contact, step)])
    if step + 1 < len(recipient.channels):
        work.add([ctx.delivery(contact, recipient.channels[step + 1], work.at)])
    else:
        escalate(work, ctx, recipient)


def escalate(work: Work, ctx: CascadeContext, recipient: Recipient) -> None:
    """Sends the escalation notices about a contact that did not acknowledge (once: its last channel
    may both time out and, later, fail)."""
    contact = recipient.contact
    if work.store.audit_log(message_id=ctx.id, events=(ESCALATED,), contact=contact):
        return
    flags = ctx.channels.flags()
    targets: list[tuple[str, tuple[str, ...]]] = []
    for region in (recipient.region, None):
        for role in ctx.network.hubs(region):
            hub = ctx.contact(role.contact)
            if hub is None or not ctx.eligible(hub.id):
                continue
            channels = allowed_channels(hub, ctx.plan.marking, flags)
            if channels:
                targets.append((hub.id, channels))
        if targets:
            break
    if targets:
        work.add(
            [
                ctx.delivery(hub, channel, work.at, kind=DeliveryKind.ESCALATION, subject_contact=contact)
                for hub, channels in targets
                for channel in channels
            ]
        )
        detail = f"notice to {', '.join(hub for hub, _ in targets)}"
    else:
        key = ctx.key(contact, "none", DeliveryKind.ESCALATION, subject_contact=contact)
        failed = DeliveryStatus.PERMANENT_FAILURE
        work.add(
            [
                Delivery(
                    id=f"d-{key[:24]}",
                    message=ctx.id,
                    contact=contact,
                    channel="none",
                    address_kind="none",
                    idempotency_key=key,
                    kind=DeliveryKind.ESCALATION,
                    subject_contact=contact,
                    status=failed,
                    reason=NO_HUB,
                    history=(StatusChange(failed, work.at, NO_HUB),),
                )
            ]
        )
        detail = NO_HUB
    work.audit(ESCALATED, ctx.id, contact=contact, detail=detail)


def acknowledge(work: Work, ctx: CascadeContext, contact: str, via: str | None) -> bool:
    """Records an acknowledgement; from an ISL of a relayed cell it also releases the cell.

    Returns:
        False for a repeated acknowledgement, which changes nothing.
    """
    acknowledgement = Acknowledgement(ctx.id, contact, work.at, via)
    if not work.store.record_acknowledgement(acknowledgement):
        return False
    work.acknowledgements.append(acknowledgement)
    work.touched.add(ctx.id)
    work.audit("acknowledged", ctx.id, contact=contact, detail=via or "")
    recipient = ctx.recipient(contact)
    if recipient is not None and recipient.ack:
        work.remove_timers(
            ctx.id, (ctx.timer_id(ACK_TIMEOUT, contact, s) for s in range(len(recipient.channels)))
        )
    for cell in ctx.relayed_cells_of_isl(contact):
        relays.release(work, ctx, cell, contact)
    return True

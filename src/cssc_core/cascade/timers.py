"""What happens when a cascade's timer falls due (SPEC.md section 10).

Timers start when their delivery goes out: a relay deadline when the relay request is sent, an
acknowledgement timeout when the copy is sent (after any quiet hours). Each is handled at its own
due time, in due order, inside the transaction that removes it, so a crash either leaves it to fire
again or has done all of its work.
"""

from __future__ import annotations

from cssc_core.cascade import acks, relays
from cssc_core.cascade.context import ACK_TIMEOUT, EXPIRY, RELAY_DEADLINE, CascadeContext, parse_cell
from cssc_core.cascade.work import Work
from cssc_core.storage.records import DeliveryStatus, Timer

__all__ = ["expire", "handle", "stop"]


def handle(work: Work, ctx: CascadeContext, timer: Timer) -> None:
    """Does what a due timer stands for, and removes it."""
    work.remove_timers(ctx.id, [timer.id])
    step = ctx.timer_step(timer)
    if timer.kind == RELAY_DEADLINE and timer.subject is not None:
        relays.advance(work, ctx, parse_cell(timer.subject), step)
    elif timer.kind == ACK_TIMEOUT and timer.subject is not None:
        recipient = ctx.recipient(timer.subject)
        if recipient is not None:
            acks.advance(work, ctx, recipient, step)
    elif timer.kind == EXPIRY:
        expire(work, ctx)


def expire(work: Work, ctx: CascadeContext) -> None:
    """The message expired: every copy not yet sent is marked ``expired`` and its timers stop."""
    stop(work, ctx, DeliveryStatus.EXPIRED, "message expired")


def stop(work: Work, ctx: CascadeContext, status: DeliveryStatus, reason: str) -> None:
    """Ends everything of a cascade not yet sent (deliveries, relay requests, escalations, timers)."""
    work.update(ctx.id, work.store.undelivered(ctx.id), status, reason)
    work.remove_timers(ctx.id, (timer.id for timer in work.store.timers_of(ctx.id)))

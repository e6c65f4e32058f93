"""Relays through Industry Sector Leads (SPEC.md section 5).

A relayed cell's lead gets a relay request; the cell's organisations get the message (their copies,
``held`` until then, become due) when the first of their cells is released: by any ISL of the cell,
asked yet or not, or when the deadline of the last ISL asked passes with no deputy left, when the
copies go direct. An ISL that cannot be reached on any channel counts as silent at once.

Whether a cell is settled (released, or gone direct) is read from the audit log, which records it in
the same transaction as the copies it makes due.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from cssc_core.cascade.context import RELAY_DEADLINE, CascadeContext, cell_text
from cssc_core.cascade.work import Work
from cssc_core.domain.network import Cell
from cssc_core.storage.records import (
    OPEN_STATUSES,
    Delivery,
    DeliveryKind,
    DeliveryRef,
    DeliveryStatus,
    RelayRelease,
)

__all__ = [
    "FELL_BACK",
    "RELEASED",
    "advance",
    "ask",
    "on_request_claimed",
    "on_request_delivered",
    "on_request_failed",
    "release",
    "settled_cells",
]

RELEASED = "relay-released"
"""Audit event: an ISL released a cell (contact: the ISL; detail: the cell)."""

FELL_BACK = "relay-deadline-passed"
"""Audit event: no ISL of a cell released it in time, and its organisations got the message direct."""

_WAITING = frozenset({DeliveryStatus.HELD, DeliveryStatus.CREATED, DeliveryStatus.TEMPORARY_FAILURE})


def settled_cells(work: Work, ctx: CascadeContext) -> set[str]:
    """The cells of the cascade already released or gone direct, as ``REGION/sector`` texts.

    Read from the audit log: at a context's first use in a call of the engine, only the entries
    written since it last looked (by this process or another); kept up to date by :func:`release`.
    """
    if ctx.settled is None:
        ctx.settled, ctx.settled_after, ctx.settled_current = set(), 0, False
    if not ctx.settled_current:
        entries = work.store.audit_log(
            message_id=ctx.id, after=ctx.settled_after, events=(RELEASED, FELL_BACK)
        )
        ctx.settled.update(entry.detail for entry in entries)
        ctx.settled_after = max((entry.seq or 0 for entry in entries), default=ctx.settled_after)
        ctx.settled_current = True
    return ctx.settled


def ask(work: Work, ctx: CascadeContext, cell: Cell, step: int) -> bool:
    """Sends the relay request to the ISL at ``step`` of the cell (0: the lead); False when none is left."""
    isls = ctx.isls(cell)
    if step >= len(isls):
        return False
    isl, channels = isls[step]
    work.add(
        [
            ctx.delivery(isl, channel, work.at, kind=DeliveryKind.RELAY_REQUEST, cell=cell)
            for channel in channels
        ]
    )
    return True


def _step_of(ctx: CascadeContext, cell: Cell, isl: str) -> int | None:
    for step, (contact, _) in enumerate(ctx.isls(cell)):
        if contact == isl:
            return step
    return None


def _asked(work: Work, ctx: CascadeContext, cell: Cell, step: int) -> bool:
    isls = ctx.isls(cell)
    if step >= len(isls):
        return False
    isl, channels = isls[step]
    return any(
        work.store.get_delivery(ctx.delivery_id(isl, channel, DeliveryKind.RELAY_REQUEST, cell=cell))
        is not None
        for channel in channels
    )


def release(work: Work, ctx: CascadeContext, cell: Cell, isl: str | None) -> bool:
    """Releases a cell's held copies: by ``isl``, or direct when ``isl`` is None (deadline passed).

    The cell's timers stop and its relay requests not yet sent are cancelled. An organisation
    relayed through several cells gets its copies once: the first cell to settle releases them.

    Returns:
        False when the cell was already settled (nothing changes).
    """
    text = cell_text(cell)
    settled = settled_cells(work, ctx)
    if text in settled:
        return False
    settled.add(text)
    # Ids are derived from identities, so the held copies and the relay requests are looked up by
    # id rather than found by reading every open delivery of the message.
    held = _existing(
        work,
        (
            ctx.delivery_id(recipient.contact, channel)
            for recipient in ctx.relayed_through(cell)
            if ctx.eligible(recipient.contact)
            for channel in ctx.first_channels(recipient)
        ),
        {DeliveryStatus.HELD},
    )
    due = {ref.id: ctx.due_time(ref.contact, work.at) for ref in held}
    if isl is None:
        work.update(ctx.id, held, DeliveryStatus.CREATED, f"{text}: relay deadline passed", not_before=due)
        work.audit(FELL_BACK, ctx.id, detail=text)
    else:
        work.update(ctx.id, held, DeliveryStatus.CREATED, f"released by {isl}", not_before=due, cell=cell)
        work.audit(RELEASED, ctx.id, contact=isl, detail=text)
        work.releases.append(RelayRelease(ctx.id, cell, isl, work.at))
    requests = _existing(work, sorted(_request_ids(ctx, cell)), _WAITING)
    work.update(ctx.id, requests, DeliveryStatus.CANCELLED, f"{text} already settled")
    work.remove_timers(ctx.id, (ctx.timer_id(RELAY_DEADLINE, text, s) for s in range(len(ctx.isls(cell)))))
    return True


def _existing(work: Work, ids: Iterable[str], statuses: Collection[DeliveryStatus]) -> list[DeliveryRef]:
    wanted = {status.value for status in statuses}
    return [ref for ref in work.store.delivery_refs(ids) if ref.status in wanted]


def _request_ids(ctx: CascadeContext, cell: Cell) -> set[str]:
    return {
        ctx.delivery_id(isl, channel, DeliveryKind.RELAY_REQUEST, cell=cell)
        for isl, channels in ctx.isls(cell)
        for channel in channels
    }


def advance(work: Work, ctx: CascadeContext, cell: Cell, step: int) -> None:
    """The ISL at ``step`` stayed silent: ask the next deputy, or, after the last, go direct."""
    if cell_text(cell) in settled_cells(work, ctx) or _asked(work, ctx, cell, step + 1):
        return
    work.remove_timers(ctx.id, [ctx.timer_id(RELAY_DEADLINE, cell_text(cell), step)])
    if not ask(work, ctx, cell, step + 1):
        release(work, ctx, cell, None)


def on_request_claimed(work: Work, ctx: CascadeContext, delivery: Delivery) -> None:
    """A relay request went out for the first time: the ISL's deadline starts now."""
    assert delivery.cell is not None
    step = _step_of(ctx, delivery.cell, delivery.contact)
    text = cell_text(delivery.cell)
    if step is None or text in settled_cells(work, ctx):
        return
    # The deadline starts with the first of the ISL's relay requests to go out, whatever its channel;
    # requests going out together start it once, from the first channel.
    _, channels = ctx.isls(delivery.cell)[step]
    went_out: dict[str, datetime] = {}
    for channel in channels:
        request = work.store.get_delivery(
            ctx.delivery_id(delivery.contact, channel, DeliveryKind.RELAY_REQUEST, cell=delivery.cell)
        )
        first = _first_attempt(request) if request is not None else None
        if first is not None:
            went_out[channel] = first
    earliest = min(went_out.values(), default=work.at)
    if next(c for c in channels if went_out.get(c) == earliest) != delivery.channel:
        return
    work.set_timers([ctx.timer(RELAY_DEADLINE, text, step, ctx.deadline(delivery.cell, work.at))])


def _first_attempt(delivery: Delivery) -> datetime | None:
    return next((c.at for c in delivery.history if c.status is DeliveryStatus.SENDING), None)


def on_request_delivered(work: Work, ctx: CascadeContext, delivery: Delivery) -> Delivery | None:
    """A relay request reached an ISL: it carries the whole message, so a copy of it to the same
    contact on the same channel is not sent as well.

    Returns:
        The copy that is no longer sent, if there was one: its contact counts as reached now.
    """
    copy = work.store.get_delivery(ctx.delivery_id(delivery.contact, delivery.channel))
    if copy is None or copy.status not in _WAITING:
        return None
    work.update(ctx.id, [copy], DeliveryStatus.CANCELLED, f"reached by relay request {delivery.id}")
    return copy


def on_request_failed(work: Work, ctx: CascadeContext, delivery: Delivery) -> None:
    """A relay request failed for good: when every channel to that ISL has, the ISL counts as silent."""
    assert delivery.cell is not None
    step = _step_of(ctx, delivery.cell, delivery.contact)
    if step is None:
        return
    _, channels = ctx.isls(delivery.cell)[step]
    for channel in channels:
        other = work.store.get_delivery(
            ctx.delivery_id(delivery.contact, channel, DeliveryKind.RELAY_REQUEST, cell=delivery.cell)
        )
        if other is None or other.status in OPEN_STATUSES or other.status is DeliveryStatus.DELIVERED:
            return
    advance(work, ctx, delivery.cell, step)

"""Rows of the SQLite store and the records they hold, both ways.

Times are whole microseconds since 1970-01-01 UTC; a delivery's history is JSON lines, one
``[status, at, reason]`` array per change. These run once per row on the outbox's hot path, so they
call the records' constructors straight and share what rows repeat (history lines, parsed changes).
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from cssc_core.storage.records import (
    EPOCH,
    Acknowledgement,
    AuditEntry,
    CascadeRecord,
    Delivery,
    DeliveryKind,
    DeliveryRef,
    DeliveryStatus,
    MessageRecord,
    StatusChange,
    Timer,
)

__all__ = [
    "HistoryLines",
    "acknowledgement_from_row",
    "audit_from_row",
    "cascade_from_row",
    "cell_text",
    "delivery_from_row",
    "delivery_ref",
    "delivery_row",
    "history_line",
    "instant_of",
    "message_from_row",
    "micros_of",
    "opt_instant_of",
    "opt_micros_of",
    "plan_text",
    "stored_plan",
    "timer_from_row",
]


class HistoryLines:
    """Makes history lines, once per distinct (status, time, reason): a batch mostly repeats one."""

    def __init__(self) -> None:
        self._lines: dict[tuple[str, datetime, str | None], str] = {}

    def line(self, status: str, at: datetime, reason: str | None) -> str:
        key = (status, at, reason)
        found = self._lines.get(key)
        if found is None:
            found = self._lines[key] = history_line(status, micros_of(at), reason)
        return found


_MICROSECOND = timedelta(microseconds=1)  # made once: building it cost more than the division


def micros_of(instant: datetime) -> int:
    """An aware time as stored: whole microseconds since 1970-01-01 UTC."""
    return (instant - EPOCH) // _MICROSECOND


def opt_micros_of(instant: datetime | None) -> int | None:
    """:func:`micros_of`, or None for None."""
    return None if instant is None else micros_of(instant)


def instant_of(micros: int) -> datetime:
    """A stored time as an aware datetime in UTC."""
    return EPOCH + _MICROSECOND * micros  # exact, and half the time of timedelta(microseconds=...)


def opt_instant_of(micros: int | None) -> datetime | None:
    """:func:`instant_of`, or None for None."""
    # instant_of's sum written out: this runs for three columns of every delivery read, a call less each.
    return None if micros is None else EPOCH + _MICROSECOND * micros


def history_line(status: str, at: int, reason: str | None) -> str:
    """One change as a line of a delivery's history (JSON lines)."""
    return json.dumps([str(status), at, reason]) + "\n"


def cell_text(cell: tuple[str, str] | None) -> str | None:
    """A relayed cell (region, sector) as stored: ``region/sector``."""
    return None if cell is None else f"{cell[0]}/{cell[1]}"


def delivery_row(delivery: Delivery, lines: HistoryLines) -> tuple[Any, ...]:
    """A delivery as the values of an insert: its columns in ``DELIVERY_COLUMNS`` order, then
    ``due_at`` and ``settled_at``."""
    history = "".join(lines.line(change.status, change.at, change.reason) for change in delivery.history)
    return (
        delivery.id,
        delivery.message,
        delivery.contact,
        delivery.channel,
        delivery.address_kind,
        delivery.idempotency_key,
        delivery.kind.value,
        cell_text(delivery.cell),
        delivery.subject_contact,
        delivery.status.value,
        opt_micros_of(delivery.not_before),
        opt_micros_of(delivery.next_attempt_at),
        delivery.attempts,
        delivery.lease_owner,
        opt_micros_of(delivery.lease_until),
        delivery.reason,
        history,
        opt_micros_of(delivery.due_at),
        micros_of(delivery.history[-1].at) if delivery.status.is_final and delivery.history else None,
    )


# Rows of the undelivered query have exactly DeliveryRef's fields: build them without a Python call.
delivery_ref = cast(Callable[[Any], DeliveryRef], functools.partial(tuple.__new__, DeliveryRef))


def delivery_from_row(row: Sequence[Any]) -> Delivery:
    """A delivery from a row of ``DELIVERY_COLUMNS``."""
    cell = row[7]
    return Delivery(
        id=row[0],
        message=row[1],
        contact=row[2],
        channel=row[3],
        address_kind=row[4],
        idempotency_key=row[5],
        kind=_KINDS[row[6]],
        cell=tuple(cell.split("/", 1)) if cell else None,
        subject_contact=row[8],
        status=_STATUSES[row[9]],
        not_before=opt_instant_of(row[10]),
        next_attempt_at=opt_instant_of(row[11]),
        attempts=row[12],
        lease_owner=row[13],
        lease_until=opt_instant_of(row[14]),
        reason=row[15],
        history=tuple(map(_change, row[16].splitlines())),
    )


_KINDS = {kind.value: kind for kind in DeliveryKind}
_STATUSES = {status.value: status for status in DeliveryStatus}


@functools.lru_cache(maxsize=8192)
def _change(line: str) -> StatusChange:
    """One line of a stored history. Deliveries sent together share their lines (the same status at
    the same time), and changes are immutable: each distinct line is parsed once."""
    status, at, reason = json.loads(line)
    return StatusChange(_STATUSES[status], instant_of(at), reason)


def message_from_row(row: Sequence[Any]) -> MessageRecord:
    """A message record from its row in ``messages``."""
    return MessageRecord(
        id=row[0],
        sent=instant_of(row[1]),
        status=row[2],
        type=row[3],
        references=tuple(json.loads(row[4])),
        expires=opt_instant_of(row[5]),
        document=row[6],
    )


def stored_plan(plan: str) -> bytes:
    """A plan as ``cascade_plans`` keeps it: its JSON compressed, about a sixteenth of its size for a
    national message (29 MB of text), in a fraction of the time its pages took to write. The column
    was made ``TEXT`` by migration 7; SQLite keeps a BLOB there as it is, which tells the two apart."""
    return zlib.compress(plan.encode("utf-8"), 1)


def plan_text(stored: str | bytes) -> str:
    """A stored plan's JSON; plans moved there by migration 7 stay text as they were."""
    return zlib.decompress(stored).decode("utf-8") if isinstance(stored, bytes) else stored


def cascade_from_row(row: Sequence[Any]) -> CascadeRecord:
    """A cascade record from a row of ``CASCADE_SELECT``."""
    return CascadeRecord(
        message=row[0],
        started_at=instant_of(row[1]),
        channels=row[2],
        plan=plan_text(row[3]),
        finished_at=opt_instant_of(row[4]),
    )


def acknowledgement_from_row(row: Sequence[Any]) -> Acknowledgement:
    """An acknowledgement from its row in ``acknowledgements`` (message, contact, at, via)."""
    return Acknowledgement(row[0], row[1], instant_of(row[2]), row[3])


def timer_from_row(row: Sequence[Any]) -> Timer:
    """A timer from its row in ``timers``."""
    return Timer(id=row[0], message=row[1], kind=row[2], due_at=instant_of(row[3]), subject=row[4])


def audit_from_row(row: Sequence[Any]) -> AuditEntry:
    """An audit entry from its row in ``audit_log``."""
    return AuditEntry(
        seq=row[0],
        at=instant_of(row[1]),
        event=row[2],
        message=row[3],
        contact=row[4],
        delivery=row[5],
        detail=row[6],
    )

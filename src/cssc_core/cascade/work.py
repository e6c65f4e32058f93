"""One unit of cascade work: the writes of one step, made at one instant, in one transaction.

Every step of a cascade (sending, a release, a deadline, a batch of results) runs inside a
:class:`Work`: its writes join one store transaction, and what plugins must hear (status changes,
acknowledgements, releases) is collected and announced only once that transaction has committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import attrs

from cssc_core.plugins.types import DeliveryStatusChange
from cssc_core.routing.plan import RoutingPlan
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import (
    Acknowledgement,
    AuditEntry,
    Delivery,
    DeliveryRef,
    DeliveryStatus,
    DeliveryUpdate,
    RelayRelease,
    Timer,
)

__all__ = ["Work"]


@attrs.define
class Work:
    """The writes of one step and the events to announce after they commit.

    Attributes:
        store: The store, inside a transaction.
        at: The instant the step happens at.
        watched: Whether anyone hears status changes: when no plugin does, ``changes`` stays
            empty (a national cascade makes hundreds of thousands of them).
        changes: Delivery status changes written, in order.
        acknowledgements: New acknowledgements recorded.
        releases: Cells released by an ISL.
        routed: Messages whose cascade was persisted, with their plans.
        touched: Messages whose cascade may have finished with this step.
    """

    store: Store
    at: datetime
    watched: bool = True
    changes: list[DeliveryStatusChange] = attrs.Factory(list)
    acknowledgements: list[Acknowledgement] = attrs.Factory(list)
    releases: list[RelayRelease] = attrs.Factory(list)
    routed: list[tuple[str, RoutingPlan]] = attrs.Factory(list)
    touched: set[str] = attrs.Factory(set)
    _timers: list[Timer] | None = attrs.field(default=None, init=False)
    """Timers set inside :meth:`timers_together`, not yet written."""

    def created(self, deliveries: Sequence[Delivery]) -> None:
        """Records the changes of deliveries just written (their previous status is None)."""
        self.touched.update({delivery.message for delivery in deliveries})
        if self.watched:
            self.changes.extend(
                DeliveryStatusChange.of(
                    delivery, delivery.message, None, delivery.status, self.at, delivery.reason
                )
                for delivery in deliveries
            )

    def add(self, deliveries: Sequence[Delivery]) -> None:
        """Writes new deliveries (later channels, relay requests to deputies, escalation notices)."""
        if deliveries:
            self.store.add_deliveries(deliveries)
            self.created(deliveries)

    def update(
        self,
        message: str,
        refs: Iterable[Delivery | DeliveryRef],
        status: DeliveryStatus,
        reason: str | None = None,
        *,
        not_before: dict[str, datetime] | None = None,
        cell: tuple[str, str] | None = None,
    ) -> list[str]:
        """Sets a lease-free status on deliveries; returns the ids the store changed.

        Args:
            message: The message the deliveries belong to.
            refs: The deliveries, as records or refs (their current status is the previous one).
            status: The new status.
            reason: Why.
            not_before: For ``created``: when each delivery falls due, by id.
            cell: For a released copy: the cell that released it.
        """
        refs = list(refs)
        if not refs:
            return []
        updates = [
            DeliveryUpdate(
                ref.id,
                status,
                self.at,
                reason,
                not_before=(not_before or {}).get(ref.id),
                cell=cell,
            )
            for ref in refs
        ]
        outcome = self.store.update_deliveries(updates)
        if outcome.applied:
            self.touched.add(message)
        if self.watched:
            applied = set(outcome.applied)
            self.changes.extend(
                DeliveryStatusChange.of(ref, message, ref.status, status, self.at, reason)
                for ref in refs
                if ref.id in applied
            )
        return list(outcome.applied)

    def results(
        self, updates: Sequence[DeliveryUpdate], claimed: dict[str, Delivery], worker: str
    ) -> list[str]:
        """Records a worker's results for deliveries it claimed; returns the ids accepted."""
        outcome = self.store.record_results(updates, worker, self.at)
        self.touched.update({claimed[delivery_id].message for delivery_id in outcome.applied})
        if self.watched:
            by_id = {update.delivery: update for update in updates}
            for delivery_id in outcome.applied:
                delivery, update = claimed[delivery_id], by_id[delivery_id]
                self.changes.append(
                    DeliveryStatusChange.of(
                        delivery,
                        delivery.message,
                        DeliveryStatus.SENDING,
                        update.status,
                        self.at,
                        update.reason,
                    )
                )
        return list(outcome.applied)

    def audit(
        self,
        event: str,
        message: str,
        *,
        contact: str | None = None,
        delivery: str | None = None,
        detail: str = "",
    ) -> None:
        """Appends an audit entry (ids and a short detail only)."""
        self.store.append_audit(
            [
                AuditEntry(
                    at=self.at,
                    event=event,
                    message=message,
                    contact=contact,
                    delivery=delivery,
                    detail=detail,
                )
            ]
        )

    def set_timers(self, timers: Sequence[Timer]) -> None:
        """Schedules timers (inside :meth:`timers_together`, when that block ends)."""
        if self._timers is not None:
            self._timers.extend(timers)
        elif timers:
            self.store.add_timers(timers)

    @contextmanager
    def timers_together(self) -> Iterator[None]:
        """Writes the timers set inside the block in one call when it ends, rather than one call per
        timer: a claim of a few hundred copies asking for acknowledgement starts as many timeouts.
        Nothing in the block may read timers; removing one writes those set before it first."""
        if self._timers is not None:  # already inside such a block: it writes them
            yield
            return
        self._timers = []
        try:
            yield
            self._write_timers()
        finally:
            self._timers = None

    def _write_timers(self) -> None:
        if self._timers:
            self.store.add_timers(self._timers)
            self._timers.clear()

    def remove_timers(self, message: str, timer_ids: Iterable[str]) -> None:
        """Removes timers of a message."""
        ids = list(timer_ids)
        if ids:
            self._write_timers()  # in the order they were asked for: set, then removed
            self.store.remove_timers(ids)
            self.touched.add(message)

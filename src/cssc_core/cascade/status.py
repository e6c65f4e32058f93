"""How a cascade stands: counts by status, region, sector and hop, and time-to-reach (``cssc status``).

A delivery's hop is ``direct`` (a copy sent straight to its contact, including copies that went direct
when a cell's last deadline passed), ``relay`` (a copy released by an ISL of its cell),
``relay-request`` or ``escalation``. Time-to-reach is measured from the message's ``sent`` time to the
moment each delivery was recorded ``delivered``; its p50 and p95 are nearest-rank percentiles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from cssc_core.domain.network import Network
from cssc_core.storage.records import CascadeRecord, Delivery, DeliveryKind, DeliveryStatus, MessageRecord

__all__ = ["HOPS", "CascadeStatus", "ReachTimes", "hop_of", "percentile"]

HOPS = ("direct", "relay", "relay-request", "escalation")
"""The hops a delivery can take, in the order reports list them."""


def hop_of(delivery: Delivery) -> str:
    """The hop of a delivery (see the module's description)."""
    if delivery.kind is DeliveryKind.RELAY_REQUEST:
        return "relay-request"
    if delivery.kind is DeliveryKind.ESCALATION:
        return "escalation"
    return "relay" if delivery.cell is not None else "direct"


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of sorted, non-empty ``values`` (``share`` between 0 and 1)."""
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


@attrs.frozen
class ReachTimes:
    """Seconds from the message's ``sent`` to delivery, over the delivered deliveries of one hop."""

    count: int
    p50_s: float
    p95_s: float
    max_s: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> ReachTimes | None:
        """The figures of some durations, or None when there are none."""
        if not seconds:
            return None
        ordered = sorted(seconds)
        return cls(len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.95), ordered[-1])


def _delivered_at(delivery: Delivery) -> datetime | None:
    return next((c.at for c in reversed(delivery.history) if c.status is DeliveryStatus.DELIVERED), None)


def _count(table: dict[str, dict[str, int]], key: str, status: str) -> None:
    row = table.setdefault(key, {})
    row[status] = row.get(status, 0) + 1


@attrs.frozen
class CascadeStatus:
    """One cascade's standing.

    Attributes:
        message: The message id.
        message_status: ``actual``, ``exercise`` (reported apart) or ``test``.
        message_type: ``alert``, ``update`` or ``cancel``.
        started_at: When it was sent.
        finished_at: When nothing more was left to do, or None while it runs.
        total: The number of deliveries.
        by_status: Deliveries by status.
        by_region: For each region, deliveries by status.
        by_sector: For each sector, deliveries by status (an organisation in several sectors counts
            in each; a released copy in its cell's sector only).
        by_hop: For each hop, deliveries by status.
        reach: For each hop with deliveries delivered, the time-to-reach figures.
        acknowledgements: How many contacts acknowledged.
    """

    message: str
    message_status: str
    message_type: str
    started_at: datetime
    finished_at: datetime | None
    total: int
    by_status: Mapping[str, int]
    by_region: Mapping[str, Mapping[str, int]]
    by_sector: Mapping[str, Mapping[str, int]]
    by_hop: Mapping[str, Mapping[str, int]]
    reach: Mapping[str, ReachTimes]
    acknowledgements: int

    @classmethod
    def build(
        cls,
        record: MessageRecord,
        cascade: CascadeRecord,
        deliveries: Sequence[Delivery],
        network: Network | None,
        acknowledgements: int,
    ) -> CascadeStatus:
        """Works the figures out from a cascade's deliveries."""
        by_status: dict[str, int] = {}
        by_region: dict[str, dict[str, int]] = {}
        by_sector: dict[str, dict[str, int]] = {}
        by_hop: dict[str, dict[str, int]] = {}
        seconds: dict[str, list[float]] = {}
        for delivery in deliveries:
            status = delivery.status.value
            by_status[status] = by_status.get(status, 0) + 1
            hop = hop_of(delivery)
            _count(by_hop, hop, status)
            region, sectors = "-", ["-"]
            if network is not None and network.has_contact(delivery.contact):
                organisation = network.organisation_of(delivery.contact)
                region, sectors = organisation.region, list(organisation.sectors)
            if delivery.cell is not None:
                sectors = [delivery.cell[1]]
            _count(by_region, region, status)
            for sector in sectors:
                _count(by_sector, sector, status)
            reached = _delivered_at(delivery) if delivery.status is DeliveryStatus.DELIVERED else None
            if reached is not None:
                seconds.setdefault(hop, []).append((reached - record.sent).total_seconds())
        reach = {hop: times for hop in HOPS if (times := ReachTimes.of(seconds.get(hop, ()))) is not None}
        return cls(
            message=record.id,
            message_status=record.status,
            message_type=record.type,
            started_at=cascade.started_at,
            finished_at=cascade.finished_at,
            total=len(deliveries),
            by_status=dict(sorted(by_status.items())),
            by_region=dict(sorted(by_region.items())),
            by_sector=dict(sorted(by_sector.items())),
            by_hop={hop: by_hop[hop] for hop in HOPS if hop in by_hop},
            reach=reach,
            acknowledgements=acknowledgements,
        )

    def to_document(self) -> dict[str, Any]:
        """The status as ``cssc status --json`` prints it."""
        return {
            "message": self.message,
            "status": self.message_status,
            "type": self.message_type,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "deliveries": self.total,
            "by_status": dict(self.by_status),
            "by_region": {k: dict(v) for k, v in self.by_region.items()},
            "by_sector": {k: dict(v) for k, v in self.by_sector.items()},
            "by_hop": {k: dict(v) for k, v in self.by_hop.items()},
            "time_to_reach": {hop: attrs.asdict(times) for hop, times in self.reach.items()},
            "acknowledgements": self.acknowledgements,
        }

"""The demo's report, built from what the store holds after the story (``cssc demo`` prints it).

Reach is counted in contacts: a recipient is *reached* when the first copy or relay request of the
message to it was recorded ``delivered``, and its time-to-reach runs from the message's ``sent`` time
to that moment. The tables by region, sector and hop cover the actual alerts (updates and cancels go
to whom an alert reached; the exercise is reported apart). Percentiles are nearest-rank.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cssc_core.cascade.context import parse_cell, plan_from_document
from cssc_core.cascade.relays import FELL_BACK, RELEASED
from cssc_core.cascade.sender import CANCELLED_BY
from cssc_core.cascade.status import hop_of, percentile
from cssc_core.domain.coverage import coverage
from cssc_core.domain.marking import Marking, channel_allowed, default_channel_flags
from cssc_core.domain.models import IslRole
from cssc_core.domain.network import Network
from cssc_core.routing.plan import RoutingPlan
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import Delivery, DeliveryKind, DeliveryStatus, MessageRecord

__all__ = ["build_report"]

_REACHING = (DeliveryKind.MESSAGE, DeliveryKind.RELAY_REQUEST)


def _delivered_at(delivery: Delivery) -> datetime | None:
    if delivery.status is not DeliveryStatus.DELIVERED:
        return None
    return next(c.at for c in reversed(delivery.history) if c.status is DeliveryStatus.DELIVERED)


def _first_reach(deliveries: Iterable[Delivery]) -> dict[str, tuple[datetime, Delivery]]:
    """For each contact reached, when and by which delivery it was first reached."""
    first: dict[str, tuple[datetime, Delivery]] = {}
    for delivery in deliveries:
        at = _delivered_at(delivery) if delivery.kind in _REACHING else None
        if at is not None and (delivery.contact not in first or at < first[delivery.contact][0]):
            first[delivery.contact] = (at, delivery)
    return first


def _times(seconds: Sequence[float]) -> dict[str, float | int | None]:
    ordered = sorted(seconds)
    if not ordered:
        return {"reached": 0, "p50_s": None, "p95_s": None, "max_s": None}
    return {
        "reached": len(ordered),
        "p50_s": percentile(ordered, 0.5),
        "p95_s": percentile(ordered, 0.95),
        "max_s": ordered[-1],
    }


def _rows(planned: Mapping[str, int], seconds: Mapping[str, list[float]], key: str) -> list[dict[str, Any]]:
    return [
        {key: name, "recipients": planned.get(name, 0), **_times(seconds.get(name, []))}
        for name in sorted(set(planned) | set(seconds))
    ]


def _message_entry(
    record: MessageRecord,
    plan: RoutingPlan,
    deliveries: Sequence[Delivery],
    store: Store,
    network: Network,
) -> dict[str, Any]:
    document = json.loads(record.document)
    reached = _first_reach(deliveries)
    by_status: dict[str, int] = {}
    for delivery in deliveries:
        by_status[delivery.status.value] = by_status.get(delivery.status.value, 0) + 1
    acknowledged = {a.contact for a in store.acknowledgements(record.id)}
    escalated = {d.subject_contact for d in deliveries if d.kind is DeliveryKind.ESCALATION}
    cancelled = any(entry.event == CANCELLED_BY for entry in store.audit_log(message_id=record.id))
    required = [r.contact for r in plan.recipients if r.ack]
    releases = {"lead": 0, "deputy": 0, "direct_at_deadline": 0}
    relays = {(relay.region, relay.sector): relay for relay in plan.relays}
    released_by: list[dict[str, Any]] = []
    for entry in store.audit_log(message_id=record.id):
        if entry.event == RELEASED and entry.contact is not None:
            cell = parse_cell(entry.detail)
            rank = relays[cell].isl.index(entry.contact) if entry.contact in relays[cell].isl else -1
            releases["lead" if rank == 0 else "deputy"] += 1
            if rank != 0:
                released_by.append(
                    {"region": cell[0], "sector": cell[1], "isl": entry.contact, "rank": rank + 1}
                )
        elif entry.event == FELL_BACK:
            releases["direct_at_deadline"] += 1
    marking = Marking(record_marking := document["marking"])
    off_marking = sum(
        1
        for d in deliveries
        if d.kind is not DeliveryKind.ESCALATION
        and not channel_allowed(marking, default_channel_flags(d.channel))
    )
    withheld = sum(
        1
        for r in plan.recipients
        if network.has_contact(r.contact)
        and any(
            not channel_allowed(marking, default_channel_flags(channel))
            for channel in network.contact(r.contact).channels
        )
    )
    cascade = store.get_cascade(record.id)
    return {
        "id": record.id,
        "headline": document["headline"],
        "sender": document["sender"],
        "status": record.status,
        "type": record.type,
        "marking": record_marking,
        "sent": record.sent.isoformat(),
        "finished": cascade.finished_at.isoformat() if cascade and cascade.finished_at else None,
        "recipients": len(plan.recipients),
        "reached": len(reached),
        "relayed_cells": len(plan.relays),
        "releases": releases,
        "released_by_deputies": released_by,
        "gaps": len(plan.gaps),
        "deliveries": len(deliveries),
        "by_status": dict(sorted(by_status.items())),
        "time_to_reach": _times([(at - record.sent).total_seconds() for at, _ in reached.values()]),
        "acknowledgement": {
            "required": len(required),
            "acknowledged": len(acknowledged & set(required)),
            "escalated": len(escalated),
            # A cancel stops the escalations still waiting: these contacts never acknowledged and
            # their region hub was not told, because the incident was stood down first.
            "stopped_by_cancel": len(set(required) - acknowledged - escalated) if cancelled else 0,
            "by_isls": len(acknowledged - set(required)),
        },
        "excluded": len(plan.excluded),
        "marking_withheld_channels": withheld,
        "copies_off_marking": off_marking,
    }


def build_report(store: Store, *, directory: Path, today: date) -> dict[str, Any]:
    """The report of the story held in ``store``.

    Args:
        store: The demo's store, after the story.
        directory: The demo's folder (its database and outbox are listed with their paths).
        today: The date coverage counts stale contacts from.
    """
    network = store.load_network()
    if network is None:
        raise ValueError("the demo's store holds no network")
    messages: list[dict[str, Any]] = []
    region_plan: dict[str, int] = {}
    sector_plan: dict[str, int] = {}
    hop_plan: dict[str, int] = {}
    region_s: dict[str, list[float]] = {}
    sector_s: dict[str, list[float]] = {}
    hop_s: dict[str, list[float]] = {}
    escalations: list[dict[str, Any]] = []
    exclusions: list[dict[str, Any]] = []
    gaps: set[tuple[str, str]] = set()
    for record in sorted(store.messages(), key=lambda m: (m.sent, m.id)):
        cascade = store.get_cascade(record.id)
        if cascade is None:
            continue
        plan = plan_from_document(json.loads(cascade.plan))
        deliveries = store.deliveries_of(record.id)
        entry = _message_entry(record, plan, deliveries, store, network)
        messages.append(entry)
        gaps.update((gap.region, gap.sector) for gap in plan.gaps)
        reasons: dict[str, int] = {}
        for exclusion in plan.excluded:
            reasons[exclusion.reason] = reasons.get(exclusion.reason, 0) + 1
        exclusions.append(
            {
                "message": record.id,
                "marking": entry["marking"],
                "excluded": len(plan.excluded),
                "reasons": reasons,
                "recipients_with_a_channel_withheld": entry["marking_withheld_channels"],
                "copies_on_channels_the_marking_forbids": entry["copies_off_marking"],
            }
        )
        for delivery in deliveries:
            if delivery.kind is DeliveryKind.ESCALATION:
                subject = delivery.subject_contact or ""
                organisation = network.organisation_of(subject) if network.has_contact(subject) else None
                escalations.append(
                    {
                        "message": record.id,
                        "unacknowledged": subject,
                        "organisation": organisation.name if organisation else None,
                        "notified": delivery.contact,
                        "channel": delivery.channel,
                        "status": delivery.status.value,
                        "at": delivery.history[0].at.isoformat(),
                    }
                )
        if record.status != "actual" or record.type != "alert":
            continue
        for recipient in plan.recipients:
            organisation = network.organisation_of(recipient.contact)
            region_plan[organisation.region] = region_plan.get(organisation.region, 0) + 1
            for sector in organisation.sectors:
                sector_plan[sector] = sector_plan.get(sector, 0) + 1
        for at, delivery in _first_reach(deliveries).values():
            seconds = (at - record.sent).total_seconds()
            organisation = network.organisation_of(delivery.contact)
            region_s.setdefault(organisation.region, []).append(seconds)
            for sector in organisation.sectors:
                sector_s.setdefault(sector, []).append(seconds)
            hop = hop_of(delivery)
            hop_s.setdefault(hop, []).append(seconds)
            hop_plan[hop] = hop_plan.get(hop, 0) + 1
    rows = coverage(network, today)
    outbox = directory / "cssc-outbox"
    return {
        "network": {
            "regions": len(network.regions),
            "organisations": len(network.organisations),
            "active_organisations": sum(o.is_active for o in network.organisations),
            "contacts": network.contact_count,
            "isl_roles": sum(isinstance(role, IslRole) for role in network.roles),
        },
        "messages": messages,
        "reach": {
            "by_region": _rows(region_plan, region_s, "region"),
            "by_sector": _rows(sector_plan, sector_s, "sector"),
            "by_hop": _rows(hop_plan, hop_s, "hop"),
        },
        "escalations": escalations,
        "exclusions": exclusions,
        "coverage_gaps": {
            "cells": sum(row.is_gap for row in rows),
            "stale_contacts": sum(row.stale_contacts for row in rows),
            "met_by_the_story": [{"region": r, "sector": s} for r, s in sorted(gaps)],
        },
        "files": {
            "database": str((directory / "cssc.db").resolve()),
            "outbox": [
                {"file": str(path.resolve()), "lines": _lines(path)}
                for path in sorted(outbox.glob("*.jsonl"))
            ],
        },
    }


def _lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for _ in lines)

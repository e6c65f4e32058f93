"""Small, valid sample values for tests of plugins and backends."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

from cssc_core.domain.models import (
    BoardRole,
    Contact,
    HubRole,
    IslRole,
    Language,
    LiaisonRole,
    Location,
    Membership,
    MembershipStatus,
    Organisation,
    QuietHours,
)
from cssc_core.domain.network import Network
from cssc_core.reference import reference_regions, reference_sectors
from cssc_core.storage.records import (
    CascadeRecord,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    MessageRecord,
    StatusChange,
    make_idempotency_key,
)

__all__ = [
    "T0",
    "sample_cascade",
    "sample_delivery",
    "sample_message",
    "sample_network",
    "sample_organisation",
]

T0 = datetime(2019, 6, 12, 8, 0, tzinfo=UTC)
"""The time sample records are made at."""


def sample_organisation(
    identifier: str, *, region: str = "EAST", sectors: tuple[str, ...] = ("retail",)
) -> Organisation:
    """An active organisation with one contact, ``<identifier>-c1``, reachable by email."""
    return Organisation(
        id=identifier,
        name=f"Organisation {identifier}",
        region=region,
        sectors=sectors,
        contacts=(
            Contact(
                id=f"{identifier}-c1",
                name=f"Contact of {identifier}",
                email=f"{identifier}@example.org",
                channels=("email",),
            ),
        ),
    )


def sample_network() -> Network:
    """A small network using every kind of field and role (with the reference regions and sectors)."""
    shop = Organisation(
        id="org-0001",
        name="Example Shopping Centre",
        region="EAST",
        sectors=("retail", "crowded-places"),
        location=Location(lat=52.63, lon=1.29, postcode="NR1 1AA", county="Norfolk"),
        tags=("crowded-place", "bid"),
        membership=Membership(MembershipStatus.ACTIVE, date(2019, 3, 1)),
        contacts=(
            Contact(
                id="c-0001",
                name="Sam Example",
                email="sam@example.org",
                phone="+447400123456",
                channels=("email", "sms"),
                quiet_hours=QuietHours(time(22, 0), time(7, 0), "Europe/London"),
                verified=date(2019, 1, 10),
            ),
            Contact(
                id="c-0002", name="Alex Example", email="alex@example.org", channels=("email",), test=True
            ),
        ),
    )
    chapel = Organisation(
        id="org-0002",
        name="Capel Enghraifft",
        region="WALES",
        sectors=("faith",),
        membership=Membership(MembershipStatus.LAPSED),
        contacts=(
            Contact(
                id="c-0003",
                name="Cerys Enghraifft",
                phone="+442079460001",
                webhook="https://hooks.example.org/cssc",
                channels=("sms", "webhook", "pager"),
                language=Language.CY,
            ),
        ),
    )
    return Network(
        regions=reference_regions(),
        sectors=reference_sectors(),
        organisations=(shop, chapel),
        roles=(
            IslRole("EAST", "retail", "c-0001", 1),
            IslRole("EAST", "retail", "c-0002", 2),
            HubRole("c-0002", "EAST"),
            HubRole("c-0003"),
            LiaisonRole("WALES", "c-0003"),
            BoardRole("c-0001", "finance", "EAST"),
        ),
    )


def sample_message(identifier: str = "msg-1", *, sent: datetime = T0) -> MessageRecord:
    """A stored alert with a minimal ``cssc-message/1`` document."""
    document = {"format": "cssc-message/1", "id": identifier, "sent": sent.isoformat(), "headline": "Test"}
    return MessageRecord(id=identifier, document=json.dumps(document), sent=sent)


def sample_cascade(message: str = "msg-1", *, at: datetime = T0) -> CascadeRecord:
    """A running cascade of ``message`` with the default file channels."""
    channels = {"email": {"type": "file", "address": "email", "secure": True}}
    return CascadeRecord(message=message, started_at=at, channels=json.dumps(channels))


def sample_delivery(
    identifier: str,
    message: str = "msg-1",
    *,
    contact: str = "c-0001",
    channel: str = "email",
    status: DeliveryStatus = DeliveryStatus.CREATED,
    not_before: datetime | None = None,
    at: datetime = T0,
) -> Delivery:
    """A delivery of ``message`` whose idempotency key is derived from its id (so ids stay unique)."""
    return Delivery(
        id=identifier,
        message=message,
        contact=contact,
        channel=channel,
        address_kind="email",
        idempotency_key=make_idempotency_key(
            message, contact, channel, DeliveryKind.MESSAGE, subject_contact=identifier
        ),
        status=status,
        not_before=not_before,
        history=(StatusChange(status, at),),
    )

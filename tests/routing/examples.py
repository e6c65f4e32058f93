"""A small hand-made network and message for the worked examples of the routing tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cssc_core.domain.marking import Marking
from cssc_core.domain.message import (
    Audience,
    Category,
    Certainty,
    Message,
    MessageType,
    Severity,
    Status,
    Urgency,
)
from cssc_core.domain.models import (
    Contact,
    IslRole,
    Membership,
    MembershipStatus,
    Organisation,
    Region,
    Sector,
)
from cssc_core.domain.network import Network

REGIONS = (Region("EAST", "Eastern", ("Norfolk",)), Region("SCOT", "Scotland", ("Glasgow City",)))
SECTORS = (Sector("retail", "Retail"), Sector("faith", "Faith"))


def _contact(ident: str, *channels: str) -> Contact:
    return Contact(
        ident, f"Person {ident}", email=f"{ident}@example.org", phone="+441314960000", channels=channels
    )


def _organisation(
    ident: str, region: str, sectors: tuple[str, ...], *contacts: Contact, **kw: Any
) -> Organisation:
    return Organisation(ident, f"Org {ident}", region, sectors, contacts=contacts, **kw)


def example_message(marking: Marking = Marking.GREEN, audience: Audience | None = None, **kw: Any) -> Message:
    """An immediate, severe security alert to everyone, unless told otherwise."""
    values: dict[str, Any] = {
        "id": "msg-1",
        "sender": "NCTPHQ",
        "sent": datetime(2019, 6, 12, 8, tzinfo=UTC),
        "status": Status.ACTUAL,
        "type": MessageType.ALERT,
        "marking": marking,
        "category": Category.SECURITY,
        "urgency": Urgency.IMMEDIATE,
        "severity": Severity.SEVERE,
        "certainty": Certainty.OBSERVED,
        "headline": "Suspicious item",
        "audience": audience or Audience(),
    }
    values.update(kw)
    return Message(**values)


def example_network() -> Network:
    """Two regions; org-1 (SCOT, retail and faith, tag bid), org-2 holding the (SCOT, retail) ISLs
    c-09 (lead) and c-10, org-3 (EAST, faith, sms only) and org-4 (lapsed, holding the EAST retail ISL)."""
    return Network(
        REGIONS,
        SECTORS,
        (
            _organisation(
                "org-1", "SCOT", ("retail", "faith"), _contact("c-01", "sms", "email"), tags=("bid",)
            ),
            _organisation("org-2", "SCOT", ("retail",), _contact("c-09", "email"), _contact("c-10", "email")),
            _organisation("org-3", "EAST", ("faith",), _contact("c-20", "sms")),
            _organisation(
                "org-4",
                "EAST",
                ("retail",),
                _contact("c-30", "email"),
                membership=Membership(MembershipStatus.LAPSED),
            ),
        ),
        (
            IslRole("SCOT", "retail", "c-10", 2),
            IslRole("SCOT", "retail", "c-09", 1),
            IslRole("EAST", "retail", "c-30"),
        ),
    )

"""The routing plan: who gets a message, how, and who does not and why (SPEC.md sections 5, 6, 9).

A :class:`RoutingPlan` is plain data for embedders; :meth:`RoutingPlan.to_document` gives the JSON of
``cssc route --json``. Plans are made by :class:`cssc_core.routing.engine.Router`.
"""

from __future__ import annotations

from typing import Any

import attrs

from cssc_core.domain.marking import Marking
from cssc_core.domain.network import Cell
from cssc_core.routing.policy import Via

__all__ = ["Exclusion", "Gap", "Reach", "Recipient", "Relay", "RoutingPlan"]


@attrs.frozen
class Recipient:
    """A contact that gets the message.

    Attributes:
        contact: The contact's id.
        organisation: Its organisation's id.
        region: Its organisation's region.
        via: ``isl`` when it gets the message once a cell releases it, ``direct`` otherwise.
        relay: The cells with ISLs it is relayed through, sorted by sector; empty when direct.
        channels: Its channels in delivery order.
        ack: Whether it must acknowledge (then it gets one channel at a time).
        routes: The names of the routes that applied, in the order tried; empty when the defaults did.
        ack_timeout_s: Seconds to wait for an acknowledgement before the next channel.
        relay_deadline_s: Its organisation's relay deadline, in seconds.
    """

    contact: str
    organisation: str
    region: str
    via: Via
    relay: tuple[Cell, ...]
    channels: tuple[str, ...]
    ack: bool
    routes: tuple[str, ...]
    ack_timeout_s: int
    relay_deadline_s: int

    def to_document(self) -> dict[str, Any]:
        """The recipient as in ``cssc route --json``."""
        return {
            "contact": self.contact,
            "organisation": self.organisation,
            "region": self.region,
            "via": str(self.via),
            "relay": [list(cell) for cell in self.relay],
            "channels": list(self.channels),
            "ack": self.ack,
            "routes": list(self.routes),
        }


@attrs.frozen
class Relay:
    """A cell that relays the message: its ISLs get relay requests, lead first.

    Attributes:
        region: The cell's region.
        sector: The cell's sector.
        isl: The ISLs that count (active organisation, a channel the marking allows), lead first.
        isl_channels: For each ISL in ``isl``, the channels its relay requests go on.
        deadline_s: Seconds each ISL has to release it: the smallest relay deadline of the
            organisations relayed through the cell.
    """

    region: str
    sector: str
    isl: tuple[str, ...]
    isl_channels: tuple[tuple[str, ...], ...]
    deadline_s: int

    def to_document(self) -> dict[str, Any]:
        """The relay as in ``cssc route --json``."""
        return {
            "region": self.region,
            "sector": self.sector,
            "isl": list(self.isl),
            "deadline_s": self.deadline_s,
        }


@attrs.frozen
class Exclusion:
    """A contact of the audience that does not get the message, and why."""

    organisation: str
    contact: str
    reason: str

    def to_document(self) -> dict[str, Any]:
        """The exclusion as in ``cssc route --json``."""
        return {"organisation": self.organisation, "contact": self.contact, "reason": self.reason}


@attrs.frozen
class Gap:
    """A cell of an ISL-routed recipient organisation that has no ISL to relay through."""

    region: str
    sector: str

    def to_document(self) -> dict[str, Any]:
        """The gap as in ``cssc route --json``."""
        return {"region": self.region, "sector": self.sector}


@attrs.frozen
class Reach:
    """A contact an earlier message reached, and the channels that reached it (for updates and cancels)."""

    contact: str
    channels: tuple[str, ...]


@attrs.frozen(repr=False)
class RoutingPlan:
    """Everything routing decided for one message.

    Attributes:
        message: The message id.
        marking: Its marking, which every copy carries.
        recipients: Sorted by contact id.
        relays: Sorted by region, then sector.
        excluded: Sorted by contact id.
        gaps: Sorted by region, then sector.
    """

    message: str
    marking: Marking
    recipients: tuple[Recipient, ...] = ()
    relays: tuple[Relay, ...] = ()
    excluded: tuple[Exclusion, ...] = ()
    gaps: tuple[Gap, ...] = ()

    def __repr__(self) -> str:
        # Counts rather than entries: a national plan has 100,000 recipients, and a log line or an
        # asyncio task's repr that held it would take seconds and megabytes to build.
        return (
            f"RoutingPlan(message={self.message!r}, marking={self.marking!s}, "
            f"{len(self.recipients)} recipients, {len(self.relays)} relays, "
            f"{len(self.excluded)} excluded, {len(self.gaps)} gaps)"
        )

    def to_document(self) -> dict[str, Any]:
        """The plan as ``cssc route --json`` prints it (SPEC.md section 9)."""
        return {
            "message": self.message,
            "recipients": [recipient.to_document() for recipient in self.recipients],
            "relays": [relay.to_document() for relay in self.relays],
            "excluded": [exclusion.to_document() for exclusion in self.excluded],
            "gaps": [gap.to_document() for gap in self.gaps],
        }

    def recipient(self, contact: str) -> Recipient | None:
        """The recipient entry of a contact, or None when it is not a recipient."""
        return next((r for r in self.recipients if r.contact == contact), None)

"""Coverage of the network, region x sector: ISLs present, active organisations, stale contacts.

This is the report hubs use to see where the cascade would break: a cell with active members and no
Industry Sector Lead is a coverage gap, and contacts nobody has re-verified for twelve months are the
ones most likely to bounce when it matters.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import attrs

from cssc_core.domain.network import Network

__all__ = ["CoverageRow", "coverage"]


@attrs.frozen
class CoverageRow:
    """One region x sector cell of the coverage report.

    Attributes:
        region: The region code.
        sector: The sector code.
        isls: How many ISL roles the cell has (lead and deputies).
        active_organisations: How many of its organisations are active members.
        organisations: How many organisations it has in all.
        stale_contacts: Contacts of its active organisations not verified in the last twelve months.
    """

    region: str
    sector: str
    isls: int
    active_organisations: int
    organisations: int
    stale_contacts: int

    @property
    def is_gap(self) -> bool:
        """A cell with active members and no ISL: messages routed through ISLs cannot be relayed."""
        return self.active_organisations > 0 and self.isls == 0


def coverage(network: Network, today: date) -> tuple[CoverageRow, ...]:
    """The coverage report, one row per cell that has organisations or ISLs, sorted by region, sector.

    Args:
        network: The network.
        today: The date staleness is measured from.
    """
    rows: list[CoverageRow] = []
    for region, sector in network.cells():
        organisations = network.organisations_in(region, sector)
        active = [organisation for organisation in organisations if organisation.is_active]
        stale = Counter(
            contact.is_stale(today) for organisation in active for contact in organisation.contacts
        )
        rows.append(
            CoverageRow(
                region=region,
                sector=sector,
                isls=len(network.isls(region, sector)),
                active_organisations=len(active),
                organisations=len(organisations),
                stale_contacts=stale[True],
            )
        )
    return tuple(rows)

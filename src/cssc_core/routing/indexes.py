"""Indexes of a network for finding a message's audience without looking at every organisation.

Built once per network (networks are immutable) and shared by every policy routed over it.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable

from cssc_core.domain.audience import EARTH_RADIUS_KM, area_contains
from cssc_core.domain.message import Area, Audience, Circle, County, PostcodeDistrict
from cssc_core.domain.models import Organisation
from cssc_core.domain.network import Network

__all__ = ["AudienceIndex"]

# Widens latitude windows a little, so that rounding never prunes a point the exact test would keep.
_MARGIN_DEGREES = 1e-9


class AudienceIndex:
    """The active organisations of a network, indexed by every field an audience selects on.

    Positions are indexes into :attr:`organisations` (the active organisations in document order).
    """

    def __init__(self, network: Network) -> None:
        self.organisations: tuple[Organisation, ...] = tuple(o for o in network.organisations if o.is_active)
        by_region: defaultdict[str, list[int]] = defaultdict(list)
        by_sector: defaultdict[str, list[int]] = defaultdict(list)
        by_tag: defaultdict[str, list[int]] = defaultdict(list)
        by_county: defaultdict[str, list[int]] = defaultdict(list)
        by_district: defaultdict[str, list[int]] = defaultdict(list)
        located: list[tuple[float, int]] = []
        for position, organisation in enumerate(self.organisations):
            by_region[organisation.region].append(position)
            for sector in set(organisation.sectors):
                by_sector[sector].append(position)
            for tag in set(organisation.tags):
                by_tag[tag].append(position)
            location = organisation.location
            if location.county is not None:
                by_county[location.county.casefold()].append(position)
            district = location.postcode_district
            if district is not None:
                by_district[district.casefold()].append(position)
            if location.lat is not None:
                located.append((location.lat, position))
        located.sort()
        self._by_region = dict(by_region)
        self._by_sector = dict(by_sector)
        self._by_tag = dict(by_tag)
        self._by_county = dict(by_county)
        self._by_district = dict(by_district)
        self._by_id = {o.id: position for position, o in enumerate(self.organisations)}
        self._latitudes = [lat for lat, _ in located]
        self._located = [position for _, position in located]

    def select(self, audience: Audience) -> list[int]:
        """The positions of the audience's organisations, in document order."""
        selections: list[set[int]] = []
        if audience.regions:
            selections.append(_union(self._by_region, audience.regions))
        if audience.sectors:
            selections.append(_union(self._by_sector, audience.sectors))
        if audience.tags:
            selections.append(_union(self._by_tag, audience.tags))
        if audience.organisations:
            selections.append({self._by_id[i] for i in audience.organisations if i in self._by_id})
        if audience.areas:
            selections.append(set().union(*(self._in_area(area) for area in audience.areas)))
        if not selections:
            return list(range(len(self.organisations)))
        selections.sort(key=len)
        chosen = selections[0].intersection(*selections[1:])
        return sorted(chosen)

    def _in_area(self, area: Area) -> set[int]:
        if isinstance(area, County):
            return set(self._by_county.get(area.name.casefold(), ()))
        if isinstance(area, PostcodeDistrict):
            return set(self._by_district.get(area.code.casefold(), ()))
        if isinstance(area, Circle):
            reach = math.degrees(area.radius_km / EARTH_RADIUS_KM) + _MARGIN_DEGREES
            low, high = area.lat - reach, area.lat + reach
        else:
            low = min(lat for lat, _ in area.points) - _MARGIN_DEGREES
            high = max(lat for lat, _ in area.points) + _MARGIN_DEGREES
        start = bisect.bisect_left(self._latitudes, low)
        stop = bisect.bisect_right(self._latitudes, high)
        organisations = self.organisations
        return {
            position
            for position in self._located[start:stop]
            if area_contains(area, organisations[position].location)
        }


def _union(index: dict[str, list[int]], keys: Iterable[str]) -> set[int]:
    chosen: set[int] = set()
    for key in keys:
        chosen.update(index.get(key, ()))
    return chosen

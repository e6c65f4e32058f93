"""Route selection as bit sets: which routes apply to an organisation, without testing each route.

For one region, the routes tried are numbered in the order tried (locked national routes, the
region's, the other national routes); a set of routes is an integer with one bit per route. A route's
``select`` holds for an organisation when each of its three tests is empty or meets the organisation's
values, so the routes whose ``select`` holds are found with one look-up per sector, tag and county of
the organisation and two ANDs. The routes that apply to a message are those whose ``match`` also holds,
up to and including the first that does not ``continue``: the lowest such bit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from cssc_core.domain.models import Organisation
from cssc_core.routing.policy import Route

__all__ = ["RegionRoutes"]


def _masks(routes: tuple[Route, ...], values_of: str, fold: bool = False) -> tuple[int, dict[str, int]]:
    """The routes that test nothing for this field, and for each value the routes whose test names it."""
    free = 0
    named: defaultdict[str, int] = defaultdict(int)
    for bit, route in enumerate(routes):
        values: tuple[str, ...] = getattr(route.select, values_of)
        if not values:
            free |= 1 << bit
        for value in values:
            named[value.casefold() if fold else value] |= 1 << bit
    return free, dict(named)


class RegionRoutes:
    """The routes tried for the organisations of one region, as bit sets in the order tried."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self.routes = routes
        self._free_sectors, self._sectors = _masks(routes, "sectors")
        self._free_tags, self._tags = _masks(routes, "tags")
        self._free_counties, self._counties = _masks(routes, "counties", fold=True)
        self._stops = sum(1 << bit for bit, route in enumerate(routes) if not route.continue_)

    def selected(self, organisation: Organisation) -> int:
        """The routes whose ``select`` holds for the organisation."""
        sectors = self._free_sectors
        for sector in organisation.sectors:
            sectors |= self._sectors.get(sector, 0)
        tags = self._free_tags
        for tag in organisation.tags:
            tags |= self._tags.get(tag, 0)
        counties = self._free_counties
        county = organisation.location.county
        if county is not None:
            counties |= self._counties.get(county.casefold(), 0)
        return sectors & tags & counties

    def matching(self, names: Iterable[str]) -> int:
        """The routes, by name, whose ``match`` holds for a message."""
        wanted = set(names)
        return sum(1 << bit for bit, route in enumerate(self.routes) if route.name in wanted)

    def applied(self, selected: int, matching: int) -> int:
        """The routes that apply: selected and matching, up to the first that does not continue."""
        applying = selected & matching
        stops = applying & self._stops
        if stops:
            first_stop = stops & -stops
            applying &= (first_stop << 1) - 1
        return applying

    def routes_of(self, routes: int) -> tuple[Route, ...]:
        """The routes of a bit set, in the order tried."""
        return tuple(route for bit, route in enumerate(self.routes) if routes >> bit & 1)

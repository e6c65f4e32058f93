"""Route selection as bit sets agrees with testing each route's select in turn."""

from __future__ import annotations

from hypothesis import given, settings

from cssc_core.domain.models import Location, Organisation
from cssc_core.domain.network import Network
from cssc_core.routing.policy import Route, RoutingPolicy, Select
from cssc_core.routing.selection import RegionRoutes
from tests.strategies import ROUTING_REGIONS, routing_networks, routing_policies


@settings(max_examples=200, deadline=None)
@given(routing_networks(), routing_policies())
def test_selected_routes_are_those_whose_select_holds(network: Network, policy: RoutingPolicy) -> None:
    for region in ROUTING_REGIONS:
        table = RegionRoutes(policy.routes_tried(region.code))
        for organisation in network.organisations:
            expected = tuple(r for r in table.routes if r.select.holds(organisation))
            assert table.routes_of(table.selected(organisation)) == expected


def test_applied_routes_stop_after_the_first_that_does_not_continue() -> None:
    routes = (
        Route("a", continue_=True),
        Route("b", select=Select(counties=("fife",))),
        Route("c", continue_=True),
        Route("d"),
        Route("e"),
    )
    table = RegionRoutes(routes)
    fife = Organisation("o", "O", "SCOT", ("retail",), location=Location(county="Fife"))
    elsewhere = Organisation("p", "P", "SCOT", ("retail",))
    everything = table.matching(["a", "b", "c", "d", "e"])
    assert [r.name for r in table.routes_of(table.applied(table.selected(fife), everything))] == ["a", "b"]
    assert [r.name for r in table.routes_of(table.applied(table.selected(elsewhere), everything))] == [
        "a",
        "c",
        "d",
    ]
    no_d = table.matching(["a", "c", "e"])
    assert [r.name for r in table.routes_of(table.applied(table.selected(elsewhere), no_d))] == [
        "a",
        "c",
        "e",
    ]
    assert table.applied(table.selected(elsewhere), 0) == 0

"""The audience indexes select what the one-organisation-at-a-time rules of SPEC.md section 4 select."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cssc_core.domain.audience import in_audience
from cssc_core.domain.message import Audience, Circle, Polygon
from cssc_core.domain.models import Location, Organisation
from cssc_core.domain.network import Network
from cssc_core.routing.indexes import AudienceIndex
from tests.strategies import ROUTING_REGIONS, ROUTING_SECTORS, message_audiences, routing_networks


def _organisation(ident: str, lat: float, lon: float) -> Organisation:
    return Organisation(ident, ident, "SCOT", ("retail",), location=Location(lat=lat, lon=lon))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), network=routing_networks())
def test_indexes_select_the_same_organisations(data: st.DataObject, network: Network) -> None:
    audience = data.draw(message_audiences(network))
    index = AudienceIndex(network)
    expected = [p for p, o in enumerate(index.organisations) if in_audience(audience, o)]
    assert index.select(audience) == expected


def test_polygon_area_through_the_indexes() -> None:
    polygon = Polygon(((55.86, -4.27), (55.87, -4.27), (55.87, -4.25)))
    inside = _organisation("org-1", 55.868, -4.268)
    outside = _organisation("org-2", 55.861, -4.251)
    network = Network(ROUTING_REGIONS, ROUTING_SECTORS, (inside, outside))
    index = AudienceIndex(network)
    assert index.select(Audience(areas=(polygon,))) == [0]


def test_circle_latitude_window_keeps_the_rim() -> None:
    centre = _organisation("org-1", 55.0, -4.0)
    north = _organisation("org-2", 55.1, -4.0)
    network = Network(ROUTING_REGIONS, ROUTING_SECTORS, (centre, north))
    from cssc_core.domain.audience import haversine_km

    rim = haversine_km(55.0, -4.0, 55.1, -4.0)
    assert AudienceIndex(network).select(Audience(areas=(Circle(55.0, -4.0, rim),))) == [0, 1]
    assert AudienceIndex(network).select(Audience(areas=(Circle(55.0, -4.0, rim * 0.9999),))) == [0]

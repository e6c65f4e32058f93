"""Audience selection (SPEC.md section 4), one organisation at a time and through the engine's indexes."""

from __future__ import annotations

import math

import pytest

from cssc_core.domain.audience import (
    EARTH_RADIUS_KM,
    area_contains,
    audience_contacts,
    audience_failures,
    circle_contains,
    haversine_km,
    in_audience,
    polygon_contains,
)
from cssc_core.domain.message import Audience, Circle, County, PostcodeDistrict
from cssc_core.domain.models import Contact, Location, Membership, MembershipStatus, Organisation


def _organisation(**kw: object) -> Organisation:
    values: dict[str, object] = {"id": "org-1", "name": "Org", "region": "SCOT", "sectors": ("retail",)}
    values.update(kw)
    return Organisation(**values)  # type: ignore[arg-type]


def test_haversine_uses_the_mean_earth_radius() -> None:
    assert haversine_km(0, 0, 1, 0) == pytest.approx(math.pi / 180 * EARTH_RADIUS_KM)
    assert EARTH_RADIUS_KM == 6371.0088
    # Glasgow Central to Edinburgh Waverley, about 66.5 km.
    assert haversine_km(55.8590, -4.2576, 55.9520, -3.1890) == pytest.approx(67.2, abs=0.5)


def test_circle_includes_its_rim() -> None:
    distance = haversine_km(55.86, -4.26, 55.87, -4.26)
    assert circle_contains(Circle(55.86, -4.26, distance), 55.87, -4.26)
    assert not circle_contains(Circle(55.86, -4.26, distance * 0.999), 55.87, -4.26)


def test_polygon_even_odd_rule() -> None:
    square = ((0.0, 0.0), (0.0, 2.0), (2.0, 2.0), (2.0, 0.0))
    assert polygon_contains(square, 1.0, 1.0)
    assert not polygon_contains(square, 3.0, 1.0)
    # A bow tie crosses itself: its two lobes are inside, the region past the crossing is outside.
    bow_tie = ((0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0))
    assert polygon_contains(bow_tie, 0.2, 1.0)
    assert polygon_contains(bow_tie, 1.8, 1.0)
    assert not polygon_contains(bow_tie, 1.0, 0.2)
    # A square with a square hole drawn as one ring: the hole is outside.
    ring = (
        (0.0, 0.0),
        (0.0, 4.0),
        (4.0, 4.0),
        (4.0, 0.0),
        (0.0, 0.0),
        (1.0, 1.0),
        (3.0, 1.0),
        (3.0, 3.0),
        (1.0, 3.0),
        (1.0, 1.0),
    )
    assert not polygon_contains(ring, 2.0, 2.0)
    assert polygon_contains(ring, 0.5, 2.0)


def test_county_and_postcode_district_ignore_case() -> None:
    location = Location(postcode="G3 8AG", county="Glasgow City")
    assert area_contains(County("GLASGOW city"), location)
    assert area_contains(PostcodeDistrict("g3"), location)
    assert not area_contains(PostcodeDistrict("G38"), location)
    assert not area_contains(County("Fife"), location)
    assert area_contains(PostcodeDistrict("EC1A"), Location(postcode="EC1A 1BB"))


def test_a_location_without_the_needed_part_is_outside() -> None:
    assert not area_contains(Circle(55.86, -4.26, 1000), Location(county="Fife"))
    assert not area_contains(County("Fife"), Location(lat=55.86, lon=-4.26))
    assert not area_contains(PostcodeDistrict("G3"), Location())


def test_selectors_are_anded_and_values_ored() -> None:
    organisation = _organisation(sectors=("retail", "faith"), tags=("bid",))
    assert in_audience(Audience(), organisation)
    assert in_audience(
        Audience(regions=("EAST", "SCOT"), sectors=("faith",), tags=("bid", "x")), organisation
    )
    assert not in_audience(Audience(regions=("SCOT",), tags=("night",)), organisation)
    assert audience_failures(Audience(regions=("EAST",), tags=("night",)), organisation) == [
        "its region SCOT is not one of EAST",
        "none of its tags is one of night",
    ]


def test_only_active_organisations_are_in_the_audience() -> None:
    lapsed = _organisation(membership=Membership(MembershipStatus.LAPSED))
    assert not in_audience(Audience(), lapsed)
    assert audience_failures(Audience(), lapsed) == ["its membership is lapsed, not active"]


def test_named_contacts_narrow_the_recipients() -> None:
    organisation = _organisation(contacts=(Contact("c-1", "One"), Contact("c-2", "Two")))
    assert [c.id for c in audience_contacts(Audience(), organisation)] == ["c-1", "c-2"]
    assert [c.id for c in audience_contacts(Audience(contacts=("c-2", "c-9")), organisation)] == ["c-2"]

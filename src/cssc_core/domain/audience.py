"""Who is in a message's audience (SPEC.md section 4).

An organisation is in the audience when it is active and every selector that is present holds:
``regions`` contains its region, ``sectors`` and ``tags`` meet its own, some area contains its location,
``organisations`` contains its id. Its contacts are all recipients, unless ``contacts`` names some, in
which case only those named are.

These functions state the rules one organisation at a time; the routing engine answers the same
questions for a whole network at once from indexes, and must agree with them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cssc_core.domain.message import Area, Audience, Circle, County, PostcodeDistrict
from cssc_core.domain.models import Contact, Location, Organisation

__all__ = [
    "EARTH_RADIUS_KM",
    "area_contains",
    "audience_contacts",
    "audience_failures",
    "circle_contains",
    "haversine_km",
    "in_audience",
    "polygon_contains",
]

EARTH_RADIUS_KM = 6371.0088
"""The mean earth radius (IUGG) used for circle areas."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points given in degrees, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def circle_contains(circle: Circle, lat: float, lon: float) -> bool:
    """Tells whether a point lies within the circle (distance at most the radius)."""
    return haversine_km(circle.lat, circle.lon, lat, lon) <= circle.radius_km


def polygon_contains(points: Sequence[tuple[float, float]], lat: float, lon: float) -> bool:
    """The even-odd rule on (lat, lon) as plane coordinates; the polygon closes itself.

    Points exactly on an edge may count either way.
    """
    inside = False
    previous_lat, previous_lon = points[-1]
    for vertex_lat, vertex_lon in points:
        if (vertex_lon > lon) != (previous_lon > lon):
            crossing = vertex_lat + (lon - vertex_lon) * (previous_lat - vertex_lat) / (
                previous_lon - vertex_lon
            )
            if lat < crossing:
                inside = not inside
        previous_lat, previous_lon = vertex_lat, vertex_lon
    return inside


def area_contains(area: Area, location: Location) -> bool:
    """Tells whether an area contains a location; a location without the needed part is outside."""
    if isinstance(area, County):
        return location.county is not None and location.county.casefold() == area.name.casefold()
    if isinstance(area, PostcodeDistrict):
        district = location.postcode_district
        return district is not None and district.casefold() == area.code.casefold()
    if location.lat is None or location.lon is None:
        return False
    if isinstance(area, Circle):
        return circle_contains(area, location.lat, location.lon)
    return polygon_contains(area.points, location.lat, location.lon)


def in_audience(audience: Audience, organisation: Organisation) -> bool:
    """Tells whether an organisation is in the audience (it must be active)."""
    return (
        organisation.is_active
        and (not audience.regions or organisation.region in audience.regions)
        and (not audience.sectors or not set(audience.sectors).isdisjoint(organisation.sectors))
        and (not audience.tags or not set(audience.tags).isdisjoint(organisation.tags))
        and (not audience.areas or any(area_contains(a, organisation.location) for a in audience.areas))
        and (not audience.organisations or organisation.id in audience.organisations)
    )


def audience_failures(audience: Audience, organisation: Organisation) -> list[str]:
    """Why an organisation is not in the audience, one reason per failing test; empty when it is in."""
    reasons = []
    if not organisation.is_active:
        reasons.append(f"its membership is {organisation.membership.status}, not active")
    if audience.regions and organisation.region not in audience.regions:
        reasons.append(f"its region {organisation.region} is not one of {', '.join(audience.regions)}")
    if audience.sectors and set(audience.sectors).isdisjoint(organisation.sectors):
        reasons.append(f"none of its sectors is one of {', '.join(audience.sectors)}")
    if audience.tags and set(audience.tags).isdisjoint(organisation.tags):
        reasons.append(f"none of its tags is one of {', '.join(audience.tags)}")
    if audience.areas and not any(area_contains(a, organisation.location) for a in audience.areas):
        reasons.append("no area of the audience contains its location")
    if audience.organisations and organisation.id not in audience.organisations:
        reasons.append("it is not one of the organisations the audience names")
    return reasons


def audience_contacts(audience: Audience, organisation: Organisation) -> tuple[Contact, ...]:
    """The recipient contacts of an audience organisation, before channels and markings."""
    if not audience.contacts:
        return organisation.contacts
    named = set(audience.contacts)
    return tuple(contact for contact in organisation.contacts if contact.id in named)

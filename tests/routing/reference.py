"""A plain reference implementation of routing, written for clarity straight from SPEC.md sections
4, 5, 6 and 9, sharing no code with the engine (only the model classes it reads).

It looks at every organisation and tries every route in turn, which is what the engine must agree
with, and what the benchmark compares the engine's speed against.
"""

from __future__ import annotations

import math
from typing import Any

from cssc_core.domain.marking import ChannelFlags
from cssc_core.domain.message import Circle, County, Message, Polygon, PostcodeDistrict
from cssc_core.domain.models import Contact, Organisation
from cssc_core.domain.network import Network
from cssc_core.routing.policy import Route, RoutingPolicy

# SPEC section 6, written out as a table.
TABLE = {
    "TLP:CLEAR": {"only_named": False, "relay": True, "channels": "any"},
    "TLP:GREEN": {"only_named": False, "relay": True, "channels": "not public"},
    "TLP:AMBER": {"only_named": False, "relay": True, "channels": "secure"},
    "TLP:AMBER+STRICT": {"only_named": False, "relay": False, "channels": "secure"},
    "TLP:RED": {"only_named": True, "relay": False, "channels": "secure"},
}


def channel_flags(name: str, channel_file: dict[str, ChannelFlags] | None) -> ChannelFlags | None:
    """SPEC section 7: without a channel file, email and webhook are secure, nothing is public."""
    if channel_file is None:
        return ChannelFlags(secure=name in ("email", "webhook"), public=False)
    return channel_file.get(name)


def marking_allows_channel(marking: str, flags: ChannelFlags | None) -> bool:
    if flags is None:
        return False
    rule = TABLE[marking]["channels"]
    if rule == "any":
        return True
    if rule == "not public":
        return not flags.public
    return flags.secure and not flags.public


def allowed_channels_of(
    contact: Contact, marking: str, channel_file: dict[str, ChannelFlags] | None
) -> list[str]:
    return [c for c in contact.channels if marking_allows_channel(marking, channel_flags(c, channel_file))]


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    radius = 6371.0088
    a = (
        math.sin(math.radians(lat2 - lat1) / 2) ** 2
        + math.cos(math.radians(lat1))
        * math.cos(math.radians(lat2))
        * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * radius * math.asin(min(1.0, math.sqrt(a)))


def inside_polygon(points: tuple[tuple[float, float], ...], x: float, y: float) -> bool:
    # Even-odd rule with latitude as x and longitude as y.
    inside = False
    n = len(points)
    for i in range(n):
        x1, y1 = points[i]
        x2, y2 = points[i - 1]
        if (y1 > y) != (y2 > y):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < x_cross:
                inside = not inside
    return inside


def area_holds(area: Any, organisation: Organisation) -> bool:
    location = organisation.location
    if isinstance(area, County):
        return location.county is not None and location.county.lower() == area.name.lower()
    if isinstance(area, PostcodeDistrict):
        if location.postcode is None:
            return False
        outward = location.postcode.replace(" ", "")[:-3]
        return outward.lower() == area.code.lower()
    if location.lat is None or location.lon is None:
        return False
    if isinstance(area, Circle):
        return haversine(area.lat, area.lon, location.lat, location.lon) <= area.radius_km
    assert isinstance(area, Polygon)
    return inside_polygon(area.points, location.lat, location.lon)


def in_the_audience(message: Message, organisation: Organisation) -> bool:
    audience = message.audience
    if organisation.membership.status != "active":
        return False
    if audience.regions and organisation.region not in audience.regions:
        return False
    if audience.sectors and not any(s in audience.sectors for s in organisation.sectors):
        return False
    if audience.tags and not any(t in audience.tags for t in organisation.tags):
        return False
    if audience.areas and not any(area_holds(a, organisation) for a in audience.areas):
        return False
    return not (audience.organisations and organisation.id not in audience.organisations)


def route_applies(route: Route, message: Message, organisation: Organisation) -> bool:
    match = route.match
    for field in ("status", "type", "category", "urgency", "severity", "certainty", "marking", "sender"):
        wanted = getattr(match, field)
        if wanted and str(getattr(message, field)) not in wanted:
            return False
    select = route.select
    if select.sectors and not any(s in select.sectors for s in organisation.sectors):
        return False
    if select.tags and not any(t in select.tags for t in organisation.tags):
        return False
    if select.counties:
        county = organisation.location.county
        if county is None or county.lower() not in [c.lower() for c in select.counties]:
            return False
    return True


def settings_for(
    policy: RoutingPolicy, message: Message, organisation: Organisation
) -> tuple[dict[str, Any], list[str]]:
    """The merged settings and the names of the applied routes, for one organisation."""
    region = organisation.region
    tried = [r for r in policy.routes if r.locked]
    tried += list(policy.regions.get(region, ()))
    tried += [r for r in policy.routes if not r.locked]
    applied = []
    for route in tried:
        if route_applies(route, message, organisation):
            applied.append(route)
            if not route.continue_:
                break
    defaults = {
        "via": str(policy.defaults.via),
        "channels": list(policy.defaults.channels),
        "relay_deadline": policy.defaults.relay_deadline,
        "ack": str(policy.defaults.ack),
        "ack_timeout": policy.defaults.ack_timeout,
    }
    if not applied:
        return defaults, []
    completed = []
    for route in applied:
        settings = dict(defaults)
        for field in ("via", "channels", "relay_deadline", "ack", "ack_timeout"):
            value = getattr(route, field)
            if value is not None:
                settings[field] = list(value) if field == "channels" else value
        completed.append(settings)
    merged: dict[str, Any] = {"channels": []}
    for settings in completed:
        for channel in settings["channels"]:
            if channel not in merged["channels"]:
                merged["channels"].append(channel)
    merged["via"] = "direct" if any(s["via"] == "direct" for s in completed) else "isl"
    merged["ack"] = "required" if any(s["ack"] == "required" for s in completed) else "none"
    merged["ack_timeout"] = min(s["ack_timeout"] for s in completed)
    merged["relay_deadline"] = min(s["relay_deadline"] for s in completed)
    return merged, [r.name for r in applied]


def reference_plan(
    network: Network,
    policy: RoutingPolicy,
    message: Message,
    channel_file: dict[str, ChannelFlags] | None = None,
) -> dict[str, Any]:
    """The section 9 document of a plan, plus ``timers`` (per contact: ack timeout, relay deadline)
    and ``relay_channels`` (per cell: each ISL's relay request channels)."""
    marking = str(message.marking)
    recipients = []
    excluded = []
    gaps = set()
    cell_deadlines: dict[tuple[str, str], int] = {}
    cell_isls: dict[tuple[str, str], list[tuple[str, list[str]]]] = {}
    timers = {}

    for organisation in network.organisations:
        if not in_the_audience(message, organisation):
            continue
        settings, route_names = settings_for(policy, message, organisation)

        kept = []
        for contact in organisation.contacts:
            if message.audience.contacts and contact.id not in message.audience.contacts:
                continue
            if TABLE[marking]["only_named"] and contact.id not in message.audience.contacts:
                excluded.append(
                    {
                        "organisation": organisation.id,
                        "contact": contact.id,
                        "reason": "TLP:RED goes only to contacts named in the audience",
                    }
                )
                continue
            allowed = allowed_channels_of(contact, marking, channel_file)
            if not allowed:
                if not contact.channels:
                    reason = "this contact has no channel"
                elif all(channel_flags(c, channel_file) is None for c in contact.channels):
                    reason = "the channel file defines no channel of this contact"
                else:
                    reason = f"{marking} allows no channel of this contact"
                excluded.append({"organisation": organisation.id, "contact": contact.id, "reason": reason})
                continue
            chosen = [c for c in settings["channels"] if c in allowed]
            if not chosen:
                chosen = [allowed[0]]
            kept.append((contact, chosen))
        if not kept:
            continue

        via = settings["via"]
        if not TABLE[marking]["relay"]:
            via = "direct"
        relay_cells = []
        if via == "isl":
            for sector in sorted(set(organisation.sectors)):
                if message.audience.sectors and sector not in message.audience.sectors:
                    continue
                cell = (organisation.region, sector)
                isls = []
                for role in network.isls(*cell):
                    isl_contact = network.contact(role.contact)
                    if not network.organisation_of(role.contact).is_active:
                        continue
                    channels = allowed_channels_of(isl_contact, marking, channel_file)
                    if channels:
                        isls.append((role.contact, channels))
                if isls:
                    relay_cells.append(cell)
                    cell_isls[cell] = isls
                    cell_deadlines[cell] = min(
                        cell_deadlines.get(cell, settings["relay_deadline"]), settings["relay_deadline"]
                    )
                else:
                    gaps.add(cell)
            if not relay_cells:
                via = "direct"
        for contact, chosen in kept:
            recipients.append(
                {
                    "contact": contact.id,
                    "organisation": organisation.id,
                    "region": organisation.region,
                    "via": via,
                    "relay": [list(cell) for cell in relay_cells],
                    "channels": chosen,
                    "ack": settings["ack"] == "required",
                    "routes": route_names,
                }
            )
            timers[contact.id] = (settings["ack_timeout"], settings["relay_deadline"])

    return {
        "message": message.id,
        "recipients": sorted(recipients, key=lambda r: r["contact"]),
        "relays": [
            {
                "region": cell[0],
                "sector": cell[1],
                "isl": [isl for isl, _ in cell_isls[cell]],
                "deadline_s": cell_deadlines[cell],
            }
            for cell in sorted(cell_deadlines)
        ],
        "excluded": sorted(excluded, key=lambda e: e["contact"]),
        "gaps": [{"region": region, "sector": sector} for region, sector in sorted(gaps)],
        "timers": timers,
        "relay_channels": {cell: [channels for _, channels in isls] for cell, isls in cell_isls.items()},
    }

"""Hypothesis strategies for every model, in one place.

Networks are built small (a few regions, sectors and organisations) so that properties explore
shapes, not sizes; ids are drawn from small pools so that collisions and shared cells happen often.
"""

from __future__ import annotations

from datetime import date, time

from hypothesis import strategies as st

from cssc_core import (
    BoardRole,
    Contact,
    HubRole,
    IslRole,
    Language,
    LiaisonRole,
    Location,
    Membership,
    MembershipStatus,
    Network,
    Organisation,
    QuietHours,
    Region,
    Role,
    Sector,
)

# Values that the loaders accept and keep as they are (already in their normal form).
PHONES = ("+442079460123", "+441314960999", "+441614960000", "+442920180456", "+447400123456")
POSTCODES = ("NR1 1AA", "G3 8AG", "CF10 1AA", "BT1 5GS", "M1 1AE", "B1 1BB", "EC1A 1BB", "SW1A 2AA")
COUNTIES = ("Norfolk", "Suffolk", "Glasgow City", "Cardiff", "Greater Manchester")
CHANNELS = ("email", "sms", "webhook", "pager")

codes = st.sampled_from(("EAST", "SCOT", "WALES", "NW"))
sector_codes = st.sampled_from(("retail", "faith", "bids", "health"))
labels = st.sampled_from(("crowded-place", "bid", "mailroom", "city-centre", "night-time-economy"))
# Names exercise the awkward characters that CSV and TOML must carry: quotes, separators, Welsh.
names = st.text(
    alphabet=st.sampled_from("abcXYZ '\",;=+-@ŵŷ&"),
    min_size=1,
    max_size=12,
).filter(lambda name: name.strip() != "")


def regions() -> st.SearchStrategy[tuple[Region, ...]]:
    """The four regions the other strategies refer to, each owning some counties."""
    return st.just(
        (
            Region("EAST", "Eastern", ("Norfolk", "Suffolk")),
            Region("SCOT", "Scotland", ("Glasgow City",)),
            Region("WALES", "Wales", ("Cardiff",)),
            Region("NW", "North West", ("Greater Manchester",)),
        )
    )


def sectors() -> st.SearchStrategy[tuple[Sector, ...]]:
    """The four sectors the other strategies refer to."""
    return st.just(
        (
            Sector("retail", "Retail"),
            Sector("faith", "Faith"),
            Sector("bids", "BIDs"),
            Sector("health", "Health"),
        )
    )


def quiet_hours() -> st.SearchStrategy[QuietHours]:
    """Quiet hours on whole minutes, sometimes wrapping past midnight."""
    minutes = st.builds(time, st.integers(0, 23), st.integers(0, 59))
    return st.builds(QuietHours, minutes, minutes, st.sampled_from(("Europe/London", "UTC")))


@st.composite
def contacts(draw: st.DrawFn, contact_id: str) -> Contact:
    """A contact whose channels always have the addresses they need."""
    email = draw(st.none() | st.just(f"{contact_id}@example.org"))
    phone = draw(st.none() | st.sampled_from(PHONES))
    webhook = draw(st.none() | st.just(f"https://hooks.example.net/{contact_id}"))
    usable = [
        channel
        for channel, address in (("email", email), ("sms", phone), ("webhook", webhook), ("pager", "-"))
        if address
    ]
    channels = draw(st.lists(st.sampled_from(usable), unique=True, max_size=3))
    return Contact(
        id=contact_id,
        name=draw(names),
        email=email,
        phone=phone,
        webhook=webhook,
        channels=tuple(channels),
        language=draw(st.sampled_from(Language)),
        quiet_hours=draw(st.none() | quiet_hours()),
        verified=draw(st.none() | st.dates(date(2015, 1, 1), date(2020, 1, 1))),
        test=draw(st.booleans()),
    )


@st.composite
def locations(draw: st.DrawFn, region: Region) -> Location:
    """A location, each part optional; its county (if any) is one of its region's."""
    has_point = draw(st.booleans())
    return Location(
        lat=draw(st.floats(49.0, 61.0)) if has_point else None,
        lon=draw(st.floats(-8.0, 2.0)) if has_point else None,
        postcode=draw(st.none() | st.sampled_from(POSTCODES)),
        county=draw(st.none() | st.sampled_from(region.counties)),
    )


@st.composite
def networks(draw: st.DrawFn, max_organisations: int = 6) -> Network:
    """A valid network: unique ids, every reference resolving, ISLs in some cells and not others."""
    region_list = draw(regions())
    sector_list = draw(sectors())
    organisations: list[Organisation] = []
    next_contact = 0
    for index in range(draw(st.integers(0, max_organisations))):
        region = draw(st.sampled_from(region_list))
        contact_list = []
        for _ in range(draw(st.integers(0, 3))):
            next_contact += 1
            contact_list.append(draw(contacts(f"c-{next_contact:04d}")))
        organisations.append(
            Organisation(
                id=f"org-{index:04d}",
                name=draw(names),
                region=region.code,
                sectors=tuple(draw(st.lists(sector_codes, min_size=1, max_size=3, unique=True))),
                location=draw(locations(region)),
                tags=tuple(draw(st.lists(labels, unique=True, max_size=3))),
                membership=Membership(
                    draw(st.sampled_from(MembershipStatus)),
                    draw(st.none() | st.dates(date(2013, 1, 1), date(2019, 6, 1))),
                ),
                contacts=tuple(contact_list),
            )
        )
    roles = draw(_roles(organisations))
    return Network(region_list, sector_list, tuple(organisations), roles)


@st.composite
def _roles(draw: st.DrawFn, organisations: list[Organisation]) -> tuple[Role, ...]:
    roles: list[Role] = []
    seen: set[tuple[object, ...]] = set()
    for organisation in organisations:
        for contact in organisation.contacts:
            kind = draw(st.sampled_from(("isl", "isl", "hub", "liaison", "board", None, None)))
            role: Role
            if kind == "isl":
                sector = draw(st.sampled_from(organisation.sectors))
                role = IslRole(organisation.region, sector, contact.id, draw(st.integers(1, 3)))
                key: tuple[object, ...] = ("isl", organisation.region, sector, contact.id)
            elif kind == "hub":
                role = HubRole(contact.id, draw(st.none() | st.just(organisation.region)))
                key = ("hub", role.region, contact.id)
            elif kind == "liaison":
                role = LiaisonRole(organisation.region, contact.id)
                key = ("liaison", contact.id)
            elif kind == "board":
                role = BoardRole(contact.id, draw(st.sampled_from(("finance", "comms"))))
                key = ("board", contact.id)
            else:
                continue
            if key not in seen:
                seen.add(key)
                roles.append(role)
    return tuple(roles)

"""Hypothesis strategies for every model, in one place.

Networks are built small (a few regions, sectors and organisations) so that properties explore
shapes, not sizes; ids are drawn from small pools so that collisions and shared cells happen often.
Routing has its own family (``routing_*``, ``message_*``, ``messages``): networks over two regions
and three sectors with ISLs, policies and messages whose selectors and tests often meet.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

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
from cssc_core.domain.marking import ChannelFlags, Marking
from cssc_core.domain.message import (
    Area,
    Audience,
    Category,
    Certainty,
    Circle,
    County,
    LanguageBlock,
    Message,
    MessageType,
    Polygon,
    PostcodeDistrict,
    Severity,
    Status,
    Urgency,
)
from cssc_core.routing.plan import Reach
from cssc_core.routing.policy import Ack, Match, Route, RoutingPolicy, Select, Settings, Via

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


# --- routing ----------------------------------------------------------------------------------

ROUTING_REGIONS = (
    Region("EAST", "Eastern", ("Norfolk", "Suffolk")),
    Region("SCOT", "Scotland", ("Glasgow City", "Fife")),
)
ROUTING_SECTORS = (Sector("retail", "Retail"), Sector("faith", "Faith"), Sector("education", "Education"))
ROUTING_TAGS = ("bid", "crowded-place", "night-time")
ROUTING_CHANNELS = ("email", "sms", "webhook", "pager")
ROUTING_POSTCODES = ("G3 8AG", "G1 1AA", "NR1 1AA", "KY1 1XX")
# A small box over Glasgow, so that circles and polygons of a few kilometres catch some points.
_LAT = (55.84, 55.90)
_LON = (-4.30, -4.22)

_latitudes = st.floats(*_LAT, allow_nan=False)
_longitudes = st.floats(*_LON, allow_nan=False)


# --- routing networks ---------------------------------------------------------------------------


@st.composite
def routing_contacts(draw: st.DrawFn, ident: str) -> Contact:
    """A contact with every address, using a random ordered choice of the routing channels."""
    channels = draw(
        st.lists(
            st.sampled_from(ROUTING_CHANNELS),
            unique=True,
            min_size=draw(st.sampled_from([0, 1, 1])),
            max_size=3,
        )
    )
    return Contact(
        id=ident,
        name=f"Person {ident}",
        email=f"{ident}@example.org",
        phone="+441314960000",
        webhook="https://hooks.example.org/cssc",
        channels=tuple(channels),
    )


@st.composite
def routing_locations(draw: st.DrawFn, region: Region) -> Location:
    """A location whose parts are each present or not; the county, if any, is in the region."""
    located = draw(st.booleans())
    return Location(
        lat=draw(_latitudes) if located else None,
        lon=draw(_longitudes) if located else None,
        postcode=draw(st.none() | st.sampled_from(ROUTING_POSTCODES)),
        county=draw(st.none() | st.sampled_from(region.counties)),
    )


@st.composite
def routing_networks(draw: st.DrawFn, max_organisations: int = 7) -> Network:
    """A small network over two regions and three sectors, with ISLs in some cells."""
    organisations = []
    contact_ids: list[str] = []
    for i in range(draw(st.integers(0, max_organisations) | st.integers(3, max_organisations))):
        region = draw(st.sampled_from(ROUTING_REGIONS))
        contacts = []
        for _ in range(draw(st.integers(0, 3) | st.integers(1, 3))):
            ident = f"c-{len(contact_ids):03d}"
            contact_ids.append(ident)
            contacts.append(draw(routing_contacts(ident)))
        sectors = draw(
            st.lists(st.sampled_from([s.code for s in ROUTING_SECTORS]), min_size=1, max_size=3, unique=True)
        )
        organisations.append(
            Organisation(
                id=f"org-{i:03d}",
                name=f"Organisation {i}",
                region=region.code,
                sectors=tuple(sectors),
                location=draw(routing_locations(region)),
                tags=tuple(draw(st.lists(st.sampled_from(ROUTING_TAGS), unique=True, max_size=2))),
                membership=Membership(
                    draw(st.sampled_from([MembershipStatus.ACTIVE] * 4 + list(MembershipStatus)))
                ),
                contacts=tuple(contacts),
            )
        )
    roles = []
    if contact_ids:
        cells = [(r.code, s.code) for r in ROUTING_REGIONS for s in ROUTING_SECTORS]
        chosen = draw(
            st.lists(
                st.tuples(st.sampled_from(cells), st.sampled_from(contact_ids), st.integers(1, 3)),
                max_size=10,
                unique_by=lambda t: (t[0], t[1]),
            )
        )
        roles = [IslRole(region, sector, contact, rank) for (region, sector), contact, rank in chosen]
    return Network(ROUTING_REGIONS, ROUTING_SECTORS, tuple(organisations), tuple(roles))


# --- routing policies ---------------------------------------------------------------------------


def _some(values: tuple[str, ...] | list[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), unique=True, max_size=2).map(tuple)


_durations = st.sampled_from([60, 300, 600, 900, 1800])
_channel_lists = st.lists(st.sampled_from(ROUTING_CHANNELS), unique=True, min_size=1, max_size=3).map(tuple)


def routing_matches() -> st.SearchStrategy[Match]:
    """A route's tests on the message, over a few values of each field."""
    return st.builds(
        Match,
        status=_some([s.value for s in Status]),
        category=_some(["security", "safety", "health"]),
        urgency=_some(["immediate", "expected"]),
        severity=_some(["extreme", "severe", "minor"]),
        marking=_some([m.value for m in Marking]),
        sender=_some(["NCTPHQ", "SCOT-HUB"]),
    )


def routing_selects() -> st.SearchStrategy[Select]:
    """A route's tests on the organisation; counties in any letter case."""
    counties = [c for r in ROUTING_REGIONS for c in r.counties] + ["glasgow city", "NORFOLK"]
    return st.builds(
        Select,
        sectors=_some([s.code for s in ROUTING_SECTORS]),
        tags=_some(list(ROUTING_TAGS)),
        counties=_some(counties),
    )


@st.composite
def routing_routes(draw: st.DrawFn, name: str, national: bool) -> Route:
    """A route with random tests and some settings left to the defaults."""
    return Route(
        name=name,
        match=draw(st.just(Match()) | routing_matches()),
        select=draw(st.just(Select()) | routing_selects()),
        locked=draw(st.booleans()) if national else False,
        continue_=draw(st.booleans()),
        via=draw(st.sampled_from([None, None, Via.ISL, Via.DIRECT])),
        channels=draw(st.none() | _channel_lists),
        relay_deadline=draw(st.none() | _durations),
        ack=draw(st.none() | st.sampled_from(Ack)),
        ack_timeout=draw(st.none() | _durations),
    )


def routing_settings() -> st.SearchStrategy[Settings]:
    """A ``[defaults]`` table."""
    return st.builds(
        Settings,
        via=st.sampled_from([Via.ISL, Via.ISL, Via.ISL, Via.DIRECT]),
        channels=_channel_lists,
        relay_deadline=_durations,
        ack=st.sampled_from(Ack),
        ack_timeout=_durations,
    )


@st.composite
def routing_policies(draw: st.DrawFn, max_routes: int = 5) -> RoutingPolicy:
    """A policy with national routes and routes for some regions; route names are unique."""
    national = [draw(routing_routes(f"national-{i}", True)) for i in range(draw(st.integers(0, max_routes)))]
    regions = {}
    for region in ROUTING_REGIONS:
        count = draw(st.integers(0, 3))
        if count:
            regions[region.code] = tuple(
                draw(routing_routes(f"{region.code.lower()}-{i}", False)) for i in range(count)
            )
    return RoutingPolicy(defaults=draw(routing_settings()), routes=tuple(national), regions=regions)


def routing_channel_flags() -> st.SearchStrategy[dict[str, ChannelFlags] | None]:
    """No channel file (None), or a channel file defining some of the routing channels."""
    flags = st.builds(ChannelFlags, secure=st.booleans(), public=st.booleans())
    return st.none() | st.dictionaries(st.sampled_from(ROUTING_CHANNELS), flags, max_size=4)


# --- messages -----------------------------------------------------------------------------------

_texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(str.strip)
_times = st.datetimes(
    min_value=datetime(2019, 1, 1),
    max_value=datetime(2030, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
    ),
).map(lambda moment: moment.replace(microsecond=0))


def message_areas() -> st.SearchStrategy[Area]:
    """Any kind of audience area, near the routing networks' locations."""
    circles = st.builds(Circle, _latitudes, _longitudes, st.floats(0, 5, allow_nan=False))
    polygons = st.lists(st.tuples(_latitudes, _longitudes), min_size=3, max_size=6).map(
        lambda points: Polygon(tuple(points))
    )
    counties = st.sampled_from(["Glasgow City", "glasgow city", "Fife", "NORFOLK", "Kent"]).map(County)
    districts = st.sampled_from(["G3", "G1", "NR1", "KY1", "EH1"]).map(PostcodeDistrict)
    return st.one_of(circles, polygons, counties, districts)


@st.composite
def message_audiences(draw: st.DrawFn, network: Network | None = None) -> Audience:
    """An audience whose selectors are each often absent, so that many audiences are not empty.

    With a network, it names only that network's organisations and contacts.
    """
    organisation_ids = [o.id for o in network.organisations] if network else ["org-000", "org-001"]
    contact_ids = [c.id for _, c in network.contacts()] if network else ["c-000", "c-001"]

    def sometimes(strategy: st.SearchStrategy[tuple[Any, ...]]) -> tuple[Any, ...]:
        return draw(strategy) if draw(st.integers(0, 3)) == 0 else ()

    return Audience(
        regions=sometimes(_some([r.code for r in ROUTING_REGIONS])),
        sectors=sometimes(_some([s.code for s in ROUTING_SECTORS])),
        tags=sometimes(_some(list(ROUTING_TAGS))),
        areas=sometimes(st.lists(message_areas(), max_size=2).map(tuple)),
        organisations=sometimes(_some(organisation_ids)) if organisation_ids else (),
        contacts=sometimes(st.lists(st.sampled_from(contact_ids), unique=True, max_size=4).map(tuple))
        if contact_ids
        else (),
    )


def message_language_blocks() -> st.SearchStrategy[LanguageBlock]:
    """A Welsh block."""
    return st.builds(LanguageBlock, headline=_texts, body=st.none() | _texts, instruction=st.none() | _texts)


@st.composite
def messages(draw: st.DrawFn, network: Network | None = None, *, alerts_only: bool = False) -> Message:
    """A valid message; with a network, its audience names only what that network has."""
    kind = MessageType.ALERT if alerts_only else draw(st.sampled_from(MessageType))
    sent = draw(_times)
    references: tuple[str, ...] = ()
    if kind is not MessageType.ALERT:
        references = tuple(
            draw(st.lists(st.sampled_from(["msg-1", "msg-2", "msg-3"]), min_size=1, unique=True))
        )
    return Message(
        id=draw(st.from_regex(r"msg-[a-z0-9]{1,8}", fullmatch=True)),
        sender=draw(st.sampled_from(["NCTPHQ", "SCOT-HUB"])),
        sent=sent,
        status=draw(st.sampled_from(Status)),
        type=kind,
        marking=draw(st.sampled_from(Marking)),
        category=draw(st.sampled_from([Category.SECURITY, Category.SAFETY, Category.HEALTH, Category.OTHER])),
        urgency=draw(st.sampled_from(Urgency)),
        severity=draw(st.sampled_from(Severity)),
        certainty=draw(st.sampled_from(Certainty)),
        headline=draw(_texts),
        body=draw(st.none() | _texts),
        instruction=draw(st.none() | _texts),
        expires=draw(st.none() | st.integers(1, 86_400).map(lambda s: sent + timedelta(seconds=s))),
        references=references,
        languages=draw(st.dictionaries(st.just("cy"), message_language_blocks(), max_size=1)),
        audience=draw(message_audiences(network)),
    )


@st.composite
def message_reaches(draw: st.DrawFn, network: Network) -> list[Reach]:
    """Whom an earlier message reached (for updates and cancels): some contacts, on some of their channels."""
    contacts = [contact for _, contact in network.contacts() if contact.channels]
    chosen = draw(st.lists(st.sampled_from(contacts), unique_by=lambda c: c.id)) if contacts else []
    return [
        Reach(c.id, tuple(draw(st.lists(st.sampled_from(c.channels), min_size=1, unique=True))))
        for c in chosen
    ]


# --- hostile input -------------------------------------------------------------------------------
# Valid documents with one part replaced by something hostile, and texts damaged on the way in: the
# inputs an attacker or a broken spreadsheet export sends. Readers must refuse each with a
# ValidationError (or accept it, when the damage happens to leave a valid document), never anything else.

HOSTILE_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ufeff",
    "\u202e",
    "\ud800",
    "=cmd|' /C calc'!A0",
    "+44",
    "'-",
    "../../etc/passwd",
    "<script>",
    "${jndi:ldap://x}",
    "{{ 7 * 7 }}",
    "\r\nBcc: victim@example.org",
    "x" * 10_001,
    "9" * 4_301,
    "NaN",
    "Infinity",
    "1e999",
    "-0",
    "0x1F",
    "2019-02-30",
    "24:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "Europe/../../etc",
    "sqlite:///x",
    "http://[::1",
    "https://user:pw@example.org",
    "TLP:ORANGE",
)

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**63, -(2**63) - 1, 10**30, -1, 0])
    | st.floats()
    | st.sampled_from(HOSTILE_STRINGS)
    | st.text(max_size=20)
)
hostile_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON-like document: keys of objects and indexes of lists."""
    found: list[tuple[Any, ...]] = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(_paths(value, (*prefix, index)))
    return found


@st.composite
def damaged_documents(draw: st.DrawFn, document: Any) -> Any:
    """A copy of ``document`` with one to three places replaced by hostile values, removed, or
    given an unknown key."""
    import copy

    damaged = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(damaged)))
        if not path:
            return draw(hostile_values)
        parent = damaged
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "remove", "extra"]))
        if action == "replace" or (action == "remove" and isinstance(parent, list)):
            parent[path[-1]] = draw(hostile_values)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(HOSTILE_STRINGS))] = draw(hostile_values)
    return damaged


@st.composite
def damaged_texts(draw: st.DrawFn, text: str) -> bytes:
    """The UTF-8 bytes of ``text``, damaged: cut short, bytes flipped, hostile pieces inserted, a byte
    order mark or invalid UTF-8 added, or nested very deep."""
    raw = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["cut", "flip", "insert", "bom", "invalid", "nest", "repeat"]))
        at = draw(st.integers(0, len(raw)))
        if action == "cut":
            del raw[at:]
        elif action == "flip" and raw:
            raw[min(at, len(raw) - 1)] = draw(st.integers(0, 255))
        elif action == "insert":
            piece = draw(st.sampled_from(HOSTILE_STRINGS)).encode("utf-8", "surrogatepass")
            raw[at:at] = piece
        elif action == "bom":
            raw[0:0] = b"\xef\xbb\xbf"
        elif action == "invalid":
            raw[at:at] = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]))
        elif action == "nest":
            depth = draw(st.sampled_from([100, 5_000, 100_000]))
            raw[at:at] = b"[" * depth + b"]" * depth
        elif action == "repeat" and raw:
            start = draw(st.integers(0, len(raw) - 1))
            raw[at:at] = raw[start : start + 64] * draw(st.integers(2, 50))
    return bytes(raw)


def channel_documents() -> st.SearchStrategy[object]:
    """``cssc-channels/1`` documents, mostly malformed: known keys with values of every type, and
    some documents that are not tables at all."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-5, 100_000)
        | st.floats(allow_nan=False)
        | st.text(max_size=12)
    )
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8,
    )
    keys = st.sampled_from(
        ["type", "address", "secure", "public", "concurrency", "rate_per_s", "providers", "failover", "path",
         "url", "sender", "password", "secret_env", "body_template", "subject_template", "weight", "x"]
    )  # fmt: skip
    likely = st.sampled_from(["file", "smtp", "email", "phone", "{headline}"])
    channel = st.dictionaries(keys, values | likely, max_size=6)
    documents = st.fixed_dictionaries(
        {"format": st.sampled_from(["cssc-channels/1", "x"])},
        optional={
            "outbox": values,
            "acks": st.dictionaries(st.sampled_from(["base_url", "secret_env", "y"]), values, max_size=2),
            "channels": st.dictionaries(
                st.sampled_from(["email", "sms", "pager", "Bad Name"]), channel | values, max_size=3
            ),
        },
    )
    return documents | values


REPLY_CODE_CHARACTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""The characters of SMS reply codes."""


@st.composite
def near_misses(draw: st.DrawFn, code: str) -> str:
    """``code`` with one character replaced, dropped or added."""
    at = draw(st.integers(0, len(code) - 1))
    other = draw(st.sampled_from(REPLY_CODE_CHARACTERS).filter(lambda ch: ch != code[at]))
    edit = draw(st.sampled_from(["replace", "drop", "add"]))
    if edit == "replace":
        return code[:at] + other + code[at + 1 :]
    if edit == "drop":
        return code[:at] + code[at + 1 :]
    return code[:at] + other + code[at:]


@st.composite
def reply_texts(draw: st.DrawFn, codes: list[str]) -> str:
    """What may come back by SMS: any text, code-shaped texts, and near misses of ``codes``,
    sometimes after ``ACK`` and in lower case."""
    body = draw(
        st.text(max_size=40)
        | st.text(REPLY_CODE_CHARACTERS, min_size=7, max_size=11)
        | st.sampled_from(codes).flatmap(near_misses)
    )
    if draw(st.booleans()):
        body = f"{draw(st.sampled_from(['ACK ', 'ack', 'YES ', 'Ack: ']))}{body}"
    return body.lower() if draw(st.booleans()) else body

"""The network's members as immutable values: regions, sectors, organisations, contacts and roles.

These classes hold data that has already been validated (by the loaders in :mod:`cssc_core.formats`
or by whoever builds them in code); they check nothing expensive themselves, so that storage can map
rows back into them cheaply. Change a value with :func:`attrs.evolve`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

import attrs

__all__ = [
    "ADDRESS_KINDS",
    "AddressKind",
    "BoardRole",
    "Contact",
    "HubRole",
    "IslRole",
    "Language",
    "LiaisonRole",
    "Location",
    "Membership",
    "MembershipStatus",
    "Organisation",
    "QuietHours",
    "Region",
    "Role",
    "Sector",
]

AddressKind: TypeAlias = Literal["email", "phone", "webhook"]
"""The contact fields a channel can deliver to."""

ADDRESS_KINDS: tuple[AddressKind, ...] = ("email", "phone", "webhook")

# The built-in channel names that take their address from a contact field of their own; any other
# channel name gets its address kind from the channel file at send time (SPEC.md section 3).
_CHANNEL_ADDRESS: dict[str, AddressKind] = {"email": "email", "sms": "phone", "webhook": "webhook"}


@attrs.frozen
class Region:
    """A CSSC region (``EAST``, ``SCOT``, ...) with the counties it covers."""

    code: str
    name: str
    counties: tuple[str, ...] = ()


@attrs.frozen
class Sector:
    """An industry sector (``retail``, ``faith``, ``bids``, ...)."""

    code: str
    name: str


@attrs.frozen
class Location:
    """Where an organisation is. Every part is optional; latitude and longitude come together.

    Attributes:
        lat: Latitude in degrees (WGS84).
        lon: Longitude in degrees (WGS84).
        postcode: A UK postcode, upper-case with one space (``NR1 1AA``).
        county: The county or council area, as the region's reference data names it.
    """

    lat: float | None = None
    lon: float | None = None
    postcode: str | None = None
    county: str | None = None

    @property
    def postcode_district(self) -> str | None:
        """The outward code of the postcode (``G3`` for ``G3 8AG``), or None without a postcode."""
        if self.postcode is None:
            return None
        return self.postcode.replace(" ", "")[:-3]


class MembershipStatus(enum.StrEnum):
    """Where an organisation stands; only ``active`` members receive messages."""

    PENDING = "pending"
    ACTIVE = "active"
    LAPSED = "lapsed"
    SUSPENDED = "suspended"


@attrs.frozen
class Membership:
    """An organisation's membership status and the date it joined."""

    status: MembershipStatus = MembershipStatus.ACTIVE
    joined: date | None = None


class Language(enum.StrEnum):
    """The languages copies are written in: English and Welsh."""

    EN = "en"
    CY = "cy"


@attrs.frozen
class QuietHours:
    """A daily window in the contact's time zone during which non-urgent deliveries wait.

    The window is the half-open interval [start, end); it may wrap past midnight (22:00 to 07:00);
    start equal to end means no quiet hours at all.
    """

    start: time
    end: time
    tz: str = "Europe/London"

    def contains(self, instant: datetime) -> bool:
        """Tells whether an aware datetime falls inside the quiet window."""
        if self.start == self.end:
            return False
        local = instant.astimezone(ZoneInfo(self.tz)).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, instant: datetime) -> datetime:
        """The first moment at or after ``instant`` that lies outside the window.

        Returns ``instant`` itself when it is not inside the window.
        """
        if not self.contains(instant):
            return instant
        zone = ZoneInfo(self.tz)
        local = instant.astimezone(zone)
        end = datetime.combine(local.date(), self.end, tzinfo=zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        return end


@attrs.frozen
class Contact:
    """A person at a member organisation, with the addresses and preferences used to reach them.

    Attributes:
        id: Unique across the whole network.
        name: The person's name.
        email: Normalised email address, if any.
        phone: E.164 phone number (``+447400123456``), if any.
        webhook: An HTTPS URL that receives JSON copies, if any.
        channels: Channel names in order of preference.
        language: ``en`` or ``cy``; Welsh speakers get the message's Welsh block.
        quiet_hours: When non-urgent messages wait, or None.
        verified: When the contact last confirmed these details.
        test: Whether the contact receives messages whose status is ``test``.
    """

    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    webhook: str | None = None
    channels: tuple[str, ...] = ()
    language: Language = Language.EN
    quiet_hours: QuietHours | None = None
    verified: date | None = None
    test: bool = False

    def address(self, kind: AddressKind) -> str | None:
        """The contact's address of one kind (``email``, ``phone`` or ``webhook``)."""
        value: str | None = getattr(self, kind)
        return value

    def is_stale(self, today: date) -> bool:
        """Tells whether the contact has not confirmed its details in the twelve months to ``today``."""
        if self.verified is None:
            return True
        # 29 February has no anniversary; the year before it ends on the 28th.
        year_ago = today.replace(
            year=today.year - 1, day=min(today.day, 28) if today.month == 2 else today.day
        )
        return self.verified < year_ago


def builtin_channel_address(channel: str) -> AddressKind | None:
    """The contact field a built-in channel name delivers to, or None for other channel names."""
    return _CHANNEL_ADDRESS.get(channel)


@attrs.frozen
class Organisation:
    """A member body of the network.

    Attributes:
        id: Unique across the whole network (organisation and contact ids share one namespace).
        name: The organisation's name.
        region: The code of its region.
        sectors: The codes of its sectors, at least one.
        location: Where it is.
        tags: Free labels that messages and routes select on (``crowded-place``, ``bid``).
        membership: Its membership status.
        contacts: Its people.
    """

    id: str
    name: str
    region: str
    sectors: tuple[str, ...]
    location: Location = Location()
    tags: tuple[str, ...] = ()
    membership: Membership = Membership()
    contacts: tuple[Contact, ...] = ()

    @property
    def is_active(self) -> bool:
        """Only active organisations receive messages."""
        return self.membership.status is MembershipStatus.ACTIVE


@attrs.frozen
class IslRole:
    """An Industry Sector Lead for one (region, sector) cell; rank 1 leads, 2 and up deputise."""

    region: str
    sector: str
    contact: str
    rank: int = 1

    kind: Literal["isl"] = attrs.field(default="isl", init=False)


@attrs.frozen
class HubRole:
    """A hub contact of a region, or of the national hub when ``region`` is None."""

    contact: str
    region: str | None = None

    kind: Literal["hub"] = attrs.field(default="hub", init=False)


@attrs.frozen
class LiaisonRole:
    """A police liaison contact of a region."""

    region: str
    contact: str

    kind: Literal["liaison"] = attrs.field(default="liaison", init=False)


@attrs.frozen
class BoardRole:
    """A board member with a portfolio, of a region's board or (``region`` None) the national one."""

    contact: str
    portfolio: str
    region: str | None = None

    kind: Literal["board"] = attrs.field(default="board", init=False)


Role: TypeAlias = IslRole | HubRole | LiaisonRole | BoardRole
"""Any role; the ``kind`` attribute tells which (``isl``, ``hub``, ``liaison``, ``board``)."""

"""The network as the SQLite store keeps it: JSON documents per organisation, contact and role.

What the store holds was validated before it was written (a :class:`~cssc_core.domain.network.Network`
checks itself when made), so reading it back does not check it again. Organisations and contacts, the
bulk of a network, are rebuilt by hand-written readers that call the models' constructors straight;
regions, sectors and roles go through a converter that trusts its input (no detailed validation, plain
values taken as they are). The network is then made with
:meth:`~cssc_core.domain.network.Network.trusted`, which skips the integrity check.
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import operator
from collections.abc import Iterable, Iterator
from datetime import date, time
from typing import Any

import cattrs

from cssc_core.domain.models import (
    Contact,
    Language,
    Location,
    Membership,
    MembershipStatus,
    Organisation,
    QuietHours,
    Region,
    Role,
    Sector,
)
from cssc_core.domain.network import Network
from cssc_core.formats._converter import ROLE_CLASSES

__all__ = [
    "contact_document",
    "network_from_rows",
    "organisation_document",
    "role_document",
    "role_from_document",
    "sequence_document",
]


def _same(value: Any, _: Any) -> Any:
    return value


def _optional(parse: Any) -> Any:
    return lambda value, _: None if value is None else parse(value)


def _enum_hook(kind: type[enum.Enum]) -> Any:
    # A dictionary lookup: calling the enum class to look a value up costs several times more.
    members = {member.value: member for member in kind}
    return lambda value, _: members[value]


@functools.cache
def converter() -> cattrs.Converter:
    """Maps stored network values to JSON and back without checking them again.

    Regions, sectors and roles are stored and read through it. Organisations and contacts have
    hand-written writers and readers (:func:`contact_document`, :func:`organisation_document`,
    :func:`network_from_rows`), tested to give what it gives.
    """
    convert = cattrs.Converter(detailed_validation=False)
    # Plain values are stored as JSON gives them back: taking them as they are skips cattrs'
    # generic dispatch.
    exact: dict[Any, Any] = {
        str: _same,
        str | None: _same,
        float | None: _same,
        int: _same,
        bool: _same,
        tuple[str, ...]: lambda value, _: tuple(value),
        date: lambda value, _: date.fromisoformat(value),
        date | None: _optional(date.fromisoformat),
        time: lambda value, _: time.fromisoformat(value),
        Language: _enum_hook(Language),
        MembershipStatus: _enum_hook(MembershipStatus),
    }
    for kind, hook in exact.items():
        convert.register_structure_hook_func(functools.partial(operator.eq, kind), hook)
    convert.register_unstructure_hook(date, date.isoformat)
    convert.register_unstructure_hook(time, time.isoformat)
    return convert


def contact_document(contact: Contact) -> str:
    """A contact's row document."""
    # Built by hand, in the converter's form: a national network has 150,000 contacts to write.
    # Tuples and string enumerations are written by json as the arrays and strings they hold.
    quiet = contact.quiet_hours
    verified = contact.verified
    return json.dumps(
        {
            "id": contact.id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "webhook": contact.webhook,
            "channels": contact.channels,
            "language": contact.language,
            "quiet_hours": None
            if quiet is None
            else {"start": quiet.start.isoformat(), "end": quiet.end.isoformat(), "tz": quiet.tz},
            "verified": None if verified is None else verified.isoformat(),
            "test": contact.test,
        }
    )


def organisation_document(organisation: Organisation) -> str:
    """An organisation's row document, without its contacts (they have rows of their own)."""
    location = organisation.location
    membership = organisation.membership
    joined = membership.joined
    return json.dumps(
        {
            "id": organisation.id,
            "name": organisation.name,
            "region": organisation.region,
            "sectors": organisation.sectors,
            "location": {
                "lat": location.lat,
                "lon": location.lon,
                "postcode": location.postcode,
                "county": location.county,
            },
            "tags": organisation.tags,
            "membership": {
                "status": membership.status,
                "joined": None if joined is None else joined.isoformat(),
            },
        }
    )


def role_document(role: Role) -> str:
    """A role's row document, its kind under ``role``."""
    return json.dumps({"role": role.kind, **converter().unstructure(role, type(role))})


def role_from_document(document: str) -> Role:
    """The role of :func:`role_document`."""
    data = json.loads(document)
    return converter().structure(data, ROLE_CLASSES[data.pop("role")])


def sequence_document(values: tuple[Region, ...] | tuple[Sector, ...]) -> str:
    """The regions or the sectors as one document."""
    return json.dumps(converter().unstructure(values))


def network_from_rows(
    regions: str,
    sectors: str,
    organisations: Iterable[tuple[str, str]],
    contacts: Iterable[tuple[str, str]],
    roles: Iterable[str],
) -> Network:
    """Rebuilds a stored network, trusting it.

    Args:
        regions: The regions' document.
        sectors: The sectors' document.
        organisations: (id, document) of each organisation, in order.
        contacts: (organisation id, document) of each contact, in order within each organisation.
        roles: The roles' documents, in order.
    """
    rebuild = _Rebuild()
    people: dict[str, tuple[Contact, ...]] = {}
    # The store lists an organisation's contacts together, so each run becomes its tuple at once (no
    # list per organisation to keep until the end); a run that comes apart is added to the first.
    for organisation_id, run in itertools.groupby(_decoded(contacts), key=operator.itemgetter(0)):
        found = tuple([rebuild.contact(data) for _, data in run])
        people[organisation_id] = people.get(organisation_id, ()) + found
    members = tuple(
        [
            rebuild.organisation(data, people.get(organisation_id, ()))
            for organisation_id, data in _decoded(organisations)
        ]
    )
    convert = converter()
    return Network.trusted(
        regions=convert.structure(json.loads(regions), tuple[Region, ...]),
        sectors=convert.structure(json.loads(sectors), tuple[Sector, ...]),
        organisations=members,
        roles=tuple(role_from_document(document) for document in roles),
    )


_CHUNK = 256


def _decoded(rows: Iterable[tuple[str, str]]) -> Iterator[tuple[str, Any]]:
    """(key, decoded document) of each (key, document) row.

    Documents are decoded a few hundred at a time, joined into one JSON array: one ``json.loads``
    per document took twice as long over the 150,135 contacts of a national network, and a few
    hundred at a time keep the text and the decoded values held at once small.
    """
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, _CHUNK)):
        keys = [key for key, _ in chunk]
        yield from zip(keys, json.loads(f"[{','.join([document for _, document in chunk])}]"), strict=True)


_LANGUAGES = {language.value: language for language in Language}
_STATUSES = {status.value: status for status in MembershipStatus}


class _Rebuild:
    """Builds one network's models from their documents, as :func:`contact_document` and
    :func:`organisation_document` write them (every field present, values in their JSON form).

    Constructors are called straight, not through the converter, whose per-field dispatch was half
    the time of a read. Equal immutable values that a national network repeats by the
    hundred thousand (dates, memberships, quiet hours, region codes, counties, the tuples of channels,
    sectors and tags) are built once and shared, which saves the time to build each copy and the
    memory to keep it; nothing can tell a shared value from an equal copy but ``is``.
    """

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._dates: dict[str, date] = {}
        self._memberships: dict[tuple[str, str | None], Membership] = {}
        self._quiet_hours: dict[tuple[str, str, str], QuietHours] = {}

    def text(self, value: str) -> str:
        """The first of equal strings seen."""
        return self._texts.setdefault(value, value)

    def strings(self, values: list[str]) -> tuple[str, ...]:
        """The values as a tuple, the first of equal tuples seen."""
        value = tuple(values)
        return self._tuples.setdefault(value, value)

    def day(self, value: str | None) -> date | None:
        """The date of an ISO text, or None."""
        if value is None:
            return None
        found = self._dates.get(value)
        if found is None:
            found = self._dates[value] = date.fromisoformat(value)
        return found

    def contact(self, data: dict[str, Any]) -> Contact:
        """The contact of a contact document."""
        quiet = data["quiet_hours"]
        return Contact(
            id=data["id"],
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            webhook=data["webhook"],
            channels=self.strings(data["channels"]),
            language=_LANGUAGES[data["language"]],
            quiet_hours=None if quiet is None else self._quiet(quiet),
            verified=self.day(data["verified"]),
            test=data["test"],
        )

    def _quiet(self, data: dict[str, str]) -> QuietHours:
        key = (data["start"], data["end"], data["tz"])
        found = self._quiet_hours.get(key)
        if found is None:
            found = self._quiet_hours[key] = QuietHours(
                start=time.fromisoformat(key[0]), end=time.fromisoformat(key[1]), tz=key[2]
            )
        return found

    def organisation(self, data: dict[str, Any], contacts: tuple[Contact, ...]) -> Organisation:
        """The organisation of an organisation document, with its contacts."""
        location = data["location"]
        county = location["county"]
        membership = data["membership"]
        key = (membership["status"], membership["joined"])
        member = self._memberships.get(key)
        if member is None:
            member = self._memberships[key] = Membership(status=_STATUSES[key[0]], joined=self.day(key[1]))
        return Organisation(
            id=data["id"],
            name=data["name"],
            region=self.text(data["region"]),
            sectors=self.strings(data["sectors"]),
            location=Location(
                lat=location["lat"],
                lon=location["lon"],
                postcode=location["postcode"],
                county=None if county is None else self.text(county),
            ),
            tags=self.strings(data["tags"]),
            membership=member,
            contacts=contacts,
        )

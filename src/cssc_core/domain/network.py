"""The :class:`Network` aggregate: every member of the network, checked for integrity and indexed.

Routing, cascades and reports ask the same few questions many times (the organisations of a region x
sector cell, the ISLs of a cell in rank order, the organisation of a contact). The network answers them
from indexes built once, when it is made; it is immutable, so the indexes never go stale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import attrs

from cssc_core.domain.models import (
    Contact,
    HubRole,
    IslRole,
    LiaisonRole,
    Organisation,
    Region,
    Role,
    Sector,
    builtin_channel_address,
)
from cssc_core.errors import NotFoundError, Problem, ValidationError

__all__ = ["Cell", "Network", "integrity_problems"]

K = TypeVar("K")
V = TypeVar("V")

Cell = tuple[str, str]
"""A (region code, sector code) pair: the unit that Industry Sector Leads look after."""


@attrs.frozen
class _Index:
    regions: dict[str, Region]
    sectors: dict[str, Sector]
    organisations: dict[str, Organisation]
    contacts: dict[str, Contact]
    organisation_of: dict[str, Organisation]
    by_cell: dict[Cell, tuple[Organisation, ...]]
    by_region: dict[str, tuple[Organisation, ...]]
    isls: dict[Cell, tuple[IslRole, ...]]
    hubs: dict[str | None, tuple[HubRole, ...]]
    liaisons: dict[str, tuple[LiaisonRole, ...]]
    roles_of: dict[str, tuple[Role, ...]]


@attrs.frozen
class Network:
    """Regions, sectors, member organisations with their contacts, and roles.

    Making a network checks its integrity (ids unique across organisations and contacts, every
    reference resolves, channels have their addresses) and raises :class:`ValidationError` listing
    every problem, with paths as in the ``cssc-network/1`` document.

    Attributes:
        regions: The regions, in document order.
        sectors: The sectors, in document order.
        organisations: The member organisations, in document order.
        roles: ISLs, hubs, liaisons and board members.
    """

    regions: tuple[Region, ...]
    sectors: tuple[Sector, ...]
    organisations: tuple[Organisation, ...] = ()
    roles: tuple[Role, ...] = ()
    _index: _Index = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        problems = integrity_problems(self.regions, self.sectors, self.organisations, self.roles)
        if problems:
            raise ValidationError(problems)
        object.__setattr__(self, "_index", _build_index(self))

    @classmethod
    def trusted(
        cls,
        *,
        regions: tuple[Region, ...],
        sectors: tuple[Sector, ...],
        organisations: tuple[Organisation, ...] = (),
        roles: tuple[Role, ...] = (),
    ) -> Network:
        """A network from parts known to hold together, without checking them again.

        For stores reading back a network that was checked when it was made: the lookups are built,
        the integrity check (a large share of the cost of a national network) is skipped. Parts
        that do not hold together give wrong answers rather than an error: never pass input here.
        """
        network = cls.__new__(cls)
        for name, value in (
            ("regions", regions),
            ("sectors", sectors),
            ("organisations", organisations),
            ("roles", roles),
        ):
            object.__setattr__(network, name, value)
        object.__setattr__(network, "_index", _build_index(network))
        return network

    # --- lookups -------------------------------------------------------------------------------

    def region(self, code: str) -> Region:
        """The region with this code; raises :class:`NotFoundError` when there is none."""
        return _lookup(self._index.regions, code, "region")

    def sector(self, code: str) -> Sector:
        """The sector with this code; raises :class:`NotFoundError` when there is none."""
        return _lookup(self._index.sectors, code, "sector")

    def organisation(self, organisation_id: str) -> Organisation:
        """The organisation with this id; raises :class:`NotFoundError` when there is none."""
        return _lookup(self._index.organisations, organisation_id, "organisation")

    def contact(self, contact_id: str) -> Contact:
        """The contact with this id; raises :class:`NotFoundError` when there is none."""
        return _lookup(self._index.contacts, contact_id, "contact")

    def organisation_of(self, contact_id: str) -> Organisation:
        """The organisation a contact belongs to."""
        return _lookup(self._index.organisation_of, contact_id, "contact")

    def has_organisation(self, organisation_id: str) -> bool:
        """Tells whether an organisation with this id exists."""
        return organisation_id in self._index.organisations

    def has_contact(self, contact_id: str) -> bool:
        """Tells whether a contact with this id exists."""
        return contact_id in self._index.contacts

    # --- the questions routing and reports ask -------------------------------------------------

    def organisations_in(self, region: str, sector: str | None = None) -> tuple[Organisation, ...]:
        """The organisations of a region, or of one region x sector cell, in document order."""
        if sector is None:
            return self._index.by_region.get(region, ())
        return self._index.by_cell.get((region, sector), ())

    def cells(self) -> tuple[Cell, ...]:
        """Every (region, sector) cell that has an organisation or an ISL, sorted."""
        return tuple(sorted(self._index.by_cell.keys() | self._index.isls.keys()))

    def isls(self, region: str, sector: str) -> tuple[IslRole, ...]:
        """The ISLs of a cell ordered by (rank, contact id): the lead first, then the deputies."""
        return self._index.isls.get((region, sector), ())

    def hubs(self, region: str | None) -> tuple[HubRole, ...]:
        """The hub roles of a region, or of the national hub when ``region`` is None."""
        return self._index.hubs.get(region, ())

    def liaisons(self, region: str) -> tuple[LiaisonRole, ...]:
        """The police liaison roles of a region."""
        return self._index.liaisons.get(region, ())

    def roles_of(self, contact_id: str) -> tuple[Role, ...]:
        """Every role a contact holds, in document order."""
        return self._index.roles_of.get(contact_id, ())

    def contacts(self) -> Iterator[tuple[Organisation, Contact]]:
        """Every contact with its organisation, in document order."""
        for organisation in self.organisations:
            for contact in organisation.contacts:
                yield organisation, contact

    @property
    def contact_count(self) -> int:
        """How many contacts the network has."""
        return len(self._index.contacts)


def _lookup(index: dict[K, V], key: K, what: str) -> V:
    try:
        return index[key]
    except KeyError:
        raise NotFoundError(f"unknown {what} {key!r}") from None


def _build_index(network: Network) -> _Index:
    # A pass per kind of lookup, each a comprehension or a tight loop: a quarter faster than one loop
    # doing everything, on a network of 100,000 organisations.
    organisations = {organisation.id: organisation for organisation in network.organisations}
    contacts: dict[str, Contact] = {}
    organisation_of: dict[str, Organisation] = {}
    for organisation in network.organisations:
        for contact in organisation.contacts:
            contacts[contact.id] = contact
            organisation_of[contact.id] = organisation
    by_cell: defaultdict[Cell, list[Organisation]] = defaultdict(list)
    by_region: defaultdict[str, list[Organisation]] = defaultdict(list)
    for organisation in network.organisations:
        region = organisation.region
        by_region[region].append(organisation)
        for sector in organisation.sectors:
            by_cell[region, sector].append(organisation)

    isls: defaultdict[Cell, list[IslRole]] = defaultdict(list)
    hubs: defaultdict[str | None, list[HubRole]] = defaultdict(list)
    liaisons: defaultdict[str, list[LiaisonRole]] = defaultdict(list)
    roles_of: defaultdict[str, list[Role]] = defaultdict(list)
    for role in network.roles:
        roles_of[role.contact].append(role)
        if isinstance(role, IslRole):
            isls[role.region, role.sector].append(role)
        elif isinstance(role, HubRole):
            hubs[role.region].append(role)
        elif isinstance(role, LiaisonRole):
            liaisons[role.region].append(role)

    return _Index(
        regions={region.code: region for region in network.regions},
        sectors={sector.code: sector for sector in network.sectors},
        organisations=organisations,
        contacts=contacts,
        organisation_of=organisation_of,
        by_cell=_freeze(by_cell),
        by_region=_freeze(by_region),
        isls={cell: tuple(sorted(roles, key=lambda r: (r.rank, r.contact))) for cell, roles in isls.items()},
        hubs=_freeze(hubs),
        liaisons=_freeze(liaisons),
        roles_of=_freeze(roles_of),
    )


def _freeze(groups: dict[Any, list[Any]]) -> dict[Any, tuple[Any, ...]]:
    return {key: tuple(values) for key, values in groups.items()}


def integrity_problems(
    regions: Sequence[Region],
    sectors: Sequence[Sector],
    organisations: Sequence[Organisation | None],
    roles: Sequence[Role | None],
) -> list[Problem]:
    """Every integrity problem of a network's parts, with paths as in a ``cssc-network/1`` document.

    Args:
        regions: The regions.
        sectors: The sectors.
        organisations: The organisations, positioned as in the document; None stands for an entry
            that could not be read at all (its own problems are reported elsewhere). Empty ids,
            regions and sectors stand for values that could not be read and are not reported.
        roles: The roles, positioned likewise.

    Returns:
        The problems in document order; empty when the parts make a valid network.
    """
    problems: list[Problem] = []
    region_codes = _unique_codes(regions, "$.regions", problems)
    sector_codes = _unique_codes(sectors, "$.sectors", problems)
    county_region = {county.casefold(): region.code for region in regions for county in region.counties}

    seen: dict[str, str] = {}
    contact_ids: set[str] = set()
    for i, organisation in enumerate(organisations):
        if organisation is None:
            continue
        path = f"$.organisations[{i}]"
        _claim_id(organisation.id, f"{path}.id", seen, problems)
        if organisation.region and organisation.region not in region_codes:
            problems.append(Problem(f"{path}.region", f"unknown region {organisation.region!r}"))
        if not organisation.sectors:
            problems.append(Problem(f"{path}.sectors", "an organisation needs at least one sector"))
        for j, sector in enumerate(organisation.sectors):
            if sector and sector not in sector_codes:
                problems.append(Problem(f"{path}.sectors[{j}]", f"unknown sector {sector!r}"))
        county = organisation.location.county
        if (
            county is not None
            and county_region.get(county.casefold(), organisation.region) != organisation.region
        ):
            owner = county_region[county.casefold()]
            problems.append(
                Problem(
                    f"{path}.location.county", f"{county!r} is in region {owner}, not {organisation.region}"
                )
            )
        for j, contact in enumerate(organisation.contacts):
            _claim_id(contact.id, f"{path}.contacts[{j}].id", seen, problems)
            contact_ids.add(contact.id)
            problems.extend(_channel_problems(contact, f"{path}.contacts[{j}]"))

    held: set[tuple[Any, ...]] = set()
    for i, role in enumerate(roles):
        if role is None:
            continue
        path = f"$.roles[{i}]"
        if role.contact not in contact_ids:
            problems.append(Problem(f"{path}.contact", f"unknown contact {role.contact!r}"))
        region = role.region
        if region is not None and region not in region_codes:
            problems.append(Problem(f"{path}.region", f"unknown region {region!r}"))
        if isinstance(role, IslRole):
            if role.sector not in sector_codes:
                problems.append(Problem(f"{path}.sector", f"unknown sector {role.sector!r}"))
            if role.rank < 1:
                problems.append(Problem(f"{path}.rank", "rank starts at 1 (the lead)"))
            identity: tuple[Any, ...] = ("isl", role.region, role.sector, role.contact)
        else:
            identity = attrs.astuple(role)
        if identity in held:
            problems.append(Problem(path, "the same role is listed twice"))
        held.add(identity)
    return problems


def _unique_codes(items: Sequence[Region | Sector], path: str, problems: list[Problem]) -> set[str]:
    codes: set[str] = set()
    for i, item in enumerate(items):
        if item.code in codes:
            problems.append(Problem(f"{path}[{i}].code", f"duplicate code {item.code!r}"))
        codes.add(item.code)
    return codes


def _claim_id(identifier: str, path: str, seen: dict[str, str], problems: list[Problem]) -> None:
    if not identifier:
        return
    first = seen.setdefault(identifier, path)
    if first != path:
        problems.append(Problem(path, f"id {identifier!r} is already used at {first.removesuffix('.id')}"))


def _channel_problems(contact: Contact, path: str) -> Iterator[Problem]:
    for k, channel in enumerate(contact.channels):
        kind = builtin_channel_address(channel)
        if kind is not None and contact.address(kind) is None:
            yield Problem(f"{path}.channels[{k}]", f"channel {channel!r} needs the contact's {kind}")
    if len(set(contact.channels)) != len(contact.channels):
        yield Problem(f"{path}.channels", "a channel is listed twice")

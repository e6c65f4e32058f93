"""The network as the SQLite store keeps it: JSON documents per organisation, contact and role.

What the store holds was validated before it was written (a :class:`~cssc_core.domain.network.Network`
checks itself when made), so reading it back does not check it again: the converter here trusts its
input (no detailed validation, plain values taken as they are) and the network is rebuilt with
:meth:`~cssc_core.domain.network.Network.trusted`, which skips the integrity check.
"""

from __future__ import annotations

import enum
import functools
import json
import operator
from collections.abc import Iterable
from datetime import date, time
from typing import Any

import attrs
import cattrs

from cssc_core.domain.models import (
    Contact,
    Language,
    MembershipStatus,
    Organisation,
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
    """Maps stored network values to JSON and back without checking them again."""
    convert = cattrs.Converter(detailed_validation=False)
    # Plain values are stored as JSON gives them back: taking them as they are skips cattrs'
    # generic dispatch, which would otherwise be most of the cost of reading a network.
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
    # An organisation's contacts: each built by the generated structure function, straight.
    contact = convert.get_structure_hook(Contact)
    convert.register_structure_hook_func(
        functools.partial(operator.eq, tuple[Contact, ...]),
        lambda value, _: tuple([contact(item, Contact) for item in value]),
    )
    convert.register_unstructure_hook(date, date.isoformat)
    convert.register_unstructure_hook(time, time.isoformat)
    return convert


def contact_document(contact: Contact) -> str:
    """A contact's row document."""
    return json.dumps(converter().unstructure(contact, Contact))


def organisation_document(organisation: Organisation) -> str:
    """An organisation's row document, without its contacts (they have rows of their own)."""
    document = converter().unstructure(attrs.evolve(organisation, contacts=()), Organisation)
    del document["contacts"]
    return json.dumps(document)


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
    convert = converter()
    people: dict[str, list[Any]] = {}
    for organisation_id, document in contacts:
        people.setdefault(organisation_id, []).append(json.loads(document))
    members = []
    for organisation_id, document in organisations:
        data = json.loads(document)
        data["contacts"] = people.get(organisation_id, ())
        members.append(convert.structure(data, Organisation))
    return Network.trusted(
        regions=convert.structure(json.loads(regions), tuple[Region, ...]),
        sectors=convert.structure(json.loads(sectors), tuple[Sector, ...]),
        organisations=tuple(members),
        roles=tuple(role_from_document(document) for document in roles),
    )

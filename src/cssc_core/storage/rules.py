"""The rules every backend applies the same way: which status writes are refused, what erasure leaves.

Backends call these so that their answers (and refusal reasons) agree with the reference to the letter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from cssc_core.domain.models import Contact, Organisation
from cssc_core.domain.network import Network
from cssc_core.errors import NotFoundError
from cssc_core.reference import reference_regions, reference_sectors
from cssc_core.storage.records import (
    RESULT_STATUSES,
    UPDATE_STATUSES,
    DeliveryStatus,
    DeliveryUpdate,
)

__all__ = [
    "ERASED_NAME",
    "check_result_statuses",
    "check_update_statuses",
    "refuse_result",
    "refuse_update",
    "tombstone",
    "upserted",
]

ERASED_NAME = "erased contact"
"""The name an erased contact's tombstone carries."""


def check_result_statuses(results: Sequence[DeliveryUpdate]) -> None:
    """Raises :class:`ValueError` when a worker's result carries a status a worker cannot record."""
    for result in results:
        if result.status not in RESULT_STATUSES:
            raise ValueError(f"a worker cannot record {result.status.value!r} (delivery {result.delivery!r})")


def check_update_statuses(updates: Sequence[DeliveryUpdate]) -> None:
    """Raises :class:`ValueError` when an update carries a status that needs a lease or a worker."""
    for update in updates:
        if update.status not in UPDATE_STATUSES:
            raise ValueError(
                f"{update.status.value!r} is not set by an update (delivery {update.delivery!r})"
            )


def refuse_result(
    status: DeliveryStatus | None,
    lease_owner: str | None,
    lease_until: datetime | None,
    worker: str,
    now: datetime,
) -> str | None:
    """Why a worker's result for a delivery in this state is refused, or None to accept it.

    Args:
        status: The delivery's current status, None when there is no such delivery.
        lease_owner: Who holds its lease.
        lease_until: When the lease lapses.
        worker: Who is writing.
        now: When the write happens.
    """
    if status is None:
        return "unknown delivery"
    if status.is_final:
        return f"already {status.value}"
    if status is not DeliveryStatus.SENDING or lease_owner != worker:
        return f"not leased to {worker}"
    if lease_until is None or lease_until <= now:
        return "lease lapsed"
    return None


def refuse_update(status: DeliveryStatus | None) -> str | None:
    """Why an update to a delivery in this status is refused, or None to accept it."""
    if status is None:
        return "unknown delivery"
    if status.is_final:
        return f"already {status.value}"
    return None


def tombstone(network: Network, contact_id: str) -> tuple[Network, Contact]:
    """The network with one contact erased, and the tombstone that replaces it.

    The tombstone keeps the id (statistics and dedup still add up) and nothing personal; the
    contact's roles go, since nobody can be reached through them.

    Raises:
        NotFoundError: when the network has no such contact.
    """
    if not network.has_contact(contact_id):
        raise NotFoundError(f"unknown contact {contact_id!r}")
    grave = Contact(id=contact_id, name=ERASED_NAME)
    organisations = tuple(
        attrs.evolve(
            organisation,
            contacts=tuple(
                grave if contact.id == contact_id else contact for contact in organisation.contacts
            ),
        )
        if any(contact.id == contact_id for contact in organisation.contacts)
        else organisation
        for organisation in network.organisations
    )
    roles = tuple(role for role in network.roles if role.contact != contact_id)
    return attrs.evolve(network, organisations=organisations, roles=roles), grave


def upserted(network: Network | None, organisations: Iterable[Organisation]) -> Network:
    """The network with ``organisations`` added or replaced by id, checked by building it.

    Replaced organisations keep their place; new ones go at the end. Without a stored network, the
    reference regions and sectors are used.

    Raises:
        ValidationError: when the result is not a valid network.
    """
    base = network or Network(regions=reference_regions(), sectors=reference_sectors())
    incoming = {organisation.id: organisation for organisation in organisations}
    merged = [incoming.pop(organisation.id, organisation) for organisation in base.organisations]
    merged.extend(incoming.values())
    return attrs.evolve(base, organisations=tuple(merged))

"""A network read back from its stored documents is the network that was written, whatever its shape."""

from __future__ import annotations

import json
from datetime import time
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from tests.strategies import networks

from cssc_core.domain.models import Contact, Location, Membership, Organisation, QuietHours
from cssc_core.domain.network import Network
from cssc_core.formats.network import network_from_document
from cssc_core.storage import network_rows
from cssc_core.storage.network_rows import (
    contact_document,
    converter,
    network_from_rows,
    organisation_document,
    role_document,
    sequence_document,
)
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.synthetic import synthetic_document
from cssc_core.testing import sample_network


def rows(network: Network) -> tuple[str, str, list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    """The arguments of network_from_rows, listed as the SQLite store lists its rows."""
    return (
        sequence_document(network.regions),
        sequence_document(network.sectors),
        [(o.id, organisation_document(o)) for o in network.organisations],
        sorted(
            ((o.id, contact_document(c)) for o in network.organisations for c in o.contacts),
            key=lambda row: row[0],  # ORDER BY organisation, position: a stable sort keeps the positions
        ),
        [role_document(role) for role in network.roles],
    )


@pytest.fixture(scope="module")
def national() -> Network:
    """A synthetic network with more organisations and contacts than one chunk of documents."""
    network = network_from_document(synthetic_document(600, seed=3))
    assert len(network.organisations) > 2 * network_rows._CHUNK
    return network


@given(networks())
def test_a_network_read_back_from_its_documents_is_equal(network: Network) -> None:
    assert network_from_rows(*rows(network)) == network


@given(networks())
def test_documents_are_written_as_the_converter_writes_them(network: Network) -> None:
    # The same bytes as before the writers were written by hand: stored files read the same.
    convert = converter()
    for organisation in network.organisations:
        expected = convert.unstructure(attrs.evolve(organisation, contacts=()), Organisation)
        del expected["contacts"]
        assert organisation_document(organisation) == json.dumps(expected)
        for contact in organisation.contacts:
            assert contact_document(contact) == json.dumps(convert.unstructure(contact, Contact))


@settings(max_examples=30)
@given(networks(max_organisations=4))
def test_a_network_stored_and_loaded_is_equal(network: Network) -> None:
    store = SqliteStore(":memory:")
    try:
        store.replace_network(network)
        assert store.load_network() == network
    finally:
        store.close()


def test_a_network_of_many_chunks_comes_back_equal_and_in_order(national: Network) -> None:
    store = SqliteStore(":memory:")
    try:
        store.replace_network(national)
        loaded = store.load_network()
    finally:
        store.close()
    assert loaded == national
    assert [o.id for o in loaded.organisations] == [o.id for o in national.organisations]
    assert [c.id for _, c in loaded.contacts()] == [c.id for _, c in national.contacts()]


def test_contacts_listed_apart_still_join_their_organisation_in_order() -> None:
    network = sample_network()
    regions, sectors, organisations, contacts, roles = rows(network)
    # Each organisation's contacts in order, but the organisations' runs interleaved.
    interleaved = contacts[::2] + contacts[1::2]
    assert network_from_rows(regions, sectors, organisations, interleaved, roles) == network


def test_equal_values_come_back_as_one_object(national: Network) -> None:
    loaded = network_from_rows(*rows(national))
    contacts = [c for _, c in loaded.contacts()]

    def distinct(values: list[Any]) -> tuple[int, int]:
        """How many distinct values, and how many distinct objects holding them."""
        return len(set(values)), len({id(value) for value in values})

    for values in (
        [c.channels for c in contacts],
        [c.verified for c in contacts if c.verified is not None],
        [o.membership for o in loaded.organisations],
        [o.sectors for o in loaded.organisations],
        [o.tags for o in loaded.organisations],
        [o.region for o in loaded.organisations],
    ):
        count, objects = distinct(values)
        assert objects == count


def _fields(cls: type[Any]) -> set[str]:
    return {field.name for field in attrs.fields(cls) if field.init}


def test_documents_hold_every_field_of_the_models() -> None:
    # The reader takes each field from the document by name: a field added to a model must be
    # written, and then read back (the properties above check that), not silently left at its default.
    organisation = sample_network().organisations[0]
    contact = attrs.evolve(organisation.contacts[0], quiet_hours=QuietHours(time(22, 0), time(7, 30), "UTC"))
    written = json.loads(organisation_document(organisation))
    assert set(written) == _fields(Organisation) - {"contacts"}
    assert set(written["location"]) == _fields(Location)
    assert set(written["membership"]) == _fields(Membership)
    written = json.loads(contact_document(contact))
    assert set(written) == _fields(Contact)
    assert set(written["quiet_hours"]) == _fields(QuietHours)

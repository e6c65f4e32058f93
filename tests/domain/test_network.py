"""The Network aggregate: integrity checks with paths, and the indexed questions."""

from __future__ import annotations

import pytest
from hypothesis import given

from cssc_core import (
    Contact,
    HubRole,
    IslRole,
    Location,
    Network,
    NotFoundError,
    Organisation,
    Region,
    Sector,
    ValidationError,
)
from tests.strategies import networks

REGIONS = (Region("EAST", "Eastern", ("Norfolk",)), Region("SCOT", "Scotland", ("Glasgow City",)))
SECTORS = (Sector("retail", "Retail"), Sector("faith", "Faith"))


def _network() -> Network:
    shop = Organisation(
        "org-1", "Shop", "EAST", ("retail",), contacts=(Contact("c-1", "A"), Contact("c-2", "B"))
    )
    church = Organisation("org-2", "Church", "EAST", ("faith", "retail"), contacts=(Contact("c-3", "C"),))
    mall = Organisation("org-3", "Mall", "SCOT", ("retail",), contacts=(Contact("c-4", "D"),))
    roles = (
        IslRole("EAST", "retail", "c-3", rank=2),
        IslRole("EAST", "retail", "c-2", rank=2),
        IslRole("EAST", "retail", "c-1", rank=1),
        HubRole("c-4", "SCOT"),
        HubRole("c-4"),
    )
    return Network(REGIONS, SECTORS, (shop, church, mall), roles)


def test_isls_of_a_cell_come_in_rank_then_contact_order() -> None:
    network = _network()
    assert [role.contact for role in network.isls("EAST", "retail")] == ["c-1", "c-2", "c-3"]
    assert network.isls("EAST", "faith") == ()


def test_cell_and_contact_questions() -> None:
    network = _network()
    assert [o.id for o in network.organisations_in("EAST", "retail")] == ["org-1", "org-2"]
    assert [o.id for o in network.organisations_in("EAST")] == ["org-1", "org-2"]
    assert network.organisation_of("c-3").id == "org-2"
    assert network.contact("c-4").name == "D"
    assert [h.region for h in network.hubs("SCOT")] == ["SCOT"]
    assert [h.contact for h in network.hubs(None)] == ["c-4"]
    assert network.cells() == (("EAST", "faith"), ("EAST", "retail"), ("SCOT", "retail"))
    assert network.contact_count == 4
    with pytest.raises(NotFoundError, match="unknown contact 'c-9'"):
        network.contact("c-9")


def test_integrity_problems_are_all_reported_with_paths() -> None:
    organisations = (
        Organisation("x-1", "A", "EAST", ("retail",), contacts=(Contact("x-1", "dup", channels=("sms",)),)),
        Organisation("org-2", "B", "NOPE", ("retail", "bakery"), contacts=()),
    )
    roles = (
        IslRole("EAST", "retail", "c-missing", rank=0),
        IslRole("EAST", "retail", "x-1"),
        IslRole("EAST", "retail", "x-1"),
    )
    with pytest.raises(ValidationError) as caught:
        Network(REGIONS, SECTORS, organisations, roles)
    assert [str(problem) for problem in caught.value.problems] == [
        "$.organisations[0].contacts[0].id: id 'x-1' is already used at $.organisations[0]",
        "$.organisations[0].contacts[0].channels[0]: channel 'sms' needs the contact's phone",
        "$.organisations[1].region: unknown region 'NOPE'",
        "$.organisations[1].sectors[1]: unknown sector 'bakery'",
        "$.roles[0].contact: unknown contact 'c-missing'",
        "$.roles[0].rank: rank starts at 1 (the lead)",
        "$.roles[2]: the same role is listed twice",
    ]


def test_a_county_of_another_region_is_refused() -> None:
    misplaced = Organisation("org-1", "A", "EAST", ("retail",), location=Location(county="glasgow city"))
    with pytest.raises(ValidationError, match="'glasgow city' is in region SCOT, not EAST"):
        Network(REGIONS, SECTORS, (misplaced,))


@given(networks())
def test_indexes_agree_with_a_scan(network: Network) -> None:
    for region, sector in network.cells():
        scanned = [o for o in network.organisations if o.region == region and sector in o.sectors]
        assert list(network.organisations_in(region, sector)) == scanned
        isls = [
            r for r in network.roles if isinstance(r, IslRole) and (r.region, r.sector) == (region, sector)
        ]
        assert list(network.isls(region, sector)) == sorted(isls, key=lambda r: (r.rank, r.contact))
    for organisation, contact in network.contacts():
        assert network.organisation_of(contact.id) is organisation

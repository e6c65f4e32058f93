"""The synthetic network generator: reproducible, varied, and valid down to every address.

:func:`document_problems` is the shared yardstick: it checks a ``cssc-network/1`` document against the
shipped reference data and the rules of SPEC.md section 3 on its own, without the package's loader, so
that the generator and the example network are judged independently of the code that reads them.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date
from importlib.resources import files
from typing import Any

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email

from cssc_core.synthetic import (
    CONTACT_CHANNEL_CHOICES,
    PLACES,
    REFERENCE_DATE,
    NetworkBuilder,
    synthetic_document,
)

# The UK postcode format: outward code (area letters, district, optional sub-district letter), a
# space, then the inward code (a digit and two letters other than C, I, K, M, O and V).
POSTCODE = re.compile(
    r"^[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY]) "
    r"[0-9][ABD-HJLNP-UW-Z]{2}$"
)
# Ofcom's drama ranges, written in national format.
DRAMA_PHONE = re.compile(
    r"^(020 7946 0|01(1[3-8]|21|31|41|51|61) 496 0|0191 498 0|029 2018 0|028 9018 0)[0-9]{3}$"
)
EXAMPLE_DOMAIN = re.compile(r"(^|\.)example\.(org|com|net)$")
WEBHOOK = re.compile(r"^https://([a-z0-9-]+\.)*example\.(org|com|net)/")
# Generous boxes (south, north, west, east) around each region; a location outside its region's box is
# in the wrong place.
REGION_BOXES = {
    "EAST": (51.4, 53.1, -0.8, 1.9),
    "SE": (50.5, 52.3, -1.9, 1.5),
    "SW": (49.9, 52.1, -5.8, -1.5),
    "WALES": (51.3, 53.5, -5.4, -2.6),
    "EMID": (52.0, 53.7, -2.1, 0.4),
    "WMID": (51.9, 53.3, -3.3, -1.2),
    "NE": (53.2, 55.9, -2.8, 0.2),
    "NW": (52.9, 55.2, -3.7, -1.9),
    "SCOT": (54.6, 60.9, -8.7, -0.7),
    "NI": (54.0, 55.4, -8.2, -5.4),
    "LDN": (51.25, 51.72, -0.52, 0.34),
}
STATUSES = {"pending", "active", "lapsed", "suspended"}
QUIET_HOURS = {"start": "22:00", "end": "07:00", "tz": "Europe/London"}
CONTACT_KEYS = {"id", "name", "email", "phone", "webhook", "channels", "language", "quiet_hours"}


def reference(name: str) -> list[dict[str, Any]]:
    """One of the shipped reference files, parsed."""
    data: list[dict[str, Any]] = json.loads(files("cssc_core").joinpath("data", name).read_text("utf-8"))
    return data


def counties_by_region() -> dict[str, set[str]]:
    return {region["code"]: set(region["counties"]) for region in reference("regions.json")}


def document_problems(document: dict[str, Any]) -> list[str]:
    """Every way in which a document breaks the format's rules or the generator's promises."""
    counties = counties_by_region()
    sectors = {sector["code"] for sector in reference("sectors.json")}
    problems: list[str] = []
    if document.get("format") != "cssc-network/1" or set(document) != {"format", "organisations", "roles"}:
        problems.append(f"top level: {sorted(document)}, format {document.get('format')!r}")
    ids = Counter[str]()
    organisation_of: dict[str, dict[str, Any]] = {}
    for organisation in document["organisations"]:
        where = organisation["id"]
        ids[where] += 1
        region, location = organisation["region"], organisation["location"]
        if region not in counties:
            problems.append(f"{where}: unknown region {region}")
            continue
        if not organisation["sectors"] or not set(organisation["sectors"]) <= sectors:
            problems.append(f"{where}: sectors {organisation['sectors']}")
        if len(set(organisation["sectors"])) != len(organisation["sectors"]):
            problems.append(f"{where}: repeated sectors {organisation['sectors']}")
        if location["county"] not in counties[region]:
            problems.append(f"{where}: county {location['county']} is not in {region}")
        south, north, west, east = REGION_BOXES[region]
        if not (south <= location["lat"] <= north and west <= location["lon"] <= east):
            problems.append(f"{where}: {location['lat']}, {location['lon']} is outside {region}")
        if not POSTCODE.match(location["postcode"]):
            problems.append(f"{where}: postcode {location['postcode']!r}")
        if organisation["membership"]["status"] not in STATUSES:
            problems.append(f"{where}: status {organisation['membership']['status']}")
        if not date.fromisoformat(organisation["membership"]["joined"]) <= REFERENCE_DATE:
            problems.append(f"{where}: joined {organisation['membership']['joined']}")
        for contact in organisation["contacts"]:
            ids[contact["id"]] += 1
            organisation_of[contact["id"]] = organisation
            problems.extend(
                f"{where}/{contact['id']}: {problem}" for problem in contact_problems(contact, region)
            )
    problems.extend(f"id {name} is used {count} times" for name, count in ids.items() if count > 1)
    problems.extend(role_problems(document["roles"], organisation_of, set(counties), sectors))
    return problems


def contact_problems(contact: dict[str, Any], region: str) -> list[str]:
    """What is wrong with one contact of an organisation in ``region``."""
    problems: list[str] = []
    if not CONTACT_KEYS <= set(contact) <= CONTACT_KEYS | {"verified", "test"}:
        problems.append(f"keys {sorted(contact)}")
    try:
        validate_email(contact["email"], check_deliverability=False)
    except EmailNotValidError as error:
        problems.append(f"email {contact['email']!r}: {error}")
    if not EXAMPLE_DOMAIN.search(contact["email"].rpartition("@")[2]):
        problems.append(f"email {contact['email']!r} is not at a reserved example domain")
    phone = contact["phone"]
    if phone is not None:
        if not DRAMA_PHONE.match(phone):
            problems.append(f"phone {phone!r} is not in a drama range")
        if not phonenumbers.is_valid_number(phonenumbers.parse(phone, "GB")):
            problems.append(f"phone {phone!r} is not a valid number")
    if tuple(contact["channels"]) not in CONTACT_CHANNEL_CHOICES:
        problems.append(f"channels {contact['channels']}")
    if "sms" in contact["channels"] and phone is None:
        problems.append("sms without a phone")
    if ("webhook" in contact["channels"]) != (contact["webhook"] is not None):
        problems.append(f"webhook {contact['webhook']!r} with channels {contact['channels']}")
    if contact["webhook"] is not None and not WEBHOOK.match(contact["webhook"]):
        problems.append(f"webhook {contact['webhook']!r}")
    if contact["language"] not in ({"en", "cy"} if region == "WALES" else {"en"}):
        problems.append(f"language {contact['language']!r} in {region}")
    if contact["quiet_hours"] not in (None, QUIET_HOURS):
        problems.append(f"quiet hours {contact['quiet_hours']}")
    if "verified" in contact and not date.fromisoformat(contact["verified"]) <= REFERENCE_DATE:
        problems.append(f"verified {contact['verified']}")
    if contact.get("test", True) is not True:
        problems.append(f"test {contact['test']!r}")
    return problems


def role_problems(
    roles: list[dict[str, Any]],
    organisation_of: dict[str, dict[str, Any]],
    regions: set[str],
    sectors: set[str],
) -> list[str]:
    """What is wrong with the roles: references, ISL membership of their cell, ranks."""
    problems: list[str] = []
    ranks: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for role in roles:
        organisation = organisation_of.get(role["contact"])
        if organisation is None:
            problems.append(f"{role}: unknown contact")
            continue
        if role["region"] is not None and role["region"] not in regions:
            problems.append(f"{role}: unknown region")
        if role["role"] == "isl":
            ranks[role["region"], role["sector"]].append(role["rank"])
            if role["sector"] not in sectors:
                problems.append(f"{role}: unknown sector")
            if organisation["region"] != role["region"] or role["sector"] not in organisation["sectors"]:
                problems.append(f"{role}: the contact's organisation is not in that cell")
            if organisation["membership"]["status"] != "active":
                problems.append(f"{role}: the contact's organisation is not active")
        elif role["role"] == "board":
            if not role["portfolio"] or role["region"] is None:
                problems.append(f"{role}: board role without portfolio or region")
        elif role["role"] not in ("hub", "liaison") or (role["role"] == "liaison" and role["region"] is None):
            problems.append(f"{role}: unknown role or missing region")
    problems.extend(
        f"ISL ranks of {cell}: {sorted(found)}"
        for cell, found in ranks.items()
        if sorted(found) != list(range(1, len(found) + 1))
    )
    return problems


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return synthetic_document(2000, seed=7)


def test_same_arguments_give_the_same_document(document: dict[str, Any]) -> None:
    assert synthetic_document(2000, seed=7) == document


def test_different_seeds_give_different_documents(document: dict[str, Any]) -> None:
    other = synthetic_document(2000, seed=8)
    assert other["organisations"] != document["organisations"]
    assert other["roles"] != document["roles"]


@pytest.mark.parametrize(("organisations", "seed"), [(2000, 7), (300, 0), (25, 3), (1, 1), (0, 0)])
def test_documents_are_valid(organisations: int, seed: int) -> None:
    generated = synthetic_document(organisations, seed=seed)
    assert len(generated["organisations"]) == organisations
    assert document_problems(generated) == []


def test_ids_are_numbered_in_order(document: dict[str, Any]) -> None:
    organisations = document["organisations"]
    contacts = [contact["id"] for organisation in organisations for contact in organisation["contacts"]]
    assert [organisation["id"] for organisation in organisations[:3]] == [
        "org-000001",
        "org-000002",
        "org-000003",
    ]
    assert contacts == [f"c-{number:07d}" for number in range(1, len(contacts) + 1)]


def test_about_one_and_a_half_contacts_per_organisation(document: dict[str, Any]) -> None:
    sizes = Counter(len(organisation["contacts"]) for organisation in document["organisations"])
    assert set(sizes) == {1, 2, 3}
    assert 1.4 < sum(size * count for size, count in sizes.items()) / 2000 < 1.6


def test_the_data_is_varied(document: dict[str, Any]) -> None:
    organisations = document["organisations"]
    contacts = [contact for organisation in organisations for contact in organisation["contacts"]]
    assert {organisation["region"] for organisation in organisations} == set(REGION_BOXES)
    assert len({code for organisation in organisations for code in organisation["sectors"]}) == len(
        reference("sectors.json")
    )
    assert {len(organisation["sectors"]) for organisation in organisations} == {1, 2, 3}
    assert Counter(organisation["membership"]["status"] for organisation in organisations).keys() == STATUSES
    assert {tuple(contact["channels"]) for contact in contacts} == set(CONTACT_CHANNEL_CHOICES)
    assert {tag for organisation in organisations for tag in organisation["tags"]} >= {
        "crowded-place", "bid", "night-time-economy", "mailroom", "city-centre",
    }  # fmt: skip
    assert any(contact["language"] == "cy" for contact in contacts)
    assert any(contact["quiet_hours"] for contact in contacts)
    assert any(contact.get("test") for contact in contacts)
    assert any("verified" not in contact for contact in contacts)
    assert any(contact.get("verified", "9999") < "2018-06-12" for contact in contacts)
    assert any(contact.get("verified", "") >= "2018-06-12" for contact in contacts)


def test_roles_cover_every_region_and_leave_gaps(document: dict[str, Any]) -> None:
    roles = document["roles"]
    assert [role["contact"] for role in roles if role["role"] == "hub" and role["region"] is None] != []
    for kind in ("hub", "liaison"):
        assert {role["region"] for role in roles if role["role"] == kind} >= set(REGION_BOXES), kind
    assert any(role["role"] == "board" for role in roles)
    isl_cells = {(role["region"], role["sector"]) for role in roles if role["role"] == "isl"}
    active_cells = {
        (organisation["region"], code)
        for organisation in document["organisations"]
        if organisation["membership"]["status"] == "active"
        for code in organisation["sectors"]
    }
    assert isl_cells < active_cells  # many cells have ISLs, and some are coverage gaps
    assert len(isl_cells) > len(active_cells) / 2
    assert any(role["rank"] > 1 for role in roles if role["role"] == "isl")


def test_regions_can_be_chosen() -> None:
    generated = synthetic_document(200, seed=5, regions=["WALES", "NI"])
    assert {organisation["region"] for organisation in generated["organisations"]} == {"WALES", "NI"}
    assert document_problems(generated) == []
    with pytest.raises(ValueError, match="ATLANTIS"):
        synthetic_document(10, regions=["WALES", "ATLANTIS"])


def test_places_are_where_their_region_says() -> None:
    counties = counties_by_region()
    for place in PLACES:
        south, north, west, east = REGION_BOXES[place.region]
        assert place.county in counties[place.region], place
        assert south <= place.lat <= north, place
        assert west <= place.lon <= east, place
        assert all(POSTCODE.match(f"{district} 1AA") for district in place.districts), place
        for number in (f"{place.phone}000", f"{place.phone}999"):
            assert DRAMA_PHONE.match(number), number
            assert phonenumbers.is_valid_number(phonenumbers.parse(number, "GB")), number
    assert set(REGION_BOXES) == {place.region for place in PLACES}


def test_builder_honours_what_it_is_given() -> None:
    builder = NetworkBuilder(seed=1, unique_names=True)
    glasgow = next(place for place in PLACES if place.name == "Glasgow")
    made = builder.organisation(
        glasgow, sectors=["bids"], tags=["city-centre"], status="lapsed", name="Test BID", contacts=3
    )
    assert made["sectors"] == ["bids"]
    assert made["tags"] == ["bid", "city-centre"]  # "bid" comes with the sector
    assert made["membership"]["status"] == "lapsed"
    assert made["name"] == "Test BID"
    assert len({contact["email"] for contact in made["contacts"]}) == 3
    # Roles go only to people of active organisations.
    assert builder.pick_contact("SCOT") is None
    for _ in range(200):
        builder.organisation("EAST", exclude_sectors={"retail"})
    assert all("retail" not in organisation["sectors"] for organisation in builder.organisations[1:])
    names = {
        (organisation["name"], organisation["location"]["county"]) for organisation in builder.organisations
    }
    assert len(names) == 201
    builder.add_isls("EAST", coverage=1.0, total=40)
    assert len(builder.roles) == 40
    with pytest.raises(ValueError, match="not enough contacts"):
        builder.add_isls("EAST", coverage=1.0, total=100_000)
    assert document_problems(builder.document()) == []

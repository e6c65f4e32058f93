"""cssc-network/1 in JSON and TOML: round trips, normal forms, and every problem reported with its path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given

from cssc_core import (
    Network,
    ValidationError,
    dumps_network_json,
    dumps_network_toml,
    network_from_document,
    network_to_document,
    parse_network_json,
    parse_network_toml,
    reference_regions,
    reference_sectors,
)
from tests.strategies import networks

SPEC_EXAMPLE: dict[str, Any] = {
    "format": "cssc-network/1",
    "regions": [{"code": "EAST", "name": "Eastern", "counties": ["Norfolk", "Suffolk"]}],
    "sectors": [{"code": "retail", "name": "Retail"}],
    "organisations": [
        {
            "id": "org-0001",
            "name": "Example Shopping Centre",
            "region": "EAST",
            "sectors": ["retail"],
            "location": {"lat": 52.63, "lon": 1.29, "postcode": "NR1 1AA", "county": "Norfolk"},
            "tags": ["crowded-place", "bid"],
            "membership": {"status": "active", "joined": "2019-03-01"},
            "contacts": [
                {
                    "id": "c-0001",
                    "name": "Sam Example",
                    "email": "sam@example.org",
                    "phone": "07400 123456",
                    "webhook": None,
                    "channels": ["email", "sms"],
                    "language": "en",
                    "quiet_hours": {"start": "22:00", "end": "07:00", "tz": "Europe/London"},
                },
                {"id": "c-0002", "name": "Hub Person", "email": "hub@example.org", "channels": ["email"]},
            ],
        }
    ],
    "roles": [
        {"role": "isl", "region": "EAST", "sector": "retail", "contact": "c-0001", "rank": 1},
        {"role": "hub", "region": None, "contact": "c-0002"},
    ],
}


def test_the_spec_example_loads_in_normal_form() -> None:
    network = network_from_document(SPEC_EXAMPLE)
    contact = network.contact("c-0001")
    assert contact.phone == "+447400123456"
    assert contact.quiet_hours is not None
    assert contact.quiet_hours.start.isoformat() == "22:00:00"
    assert network.hubs(None)[0].contact == "c-0002"
    assert network.isls("EAST", "retail")[0].contact == "c-0001"


def test_reference_data_applies_when_regions_and_sectors_are_left_out() -> None:
    document = {key: value for key, value in SPEC_EXAMPLE.items() if key not in ("regions", "sectors")}
    network = network_from_document(document)
    assert network.regions == reference_regions()
    assert network.sectors == reference_sectors()
    assert len(network.regions) == 11


@given(networks())
def test_json_round_trips(network: Network) -> None:
    assert parse_network_json(dumps_network_json(network)) == network


@given(networks())
def test_toml_round_trips(network: Network) -> None:
    assert parse_network_toml(dumps_network_toml(network)) == network


@given(networks())
def test_documents_round_trip(network: Network) -> None:
    document = network_to_document(network)
    assert network_to_document(network_from_document(json.loads(json.dumps(document)))) == document


def _problems(document: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        network_from_document(document)
    return [str(problem) for problem in caught.value.problems]


def test_every_problem_is_reported_at_once_in_document_order() -> None:
    document = copy.deepcopy(SPEC_EXAMPLE)
    organisation = document["organisations"][0]
    organisation["contacts"][0]["phone"] = "07700 900123"
    organisation["contacts"][0]["email"] = "nope"
    organisation["location"]["postcode"] = "NR1"
    organisation["sectors"] = ["retail", "bakery"]
    organisation["colour"] = "blue"
    document["organisations"].extend(
        {"id": f"org-{n}", "name": "x", "region": "EAST", "sectors": ["retail"]} for n in range(2, 11)
    )
    document["organisations"].append(
        {
            "id": "org-0001",
            "name": " ",
            "region": "XX",
            "sectors": "retail",
            "contacts": [{"id": "c-0001", "name": "x", "channels": ["sms"]}],
        }
    )
    document["roles"].append({"role": "isl", "region": "EAST", "sector": "retail", "contact": "c-9"})
    document["roles"].append({"role": "boss", "contact": "c-0001"})
    assert _problems(document) == [
        "$.organisations[0].colour: unknown field",
        "$.organisations[0].contacts[0].email: not a valid email address"
        " (An email address must have an @-sign.)",
        "$.organisations[0].contacts[0].phone: not a valid phone number",
        "$.organisations[0].location.postcode: 'NR1' is not a valid UK postcode",
        "$.organisations[0].sectors[1]: unknown sector 'bakery'",
        "$.organisations[10].contacts[0].channels[0]: channel 'sms' needs the contact's phone",
        "$.organisations[10].contacts[0].id: id 'c-0001' is already used at $.organisations[0].contacts[0]",
        "$.organisations[10].id: id 'org-0001' is already used at $.organisations[0]",
        "$.organisations[10].name: must not be blank",
        "$.organisations[10].region: unknown region 'XX'",
        "$.organisations[10].sectors: expected a list, got a string",
        "$.roles[2].contact: unknown contact 'c-9'",
        "$.roles[3].role: 'boss' is not one of isl, hub, liaison, board",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("format"), "$.format: must be 'cssc-network/1'"),
        (
            lambda d: d.update(format="cssc-network/2"),
            "$.format: expected 'cssc-network/1', found 'cssc-network/2'",
        ),
        (lambda d: d.update(organisations={}), "$.organisations: expected a list"),
        (lambda d: d["organisations"][0].pop("name"), "$.organisations[0].name: required field missing"),
        (
            lambda d: d["organisations"][0]["membership"].update(status="gone"),
            "$.organisations[0].membership.status: 'gone' is not one of pending, active, lapsed, suspended",
        ),
        (
            lambda d: d["organisations"][0]["location"].pop("lon"),
            "$.organisations[0].location: lat and lon must be given together",
        ),
        (
            lambda d: d["organisations"][0]["contacts"][0].update(language="fr"),
            "$.organisations[0].contacts[0].language: 'fr' is not one of en, cy",
        ),
        (
            lambda d: d["organisations"][0]["contacts"][0]["quiet_hours"].update(start="25:00"),
            "$.organisations[0].contacts[0].quiet_hours.start: '25:00' is not a time of day written HH:MM",
        ),
        (
            lambda d: d["organisations"][0]["contacts"][0].update(test="yes"),
            "$.organisations[0].contacts[0].test: expected true or false, got a string",
        ),
        (lambda d: d["roles"][0].update(rank="1"), "$.roles[0].rank: expected a whole number, got a string"),
        (lambda d: d["roles"][1].pop("contact"), "$.roles[1].contact: required field missing"),
    ],
)
def test_single_problems_name_their_path(change: Any, expected: str) -> None:
    document = copy.deepcopy(SPEC_EXAMPLE)
    change(document)
    assert _problems(document) == [expected]


def test_malformed_text_is_a_validation_error_not_a_traceback() -> None:
    with pytest.raises(ValidationError, match=r"not valid JSON: .* \(line 1 column 2\)"):
        parse_network_json("{oops", source="bad.json")
    with pytest.raises(ValidationError, match="not valid TOML"):
        parse_network_toml("format = ", source="bad.toml")
    with pytest.raises(ValidationError, match="must be an object"):
        parse_network_json("[]")


def test_toml_leaves_nulls_out() -> None:
    network = network_from_document(SPEC_EXAMPLE)
    text = dumps_network_toml(network)
    assert "webhook" not in text
    assert parse_network_toml(text) == network


@pytest.mark.parametrize("item", [None, [], 3, "EAST"])
def test_an_item_that_is_not_an_object_is_a_problem_with_its_path(item: Any) -> None:
    # Regression: cattrs' generated code raised AttributeError for a list item that was not an object.
    for key in ("regions", "sectors", "organisations", "roles"):
        with pytest.raises(ValidationError) as caught:
            network_from_document({"format": "cssc-network/1", key: [item]})
        assert f"$.{key}[0]" in {problem.path for problem in caught.value.problems}


def test_nested_records_that_are_not_objects_are_problems() -> None:
    document = copy.deepcopy(SPEC_EXAMPLE)
    document["organisations"][0]["membership"] = ["active"]
    document["organisations"][0]["contacts"][0]["quiet_hours"] = 7
    with pytest.raises(ValidationError) as caught:
        network_from_document(document)
    assert [str(problem) for problem in caught.value.problems] == [
        "$.organisations[0].contacts[0].quiet_hours: expected an object, got int",
        "$.organisations[0].membership: expected an object, got a list",
    ]


@pytest.mark.parametrize("key", ["9" * 4301, "²"])
def test_unknown_keys_made_of_digits_are_reported(key: str) -> None:
    # Regression: sorting the problems converted such keys with int(), which raised ValueError.
    with pytest.raises(ValidationError) as caught:
        network_from_document({"format": "cssc-network/1", key: 1, "other": 2})
    assert len(caught.value.problems) == 2

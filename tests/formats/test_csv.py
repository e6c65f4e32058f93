"""CSV member lists: one row per contact, exact round trips, safe against spreadsheet formulas."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given

from cssc_core import (
    Contact,
    Network,
    Organisation,
    ValidationError,
    dumps_network_csv,
    network_from_document,
    parse_network_csv,
)
from cssc_core.formats.csv import CSV_COLUMNS
from tests.formats.test_network_formats import SPEC_EXAMPLE
from tests.strategies import networks


def _reload(network: Network) -> Network:
    text = dumps_network_csv(network)
    return parse_network_csv(text, regions=network.regions, sectors=network.sectors, roles=network.roles)


@given(networks())
def test_csv_round_trips_exactly(network: Network) -> None:
    assert _reload(network) == network


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_contact_and_one_for_an_organisation_without_contacts() -> None:
    network = network_from_document(SPEC_EXAMPLE)
    empty = Organisation("org-2", "Empty", "EAST", ("retail",))
    network = Network(network.regions, network.sectors, (*network.organisations, empty), network.roles)
    rows = _rows(dumps_network_csv(network))
    assert [(row["organisation_id"], row["contact_id"]) for row in rows] == [
        ("org-0001", "c-0001"),
        ("org-0001", "c-0002"),
        ("org-2", ""),
    ]
    assert list(rows[0]) == list(CSV_COLUMNS)


@pytest.mark.parametrize(
    "dangerous", ['=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)", "\tx", "'=already", "''-x"]
)
def test_cells_that_a_spreadsheet_would_run_are_prefixed_and_restored(dangerous: str) -> None:
    organisation = Organisation(
        "org-1", dangerous, "EAST", ("retail",), contacts=(Contact("c-1", "A", phone="+442079460123"),)
    )
    reference = network_from_document(SPEC_EXAMPLE)
    network = Network(reference.regions, reference.sectors, (organisation,))
    text = dumps_network_csv(network)
    row = _rows(text)[0]
    assert row["organisation_name"] == "'" + dangerous
    assert row["phone"] == "'+442079460123"
    assert _reload(network) == network


def test_problems_are_located_by_row_and_column() -> None:
    header = ",".join(CSV_COLUMNS)
    good = "org-1,Shop,EAST,retail,,,,,,active,,c-1,Ann,ann@example.org,,,email,en,,,,,false"
    bad_phone = "org-1,Shop,EAST,retail,,,,,,active,,c-2,Bob,,07700 900123,,sms,en,,,,,false"
    other_name = "org-1,Shopp,EAST,retail,,,,,,active,,c-3,Cy,,,,,en,,,,,false"
    bad_org = "org-2,Mall,EAST,retail;bakery,abc,1,NR1,,,active,,c-1,Dup,,,,,en,,,,,maybe"
    text = "\r\n".join([header, good, bad_phone, other_name, bad_org]) + "\r\n"
    with pytest.raises(ValidationError) as caught:
        parse_network_csv(text, source="members.csv")
    assert [str(problem) for problem in caught.value.problems] == [
        "row 3, phone: not a valid phone number",
        "row 4: organisation 'org-1' differs from its first row (2)",
        "row 5, lat: expected a number, got a string",
        "row 5, postcode: 'NR1' is not a valid UK postcode",
        "row 5, test: expected true or false, got a string",
    ]


def test_reference_problems_are_located_too() -> None:
    header = ",".join(CSV_COLUMNS)
    first = "org-1,Shop,EAST,retail;bakery,,,,,,active,,c-1,Ann,ann@example.org,,,email,en,,,,,false"
    second = "org-2,Mall,EAST,retail,,,,,,active,,c-1,Dup,,,,,en,,,,,false"
    with pytest.raises(ValidationError) as caught:
        parse_network_csv("\r\n".join([header, first, second]))
    assert [str(problem) for problem in caught.value.problems] == [
        "row 2, sectors: unknown sector 'bakery'",
        "row 3, contact_id: id 'c-1' is already used at row 2",
    ]


def test_header_must_name_every_column() -> None:
    with pytest.raises(ValidationError, match="missing column 'phone'"):
        parse_network_csv(",".join(c for c in CSV_COLUMNS if c != "phone") + ",extra\r\n")


def test_carriage_return_and_tab_cells_are_guarded() -> None:
    from cssc_core.formats.csv import _guard, _unguard

    for cell in ("\rx", "\tx", "'\rx", "plain", "'quoted"):
        assert _unguard(_guard(cell)) == cell
    assert _guard("\rx") == "'\rx"
    assert _guard("'quoted") == "'quoted"

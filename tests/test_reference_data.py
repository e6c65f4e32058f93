"""The data shipped with the package: the regions, the sectors and the example network.

The example network is checked against the story it tells (the CSSC regions at the 2019 AGM) and
against the script that builds it, which must reproduce it byte for byte.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from collections import Counter
from datetime import date
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.test_synthetic import document_problems, reference

REGION_CODES = ("EAST", "SE", "SW", "WALES", "EMID", "WMID", "NE", "NW", "SCOT", "NI", "LDN")
CNI_SECTORS = {
    "chemicals", "civil-nuclear", "communications", "defence", "emergency-services", "energy", "finance",
    "food", "government", "health", "space", "transport", "water",
}  # fmt: skip
CSSC_SECTORS = {
    "retail", "faith", "education", "bids", "crowded-places", "hospitality", "tourism", "sport-and-leisure",
    "night-time-economy", "construction", "security", "utilities", "entertainment", "manufacturing",
    "property",
}  # fmt: skip
GLASGOW_CENTRE = (55.866, -4.264)
EARTH_RADIUS_KM = 6371.0088
BUILDER = Path(__file__).resolve().parent.parent / "scripts" / "build_example_network.py"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_example_network", BUILDER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example_text() -> str:
    return files("cssc_core").joinpath("data", "example-network.json").read_text("utf-8")


@pytest.fixture(scope="module")
def example(example_text: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(example_text)
    return document


def in_region(example: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [organisation for organisation in example["organisations"] if organisation["region"] == code]


def roles_of(example: dict[str, Any], kind: str, region: str | None) -> list[dict[str, Any]]:
    return [role for role in example["roles"] if role["role"] == kind and role["region"] == region]


def test_the_eleven_regions() -> None:
    regions = reference("regions.json")
    assert tuple(region["code"] for region in regions) == REGION_CODES
    assert all(set(region) == {"code", "name", "counties"} and region["name"] for region in regions)
    assert all(region["counties"] for region in regions)
    counties = Counter(county for region in regions for county in region["counties"])
    assert [county for county, count in counties.items() if count > 1] == []
    by_code = {region["code"]: set(region["counties"]) for region in regions}
    assert {"Norfolk", "Suffolk", "Cambridgeshire", "Essex", "Hertfordshire", "Bedfordshire"} <= by_code[
        "EAST"
    ]
    assert {"Glasgow City", "City of Edinburgh"} <= by_code["SCOT"]
    assert by_code["LDN"] == {"Greater London", "City of London"}
    assert len(by_code["NI"]) == 6
    assert len(by_code["WALES"]) == 22  # the principal areas
    assert len(by_code["SCOT"]) == 32  # the council areas


def test_the_sectors() -> None:
    sectors = reference("sectors.json")
    codes = [sector["code"] for sector in sectors]
    assert len(codes) == len(set(codes))
    assert all(set(sector) == {"code", "name"} and sector["name"] for sector in sectors)
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", code) for code in codes)
    assert set(codes) >= CNI_SECTORS | CSSC_SECTORS


def test_the_example_network_is_valid(example: dict[str, Any]) -> None:
    assert document_problems(example) == []


def test_the_builder_reproduces_the_example_network_byte_for_byte(example_text: str) -> None:
    builder = load_builder()
    built = builder.render(builder.build())
    assert built.encode("utf-8") == files("cssc_core").joinpath("data", "example-network.json").read_bytes()
    assert built == example_text


def test_the_example_network_is_small_enough_to_ship() -> None:
    assert len(files("cssc_core").joinpath("data", "example-network.json").read_bytes()) < 3_000_000


def test_every_region_has_its_hub_liaison_and_changing_members(example: dict[str, Any]) -> None:
    assert len(roles_of(example, "hub", None)) == 1
    for code in REGION_CODES:
        statuses = Counter(organisation["membership"]["status"] for organisation in in_region(example, code))
        assert statuses["pending"] >= 1, code
        assert statuses["lapsed"] >= 1, code
        assert statuses["active"] > statuses["pending"] + statuses["lapsed"] + statuses["suspended"], code
        assert roles_of(example, "hub", code), code
        assert roles_of(example, "liaison", code), code


def test_regions_as_reported_in_2019(example: dict[str, Any]) -> None:
    assert len(in_region(example, "EMID")) == 200
    assert len(roles_of(example, "board", "EMID")) >= 5  # every board member holds a portfolio
    assert len(roles_of(example, "isl", "WMID")) == 171
    bids = [org for org in in_region(example, "WMID") if "bids" in org["sectors"]]
    assert len(bids) == 5
    assert all("bid" in org["tags"] for org in bids)
    east_isls = roles_of(example, "isl", "EAST")
    assert len(east_isls) >= 200
    # Eastern has ISLs in every sector its active members are in.
    east_sectors = {
        code
        for org in in_region(example, "EAST")
        if org["membership"]["status"] == "active"
        for code in org["sectors"]
    }
    assert {role["sector"] for role in east_isls} == east_sectors
    # The North East is the newest region and among the smallest.
    sizes = Counter(organisation["region"] for organisation in example["organisations"])
    assert sizes["NE"] <= min(sizes.values())
    assert min(org["membership"]["joined"] for org in in_region(example, "NE")) >= "2018-06-01"
    assert min(org["membership"]["joined"] for org in in_region(example, "SCOT")) < "2017-01-01"
    welsh = [contact for org in in_region(example, "WALES") for contact in org["contacts"]]
    assert sum(contact["language"] == "cy" for contact in welsh) >= 10


def test_glasgow_city_centre_cluster_and_edinburgh(example: dict[str, Any]) -> None:
    cluster = [
        org
        for org in in_region(example, "SCOT")
        if org["location"]["county"] == "Glasgow City"
        and {"bid", "crowded-place", "city-centre"} <= set(org["tags"])
    ]
    assert len(cluster) >= 30
    for org in cluster:
        distance = haversine_km(*GLASGOW_CENTRE, org["location"]["lat"], org["location"]["lon"])
        assert distance <= 1.5, (org["id"], distance)
        assert org["location"]["postcode"].split()[0] in {"G1", "G2", "G3"}, org["id"]
    edinburgh = [
        org for org in in_region(example, "SCOT") if org["location"]["county"] == "City of Edinburgh"
    ]
    assert len(edinburgh) >= 10


def test_the_example_network_has_gaps_and_loose_ends(example: dict[str, Any]) -> None:
    isl_cells = {(role["region"], role["sector"]) for role in example["roles"] if role["role"] == "isl"}
    active_cells = {
        (org["region"], code)
        for org in example["organisations"]
        if org["membership"]["status"] == "active"
        for code in org["sectors"]
    }
    assert len(active_cells - isl_cells) >= 10  # coverage gaps, in several regions
    assert len({region for region, _ in active_cells - isl_cells}) >= 5
    contacts = [contact for org in example["organisations"] for contact in org["contacts"]]
    year_ago = date(2018, 6, 12).isoformat()
    stale = sum(contact.get("verified", "") < year_ago for contact in contacts)  # or never verified
    assert stale >= 50
    assert sum(contact["quiet_hours"] is not None for contact in contacts) >= 50
    assert 3 <= sum(bool(contact.get("test")) for contact in contacts) <= 100
    names = [(org["name"], org["location"]["county"]) for org in example["organisations"]]
    assert len(set(names)) == len(names)  # no two members of one county share a name

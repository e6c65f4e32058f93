"""Builds ``src/cssc_core/data/example-network.json``, the example network shipped with the package.

The network is modelled on the CSSC regions as they reported at the June 2019 AGM: a mature Eastern
region with 500 ISLs in every sector; 200 organisations on the East Midlands hub, whose board members
each hold a portfolio; a West Midlands region with 171 ISLs and five BIDs and its hub hosted by a water
company; Wales with Welsh speakers; a newer, smaller North East whose hub is hosted by a security firm;
Scotland, the oldest region, with a cluster of city-centre members around Glasgow School of Art and
members in Edinburgh; and other regions still recruiting ISLs, which leaves coverage gaps. Every name
is invented, every email address is at a domain reserved for examples and every phone number is in an
Ofcom drama range.

The output is deterministic; a test checks that this script reproduces the shipped file byte for byte.
Run it from the repository root with the package importable (installed, or ``PYTHONPATH=src``)::

    python scripts/build_example_network.py           # rewrite the file
    python scripts/build_example_network.py --check   # exit 1 when the file is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple

from cssc_core.synthetic import PLACES, NetworkBuilder, Place

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "cssc_core" / "data" / "example-network.json"
SEED = 20190612


class Plan(NamedTuple):
    """How a region of the example network is made.

    Attributes:
        organisations: Members in the region, the hub, the police liaison and the story's own included.
        coverage: The chance that a sector cell with active members has ISLs.
        deputies: The most deputies a covered cell gets.
        isls: The exact number of ISL roles in the region instead, when the story gives one.
    """

    organisations: int
    coverage: float
    deputies: int = 2
    isls: int | None = None


PLANS = {
    "EAST": Plan(900, coverage=1.0, isls=500),
    "SE": Plan(120, coverage=0.45, deputies=1),  # "a steady trickle of ISLs"
    "SW": Plan(120, coverage=0.7),
    "WALES": Plan(110, coverage=0.7, deputies=1),
    "EMID": Plan(200, coverage=0.6),
    "WMID": Plan(240, coverage=0.8, isls=171),
    "NE": Plan(60, coverage=0.35, deputies=1),
    "NW": Plan(120, coverage=0.5),
    "SCOT": Plan(230, coverage=0.8),
    "NI": Plan(60, coverage=0.4, deputies=1),
    "LDN": Plan(180, coverage=0.7),
}

# Where each region's hub sits. Most regions run their own hub office; two are hosted by members.
HUB_PLACES = {
    "EAST": "Norwich", "SE": "Reading", "SW": "Bristol", "WALES": "Cardiff", "EMID": "Leicester",
    "WMID": "Birmingham", "NE": "Newcastle upon Tyne", "NW": "Manchester", "SCOT": "Edinburgh",
    "NI": "Belfast", "LDN": "Cheapside",
}  # fmt: skip
HUB_HOSTS = {"WMID": ("Mercia Vale Water", "water"), "NE": ("Tynegate Secure Technology", "security")}

# Board portfolios, with the sector the member is drawn from (None: any member of the region).
BOARDS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "EAST": (("health", "health"), ("policing", "emergency-services"), ("motor", "transport"),
             ("retail", "retail"), ("research", "research")),
    "EMID": (("chair", None), ("finance", None), ("membership", None), ("communications", None),
             ("events", None), ("training", None)),
    "WMID": (("chair", None), ("finance", None), ("partnerships", "water"), ("communications", None)),
    "NE": (("chair", "security"),),
    "SCOT": (("chair", None), ("finance", None)),
}  # fmt: skip

# The Glasgow city centre around the School of Art, where a major incident put pressure on businesses.
GLASGOW_CENTRE = Place(
    "Glasgow", "SCOT", "Glasgow City", 55.866, -4.264, 1.3, ("G1", "G2", "G3"), "0141 496 0"
)
CITY_CENTRE_SECTORS = (
    "retail", "hospitality", "night-time-economy", "entertainment", "culture", "education", "food", "finance",
)  # fmt: skip
CITY_CENTRE_TAGS = ("bid", "city-centre", "crowded-place")
WMID_BID_TOWNS = ("Birmingham", "Coventry", "Wolverhampton", "Worcester", "Stoke-on-Trent")


def place(region: str, name: str) -> Place:
    """The place of that name in that region (two regions each have a Newport and a Bangor)."""
    return next(p for p in PLACES if p.region == region and p.name == name)


def region_names() -> dict[str, str]:
    """Region code to name, in the order of the shipped reference data."""
    regions = json.loads(files("cssc_core").joinpath("data", "regions.json").read_text("utf-8"))
    return {region["code"]: region["name"] for region in regions}


def build() -> dict[str, Any]:
    """Makes the example network as a ``cssc-network/1`` document."""
    net = NetworkBuilder(SEED, unique_names=True)
    hubs: dict[str | None, dict[str, Any]] = {}
    liaisons: dict[str, dict[str, Any]] = {}

    hubs[None] = net.organisation(
        place("LDN", "Cheapside"), sectors=["security"], tags=[], status="active",
        name="National Hub Operations Centre", contacts=3,
    )  # fmt: skip
    for code, name in region_names().items():
        plan = PLANS[code]
        home = place(code, HUB_PLACES[code])
        host, host_sector = HUB_HOSTS.get(code, (f"{name} Business Safety Hub", "security"))
        hubs[code] = net.organisation(
            home, sectors=[host_sector], tags=[], status="active", name=host, contacts=2
        )
        liaisons[code] = net.organisation(
            home, sectors=["emergency-services"], tags=[], status="active",
            name=f"{name} Police Business Liaison Team", contacts=1,
        )  # fmt: skip
        # Scotland's random members stay out of Glasgow, whose members add_scottish_cities places by hand.
        where: list[str | Place] = [code]
        if code == "SCOT":
            where = [p for p in PLACES if p.region == "SCOT" and p.name != "Glasgow"]
            add_scottish_cities(net)
        elif code == "WMID":
            for town in WMID_BID_TOWNS:
                net.organisation(
                    place("WMID", town), sectors=["bids"], tags=["bid", "city-centre"], status="active"
                )
        elif code == "SE":
            net.organisation(
                place("SE", "Dartford"), sectors=["retail", "crowded-places"], tags=["crowded-place"],
                status="active", name="Thameside Shopping Centre", contacts=3,
            )  # fmt: skip
        # Every region has members on their way in and on their way out.
        for status in ("pending", "lapsed"):
            net.organisation(net.rng.choice(where), status=status)
        made = sum(1 for organisation in net.organisations if organisation["region"] == code)
        for _ in range(plan.organisations - made):
            # The West Midlands' only BIDs are the five above.
            net.organisation(net.rng.choice(where), exclude_sectors={"bids"} if code == "WMID" else ())

    for hub_region, organisation in hubs.items():
        net.roles.append({"role": "hub", "region": hub_region, "contact": organisation["contacts"][0]["id"]})
        # The hub's last contact is its test line, which receives test messages and bridge-call rehearsals.
        organisation["contacts"][-1]["test"] = True
    for code, organisation in liaisons.items():
        net.roles.append({"role": "liaison", "region": code, "contact": organisation["contacts"][0]["id"]})
    for code, plan in PLANS.items():
        net.add_isls(code, coverage=plan.coverage, deputies=plan.deputies, total=plan.isls)
    for code, portfolios in BOARDS.items():
        for portfolio, sector in portfolios:
            member = net.pick_contact(code, sector)
            if member is None:
                raise RuntimeError(f"no member for the {portfolio} portfolio of {code}")
            net.roles.append({"role": "board", "region": code, "portfolio": portfolio, "contact": member})
    return net.document()


def add_scottish_cities(net: NetworkBuilder) -> None:
    """Adds the Glasgow city-centre cluster, the rest of Glasgow and the Edinburgh members."""
    net.organisation(GLASGOW_CENTRE, sectors=["bids"], tags=CITY_CENTRE_TAGS, status="active", contacts=3)
    for _ in range(44):
        net.organisation(GLASGOW_CENTRE, sectors=[net.rng.choice(CITY_CENTRE_SECTORS)], tags=CITY_CENTRE_TAGS)
    for _ in range(20):
        net.organisation(place("SCOT", "Glasgow"), tags=[], exclude_sectors={"bids"})
    for _ in range(30):
        net.organisation(place("SCOT", "Edinburgh"))


def render(document: dict[str, Any]) -> str:
    """The document as the shipped file holds it: sorted keys, one-space indents, a final newline."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Writes the example network, or with ``--check`` tells whether the shipped file is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs, write nothing")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write (default: {OUTPUT})")
    options = parser.parse_args(argv)
    text = render(build())
    if options.check:
        current = options.output.read_text("utf-8") if options.output.exists() else None
        if current != text:
            print(f"{options.output} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    options.output.write_text(text, encoding="utf-8", newline="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

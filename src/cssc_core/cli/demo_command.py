"""``cssc demo``: the bundled example network, imported into a store of its own and summarised."""

from __future__ import annotations

from collections import Counter
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import click

from cssc_core.cli.options import FilePath, json_option
from cssc_core.cli.tables import echo_json, echo_table
from cssc_core.domain.coverage import CoverageRow, coverage
from cssc_core.domain.models import IslRole
from cssc_core.domain.network import Network
from cssc_core.plugins.manager import open_store
from cssc_core.reference import example_network
from cssc_core.storage.sqlite import sqlite_url

__all__ = ["COMMANDS", "network_summary"]

# The example network describes the network as it stood at the 2019 annual meeting.
DEMO_DATE = date(2019, 6, 12)


def network_summary(network: Network, today: date) -> dict[str, Any]:
    """Counts per region and in all: organisations, contacts, ISLs, and the coverage gaps.

    Args:
        network: The network to describe.
        today: The date contact staleness is measured from.
    """
    rows = coverage(network, today)
    isls = Counter(role.region for role in network.roles if isinstance(role, IslRole))
    gaps_by_region = Counter(row.region for row in rows if row.is_gap)
    regions = []
    for region in network.regions:
        organisations = network.organisations_in(region.code)
        regions.append(
            {
                "region": region.code,
                "name": region.name,
                "organisations": len(organisations),
                "active_organisations": sum(organisation.is_active for organisation in organisations),
                "contacts": sum(len(organisation.contacts) for organisation in organisations),
                "isls": isls[region.code],
                "gaps": gaps_by_region[region.code],
            }
        )
    return {
        "regions": regions,
        "totals": {
            "regions": len(network.regions),
            "sectors": len(network.sectors),
            "organisations": len(network.organisations),
            "active_organisations": sum(organisation.is_active for organisation in network.organisations),
            "contacts": network.contact_count,
            "isls": sum(isls.values()),
            "stale_contacts": sum(row.stale_contacts for row in rows),
            "gaps": sum(gaps_by_region.values()),
        },
        "gaps": [{"region": row.region, "sector": row.sector} for row in rows if row.is_gap],
    }


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=FilePath(path_type=Path, file_okay=False),
    default=Path("cssc-demo"),
    show_default=True,
    help="The folder the demo works in (its SQLite file and outbox).",
)
@click.option(
    "--keep", is_flag=True, help="Keep the demo database from an earlier run instead of starting afresh."
)
@json_option
def demo_command(directory: Path, keep: bool, as_json: bool) -> None:
    """Run the story on the bundled example network, in a folder of its own.

    Imports the example network (modelled on the CSSC regions as they stood in 2019) into a SQLite file
    in the demo folder and reports its regions, sectors, organisations, ISLs and coverage gaps. It never
    touches ./cssc.db.
    """
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "cssc.db"
    if not keep:
        for stale in (database, database.with_name("cssc.db-wal"), database.with_name("cssc.db-shm")):
            stale.unlink(missing_ok=True)
    network = example_network()
    with closing(open_store(sqlite_url(database))) as store:
        store.replace_network(network)
    summary = network_summary(network, DEMO_DATE)
    summary["database"] = str(database)
    if as_json:
        echo_json(summary)
        return
    _print_summary(summary, coverage(network, DEMO_DATE))


def _print_summary(summary: dict[str, Any], rows: tuple[CoverageRow, ...]) -> None:
    totals = summary["totals"]
    click.echo(
        f"The example network, as of {DEMO_DATE:%d %B %Y}: {totals['organisations']} organisations "
        f"({totals['active_organisations']} active), {totals['contacts']} contacts, "
        f"{totals['isls']} ISL roles, {totals['regions']} regions, {totals['sectors']} sectors.\n"
    )
    echo_table(
        ["region", "name", "organisations", "active", "contacts", "ISLs", "gaps"],
        [
            (
                r["region"],
                r["name"],
                r["organisations"],
                r["active_organisations"],
                r["contacts"],
                r["isls"],
                r["gaps"],
            )
            for r in summary["regions"]
        ],
    )
    gaps = [row for row in rows if row.is_gap]
    click.echo(f"\nCoverage gaps: {len(gaps)} region x sector cells have active members and no ISL.")
    for row in gaps[:10]:
        click.echo(f"  {row.region:<6} {row.sector:<22} {row.active_organisations} active organisations")
    if len(gaps) > 10:
        click.echo(f"  ... and {len(gaps) - 10} more (cssc coverage --db {summary['database']})")
    click.echo(f"\n{totals['stale_contacts']} contacts have not confirmed their details in twelve months.")
    click.echo(f"The network is stored in {summary['database']}.")


COMMANDS: tuple[click.Command, ...] = (demo_command,)

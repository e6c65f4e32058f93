"""``cssc import``, ``cssc export`` and ``cssc coverage``: the network in and out of the store."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import click

from cssc_core.cli.options import (
    FilePath,
    at_option,
    clock_from_option,
    json_option,
    open_store_from_options,
    store_options,
)
from cssc_core.cli.tables import echo_json, echo_table
from cssc_core.domain.coverage import coverage
from cssc_core.domain.network import Network
from cssc_core.errors import CsscError, ValidationError
from cssc_core.formats.csv import dumps_network_csv, parse_network_csv
from cssc_core.formats.network import dumps_network_json, dumps_network_toml, read_network_file
from cssc_core.storage.protocol import Store

__all__ = ["COMMANDS", "read_import_file", "stored_network"]


def stored_network(store: Store) -> Network:
    """The network in the store; a failed operation (exit 1) when nothing has been imported yet."""
    network = store.load_network()
    if network is None:
        raise CsscError("the store holds no network yet: run `cssc import FILE` first")
    return network


def read_import_file(path: Path, store: Store) -> Network:
    """Reads a network file for import; a CSV member list keeps the stored regions, sectors and roles."""
    if path.suffix.lower() != ".csv":
        return read_network_file(path)
    current = store.load_network()
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError.single("$", f"cannot read the file ({error})", str(path)) from None
    if current is None:
        return parse_network_csv(text, source=str(path))
    return parse_network_csv(
        text, regions=current.regions, sectors=current.sectors, roles=current.roles, source=str(path)
    )


@click.command("import")
@click.argument("file", type=FilePath(path_type=Path, dir_okay=False))
@store_options
def import_command(file: Path, db: Path | None, store: str | None) -> None:
    """Load a network from FILE (.json, .toml or a .csv member list), all or nothing.

    A file with problems is refused with every problem listed (exit 2) and the store is left exactly
    as it was. A CSV member list replaces the organisations and contacts and keeps the stored regions,
    sectors and roles.
    """
    with closing(open_store_from_options(db, store)) as opened:
        network = read_import_file(file, opened)
        opened.replace_network(network)
    click.echo(
        f"imported {len(network.organisations)} organisations, {network.contact_count} contacts "
        f"and {len(network.roles)} roles from {file}"
    )


_DUMPERS = {"json": dumps_network_json, "toml": dumps_network_toml, "csv": dumps_network_csv}


@click.command("export")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(_DUMPERS)),
    default="json",
    show_default=True,
    help="cssc-network/1 JSON or TOML, or a CSV member list.",
)
@click.option("--output", type=FilePath(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
@store_options
def export_command(output_format: str, output: Path | None, db: Path | None, store: str | None) -> None:
    """Write the stored network to standard output or a file."""
    with closing(open_store_from_options(db, store)) as opened:
        text = _DUMPERS[output_format](stored_network(opened))
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, "utf-8", newline="")
    except OSError as error:
        raise CsscError(f"cannot write {output}: {error.strerror}") from None


@click.command("coverage")
@store_options
@json_option
@at_option
def coverage_command(db: Path | None, store: str | None, as_json: bool, at: str | None) -> None:
    """Region x sector: ISLs present, active organisations, contacts not verified for 12 months."""
    today = clock_from_option(at).now().date()
    with closing(open_store_from_options(db, store)) as opened:
        rows = coverage(stored_network(opened), today)
    if as_json:
        echo_json(
            [
                {
                    "region": row.region,
                    "sector": row.sector,
                    "isls": row.isls,
                    "active_organisations": row.active_organisations,
                    "organisations": row.organisations,
                    "stale_contacts": row.stale_contacts,
                    "gap": row.is_gap,
                }
                for row in rows
            ]
        )
        return
    echo_table(
        ["region", "sector", "ISLs", "active orgs", "stale contacts", "gap"],
        [
            (
                row.region,
                row.sector,
                row.isls,
                row.active_organisations,
                row.stale_contacts,
                "GAP" if row.is_gap else "",
            )
            for row in rows
        ],
    )
    gaps = sum(row.is_gap for row in rows)
    click.echo(f"\n{len(rows)} cells, {gaps} coverage gaps (active members and no ISL), as of {today}")


COMMANDS: tuple[click.Command, ...] = (import_command, export_command, coverage_command)

"""``cssc route``: plan a message without sending it, and explain the plan."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click

from cssc_core.domain.network import Network
from cssc_core.errors import ValidationError
from cssc_core.formats.message import read_message_file
from cssc_core.formats.network import read_network_file
from cssc_core.formats.policy import read_policy_files
from cssc_core.routing.engine import Router
from cssc_core.routing.explain import explain
from cssc_core.routing.plan import RoutingPlan

__all__ = ["COMMANDS", "format_plan", "load_network_for_cli", "route"]


def load_network_for_cli(db: Path | None, store: str | None, network_file: Path | None) -> Network:
    """The network a command works on: from a network document when ``--network`` names one.

    Raises:
        ValidationError: when both ``--db`` and ``--store`` are given, or no network can be read.
    """
    if db is not None and store is not None:
        raise ValidationError.single("--db", "give --db or --store, not both")
    if network_file is not None:
        return read_network_file(network_file)
    raise ValidationError.single("--network", "name the network to route over with --network FILE")


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headings, *rows, strict=True)]
    return [
        "  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (headings, *rows)
    ]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def format_plan(plan: RoutingPlan) -> str:
    """The plan as tables for people to read."""
    lines = [
        f"Message {plan.message} ({plan.marking}): {_plural(len(plan.recipients), 'recipient')}, "
        f"{_plural(len(plan.relays), 'relay')}, {len(plan.excluded)} excluded, "
        f"{_plural(len(plan.gaps), 'gap')}."
    ]
    if plan.recipients:
        lines += ["", "Recipients"]
        lines += _table(
            ("contact", "organisation", "region", "via", "relay", "channels", "ack", "routes"),
            [
                (
                    r.contact,
                    r.organisation,
                    r.region,
                    str(r.via),
                    " ".join(f"{region}/{sector}" for region, sector in r.relay) or "-",
                    ", ".join(r.channels),
                    "required" if r.ack else "-",
                    ", ".join(r.routes) or "(defaults)",
                )
                for r in plan.recipients
            ],
        )
    if plan.relays:
        lines += ["", "Relays through ISLs (lead first)"]
        lines += _table(
            ("region", "sector", "isl", "deadline"),
            [(r.region, r.sector, ", ".join(r.isl), f"{r.deadline_s}s") for r in plan.relays],
        )
    if plan.excluded:
        lines += ["", "Excluded"]
        lines += _table(
            ("contact", "organisation", "reason"),
            [(e.contact, e.organisation, e.reason) for e in plan.excluded],
        )
    if plan.gaps:
        lines += ["", "Coverage gaps (cells without an ISL)"]
        lines += _table(("region", "sector"), [(g.region, g.sector) for g in plan.gaps])
    return "\n".join(lines)


@click.command("route")
@click.argument("message_file", metavar="MESSAGE", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--policy",
    "policy_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A cssc-policy/1 file; repeat for regions' own files. Without it: [defaults] alone.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--explain", "subject", metavar="ID", help="Explain the routing of one contact or organisation."
)
@click.option("--db", type=click.Path(path_type=Path, dir_okay=False), help="The SQLite store.")
@click.option("--store", metavar="URL", help="Another storage backend, by URL.")
@click.option(
    "--network",
    "network_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Route over the network in this cssc-network/1 file.",
)
def route(
    message_file: Path,
    policy_files: tuple[Path, ...],
    as_json: bool,
    subject: str | None,
    db: Path | None,
    store: str | None,
    network_file: Path | None,
) -> None:
    """Plan MESSAGE (JSON, TOML or CAP 1.2 XML) without sending it: who gets it, how, and who does not."""
    message = read_message_file(message_file)
    policy = read_policy_files(policy_files)
    network = load_network_for_cli(db, store, network_file)
    router = Router(network, policy)
    plan = router.plan(message)
    if subject is not None:
        lines = explain(router, message, subject, plan)
        if as_json:
            click.echo(
                json.dumps({"message": message.id, "subject": subject, "explanation": list(lines)}, indent=2)
            )
        else:
            click.echo("\n".join(lines))
    elif as_json:
        click.echo(json.dumps(plan.to_document(), indent=2, ensure_ascii=False))
    else:
        click.echo(format_plan(plan))


COMMANDS: tuple[click.Command, ...] = (route,)

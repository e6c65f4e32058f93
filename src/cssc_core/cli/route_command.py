"""``cssc route``: plan a message without sending it, and explain the plan."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import click

from cssc_core.cascade.sender import reach_of
from cssc_core.cli.network_commands import stored_network
from cssc_core.cli.options import FilePath, open_store_from_options, store_options
from cssc_core.cli.tables import format_table
from cssc_core.domain.message import Message, MessageType
from cssc_core.domain.network import Network
from cssc_core.errors import ValidationError
from cssc_core.formats.message import read_message_file
from cssc_core.formats.network import read_network_file
from cssc_core.formats.policy import read_policy_files
from cssc_core.routing.engine import Router
from cssc_core.routing.explain import explain
from cssc_core.routing.plan import Reach, RoutingPlan

__all__ = ["COMMANDS", "format_plan", "load_network_for_cli", "route"]


def load_network_for_cli(db: Path | None, store: str | None, network_file: Path | None) -> Network:
    """The network a command works on: a network document with ``--network``, else the store's.

    Raises:
        ValidationError: when ``--network`` comes with ``--db`` or ``--store``, or both of those are
            given, or the file has problems (exit 2).
        CsscError: when the store holds no network yet (exit 1).
    """
    if network_file is not None:
        if db is not None or store is not None:
            raise ValidationError.single("--network", "give --network or --db/--store, not both")
        return read_network_file(network_file)
    with closing(open_store_from_options(db, store)) as opened:
        return stored_network(opened)


def _reached_for_cli(
    message: Message, db: Path | None, store: str | None, network_file: Path | None
) -> dict[str, list[Reach]]:
    # A network file carries no record of earlier deliveries: every reference is then unknown.
    if message.type is MessageType.ALERT or network_file is not None:
        return {}
    with closing(open_store_from_options(db, store)) as opened:
        # References the store does not hold are left out, so that planning names them as unknown.
        return {ref: reach_of(opened, ref) for ref in message.references if opened.get_message(ref)}


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["  " + line for line in format_table(headings, rows).splitlines()]


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
@click.argument("message_file", metavar="MESSAGE", type=FilePath(path_type=Path, dir_okay=False))
@click.option(
    "--policy",
    "policy_files",
    multiple=True,
    type=FilePath(path_type=Path, dir_okay=False),
    help="A cssc-policy/1 file; repeat for regions' own files. Without it: [defaults] alone.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--explain", "subject", metavar="ID", help="Explain the routing of one contact or organisation."
)
@store_options
@click.option(
    "--network",
    "network_file",
    type=FilePath(path_type=Path, dir_okay=False),
    help="Route over the network in this cssc-network/1 file instead of the store's.",
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
    plan = router.plan(message, reached=_reached_for_cli(message, db, store, network_file))
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

"""``cssc route``: plan a message without sending it, and explain the plan."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click

from cssc_core.cascade.sender import reach_of
from cssc_core.cli.options import DEFAULT_DB, open_store_from_options, store_options
from cssc_core.domain.message import Message, MessageType
from cssc_core.domain.network import Network
from cssc_core.errors import ValidationError
from cssc_core.formats.message import read_message_file
from cssc_core.formats.network import read_network_file
from cssc_core.formats.policy import read_policy_files
from cssc_core.routing.engine import Router
from cssc_core.routing.explain import explain
from cssc_core.routing.plan import Reach, RoutingPlan
from cssc_core.storage.protocol import Store

__all__ = ["COMMANDS", "load_network_for_cli", "open_store_if_selected", "reached_for_cli", "route"]


def open_store_if_selected(db: Path | None, store: str | None) -> Store | None:
    """The store ``--db`` or ``--store`` selects, or ``./cssc.db`` when it exists; None otherwise.

    ``cssc route`` only reads, so it never creates a store file that is not there.

    Raises:
        ValidationError: when both ``--db`` and ``--store`` are given.
    """
    if db is None and store is None and not DEFAULT_DB.exists():
        return None
    return open_store_from_options(db, store)


def load_network_for_cli(opened: Store | None, network_file: Path | None) -> Network:
    """The network a command works on: a network document when ``--network`` names one, else the store's.

    Raises:
        ValidationError: when neither gives a network.
    """
    if network_file is not None:
        return read_network_file(network_file)
    network = opened.load_network() if opened is not None else None
    if network is None:
        raise ValidationError.single(
            "--network", "no network to route over: name one with --network FILE, or cssc import one"
        )
    return network


def reached_for_cli(opened: Store | None, message: Message) -> dict[str, list[Reach]] | None:
    """For an update or cancel, whom each referenced message the store holds reached."""
    if message.type is MessageType.ALERT:
        return None
    if opened is None:
        return {}
    return {ref: reach_of(opened, ref) for ref in message.references if opened.get_message(ref) is not None}


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
@store_options
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
    """Plan MESSAGE (JSON, TOML or CAP 1.2 XML) without sending it: who gets it, how, and who does not.

    The network is the store's unless ``--network`` names a file. An update or cancel goes to whom
    the messages it references reached, as the store recorded it; an unknown reference is bad input.
    """
    message = read_message_file(message_file)
    policy = read_policy_files(policy_files)
    opened = open_store_if_selected(db, store)
    try:
        network = load_network_for_cli(opened, network_file)
        reached = reached_for_cli(opened, message)
    finally:
        if opened is not None:
            opened.close()
    router = Router(network, policy)
    plan = router.plan(message, reached=reached)
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

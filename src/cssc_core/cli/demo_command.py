"""``cssc demo``: a day of traffic on the bundled example network, in a folder of its own, and its report.

The story is :mod:`cssc_core.demo`; this module runs it, shows a line per step on standard error and
prints the report built from the store.
"""

from __future__ import annotations

from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from cssc_core.cli.options import FilePath, json_option
from cssc_core.cli.tables import echo_json, echo_table
from cssc_core.demo.report import build_report
from cssc_core.demo.story import DATABASE, OUTBOX, DemoStore, StepReport, play, story_messages

__all__ = ["COMMANDS"]

# The example network describes the network as it stood at the 2019 annual meeting.
DEMO_DATE = date(2019, 6, 12)
LONDON = ZoneInfo("Europe/London")


def _clear(directory: Path) -> None:
    database = directory / DATABASE
    for stale in (database, database.with_name(f"{DATABASE}-wal"), database.with_name(f"{DATABASE}-shm")):
        stale.unlink(missing_ok=True)
    for outbox in (directory / OUTBOX).glob("*.jsonl"):
        outbox.unlink()


def _holds_story(directory: Path) -> bool:
    """Whether the folder holds a whole run of the story (an interrupted one is played again)."""
    if not (directory / DATABASE).exists():
        return False
    with closing(DemoStore(directory / DATABASE)) as store:
        held = {record.id for record in store.messages()}
    return held == {message.id for message in story_messages()}


def _progress(step: StepReport) -> None:
    click.echo(step.line(), err=True)


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
    "--keep",
    is_flag=True,
    help="Keep the database and outbox of an earlier run and report them again, instead of starting afresh.",
)
@json_option
def demo_command(directory: Path, keep: bool, as_json: bool) -> None:
    """Play a day of the network's traffic on the bundled example network, then report it.

    The example network (2,340 organisations in 11 regions, modelled on the CSSC regions in 2019) is
    imported into DIR/cssc.db, and on a simulated clock: a UK Protect bulletin cascades through the
    ISLs of every region; a major incident in Glasgow goes direct to the members near its cordon, who
    must acknowledge, followed by an update and a cancel; a TLP:AMBER warning about suspicious
    packages goes to the sectors with mailrooms while one ISL stays silent; Wales invite members to a
    test bridge call in English and Welsh (an exercise); and the East Midlands send their newsletter.
    Copies go to the file channels in DIR/cssc-outbox/. The report gives reach and time-to-reach by
    region, sector and hop, acknowledgements, escalations, exclusions by marking and coverage gaps.
    The same report every run; it never touches ./cssc.db.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if keep and _holds_story(directory):
        click.echo(f"{directory / DATABASE} already holds the story: reporting it again.", err=True)
    else:
        _clear(directory)
        play(directory, _progress)
    with closing(DemoStore(directory / DATABASE)) as store:
        report = build_report(store, directory=directory, today=DEMO_DATE)
    if as_json:
        echo_json(report)
    else:
        _print_report(report)


def _local(moment: str) -> str:
    return f"{datetime.fromisoformat(moment).astimezone(LONDON):%H:%M}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _reach_table(title: str, key: str, rows: list[dict[str, Any]]) -> None:
    click.echo(f"\n{title}")
    echo_table(
        [key, "recipients", "reached", "p50", "p95", "max"],
        [
            [
                row[key],
                row["recipients"],
                row["reached"],
                _duration(row["p50_s"]),
                _duration(row["p95_s"]),
                _duration(row["max_s"]),
            ]
            for row in rows
        ],
    )


def _print_report(report: dict[str, Any]) -> None:
    network = report["network"]
    click.echo(
        f"\nThe example network on {DEMO_DATE:%d %B %Y}: {network['organisations']} organisations "
        f"({network['active_organisations']} active) in {network['regions']} regions, "
        f"{network['contacts']} contacts, {network['isl_roles']} ISL roles.\n"
    )
    click.echo(
        "Messages, UK time. A contact is reached by its first copy or relay request delivered; time to\n"
        "reach runs from the message's sent time. A cell whose ISLs all stay silent waits out each one's\n"
        "deadline in turn before going direct, so the longest waits are in cells with many deputies."
    )
    echo_table(
        ["sent", "message", "status", "marking", "recipients", "reached", "p50", "p95", "max", "headline"],
        [
            [
                _local(m["sent"]),
                m["id"],
                m["type"] if m["status"] == "actual" else f"{m['type']} ({m['status'].upper()})",
                m["marking"],
                m["recipients"],
                m["reached"],
                _duration(m["time_to_reach"]["p50_s"]),
                _duration(m["time_to_reach"]["p95_s"]),
                _duration(m["time_to_reach"]["max_s"]),
                m["headline"][:48],
            ]
            for m in report["messages"]
        ],
    )
    click.echo(
        "\nRelays through ISLs: cells released by their lead, by a deputy, or gone direct at the deadline"
    )
    echo_table(
        ["message", "cells", "lead", "deputy", "direct"],
        [
            [m["id"], m["relayed_cells"], m["releases"]["lead"], m["releases"]["deputy"],
             m["releases"]["direct_at_deadline"]]
            for m in report["messages"]
            if m["relayed_cells"]
        ],
    )  # fmt: skip
    for m in report["messages"]:
        for release in m["released_by_deputies"]:
            if release["region"] == "LDN" and release["sector"] == "finance":
                click.echo(
                    f"  {m['id']}: the London finance lead stayed silent; deputy {release['isl']} "
                    f"(rank {release['rank']}) released it."
                )
    click.echo(
        "\nReach of the actual alerts (updates and cancels go to whom an alert reached; the exercise "
        "is counted above, apart)"
    )
    _reach_table("By hop (how each contact was first reached)", "hop", report["reach"]["by_hop"])
    _reach_table("By region", "region", report["reach"]["by_region"])
    _reach_table("By sector", "sector", report["reach"]["by_sector"])

    click.echo(
        "\nAcknowledgements (an ISL's acknowledgement releases its cell; a contact that must acknowledge "
        "and does not\ngets the next channel after each timeout, then its region hub is told; a cancel "
        "stops what still waits)"
    )
    echo_table(
        ["message", "required", "acknowledged", "escalated", "stopped by cancel", "from ISLs"],
        [
            [m["id"], m["acknowledgement"]["required"], m["acknowledgement"]["acknowledged"],
             m["acknowledgement"]["escalated"], m["acknowledgement"]["stopped_by_cancel"],
             m["acknowledgement"]["by_isls"]]
            for m in report["messages"]
            if m["acknowledgement"]["required"] or m["acknowledgement"]["by_isls"]
        ],
    )  # fmt: skip
    escalations = report["escalations"]
    click.echo(
        f"\nEscalations: {len(escalations)} notices to region hub contacts about unacknowledged contacts "
        "(no message content)"
    )
    by_state: dict[tuple[str, str], int] = {}
    for notice in escalations:
        key = (notice["message"], notice["status"])
        by_state[key] = by_state.get(key, 0) + 1
    echo_table(["message", "status", "notices"], [[m, s, n] for (m, s), n in sorted(by_state.items())])

    click.echo("\nExclusions by marking")
    echo_table(
        ["message", "marking", "excluded", "recipients with a channel withheld", "copies off-marking"],
        [
            [e["message"], e["marking"], e["excluded"], e["recipients_with_a_channel_withheld"],
             e["copies_on_channels_the_marking_forbids"]]
            for e in report["exclusions"]
        ],
    )  # fmt: skip
    gaps = report["coverage_gaps"]
    click.echo(
        f"\nCoverage gaps: {gaps['cells']} region x sector cells have active members and no ISL; "
        f"{len(gaps['met_by_the_story'])} of them had recipients today, whose copies went direct."
    )
    click.echo(f"{gaps['stale_contacts']} contacts have not confirmed their details in twelve months.")
    files = report["files"]
    click.echo(f"\nThe store: {files['database']}")
    click.echo("  (cssc status --message ID --db <that file>; cssc coverage --db <that file>)")
    click.echo("The outbox, one JSON line per copy sent:")
    for outbox in files["outbox"]:
        click.echo(f"  {outbox['file']}  ({outbox['lines']} copies)")


COMMANDS: tuple[click.Command, ...] = (demo_command,)

"""``cssc send``, ``tick``, ``ack``, ``resume`` and ``status``: cascades from the command line.

Every command that changes a cascade ends by dispatching what is due at its time (``--at TIME`` or
now). The channel configuration given to ``send`` is stored with the cascade and used by every later
command unless ``--channels`` is given again.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import click

from cssc_core.cascade import CascadeEngine, CascadeStatus, RunReport
from cssc_core.cascade.replies import sender_number
from cssc_core.channels.acks import AckTokenError
from cssc_core.channels.config import ChannelFile, read_channel_file
from cssc_core.cli.network_commands import stored_network
from cssc_core.cli.options import (
    FilePath,
    at_option,
    clock_from_option,
    json_option,
    open_store_from_options,
    store_options,
)
from cssc_core.cli.tables import echo_json, echo_table
from cssc_core.domain.clock import Clock
from cssc_core.errors import NotFoundError, UnmatchedReplyError, ValidationError
from cssc_core.formats.message import read_message_file
from cssc_core.formats.policy import read_policy_files
from cssc_core.plugins.manager import PluginHost
from cssc_core.storage.records import DeliveryStatus

__all__ = ["COMMANDS", "ack", "resume", "send", "status", "tick"]

F = TypeVar("F", bound=Callable[..., object])

PROGRESS_FROM = 50
"""Sends that dispatch at least this many deliveries at once show a progress bar."""


def seed_option(function: F) -> F:
    """Adds ``--seed N`` (parameter ``seed``): the random source of retry jitter, for replays."""
    return click.option(
        "--seed", type=int, default=None, help="Seed the retry jitter, so that a run replays identically."
    )(function)


def channels_option(function: F) -> F:
    """Adds ``--channels FILE`` (parameter ``channels_file``)."""
    return click.option(
        "--channels",
        "channels_file",
        type=FilePath(path_type=Path, dir_okay=False),
        default=None,
        help="A cssc-channels/1 file. Without it: the channels the cascade was sent with "
        "(for send: every channel name a file channel in ./cssc-outbox).",
    )(function)


class _ProgressBar:
    """Draws a progress bar on standard error for long sends."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, total: int) -> None:
        if total >= PROGRESS_FROM:
            self._bar = click.progressbar(length=total, label="sending", file=sys.stderr)
            self._bar.__enter__()

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@contextmanager
def _engine(
    db: Path | None,
    store: str | None,
    at: str | None,
    seed: int | None,
    channels_file: Path | None,
    progress: _ProgressBar | None = None,
) -> Iterator[CascadeEngine]:
    clock: Clock = clock_from_option(at)
    host = PluginHost.load()
    channels: ChannelFile | None = None
    if channels_file is not None:
        channels = read_channel_file(channels_file, host=host)
    with closing(open_store_from_options(db, store, host=host)) as opened:
        stored_network(opened)
        yield CascadeEngine(
            opened,
            host=host,
            clock=clock,
            rng=random.Random(seed),
            channels=channels,
            progress=progress,
        )


def _run_line(report: RunReport) -> str:
    return (
        f"processed to {report.until.isoformat()}: {report.timers} timers, "
        f"{report.dispatched} deliveries dispatched"
    )


@click.command("send")
@click.argument("message_file", metavar="MESSAGE", type=FilePath(path_type=Path, dir_okay=False))
@click.option(
    "--policy",
    "policy_files",
    multiple=True,
    type=FilePath(path_type=Path, dir_okay=False),
    help="A cssc-policy/1 file; repeat for regions' own files. Without it: [defaults] alone.",
)
@channels_option
@at_option
@seed_option
@store_options
@json_option
def send(
    message_file: Path,
    policy_files: tuple[Path, ...],
    channels_file: Path | None,
    at: str | None,
    seed: int | None,
    db: Path | None,
    store: str | None,
    as_json: bool,
) -> None:
    """Send MESSAGE: plan it, persist its whole cascade at once, dispatch what is due now.

    A message id the store already holds is refused (exit 2): an update is a new message that
    references the old one.
    """
    message = read_message_file(message_file)
    policy = read_policy_files(policy_files)
    bar = _ProgressBar()
    with _engine(db, store, at, seed, channels_file, bar) as engine:
        try:
            report = engine.send(message, policy=policy)
        finally:
            bar.finish()
        next_due = engine.store.next_due()
    plan = report.plan
    if as_json:
        echo_json(
            {
                "message": report.message,
                "deliveries": report.deliveries,
                "dispatched": report.run.dispatched,
                "timers": report.run.timers,
                "recipients": len(plan.recipients),
                "relays": len(plan.relays),
                "excluded": len(plan.excluded),
                "gaps": len(plan.gaps),
                "next_due": next_due.isoformat() if next_due else None,
            }
        )
        return
    click.echo(
        f"{report.message}: {len(plan.recipients)} recipients, {len(plan.relays)} relays, "
        f"{len(plan.excluded)} excluded, {len(plan.gaps)} gaps; {report.deliveries} deliveries and "
        f"relay requests written"
    )
    click.echo(_run_line(report.run))
    click.echo(f"next due: {next_due.isoformat() if next_due else 'nothing'}")


@click.command("tick")
@at_option
@click.option(
    "--follow", is_flag=True, help="Keep dispatching in real time until interrupted (not with --at)."
)
@channels_option
@seed_option
@store_options
@json_option
def tick(
    at: str | None,
    follow: bool,
    channels_file: Path | None,
    seed: int | None,
    db: Path | None,
    store: str | None,
    as_json: bool,
) -> None:
    """Process what is due by TIME (default now), in time order, each event at its own time.

    Relay deadlines, acknowledgement timeouts, retries and the ends of quiet hours are handled until
    nothing more is due by then.
    """
    if follow and at is not None:
        raise ValidationError.single("--follow", "--follow runs on the real clock; leave out --at")
    with _engine(db, store, at, seed, channels_file) as engine:
        report = engine.tick()
        if follow:
            click.echo(_run_line(report), err=True)
            _follow(engine)
            return
    if as_json:
        echo_json(
            {"until": report.until.isoformat(), "timers": report.timers, "dispatched": report.dispatched}
        )
    else:
        click.echo(_run_line(report))


def _follow(engine: CascadeEngine) -> None:
    try:
        while True:
            next_due = engine.store.next_due()
            now = engine.clock.now()
            wait = 1.0 if next_due is None else min(max((next_due - now).total_seconds(), 0.05), 1.0)
            time.sleep(wait)
            report = engine.tick()
            if report.dispatched or report.timers:
                click.echo(_run_line(report), err=True)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@click.command("ack")
@click.option("--message", "message_id", default=None, help="The message acknowledged.")
@click.option("--contact", "contact_id", default=None, help="The contact acknowledging it.")
@click.option(
    "--token",
    default=None,
    help="Instead of --message and --contact: the token of a signed acknowledgement link.",
)
@click.option(
    "--reply-from",
    "reply_from",
    metavar="PHONE",
    default=None,
    help="Instead of --message and --contact: the number an SMS reply came from (with --text).",
)
@click.option("--text", default=None, help="The text of the SMS reply (with --reply-from).")
@at_option
@channels_option
@seed_option
@store_options
def ack(
    message_id: str | None,
    contact_id: str | None,
    token: str | None,
    reply_from: str | None,
    text: str | None,
    at: str | None,
    channels_file: Path | None,
    seed: int | None,
    db: Path | None,
    store: str | None,
) -> None:
    """Record that a contact acknowledged a message, and dispatch what that makes due.

    Give --message and --contact; or --token with the token of a signed acknowledgement link (a
    forged, altered or expired token: exit 2); or --reply-from and --text with the number an SMS
    reply came from and its text. A reply is the code its copy asked for, alone or after ACK, in
    any case, spacing and punctuation (ACK K7QF2MZA); it is tried for every contact with that
    number against the messages it is a recipient or ISL of, while their links would work (until
    the message expires, or seven days after it was sent when it never does). A number that is not
    a phone number, that no contact has, or a text that is no such code: exit 2.

    From an ISL of a relayed cell it is also the cell's release. Unknown message or contact: exit
    2; a contact that is neither a recipient nor an ISL of the message: exit 1; a repeat changes
    nothing.
    """
    forms = {
        "named": (message_id, contact_id),
        "token": (token,),
        "reply": (reply_from, text),
    }
    given = [name for name, values in forms.items() if any(v is not None for v in values)]
    if len(given) != 1 or None in forms[given[0]]:
        raise ValidationError.single(
            "--message/--contact/--token/--reply-from/--text",
            "give --message and --contact, or --token, or --reply-from and --text",
        )
    if reply_from is not None:
        try:
            sender_number(reply_from)  # refused before the store is opened, under its option's name
        except ValidationError as error:
            raise ValidationError(attrs.evolve(p, path="--reply-from") for p in error.problems) from None
    with _engine(db, store, at, seed, channels_file) as engine:
        try:
            if token is not None:
                claim, new = engine.acknowledge_token(token, via="cli")
                message_id, contact_id = claim.message, claim.contact
            elif reply_from is not None and text is not None:
                reply, new = engine.acknowledge_reply(reply_from, text, via="cli")
                message_id, contact_id = reply.message, reply.contact
            else:
                assert message_id is not None
                assert contact_id is not None
                new = engine.acknowledge(message_id, contact_id, via="cli")
        except AckTokenError as error:
            raise ValidationError.single("--token", str(error)) from None
        except UnmatchedReplyError as error:
            raise ValidationError.single("--reply-from/--text", str(error)) from None
        except NotFoundError as error:
            raise ValidationError.single("--message/--contact", str(error)) from None
    if new:
        click.echo(f"{contact_id} acknowledged {message_id}")
    else:
        click.echo(f"{contact_id} had already acknowledged {message_id}; nothing changed")


@click.command("resume")
@at_option
@channels_option
@seed_option
@store_options
@json_option
def resume(
    at: str | None,
    channels_file: Path | None,
    seed: int | None,
    db: Path | None,
    store: str | None,
    as_json: bool,
) -> None:
    """Continue every unfinished cascade after a crash.

    Deliveries a dead process left ``sending`` are taken back (a copy in flight at the crash may then
    go twice); everything due is processed. Run it while no other process dispatches from the store.
    """
    with _engine(db, store, at, seed, channels_file) as engine:
        unfinished = len(engine.store.cascades(unfinished=True))
        report = engine.resume()
    if as_json:
        echo_json(
            {
                "cascades": unfinished,
                "until": report.until.isoformat(),
                "timers": report.timers,
                "dispatched": report.dispatched,
            }
        )
    else:
        click.echo(f"resumed {unfinished} unfinished cascades; {_run_line(report)}")


def _duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _counts(title: str, table: Mapping[str, Mapping[str, int]]) -> None:
    order = [s.value for s in DeliveryStatus]
    present = [s for s in order if any(s in row for row in table.values())]
    click.echo(f"\nBy {title}")
    echo_table(
        [title, "total", *present],
        [[key, sum(row.values()), *(row.get(s, 0) for s in present)] for key, row in table.items()],
    )


def _print_status(report: CascadeStatus) -> None:
    state = f"finished {report.finished_at.isoformat()}" if report.finished_at else "running"
    kind = f"{report.message_status} {report.message_type}"
    click.echo(f"Message {report.message} ({kind}), sent {report.started_at.isoformat()}, {state}")
    click.echo(f"{report.total} deliveries, {report.acknowledgements} acknowledgements")
    if report.message_status == "exercise":
        click.echo("EXERCISE: these figures are reported apart from real traffic")
    click.echo("\nBy status")
    echo_table(["status", "count"], [[status, count] for status, count in report.by_status.items()])
    _counts("hop", report.by_hop)
    _counts("region", report.by_region)
    _counts("sector", report.by_sector)
    if report.reach:
        click.echo("\nTime to reach (from the message's sent time to delivery)")
        echo_table(
            ["hop", "reached", "p50", "p95", "max"],
            [
                [hop, t.count, _duration(t.p50_s), _duration(t.p95_s), _duration(t.max_s)]
                for hop, t in report.reach.items()
            ],
        )


@click.command("status")
@click.option("--message", "message_id", required=True, help="The message whose cascade to report.")
@store_options
@json_option
def status(message_id: str, db: Path | None, store: str | None, as_json: bool) -> None:
    """How a message's cascade stands: counts by status, hop, region and sector; time-to-reach.

    Hops: ``direct``, ``relay`` (copies released by an ISL), ``relay-request`` and ``escalation``.
    """
    with closing(open_store_from_options(db, store)) as opened:
        engine = CascadeEngine(opened, host=PluginHost.load())
        try:
            report = engine.status(message_id)
        except NotFoundError as error:
            raise ValidationError.single("--message", str(error)) from None
    if as_json:
        echo_json(report.to_document())
    else:
        _print_status(report)


COMMANDS: tuple[click.Command, ...] = (send, tick, ack, resume, status)

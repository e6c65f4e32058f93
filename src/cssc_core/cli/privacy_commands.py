"""``cssc erase`` and ``cssc purge``: erasure and retention (UK GDPR articles 17 and 5(1)(e)).

``erase`` replaces a contact in the store with a pseudonymous tombstone (same id, nothing personal),
drops its roles and scrubs the freed space on disk; it removes the contact's addresses and copies from
the file channels' outbox; then every plugin hears of it through ``cssc_contact_erased`` and removes
what it keeps.

Both find the outbox as ``cssc send`` does: ``./cssc-outbox`` (or ``--outbox DIR``), or with
``--channels FILE`` the channel file's outbox folder and the files of its ``file`` channels.

``purge`` applies a retention period: in the outbox, copies whose delivery ended (delivered, failed,
expired or cancelled) more than DAYS days ago lose their address, subject, body and payload, keeping
the ids that statistics and deduplication need.

Outbox files are rewritten whole (a new file, fsynced, then renamed over the old one), so that a crash
leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from cssc_core.channels.config import read_channel_file
from cssc_core.cli.options import (
    FilePath,
    at_option,
    clock_from_option,
    open_store_from_options,
    store_options,
)
from cssc_core.errors import CsscError, NotFoundError, ValidationError
from cssc_core.plugins.manager import PluginHost

__all__ = ["COMMANDS", "PERSONAL_FIELDS", "outbox_files", "scrub_outbox"]

PERSONAL_FIELDS = ("address", "subject", "body", "payload")
"""The fields of an outbox line that carry an address or the copy's content."""

DEFAULT_OUTBOX = Path("cssc-outbox")

F = TypeVar("F", bound=Callable[..., object])


def outbox_files(outbox: Path, channels_file: Path | None = None) -> list[Path]:
    """The file channels' outbox files: ``*.jsonl`` in ``outbox``, or, with a channel file, in its
    outbox folder, and the ``path`` of each of its ``file`` channels.

    Raises:
        ValidationError: when the channel file has problems.
    """
    folders = [outbox]
    paths: list[Path] = []
    if channels_file is not None:
        setup = read_channel_file(channels_file)
        folders = [Path(setup.outbox)]
        paths = [
            Path(str(settings.options["path"]))
            for settings in setup.channels.values()
            if settings.type == "file" and "path" in settings.options
        ]
    for folder in folders:
        if folder.is_dir():
            paths.extend(sorted(folder.glob("*.jsonl")))
    return [path for path in dict.fromkeys(path.resolve() for path in paths) if path.is_file()]


def scrub_outbox(files: Iterable[Path], scrub: Callable[[dict[str, Any]], bool]) -> int:
    """Blanks :data:`PERSONAL_FIELDS` in every outbox line that ``scrub`` selects, rewriting each
    changed file atomically.

    Returns:
        How many lines were scrubbed.

    Raises:
        CsscError: when an outbox file cannot be read or rewritten.
    """
    scrubbed = 0
    for path in files:
        try:
            lines = path.read_text("utf-8").splitlines(keepends=True)
        except (OSError, UnicodeDecodeError) as error:
            raise CsscError(f"cannot read the outbox {path}: {error}") from None
        changed = False
        for index, line in enumerate(lines):
            try:
                document = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: nothing readable to keep or scrub
            if not isinstance(document, dict) or not scrub(document):
                continue
            if all(document.get(field) is None for field in PERSONAL_FIELDS):
                continue
            document.update(dict.fromkeys(PERSONAL_FIELDS))
            lines[index] = json.dumps(document, ensure_ascii=False) + "\n"
            changed = True
            scrubbed += 1
        if changed:
            _replace(path, "".join(lines))
    return scrubbed


def _replace(path: Path, text: str) -> None:
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise CsscError(f"cannot rewrite the outbox {path}: {error.strerror or error}") from None


def outbox_option(function: F) -> F:
    """Adds ``--outbox DIR`` (parameter ``outbox``) and ``--channels FILE`` (``channels_file``)."""
    function = click.option(
        "--channels",
        "channels_file",
        metavar="FILE",
        type=FilePath(path_type=Path, dir_okay=False),
        default=None,
        help="A cssc-channels/1 file: its outbox folder and file channels instead of --outbox.",
    )(function)
    return click.option(
        "--outbox",
        metavar="DIR",
        type=FilePath(path_type=Path, file_okay=False),
        default=DEFAULT_OUTBOX,
        show_default=True,
        help="The file channels' outbox folder.",
    )(function)


@click.command("erase")
@click.option("--contact", "contact_id", metavar="ID", required=True, help="The contact to erase.")
@outbox_option
@store_options
@at_option
def erase_command(
    contact_id: str,
    outbox: Path,
    channels_file: Path | None,
    db: Path | None,
    store: str | None,
    at: str | None,
) -> None:
    """Erase a contact's personal data, leaving a pseudonymous tombstone.

    The contact keeps its id, so delivery counts, acknowledgements and deduplication still add up; its
    name, addresses, channels and preferences are removed, with its roles, from the store and from the
    database file on disk; its copies in the outbox lose their address and content; plugins remove
    what they keep of it. An unknown contact is bad input (exit 2); erasing a contact again changes
    nothing more.
    """
    now = clock_from_option(at).now()
    files = outbox_files(outbox, channels_file)
    host = PluginHost.load()
    with closing(open_store_from_options(db, store, host=host)) as opened:
        try:
            opened.erase_contact(contact_id, now)
        except NotFoundError as error:
            raise ValidationError.single("--contact", str(error)) from None
    copies = scrub_outbox(files, lambda line: line.get("contact") == contact_id)
    host.contact_erased(contact_id, now)
    click.echo(
        f"erased contact {contact_id}: a tombstone keeps its id, nothing personal; "
        f"{copies} outbox {'copy' if copies == 1 else 'copies'} scrubbed"
    )


@click.command("purge")
@click.option(
    "--older-than",
    "days",
    metavar="DAYS",
    type=click.IntRange(min=0, max=36_600),
    required=True,
    help="Scrub copies whose delivery ended more than DAYS days ago.",
)
@outbox_option
@store_options
@at_option
def purge_command(
    days: int,
    outbox: Path,
    channels_file: Path | None,
    db: Path | None,
    store: str | None,
    at: str | None,
) -> None:
    """Apply a retention period to the outbox: old copies lose their address and content.

    A copy is purged when its delivery reached a final status (delivered, failed, expired or
    cancelled) more than DAYS days before now (or --at). Its line keeps the delivery, message and
    contact ids, the channel and the kind, so that statistics still add up.
    """
    cutoff = clock_from_option(at).now() - timedelta(days=days)
    files = outbox_files(outbox, channels_file)
    ended: set[str] = set()
    with closing(open_store_from_options(db, store)) as opened:
        for message in opened.messages():
            for delivery in opened.deliveries_of(message.id):
                if delivery.status.is_final and delivery.history and delivery.history[-1].at < cutoff:
                    ended.add(delivery.id)
    copies = scrub_outbox(files, lambda line: line.get("delivery") in ended)
    click.echo(f"purged {copies} outbox {'copy' if copies == 1 else 'copies'} ended before {cutoff:%Y-%m-%d}")


COMMANDS: tuple[click.Command, ...] = (erase_command, purge_command)

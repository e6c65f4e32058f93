"""``cssc erase``: a contact's right to erasure (UK GDPR article 17), from the store and from plugins.

The store replaces the contact with a pseudonymous tombstone (same id, nothing personal), drops its
roles and scrubs the freed space on disk; then every plugin hears of it through
``cssc_contact_erased`` and removes what it keeps (a file channel's outbox, say).
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import click

from cssc_core.cli.options import at_option, clock_from_option, open_store_from_options, store_options
from cssc_core.errors import NotFoundError, ValidationError
from cssc_core.plugins.manager import PluginHost

__all__ = ["COMMANDS"]


@click.command("erase")
@click.option("--contact", "contact_id", metavar="ID", required=True, help="The contact to erase.")
@store_options
@at_option
def erase_command(contact_id: str, db: Path | None, store: str | None, at: str | None) -> None:
    """Erase a contact's personal data, leaving a pseudonymous tombstone.

    The contact keeps its id, so delivery counts, acknowledgements and deduplication still add up; its
    name, addresses, channels and preferences are removed, with its roles, from the store and from the
    database file on disk, and plugins remove what they keep of it. An unknown contact is bad input
    (exit 2); erasing a contact again changes nothing more.
    """
    now = clock_from_option(at).now()
    host = PluginHost.load()
    with closing(open_store_from_options(db, store, host=host)) as opened:
        try:
            opened.erase_contact(contact_id, now)
        except NotFoundError as error:
            raise ValidationError.single("--contact", str(error)) from None
    host.contact_erased(contact_id, now)
    click.echo(f"erased contact {contact_id}: a tombstone keeps its id, nothing personal")


COMMANDS: tuple[click.Command, ...] = (erase_command,)

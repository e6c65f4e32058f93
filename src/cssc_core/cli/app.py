"""The ``cssc`` command group and its entry point.

Each command lives in a module of its own in this package and is added to the group here. Errors are
turned into exit statuses once, in :func:`main`: bad input exits 2 with every problem listed, a failed
operation exits 1, and neither prints a traceback.
"""

from __future__ import annotations

import sys

import click

from cssc_core.cli import (
    cascade_commands,
    channels_command,
    demo_command,
    network_commands,
    plugins_command,
    privacy_commands,
    route_command,
)
from cssc_core.errors import CsscError, ValidationError

__all__ = ["cli", "main"]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="cssc_core")
def cli() -> None:
    """Run a cross-sector security partnership network: members, routing, cascades, reports."""


for command in (
    *cascade_commands.COMMANDS,
    *demo_command.COMMANDS,
    *network_commands.COMMANDS,
    *route_command.COMMANDS,
    *channels_command.COMMANDS,
    *plugins_command.COMMANDS,
    *privacy_commands.COMMANDS,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Runs ``cssc`` and returns its exit status (0 done, 1 failed, 2 bad input)."""
    try:
        cli.main(args=argv, prog_name="cssc", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_FAILED
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except ValidationError as error:
        click.echo(str(error), err=True)
        return EXIT_BAD_INPUT
    except CsscError as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes ``docs/cli.md``, the command-line reference, from the ``cssc`` commands themselves.

The reference is generated, so it cannot drift from the code: a test runs this script with ``--check``
and fails when a command, option or help text is missing from the committed file.

    python scripts/build_cli_reference.py           # rewrite docs/cli.md
    python scripts/build_cli_reference.py --check   # exit 1 when docs/cli.md is out of date
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import click

from cssc_core.cli.app import cli

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "cli.md"

INTRODUCTION = """\
# Command-line reference

The `cssc` command is installed with the `cli` extra (`pip install 'cssc_core[cli]'`). Every command
exits with status 0 on success, 1 when an operation failed, and 2 on bad input, with every problem
listed and no traceback. Commands that use the store take `--db PATH` (a SQLite file, `./cssc.db` by
default) or `--store URL` (any installed storage backend, by URL scheme), never both.

This page is generated from the commands themselves (`scripts/build_cli_reference.py`).
"""


def _option_row(parameter: click.Parameter) -> str:
    assert isinstance(parameter, click.Option)
    names = ", ".join(f"`{name}`" for name in parameter.opts + parameter.secondary_opts)
    if parameter.metavar:
        names += f" `{parameter.metavar}`"
    elif isinstance(parameter.type, click.Choice):
        names += " `" + "\\|".join(str(choice) for choice in parameter.type.choices) + "`"
    elif not parameter.is_flag:
        names += f" `{parameter.type.name.upper()}`"
    help_text = " ".join((parameter.help or "").split())
    if parameter.show_default and parameter.default not in (None, False):
        help_text += f" Default: `{parameter.default}`."
    escaped = help_text.replace("|", "\\|")
    return f"| {names} | {escaped} |"


def command_section(name: str, command: click.Command) -> str:
    """The reference section of one command: usage, description and options."""
    context = click.Context(command, info_name=f"cssc {name}")
    usage = " ".join(command.collect_usage_pieces(context))
    lines = [f"## `cssc {name}`", "", "```text", f"cssc {name} {usage}".rstrip(), "```", ""]
    lines.append(inspect.cleandoc(click.unstyle(command.help or "")).replace("\b\n", ""))
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    if options:
        lines += ["", "| option | meaning |", "|---|---|", *(_option_row(option) for option in options)]
    return "\n".join(lines) + "\n"


def render() -> str:
    """The whole reference page."""
    assert isinstance(cli, click.Group)
    sections = [command_section(name, cli.commands[name]) for name in sorted(cli.commands)]
    return INTRODUCTION + "\n" + "\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    """Writes the page, or with ``--check`` tells whether the committed page is current."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/cli.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text("utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run python scripts/build_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

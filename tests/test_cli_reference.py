"""The command-line reference in docs/cli.md is generated from the commands and must be current."""

from __future__ import annotations

import runpy
from pathlib import Path

import click

from cssc_core.cli.app import cli

ROOT = Path(__file__).resolve().parent.parent


def test_the_cli_reference_is_current() -> None:
    builder = runpy.run_path(str(ROOT / "scripts" / "build_cli_reference.py"))
    assert builder["main"](["--check"]) == 0, (
        "docs/cli.md is stale: run python scripts/build_cli_reference.py"
    )


def test_every_command_and_option_is_documented() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        assert f"## `cssc {name}`" in reference
        for parameter in command.params:
            if isinstance(parameter, click.Option):
                assert all(f"`{opt}`" in reference for opt in parameter.opts), (name, parameter.opts)

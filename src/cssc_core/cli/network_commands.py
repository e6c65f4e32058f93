"""``cssc import`` and ``cssc export``: loading and writing the network."""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]

COMMANDS: tuple[click.Command, ...] = ()

"""``cssc channels``: check a channel file against the installed plugins and show what it configures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cssc_core.channels.config import ChannelFile, default_channels, read_channel_file
from cssc_core.cli.options import FilePath, json_option
from cssc_core.plugins.manager import PluginHost

__all__ = ["COMMANDS", "channels_report"]


def channels_report(channels: ChannelFile) -> dict[str, Any]:
    """What ``cssc channels --json`` prints: the outbox, the ack settings and each channel (secrets
    only as the names of their variables)."""
    return {
        "default": channels.is_default,
        "outbox": channels.outbox,
        "acks": {"base_url": channels.acks.base_url, "secret_env": channels.acks.secret_env},
        "channels": [
            {
                "name": config.name,
                "type": config.type,
                "address": config.address,
                "secure": config.secure,
                "public": config.public,
                "concurrency": config.concurrency,
                "rate_per_s": config.rate_per_s,
                "providers": [p.name for p in config.providers],
            }
            for config in channels.channels.values()
        ],
    }


def _table(report: dict[str, Any]) -> str:
    if report["default"]:
        return (
            f"no channel file: every channel name is written by the file plugin to "
            f"{report['outbox']}/<channel>.jsonl (email and webhook secure, none public)"
        )
    header = ("CHANNEL", "TYPE", "ADDRESS", "FLAGS", "CONCURRENCY", "RATE/S")
    rows = [
        (
            c["name"],
            c["type"] + (f" ({', '.join(c['providers'])})" if c["providers"] else ""),
            c["address"],
            ",".join(flag for flag in ("secure", "public") if c[flag]) or "-",
            str(c["concurrency"]),
            f"{c['rate_per_s']:g}" if c["rate_per_s"] else "no limit",
        )
        for c in report["channels"]
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]  # fmt: skip
    acks = report["acks"]
    lines.append("")
    lines.append(f"ack links: {acks['base_url'] or 'none (reply codes only)'}")
    lines.append(f"ack key: {'from ' + acks['secret_env'] if acks['secret_env'] else 'kept in the store'}")
    return "\n".join(lines)


@click.command("channels")
@click.option(
    "--channels",
    "channel_file",
    type=FilePath(path_type=Path, dir_okay=False),
    help="The channel file (cssc-channels/1) to check.",
)
@json_option
def channels_command(channel_file: Path | None, as_json: bool) -> None:
    """Check a channel file against the installed plugins and list its channels.

    Every problem is listed with its path (unknown plugin, missing setting, unset environment
    variable, refused flag, bad template), and the command exits 2. Without --channels, shows the
    defaults used when no channel file is given.
    """
    channels = read_channel_file(channel_file, host=PluginHost.load()) if channel_file else default_channels()
    report = channels_report(channels)
    click.echo(json.dumps(report, indent=2) if as_json else _table(report))


COMMANDS: tuple[click.Command, ...] = (channels_command,)

"""``cssc plugins``: the installed plugins, with the storage backends and delivery channels they provide."""

from __future__ import annotations

import json
from typing import Any

import click

from cssc_core.cli.options import json_option
from cssc_core.plugins.manager import PluginHost

__all__ = ["COMMANDS", "plugins_report"]


def plugins_report(host: PluginHost) -> dict[str, Any]:
    """What ``cssc plugins --json`` prints: every plugin with the hooks it implements and what it provides,
    and the plugins found but blocked."""
    backends = host.storage_backends()
    channels = host.delivery_channels()
    plugins = []
    for info in host.plugins():
        plugins.append(
            {
                "name": info.name,
                "package": info.package,
                "version": info.version,
                "builtin": info.builtin,
                "hooks": list(host.hooks_of(info.name)),
                "storage_backends": [
                    {"name": p.item.name, "schemes": list(p.item.schemes), "description": p.item.description}
                    for p in backends
                    if p.plugin == info
                ],
                "channels": [
                    {
                        "name": p.item.name,
                        "refuses": sorted(p.item.refuses),
                        "description": p.item.description,
                    }
                    for p in channels
                    if p.plugin == info
                ],
            }
        )
    blocked = [{"name": i.name, "package": i.package, "version": i.version} for i in host.blocked()]
    return {"plugins": plugins, "blocked": blocked}


def _provides(plugin: dict[str, Any]) -> list[str]:
    lines = [
        f"storage {b['name']} ({', '.join(s + '://' for s in b['schemes'])})"
        for b in plugin["storage_backends"]
    ]
    for channel in plugin["channels"]:
        refuses = f" (cannot be {' or '.join(channel['refuses'])})" if channel["refuses"] else ""
        lines.append(f"channel {channel['name']}{refuses}")
    if not lines:
        lines.append("hooks " + ", ".join(plugin["hooks"]))
    return lines


def _table(report: dict[str, Any]) -> str:
    header = ("PLUGIN", "PACKAGE", "VERSION", "KIND", "PROVIDES")
    rows: list[tuple[str, ...]] = []
    for plugin in report["plugins"]:
        kind = "built-in" if plugin["builtin"] else "external"
        for i, provided in enumerate(_provides(plugin)):
            first = (plugin["name"], plugin["package"], plugin["version"], kind)
            rows.append((*(first if i == 0 else ("", "", "", "")), provided))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
             for row in (header, *rows)]  # fmt: skip
    if report["blocked"]:
        lines.append("")
        lines.extend(f"blocked: {b['name']} ({b['package']} {b['version']})" for b in report["blocked"])
    return "\n".join(line.rstrip() for line in lines)


@click.command("plugins")
@json_option
def plugins_command(as_json: bool) -> None:
    """List installed plugins with their storage backends and delivery channels.

    External plugins load from the ``cssc_core`` entry-point group; CSSC_ALLOW_PLUGINS (when set)
    names the only ones to load, and CSSC_BLOCK_PLUGINS names those not to load.
    """
    report = plugins_report(PluginHost.load())
    click.echo(json.dumps(report, indent=2) if as_json else _table(report))


COMMANDS: tuple[click.Command, ...] = (plugins_command,)

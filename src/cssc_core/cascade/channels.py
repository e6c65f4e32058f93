"""The channels a cascade delivers through, and how they are kept with it (SPEC.md section 7).

A :class:`ChannelSetup` names every channel a cascade may use, each as the
:class:`~cssc_core.plugins.types.ChannelSettings` its plugin is opened with. Without a channel file,
every channel name a contact uses is delivered by the built-in ``file`` plugin to
``<outbox>/<channel>.jsonl``; with one, only the channels it defines exist.

The setup is stored with the cascade as a JSON document (secrets only as the names of their
environment variables) and read back by every later ``tick``, ``ack`` and ``resume``.

:func:`read_channel_setup` reads the common part of a ``cssc-channels/1`` file: the keys every channel
has, and each plugin's own settings passed through as options. It is the one place that turns a
channel file into a setup, so that a fuller reader (provider failover, templates, acknowledgement
links) replaces it without touching the cascade.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from cssc_core.domain.marking import ChannelFlags, default_channel_flags
from cssc_core.domain.models import ADDRESS_KINDS, builtin_channel_address
from cssc_core.errors import Problem, ValidationError
from cssc_core.formats._documents import MAX_DOCUMENT_BYTES, load_toml, read_limited
from cssc_core.plugins.manager import PluginHost
from cssc_core.plugins.types import ChannelSettings

__all__ = ["CHANNELS_FORMAT", "DEFAULT_OUTBOX", "ChannelSetup", "read_channel_setup"]

CHANNELS_FORMAT = "cssc-channels/1"
"""The format name a channel file declares."""

DEFAULT_OUTBOX = "cssc-outbox"
"""The folder of the file channels when nothing else is said (in the current folder)."""

_SECRET_NAME = re.compile(r"(^|_)(password|passwd|secret|token|api_?key|auth|credentials?)$")
_COMMON_KEYS = frozenset({"type", "address", "secure", "public", "concurrency", "rate_per_s"})


def _settings_document(settings: ChannelSettings) -> dict[str, Any]:
    return {
        "type": settings.type,
        "address": settings.address,
        "secure": settings.secure,
        "public": settings.public,
        "concurrency": settings.concurrency,
        "rate_per_s": settings.rate_per_s,
        "options": dict(settings.options),
    }


@attrs.frozen
class ChannelSetup:
    """The channels of one cascade.

    Attributes:
        channels: The configured channels by name (empty without a channel file).
        outbox: The folder where ``file`` channels write, as an absolute path.
        from_file: Whether a channel file defines the channels; without one, every name is a
            ``file`` channel with the flags its name implies.
        source: The channel file's path, if any, for reports.
    """

    channels: Mapping[str, ChannelSettings] = attrs.field(factory=dict)
    outbox: str = attrs.field(factory=lambda: os.path.abspath(DEFAULT_OUTBOX))
    from_file: bool = False
    source: str | None = None

    def settings(self, name: str) -> ChannelSettings | None:
        """The settings of channel ``name``, or None when a channel file is in use and lacks it."""
        if self.from_file:
            return self.channels.get(name)
        flags = default_channel_flags(name)
        return ChannelSettings(
            name=name,
            type="file",
            address=builtin_channel_address(name) or "email",
            secure=flags.secure,
            public=flags.public,
            options={"path": os.path.join(self.outbox, f"{name}.jsonl")},
        )

    def flags(self) -> Mapping[str, ChannelFlags] | None:
        """The channels' capability flags for routing, or None without a channel file."""
        if not self.from_file:
            return None
        return {name: ChannelFlags(s.secure, s.public) for name, s in self.channels.items()}

    def to_document(self) -> dict[str, Any]:
        """The setup as stored with a cascade (no secret values: options hold ``*_env`` names only)."""
        return {
            "format": CHANNELS_FORMAT,
            "outbox": self.outbox,
            "from_file": self.from_file,
            "source": self.source,
            "channels": {name: _settings_document(s) for name, s in sorted(self.channels.items())},
        }

    def to_json(self) -> str:
        """:meth:`to_document` as JSON text."""
        return json.dumps(self.to_document(), sort_keys=True)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ChannelSetup:
        """A setup from :meth:`to_document`; an empty document is the default setup."""
        if not document:
            return cls()
        channels = {
            name: ChannelSettings(
                name=name,
                type=item["type"],
                address=item["address"],
                secure=bool(item["secure"]),
                public=bool(item["public"]),
                concurrency=int(item["concurrency"]),
                rate_per_s=float(item["rate_per_s"]),
                options=item.get("options", {}),
            )
            for name, item in document.get("channels", {}).items()
        }
        return cls(
            channels=channels,
            outbox=str(document.get("outbox") or os.path.abspath(DEFAULT_OUTBOX)),
            from_file=bool(document.get("from_file")),
            source=document.get("source"),
        )


def _number(table: Mapping[str, Any], key: str, path: str, default: float, problems: list[Problem]) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.append(Problem(f"{path}.{key}", "must be a number, zero or more"))
        return default
    return float(value)


def _flag(table: Mapping[str, Any], key: str, path: str, default: bool, problems: list[Problem]) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        problems.append(Problem(f"{path}.{key}", "must be true or false"))
        return default
    return value


def _channel(
    name: str,
    table: Any,
    outbox: str,
    host: PluginHost,
    environ: Mapping[str, str],
    problems: list[Problem],
) -> ChannelSettings | None:
    path = f"$.channels.{name}"
    if not isinstance(table, dict):
        problems.append(Problem(path, "must be a table"))
        return None
    before = len(problems)
    kind = table.get("type")
    plugin = None
    if not isinstance(kind, str) or not kind:
        problems.append(Problem(f"{path}.type", "required: the channel plugin"))
    else:
        try:
            plugin = host.channel_plugin(kind)
        except ValidationError as error:
            problems.extend(Problem(f"{path}.type", p.message) for p in error.problems)
    address = table.get("address", builtin_channel_address(name))
    if address not in ADDRESS_KINDS:
        problems.append(Problem(f"{path}.address", f"must be one of {', '.join(ADDRESS_KINDS)}"))
    concurrency = _number(table, "concurrency", path, 10, problems)
    if concurrency < 1:
        problems.append(Problem(f"{path}.concurrency", "must be at least 1"))
    options = {key: value for key, value in table.items() if key not in _COMMON_KEYS}
    for key in options:
        if _SECRET_NAME.search(key):
            problems.append(
                Problem(
                    f"{path}.{key}",
                    f"secrets are read from the environment: name the variable with {key}_env",
                )
            )
    for key, variable in options.items():
        if key.endswith("_env") and (not isinstance(variable, str) or variable not in environ):
            problems.append(Problem(f"{path}.{key}", f"environment variable {variable} is not set"))
    if kind == "file":
        options.setdefault("path", os.path.join(outbox, f"{name}.jsonl"))
    if len(problems) > before:
        return None
    settings = ChannelSettings(
        name=name,
        type=str(kind),
        address=str(address),
        secure=_flag(table, "secure", path, False, problems),
        public=_flag(table, "public", path, False, problems),
        concurrency=int(concurrency),
        rate_per_s=_number(table, "rate_per_s", path, 0, problems),
        options=options,
        environ=environ,
    )
    if plugin is not None:
        problems.extend(plugin.problems(settings))
    return settings


def read_channel_setup(
    path: Path, *, host: PluginHost | None = None, environ: Mapping[str, str] | None = None
) -> ChannelSetup:
    """Reads a ``cssc-channels/1`` file: every channel's common keys, its plugin's settings as options.

    Raises:
        ValidationError: listing every problem (unknown plugin, bad flag, unset environment
            variable, a flag the plugin refuses), each with its path in the file.
    """
    host = host or PluginHost.load()
    environ = dict(os.environ) if environ is None else environ
    source = str(path)
    document = load_toml(read_limited(path, MAX_DOCUMENT_BYTES), source)
    problems: list[Problem] = []
    if document.get("format") != CHANNELS_FORMAT:
        problems.append(Problem("$.format", f"must be {CHANNELS_FORMAT!r}"))
    outbox = document.get("outbox", DEFAULT_OUTBOX)
    if not isinstance(outbox, str) or not outbox:
        problems.append(Problem("$.outbox", "must be a folder name"))
        outbox = DEFAULT_OUTBOX
    outbox = os.path.abspath(os.path.join(path.parent, outbox))
    tables = document.get("channels", {})
    channels: dict[str, ChannelSettings] = {}
    if not isinstance(tables, dict) or not tables:
        problems.append(Problem("$.channels", "must define at least one channel"))
    else:
        for name, table in tables.items():
            settings = _channel(name, table, outbox, host, environ, problems)
            if settings is not None:
                channels[name] = settings
    if problems:
        raise ValidationError(problems, source)
    return ChannelSetup(channels=channels, outbox=outbox, from_file=True, source=os.path.abspath(path))

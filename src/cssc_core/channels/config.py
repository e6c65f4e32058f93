"""The channel file (``cssc-channels/1``, SPEC.md section 7): named channels and how to reach them.

:func:`parse_channels_toml` and :func:`read_channel_file` read a file, :func:`channels_from_document`
a document (what :meth:`ChannelFile.to_document` writes, which the cascade stores with itself), and
:func:`default_channels` makes the configuration used without a file: every channel name delivered by
the ``file`` plugin into the outbox folder.

Reading checks everything it can without connecting anywhere, and reports every problem at once,
each with its path: unknown keys and wrong types, an unknown plugin, a flag the plugin refuses, a
setting the plugin requires, an environment variable that is not set, a template placeholder that
is not allowed. A secret written into the file (``password = "..."``) is refused: secrets are named
by environment variable (``password_env``), so that the file and the stored cascade never hold one.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from cssc_core.channels.acks import AckSigner
from cssc_core.channels.failover import FailoverChannel, Provider
from cssc_core.channels.limits import RateLimitedChannel
from cssc_core.channels.render import ChannelTemplates, Renderer
from cssc_core.domain.marking import ChannelFlags, default_channel_flags
from cssc_core.domain.models import ADDRESS_KINDS, builtin_channel_address
from cssc_core.errors import PluginError, Problem, ValidationError
from cssc_core.formats._documents import MAX_DOCUMENT_BYTES, load_toml, read_limited
from cssc_core.plugins.manager import PluginHost
from cssc_core.plugins.types import Channel, ChannelSettings
from cssc_core.storage.protocol import Store

__all__ = [
    "ADDRESS_KINDS",
    "CHANNELS_FORMAT",
    "DEFAULT_OUTBOX",
    "AckSettings",
    "ChannelConfig",
    "ChannelFile",
    "ProviderConfig",
    "channels_from_document",
    "default_channels",
    "parse_channels_toml",
    "read_channel_file",
]

CHANNELS_FORMAT = "cssc-channels/1"
"""The ``format`` of a channel file."""

DEFAULT_OUTBOX = "cssc-outbox"
"""The folder the file channels write into when nothing says otherwise."""

_TEMPLATE_KEYS = frozenset(f"{name}_template" for name in attrs.fields_dict(ChannelTemplates))
_COMMON_KEYS = frozenset(
    {"type", "address", "secure", "public", "concurrency", "rate_per_s", "providers", "failover"}
)
_PROVIDER_KEYS = frozenset({"type", "name", "weight"})
_FAILOVER_KEYS = {"threshold": (0.0, 1.0), "penalty": (0.0, 1.0), "window": (1, 10_000)}
# The names the store refuses to keep a value under (storage.records), and ``auth``.
_SECRET_NAME = re.compile(
    r"(?:^|[_-])(?:password|passwd|secret|token|api[_-]?key|auth|authorization|credentials?)$", re.IGNORECASE
)
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


@attrs.frozen
class AckSettings:
    """The ``[acks]`` table.

    Attributes:
        secret_env: The environment variable holding the signing key, or None to use the key kept
            in the store.
        base_url: The portal address acknowledgement links point at, or None for reply codes only.
    """

    secret_env: str | None = None
    base_url: str | None = None

    def signer(self, store: Store, environ: Mapping[str, str] | None = None) -> AckSigner:
        """The signer these settings describe (see :meth:`AckSigner.from_store`)."""
        return AckSigner.from_store(
            store, secret_env=self.secret_env, base_url=self.base_url, environ=environ
        )


@attrs.frozen
class ProviderConfig:
    """One provider of a failover channel (``[[channels.NAME.providers]]``).

    Attributes:
        name: Its name (default ``provider-1``, ``provider-2``...).
        type: The plugin that reaches it.
        weight: Its share of the traffic while healthy.
        options: The plugin's settings for it.
    """

    name: str
    type: str
    weight: float = 1.0
    options: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class ChannelConfig:
    """One ``[channels.NAME]`` table.

    Attributes:
        name: The channel's name.
        type: The plugin (``failover`` when the channel lists providers).
        address: Which contact field it delivers to.
        secure: Whether it may carry TLP:AMBER and stricter.
        public: Whether it is public.
        concurrency: Deliveries in flight at once.
        rate_per_s: At most this many a second; 0 for no limit.
        options: The plugin's settings (secrets only as ``<name>_env`` variable names), templates
            included (``subject_template``...).
        providers: For a failover channel, its providers; else empty.
        failover: For a failover channel, ``threshold``, ``penalty`` and ``window``.
    """

    name: str
    type: str
    address: str
    secure: bool = False
    public: bool = False
    concurrency: int = 10
    rate_per_s: float = 0.0
    options: Mapping[str, Any] = attrs.field(factory=dict)
    providers: tuple[ProviderConfig, ...] = ()
    failover: Mapping[str, float] = attrs.field(factory=dict)

    def settings(self, environ: Mapping[str, str] | None = None) -> ChannelSettings:
        """The settings a plugin factory receives for this channel."""
        return self._settings(self.type, self.options, environ)

    def _settings(
        self, type_: str, options: Mapping[str, Any], environ: Mapping[str, str] | None
    ) -> ChannelSettings:
        extra = {} if environ is None else {"environ": dict(environ)}
        return ChannelSettings(
            name=self.name,
            type=type_,
            address=self.address,
            secure=self.secure,
            public=self.public,
            concurrency=self.concurrency,
            rate_per_s=self.rate_per_s,
            options={k: v for k, v in options.items() if k not in _TEMPLATE_KEYS},
            **extra,
        )

    def provider_settings(self, environ: Mapping[str, str] | None = None) -> list[ChannelSettings]:
        """The settings of each provider (or of the channel itself when it has none)."""
        if not self.providers:
            return [self.settings(environ)]
        return [self._settings(p.type, p.options, environ) for p in self.providers]

    def templates(self) -> ChannelTemplates:
        """The channel's templates (checked when the file was read)."""
        return ChannelTemplates.from_options(self.options, f"$.channels.{self.name}")

    def renderer(self, signer: AckSigner | None = None) -> Renderer:
        """A renderer for this channel's copies: header-safe subjects for email, reply codes for phones."""
        return Renderer(
            self.name,
            self.templates(),
            signer,
            header_subject=self.address == "email",
            reply_codes=self.address == "phone",
        )

    def open(
        self,
        host: PluginHost,
        environ: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Channel:
        """Opens the channel's sender through its plugin: a :class:`FailoverChannel` over providers
        when it has them, paced by a :class:`RateLimitedChannel` when ``rate_per_s`` is set.

        Args:
            host: Where the plugins come from.
            environ: Where environment variables are looked up (default: the process environment).
            rng: The failover's random source.
            clock: The clock of the rate limit's token bucket.
            sleep: How the rate limit waits.

        Raises:
            ValidationError: when the plugin is unknown or refuses the settings.
        """
        sender: Channel
        if not self.providers:
            sender = host.channel_plugin(self.type).open(self.settings(environ))
        else:
            providers = [
                Provider(p.name, host.channel_plugin(p.type).open(settings), p.weight)
                for p, settings in zip(self.providers, self.provider_settings(environ), strict=True)
            ]
            sender = FailoverChannel(providers, rng, **self.failover)  # type: ignore[arg-type]
        if self.rate_per_s > 0:
            return RateLimitedChannel(sender, self.rate_per_s, clock=clock, sleep=sleep)
        return sender

    def to_document(self) -> dict[str, Any]:
        """The table as written in a channel file (secrets only as variable names)."""
        document: dict[str, Any] = {
            "address": self.address,
            "secure": self.secure,
            "public": self.public,
            "concurrency": self.concurrency,
            "rate_per_s": self.rate_per_s,
            **self.options,
        }
        if self.providers:
            document["providers"] = [
                {"name": p.name, "type": p.type, "weight": p.weight, **p.options} for p in self.providers
            ]
            if self.failover:
                document["failover"] = dict(self.failover)
        else:
            document["type"] = self.type
        return document


@attrs.frozen
class ChannelFile:
    """A whole channel configuration.

    Attributes:
        channels: The channels by name.
        outbox: The folder of the file channels.
        acks: The ``[acks]`` settings.
        is_default: True when made by :func:`default_channels` (no file was given): then every
            channel name is usable and delivered by the ``file`` plugin.
    """

    channels: Mapping[str, ChannelConfig]
    outbox: str = DEFAULT_OUTBOX
    acks: AckSettings = AckSettings()
    is_default: bool = False

    def channel(self, name: str) -> ChannelConfig | None:
        """The channel ``name``; with the default configuration, any name gets a file channel."""
        found = self.channels.get(name)
        if found is None and self.is_default:
            return _default_channel(name, self.outbox)
        return found

    def flags(self) -> Mapping[str, ChannelFlags] | None:
        """The channels' capability flags for routing; None for the default configuration, whose
        flags follow each channel's name."""
        if self.is_default:
            return None
        return {name: ChannelFlags(c.secure, c.public) for name, c in self.channels.items()}

    def to_document(self) -> dict[str, Any]:
        """The configuration as a ``cssc-channels/1`` document, to store with a cascade."""
        document: dict[str, Any] = {"format": CHANNELS_FORMAT, "outbox": self.outbox}
        acks = {k: v for k, v in attrs.asdict(self.acks).items() if v is not None}
        if acks:
            document["acks"] = acks
        document["channels"] = {name: config.to_document() for name, config in self.channels.items()}
        if self.is_default:
            document["default"] = True
        return document

    def check(self, host: PluginHost, environ: Mapping[str, str] | None = None) -> list[Problem]:
        """What is wrong with the channels for the installed plugins: unknown plugins, refused flags,
        settings the plugins reject, unset environment variables."""
        return [
            problem
            for config in self.channels.values()
            for problem in _plugin_problems(config, host, environ)
        ]


def _default_channel(name: str, outbox: str) -> ChannelConfig:
    return ChannelConfig(
        name=name,
        type="file",
        address=builtin_channel_address(name) or "email",
        secure=default_channel_flags(name).secure,
        options={"path": str(Path(outbox) / f"{name}.jsonl")},
    )


def default_channels(names: Iterable[str] = (), outbox: str = DEFAULT_OUTBOX) -> ChannelFile:
    """The configuration without a channel file (SPEC.md section 7).

    Every channel name is delivered by the ``file`` plugin to ``<outbox>/<name>.jsonl``; ``email``
    and ``webhook`` are secure, ``sms`` and any other name are not, none is public. ``email``
    delivers to the contact's email, ``sms`` to its phone, ``webhook`` to its webhook, any other
    name to its email.

    Args:
        names: Channel names to list up front (any other name is still usable).
        outbox: The folder of the outbox files.
    """
    return ChannelFile(
        channels={name: _default_channel(name, outbox) for name in names},
        outbox=outbox,
        is_default=True,
    )


def _provider_paths(config: ChannelConfig) -> list[str]:
    if not config.providers:
        return [f"$.channels.{config.name}"]
    return [f"$.channels.{config.name}.providers[{i}]" for i in range(len(config.providers))]


def _unset_variables(config: ChannelConfig, environ: Mapping[str, str] | None) -> list[Problem]:
    env = os.environ if environ is None else environ
    return [
        Problem(f"{path}.{key}", f"environment variable {variable} is not set")
        for path, settings in zip(_provider_paths(config), config.provider_settings(environ), strict=True)
        for key, variable in sorted(settings.options.items())
        if key.endswith("_env") and isinstance(variable, str) and variable not in env
    ]


def _plugin_problems(
    config: ChannelConfig, host: PluginHost, environ: Mapping[str, str] | None
) -> list[Problem]:
    problems = _unset_variables(config, environ)
    for path, settings in zip(_provider_paths(config), config.provider_settings(environ), strict=True):
        try:
            plugin = host.channel_plugin(settings.type)
        except ValidationError as error:
            problems.extend(Problem(f"{path}.type", p.message) for p in error.problems)
            continue
        refused = plugin.problems(settings)
        if refused:
            problems.extend(refused)
            continue
        try:
            plugin.factory(settings)
        except ValidationError as error:
            problems.extend(p for p in error.problems if "is not set" not in p.message)
        except PluginError as error:
            problems.append(Problem(f"{path}.type", str(error)))
    return problems


class _Reader:
    """Collects problems while reading a document."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def table(self, value: Any, path: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        self.problem(path, "expected a table")
        return {}

    def flag(self, table: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", "expected true or false")
            return default
        return value

    def number(
        self, table: Mapping[str, Any], key: str, path: str, default: float, low: float, high: float
    ) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            self.problem(f"{path}.{key}", f"expected a number from {low:g} to {high:g}")
            return default
        return float(value)

    def text(self, table: Mapping[str, Any], key: str, path: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            self.problem(f"{path}.{key}", "expected a non-empty string")
            return None
        return value

    def options(self, table: Mapping[str, Any], reserved: frozenset[str], path: str) -> dict[str, Any]:
        options = {k: v for k, v in table.items() if k not in reserved}
        for key, value in options.items():
            if _SECRET_NAME.search(key):
                self.problem(
                    f"{path}.{key}",
                    f"secrets are not written in a channel file: name an environment variable with {key}_env",
                )
            elif key.endswith("_env") and (
                not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_]\w*", value)
            ):
                self.problem(f"{path}.{key}", "expected the name of an environment variable")
            elif key in _TEMPLATE_KEYS and not isinstance(value, str):
                self.problem(f"{path}.{key}", "expected a string")
        return options


def _read_channel(reader: _Reader, name: str, value: Any, outbox: str) -> ChannelConfig:
    path = f"$.channels.{name}"
    if not _NAME.fullmatch(name):
        reader.problem(path, "a channel name is lower-case letters, digits, - and _ (at most 40)")
    table = reader.table(value, path)
    providers_value = table.get("providers")
    type_ = reader.text(table, "type", path)
    if providers_value is None and type_ is None:
        reader.problem(f"{path}.type", "required setting missing (the plugin)")
    if providers_value is not None and type_ is not None:
        reader.problem(f"{path}.type", "a channel with providers names the plugin of each provider instead")
    address = table.get("address", builtin_channel_address(name))
    if address not in ADDRESS_KINDS:
        reader.problem(f"{path}.address", f"expected one of {', '.join(ADDRESS_KINDS)}")
    options = reader.options(table, _COMMON_KEYS, path)
    if type_ == "file" and "path" not in options:
        options["path"] = str(Path(outbox) / f"{name}.jsonl")
    concurrency = reader.number(table, "concurrency", path, 10, 1, 10_000)
    if concurrency != int(concurrency):
        reader.problem(f"{path}.concurrency", "expected a whole number")
    config = ChannelConfig(
        name=name,
        type=type_ or "failover",
        address=address if isinstance(address, str) else "email",
        secure=reader.flag(table, "secure", path, default_channel_flags(name).secure),
        public=reader.flag(table, "public", path, False),
        concurrency=int(concurrency),
        rate_per_s=reader.number(table, "rate_per_s", path, 0.0, 0.0, 1_000_000.0),
        options=options,
        providers=_read_providers(reader, providers_value, path),
        failover=_read_failover(reader, table.get("failover"), path),
    )
    try:
        config.templates()
    except ValidationError as error:
        reader.problems.extend(error.problems)
    return config


def _read_providers(reader: _Reader, value: Any, path: str) -> tuple[ProviderConfig, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        reader.problem(f"{path}.providers", "expected a non-empty list of tables")
        return ()
    providers = []
    for index, item in enumerate(value):
        where = f"{path}.providers[{index}]"
        table = reader.table(item, where)
        type_ = reader.text(table, "type", where)
        if type_ is None:
            reader.problem(f"{where}.type", "required setting missing (the plugin)")
        providers.append(
            ProviderConfig(
                name=reader.text(table, "name", where) or f"provider-{index + 1}",
                type=type_ or "",
                weight=reader.number(table, "weight", where, 1.0, 0.001, 1_000_000.0),
                options=reader.options(table, _PROVIDER_KEYS, where),
            )
        )
    names = [p.name for p in providers]
    for name in sorted({n for n in names if names.count(n) > 1}):
        reader.problem(f"{path}.providers", f"provider name {name!r} is used twice")
    return tuple(providers)


def _read_failover(reader: _Reader, value: Any, path: str) -> dict[str, float]:
    if value is None:
        return {}
    where = f"{path}.failover"
    table = reader.table(value, where)
    for key in sorted(set(table) - set(_FAILOVER_KEYS)):
        reader.problem(f"{where}.{key}", f"unknown setting (known: {', '.join(_FAILOVER_KEYS)})")
    settings: dict[str, float] = {}
    for key, (low, high) in _FAILOVER_KEYS.items():
        if key in table:
            settings[key] = reader.number(table, key, where, low, low, high)
    if "window" in settings:
        settings["window"] = int(settings["window"])
    return settings


def channels_from_document(
    document: Any,
    *,
    host: PluginHost | None = None,
    environ: Mapping[str, str] | None = None,
    source: str | None = None,
    base: str | os.PathLike[str] | None = None,
) -> ChannelFile:
    """Reads a ``cssc-channels/1`` document (parsed TOML, or what :meth:`ChannelFile.to_document` wrote).

    Args:
        document: The document.
        base: The folder a relative ``outbox`` is in (a channel file's own folder); None leaves it
            relative to the current folder.
        host: When given, also checks every channel against the installed plugins
            (:meth:`ChannelFile.check`).
        environ: Where environment variables are looked up (default: the process environment).
        source: The file name, for the error's heading.

    Raises:
        ValidationError: listing every problem, each with its path.
    """
    reader = _Reader()
    root = reader.table(document, "$")
    if root.get("format") != CHANNELS_FORMAT:
        reader.problem("$.format", f"expected {CHANNELS_FORMAT!r}")
    for key in sorted(set(root) - {"format", "outbox", "acks", "channels", "default"}):
        reader.problem(f"$.{key}", "unknown field")
    outbox = reader.text(root, "outbox", "$") or DEFAULT_OUTBOX
    if base is not None:
        outbox = os.path.abspath(os.path.join(base, outbox))
    acks_table = reader.table(root.get("acks", {}), "$.acks")
    for key in sorted(set(acks_table) - {"secret_env", "base_url"}):
        reader.problem(f"$.acks.{key}", "unknown field")
    base_url = reader.text(acks_table, "base_url", "$.acks")
    if base_url is not None and not re.fullmatch(r"https?://[^\s]+", base_url):
        reader.problem("$.acks.base_url", "expected an http(s) URL")
    acks = AckSettings(secret_env=reader.text(acks_table, "secret_env", "$.acks"), base_url=base_url)
    env = os.environ if environ is None else environ
    if acks.secret_env is not None and acks.secret_env not in env:
        reader.problem("$.acks.secret_env", f"environment variable {acks.secret_env} is not set")
    channels: dict[str, ChannelConfig] = {}
    for name, value in reader.table(root.get("channels", {}), "$.channels").items():
        channels[name] = _read_channel(reader, name, value, outbox)
    is_default = reader.flag(root, "default", "$", False)
    result = ChannelFile(channels=channels, outbox=outbox, acks=acks, is_default=is_default)
    if host is not None:
        # Each channel that reads cleanly is checked by its plugin too, so one run lists everything.
        for name, config in channels.items():
            prefix = f"$.channels.{name}"
            if not any(
                p.path == prefix or p.path.startswith((prefix + ".", prefix + "[")) for p in reader.problems
            ):
                reader.problems.extend(_plugin_problems(config, host, environ))
            else:
                reader.problems.extend(_unset_variables(config, environ))
    if reader.problems:
        raise ValidationError(reader.problems, source)
    return result


def parse_channels_toml(
    text: str | bytes,
    *,
    host: PluginHost | None = None,
    environ: Mapping[str, str] | None = None,
    source: str | None = None,
    base: str | os.PathLike[str] | None = None,
) -> ChannelFile:
    """Reads a channel file's text (see :func:`channels_from_document`).

    Raises:
        ValidationError: for TOML that does not parse, and every problem in the document.
    """
    document = load_toml(text, source)
    return channels_from_document(document, host=host, environ=environ, source=source, base=base)


def read_channel_file(
    path: str | os.PathLike[str],
    *,
    host: PluginHost | None = None,
    environ: Mapping[str, str] | None = None,
) -> ChannelFile:
    """Reads a channel file (see :func:`channels_from_document`); a relative ``outbox`` is in the
    file's own folder, so the outbox does not move with the folder a command is run from.

    Raises:
        ValidationError: when the file cannot be read or holds problems.
    """
    raw = read_limited(Path(path), MAX_DOCUMENT_BYTES)
    return parse_channels_toml(
        raw, host=host, environ=environ, source=os.fspath(path), base=Path(path).resolve().parent
    )

"""Finding, loading and calling plugins.

:func:`get_plugin_manager` adds the hook specifications, registers the built-in plugins from an
explicit list, then loads external plugins from the ``cssc_core`` entry-point group, honouring
``CSSC_ALLOW_PLUGINS`` (when set, only the external plugins it names load) and then
``CSSC_BLOCK_PLUGINS`` (the external plugins it names do not load). Both take comma-separated names,
each either an entry-point name or a distribution (package) name.

:class:`PluginHost` is the typed facade over the manager: every hook is a method with real types, so
no other module calls ``pm.hook`` and gets ``Any`` back.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs
import pluggy

from cssc_core.errors import PluginError, ValidationError
from cssc_core.plugins import hookspecs
from cssc_core.plugins.markers import PROJECT
from cssc_core.plugins.types import ChannelPlugin, DeliveryStatusChange, StorageBackend
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import Acknowledgement, RelayRelease

__all__ = [
    "ALLOW_VARIABLE",
    "BLOCK_VARIABLE",
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginHost",
    "PluginInfo",
    "PluginManager",
    "Provided",
    "get_plugin_manager",
    "open_store",
    "scheme_of",
]

ENTRY_POINT_GROUP = PROJECT
"""The entry-point group external plugins register under: ``[project.entry-points.cssc_core]``."""

BLOCK_VARIABLE = "CSSC_BLOCK_PLUGINS"
"""Comma-separated names of external plugins not to load."""

ALLOW_VARIABLE = "CSSC_ALLOW_PLUGINS"
"""When set, comma-separated names of the only external plugins to load (then the block list applies)."""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "cssc_core.storage.memory",
    "cssc_core.storage.sqlite",
    "cssc_core.plugins.channels.file",
    "cssc_core.plugins.channels.console",
    "cssc_core.plugins.channels.smtp",
    "cssc_core.plugins.channels.webhook",
    "cssc_core.plugins.channels.sms_http",
)
"""The modules registered as built-in plugins, in order; each is named by its module."""

T = TypeVar("T")


@attrs.frozen
class PluginInfo:
    """One registered plugin and where it came from.

    Attributes:
        name: The plugin's name: the module of a built-in, the entry-point name of an external one.
        package: The distribution that provides it.
        version: That distribution's version.
        builtin: Whether it ships with cssc_core.
    """

    name: str
    package: str
    version: str
    builtin: bool

    def describe(self) -> str:
        """``plugin 'pager' (cssc-plugin-pager 1.0.0)``, for error messages."""
        return f"plugin {self.name!r} ({self.package} {self.version})"


@attrs.frozen
class Provided(Generic[T]):
    """A record a registration hook returned, with the plugin that returned it."""

    item: T
    plugin: PluginInfo


def _names(value: str | None) -> frozenset[str] | None:
    if value is None or not value.strip():
        return None
    return frozenset(_normalise(name) for name in value.split(",") if name.strip())


def _normalise(name: str) -> str:
    # Distribution names compare as PEP 503 says: case and runs of -_. do not matter.
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for the ``cssc_core`` project, remembering where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(hookspecs)
        self.origins: dict[str, PluginInfo] = {}
        self.blocked: list[PluginInfo] = []

    def register_builtin(self, module_name: str) -> None:
        """Imports a module of cssc_core and registers it as a built-in plugin."""
        self.register(importlib.import_module(module_name), name=module_name)
        self.origins[module_name] = PluginInfo(module_name, PROJECT, _own_version(), builtin=True)

    def load_entry_points(self, *, allow: frozenset[str] | None, block: frozenset[str]) -> None:
        """Loads the external plugins of the ``cssc_core`` entry-point group.

        Args:
            allow: When not None, only entry points whose name or distribution is in it load.
            block: Entry points whose name or distribution is in it do not load.

        Raises:
            PluginError: when a plugin fails to import, or two distributions use one plugin name.
        """
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = entry_point.dist
            info = PluginInfo(
                entry_point.name,
                dist.name if dist else "unknown",
                dist.version if dist else "unknown",
                builtin=False,
            )
            names = {_normalise(entry_point.name), _normalise(info.package)}
            if (allow is not None and not names & allow) or names & block:
                if info not in self.blocked:
                    self.blocked.append(info)
                continue
            known = self.origins.get(entry_point.name)
            if known is not None:
                if known.package == info.package:
                    continue  # the same distribution found twice on the path
                raise PluginError(
                    f"two plugins are named {entry_point.name!r}: {known.describe()} and {info.describe()}"
                )
            try:
                plugin = entry_point.load()
            except Exception as error:
                raise PluginError(
                    f"{info.describe()} failed to load: {error!r}; block it with "
                    f"{BLOCK_VARIABLE}={entry_point.name}"
                ) from error
            self.register(plugin, name=entry_point.name)
            self.origins[entry_point.name] = info


def _own_version() -> str:
    try:
        return importlib.metadata.version(PROJECT)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def get_plugin_manager(
    environ: Mapping[str, str] | None = None, *, entry_points: bool = True
) -> PluginManager:
    """A plugin manager with the hook specs, the built-in plugins and the allowed external plugins.

    Args:
        environ: Where to read ``CSSC_ALLOW_PLUGINS`` and ``CSSC_BLOCK_PLUGINS`` (default: the
            process environment).
        entry_points: Whether to load external plugins at all.
    """
    environ = os.environ if environ is None else environ
    pm = PluginManager()
    for module_name in BUILTIN_PLUGINS:
        pm.register_builtin(module_name)
    if entry_points:
        pm.load_entry_points(
            allow=_names(environ.get(ALLOW_VARIABLE)),
            block=_names(environ.get(BLOCK_VARIABLE)) or frozenset(),
        )
    return pm


def scheme_of(url: str) -> str:
    """The scheme of a store URL (``sqlite`` for ``sqlite:///cssc.db``).

    Raises:
        ValidationError: when ``url`` has no scheme.
    """
    scheme, separator, _ = url.partition("://")
    if not separator or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise ValidationError.single("--store", f"{url!r} is not a store URL (such as sqlite:///cssc.db)")
    return scheme.lower()


class PluginHost:
    """The typed facade over the plugin manager: what plugins provide, and the events they hear.

    Registration hooks are called once, on first use, and their records checked for duplicate
    names. Event methods call every plugin implementing the hook.

    Args:
        pm: The plugin manager; :meth:`load` makes one.
    """

    def __init__(self, pm: PluginManager) -> None:
        self._pm = pm
        self._backends: tuple[Provided[StorageBackend], ...] | None = None
        self._channels: tuple[Provided[ChannelPlugin], ...] | None = None

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, *, entry_points: bool = True) -> PluginHost:
        """A host over :func:`get_plugin_manager` (built-ins and the allowed external plugins)."""
        return cls(get_plugin_manager(environ, entry_points=entry_points))

    @property
    def plugin_manager(self) -> PluginManager:
        """The pluggy manager, to register a plugin object in code (tests, embedding applications)."""
        return self._pm

    def register(self, plugin: object, name: str, *, package: str = "", version: str = "") -> None:
        """Registers a plugin object (a module or an instance with ``@hookimpl`` methods) in code.

        Args:
            plugin: The plugin.
            name: Its name; must not be taken.
            package: The distribution to show for it (default: the plugin's module).
            version: That distribution's version.
        """
        self._pm.register(plugin, name=name)
        module = getattr(plugin, "__name__", type(plugin).__module__)
        self._pm.origins[name] = PluginInfo(name, package or module, version or "unknown", builtin=False)
        self._backends = self._channels = None

    def plugins(self) -> tuple[PluginInfo, ...]:
        """The registered plugins: built-ins first, in registration order."""
        return tuple(
            self._pm.origins[name] for name, _ in self._pm.list_name_plugin() if name in self._pm.origins
        )

    def hooks_of(self, name: str) -> tuple[str, ...]:
        """The names of the hooks a registered plugin implements, sorted."""
        plugin = self._pm.get_plugin(name)
        callers = self._pm.get_hookcallers(plugin) if plugin is not None else None
        return tuple(sorted(caller.name for caller in callers or ()))

    def blocked(self) -> tuple[PluginInfo, ...]:
        """External plugins found but not loaded because of the allow or block list."""
        return tuple(self._pm.blocked)

    # --- registration hooks ------------------------------------------------------------------------

    def _collect(
        self, hook: str, record_type: type[T], kinds: str, keys: Callable[[T], Iterable[str]]
    ) -> tuple[Provided[T], ...]:
        caller = getattr(self._pm.hook, hook)
        provided: list[Provided[T]] = []
        claimed: dict[str, Provided[T]] = {}
        # get_hookimpls() lists implementations in registration order (pluggy calls them in reverse).
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                continue
            info = self._pm.origins.get(impl.plugin_name) or PluginInfo(
                impl.plugin_name, "unknown", "unknown", builtin=False
            )
            for item in impl.function() or ():
                if not isinstance(item, record_type):
                    raise PluginError(
                        f"{info.describe()} returned {item!r} from {hook}, not a {record_type.__name__}"
                    )
                record = Provided(item, info)
                for key in keys(item):
                    first = claimed.setdefault(key, record)
                    if first is not record:
                        raise PluginError(
                            f"{kinds} {key!r} is provided twice: by {first.plugin.describe()} "
                            f"and by {info.describe()}"
                        )
                provided.append(record)
        return tuple(provided)

    def storage_backends(self) -> tuple[Provided[StorageBackend], ...]:
        """Every storage backend, with the plugin providing it (hook ``cssc_storage_backends``).

        Raises:
            PluginError: when two backends share a name or a URL scheme, naming both providers.
        """
        if self._backends is None:
            self._backends = self._collect(
                "cssc_storage_backends", StorageBackend, "storage backend name", _backend_keys
            )
            self._collect_schemes(self._backends)
        return self._backends

    @staticmethod
    def _collect_schemes(backends: Sequence[Provided[StorageBackend]]) -> None:
        owners: dict[str, Provided[StorageBackend]] = {}
        for provided in backends:
            for scheme in provided.item.schemes:
                first = owners.setdefault(scheme.lower(), provided)
                if first is not provided:
                    raise PluginError(
                        f"URL scheme {scheme!r} is claimed twice: by backend {first.item.name!r} of "
                        f"{first.plugin.describe()} and by backend {provided.item.name!r} of "
                        f"{provided.plugin.describe()}"
                    )

    def delivery_channels(self) -> tuple[Provided[ChannelPlugin], ...]:
        """Every delivery channel plugin, with the plugin providing it (hook ``cssc_delivery_channels``).

        Raises:
            PluginError: when two channel plugins share a name, naming both providers.
        """
        if self._channels is None:
            self._channels = self._collect(
                "cssc_delivery_channels", ChannelPlugin, "channel plugin name", _channel_keys
            )
        return self._channels

    def storage_backend(self, scheme: str) -> StorageBackend:
        """The backend opening URLs of ``scheme``.

        Raises:
            ValidationError: when no installed backend does, listing those that are.
        """
        for provided in self.storage_backends():
            if scheme.lower() in (s.lower() for s in provided.item.schemes):
                return provided.item
        known = ", ".join(sorted(f"{s}://" for p in self.storage_backends() for s in p.item.schemes))
        raise ValidationError.single("--store", f"no storage backend for {scheme}:// (installed: {known})")

    def channel_plugin(self, name: str) -> ChannelPlugin:
        """The channel plugin of a channel ``type``.

        Raises:
            ValidationError: when none is installed, listing those that are.
        """
        for provided in self.delivery_channels():
            if provided.item.name == name:
                return provided.item
        known = ", ".join(sorted(p.item.name for p in self.delivery_channels())) or "none"
        raise ValidationError.single("type", f"unknown channel plugin {name!r} (installed: {known})")

    def open_store(self, url: str | os.PathLike[str]) -> Store:
        """Opens a store through the backend of the URL's scheme (``sqlite:///cssc.db``, ``memory://``).

        A path (:class:`os.PathLike`, not a string) opens that SQLite file.
        """
        if isinstance(url, os.PathLike):
            from cssc_core.storage.sqlite import sqlite_url

            url = sqlite_url(os.fspath(url))
        return self.storage_backend(scheme_of(url)).open(url)

    # --- event hooks -------------------------------------------------------------------------------

    def listens(self, hook: str) -> bool:
        """Whether any registered plugin implements the event hook ``hook`` (``cssc_message_routed``,
        say): an event nobody hears need not be prepared."""
        return bool(getattr(self._pm.hook, hook).get_hookimpls())

    def message_routed(self, message_id: str, plan: Mapping[str, Any], at: datetime) -> None:
        """Calls ``cssc_message_routed``: a message's cascade was persisted."""
        self._pm.hook.cssc_message_routed(message_id=message_id, plan=plan, at=at)

    def delivery_status_changed(self, changes: Sequence[DeliveryStatusChange]) -> None:
        """Calls ``cssc_delivery_status_changed`` with a committed batch (nothing when it is empty)."""
        if changes:
            self._pm.hook.cssc_delivery_status_changed(changes=changes)

    def acknowledgement_received(self, acknowledgement: Acknowledgement) -> None:
        """Calls ``cssc_acknowledgement_received``: a new acknowledgement was recorded."""
        self._pm.hook.cssc_acknowledgement_received(acknowledgement=acknowledgement)

    def relay_released(self, release: RelayRelease) -> None:
        """Calls ``cssc_relay_released``: an ISL released a cell's held copies."""
        self._pm.hook.cssc_relay_released(release=release)

    def contact_erased(self, contact_id: str, at: datetime) -> None:
        """Calls ``cssc_contact_erased``: plugins must now drop what they keep of the contact."""
        self._pm.hook.cssc_contact_erased(contact_id=contact_id, at=at)


def _backend_keys(backend: StorageBackend) -> Iterable[str]:
    return (backend.name,)


def _channel_keys(channel: ChannelPlugin) -> Iterable[str]:
    return (channel.name,)


def open_store(url: str | os.PathLike[str], *, host: PluginHost | None = None) -> Store:
    """Opens a store by URL through the installed storage backends.

    Args:
        url: ``sqlite:///cssc.db``, ``memory://``, any scheme a backend plugin registers, or a
            :class:`~pathlib.Path` to a SQLite file.
        host: The plugin host to use (default: built-ins and the allowed external plugins).

    Raises:
        ValidationError: when the URL has no scheme or no backend handles it.
    """
    return (host or PluginHost.load()).open_store(url)

"""The plugin manager and its typed facade."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from pathlib import Path

import pytest

from cssc_core.errors import PluginError, ValidationError
from cssc_core.plugins import (
    BUILTIN_PLUGINS,
    ChannelPlugin,
    DeliveryStatusChange,
    PluginHost,
    StorageBackend,
    hookimpl,
    open_store,
    scheme_of,
)
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import Acknowledgement, DeliveryStatus, RelayRelease
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import T0, RecordingChannelPlugin, RecordingPlugin, sample_delivery


def host() -> PluginHost:
    return PluginHost.load(entry_points=False)


class BackendPlugin:
    def __init__(self, name: str, *schemes: str) -> None:
        self.backend = StorageBackend(name, schemes, lambda url: MemoryStore())

    @hookimpl
    def cssc_storage_backends(self) -> Iterable[StorageBackend]:
        return [self.backend]


def test_the_built_ins_are_registered_from_the_explicit_list() -> None:
    plugins = host().plugins()
    assert [p.name for p in plugins] == list(BUILTIN_PLUGINS)
    assert all(p.builtin and p.package == "cssc_core" for p in plugins)
    backends = {p.item.name: p for p in host().storage_backends()}
    assert set(backends) == {"memory", "sqlite"}
    assert backends["sqlite"].plugin.name == "cssc_core.storage.sqlite"


def test_stores_open_by_url_scheme(tmp_path: Path) -> None:
    memory = host().open_store("memory://")
    assert isinstance(memory, MemoryStore)
    sqlite = open_store(f"sqlite:///{tmp_path}/x.db", host=host())
    assert isinstance(sqlite, SqliteStore)
    assert isinstance(open_store("MEMORY://", host=host()), MemoryStore)
    sqlite.close()
    by_path = open_store(tmp_path / "by-path.db", host=host())
    assert isinstance(by_path, SqliteStore)
    assert Path(by_path.path) == tmp_path / "by-path.db"
    by_path.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("cssc.db", "not a store URL"),
        ("://x", "not a store URL"),
        ("postgresql://db/cssc", r"no storage backend for postgresql:// \(installed: memory://, sqlite://\)"),
        ("memory://somewhere", "takes no path"),
    ],
)
def test_bad_store_urls_are_bad_input(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        host().open_store(url)


def test_scheme_of() -> None:
    assert scheme_of("sqlite:///a.db") == "sqlite"
    assert scheme_of("Postgresql+psycopg://h/db") == "postgresql+psycopg"


def test_a_registered_backend_opens_its_scheme() -> None:
    plugins = host()
    plugins.register(BackendPlugin("elsewhere", "else"), "elsewhere", package="cssc-else", version="2.0")
    assert isinstance(plugins.open_store("else://x"), MemoryStore)
    (provided,) = [p for p in plugins.storage_backends() if p.item.name == "elsewhere"]
    assert (provided.plugin.package, provided.plugin.version, provided.plugin.builtin) == (
        "cssc-else",
        "2.0",
        False,
    )


def test_a_duplicate_backend_name_names_both_packages() -> None:
    plugins = host()
    plugins.register(BackendPlugin("sqlite", "sqlite2"), "rival", package="cssc-rival", version="0.3")
    with pytest.raises(PluginError) as caught:
        plugins.storage_backends()
    message = str(caught.value)
    assert "storage backend name 'sqlite' is provided twice" in message
    assert "'cssc_core.storage.sqlite' (cssc_core " in message
    assert "'rival' (cssc-rival 0.3)" in message


def test_a_duplicate_url_scheme_names_both_packages() -> None:
    plugins = host()
    plugins.register(BackendPlugin("sqlite-fast", "SQLite"), "fast", package="cssc-fast", version="1")
    with pytest.raises(
        PluginError, match=r"scheme 'SQLite' is claimed twice: by backend 'sqlite' of .*cssc-fast 1"
    ):
        plugins.storage_backends()


def test_a_duplicate_channel_name_names_both_packages() -> None:
    plugins = host()
    plugins.register(RecordingChannelPlugin("pager"), "one", package="cssc-one", version="1")
    plugins.register(RecordingChannelPlugin("pager"), "two", package="cssc-two", version="2")
    with pytest.raises(
        PluginError, match=r"channel plugin name 'pager' is provided twice: .*cssc-one 1.*cssc-two 2"
    ):
        plugins.delivery_channels()


def test_a_registration_hook_must_return_its_records() -> None:
    class Confused:
        @hookimpl
        def cssc_delivery_channels(self) -> Iterable[object]:
            return [StorageBackend("x", ("x",), lambda url: MemoryStore())]

    plugins = host()
    plugins.register(Confused(), "confused")
    with pytest.raises(PluginError, match="not a ChannelPlugin"):
        plugins.delivery_channels()


def test_unknown_channel_types_are_bad_input() -> None:
    plugins = host()
    plugins.register(RecordingChannelPlugin("recording"), "recording")
    assert isinstance(plugins.channel_plugin("recording"), ChannelPlugin)
    with pytest.raises(ValidationError, match=r"unknown channel plugin 'fax' \(installed: .*recording.*\)"):
        plugins.channel_plugin("fax")


def test_event_methods_reach_every_plugin() -> None:
    plugins = host()
    first, second = RecordingPlugin(), RecordingPlugin()
    plugins.register(first, "first")
    plugins.register(second, "second")
    change = DeliveryStatusChange.of(sample_delivery("d-1"), "msg-1", None, DeliveryStatus.CREATED, T0)
    acknowledgement = Acknowledgement("m", "c", T0)
    release = RelayRelease("m", ("EAST", "retail"), "c-isl", T0)

    plugins.message_routed("m", {"recipients": []}, T0)
    plugins.delivery_status_changed([change])
    plugins.delivery_status_changed([])
    plugins.acknowledgement_received(acknowledgement)
    plugins.relay_released(release)
    plugins.contact_erased("c", T0)

    expected = [
        "cssc_message_routed",
        "cssc_delivery_status_changed",
        "cssc_acknowledgement_received",
        "cssc_relay_released",
        "cssc_contact_erased",
    ]
    assert first.hooks() == second.hooks() == expected
    assert first.events[1].arguments == {"changes": (change,)}
    assert first.events[2].arguments == {"acknowledgement": acknowledgement}
    assert first.events[3].arguments == {"release": release}
    assert first.events[4].arguments == {"contact_id": "c", "at": T0}


def test_a_plugin_may_take_fewer_arguments() -> None:
    seen: list[str] = []

    class Minimal:
        @hookimpl
        def cssc_contact_erased(self, contact_id: str) -> None:
            seen.append(contact_id)

    plugins = host()
    plugins.register(Minimal(), "minimal")
    plugins.contact_erased("c-9", T0)
    assert seen == ["c-9"]


def test_a_plugin_that_fails_to_load_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = importlib.metadata.EntryPoint("broken", "cssc_no_such_module_anywhere", "cssc_core")
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group: [broken] if group == "cssc_core" else []
    )
    with pytest.raises(PluginError, match=r"plugin 'broken' .* failed to load.*CSSC_BLOCK_PLUGINS=broken"):
        PluginHost.load(environ={})
    assert [p.name for p in PluginHost.load(environ={"CSSC_BLOCK_PLUGINS": "broken"}).blocked()] == ["broken"]


def test_status_changes_are_made_from_a_record_or_a_ref() -> None:
    delivery = sample_delivery("d-1", status=DeliveryStatus.SENDING)
    from_record = DeliveryStatusChange.of(delivery, "msg-1", "sending", "delivered", T0)
    from_ref = DeliveryStatusChange.of(
        delivery.ref(), "msg-1", DeliveryStatus.SENDING, DeliveryStatus.DELIVERED, T0
    )
    assert from_record == from_ref
    assert (from_ref.delivery, from_ref.contact, from_ref.channel) == ("d-1", "c-0001", "email")
    assert (from_ref.previous, from_ref.status) == (DeliveryStatus.SENDING, DeliveryStatus.DELIVERED)


class FakeDistribution:
    def __init__(self, name: str, version: str) -> None:
        self.name, self.version = name, version


class FakeEntryPoint:
    """Stands in for an installed entry point: the loader reads only these attributes."""

    def __init__(self, name: str, dist: FakeDistribution, plugin: object) -> None:
        self.name, self.dist, self._plugin = name, dist, plugin

    def load(self) -> object:
        return self._plugin


def test_two_distributions_may_not_use_one_plugin_name(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [
        FakeEntryPoint("pager", FakeDistribution("cssc-pager-a", "1"), RecordingChannelPlugin("a")),
        FakeEntryPoint("pager", FakeDistribution("cssc-pager-b", "2"), RecordingChannelPlugin("b")),
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points)
    with pytest.raises(PluginError, match=r"two plugins are named 'pager': .*cssc-pager-a 1.*cssc-pager-b 2"):
        PluginHost.load(environ={})


def test_one_distribution_found_twice_loads_once(monkeypatch: pytest.MonkeyPatch) -> None:
    dist = FakeDistribution("cssc-pager", "1")
    plugin = RecordingChannelPlugin("pager")
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group: [FakeEntryPoint("pager", dist, plugin)] * 2
    )
    loaded = PluginHost.load(environ={})
    assert [p.item.name for p in loaded.delivery_channels() if not p.plugin.builtin] == ["pager"]

"""Checked by mypy (``files`` in pyproject.toml), never run: the public API's types fit together.

A backend or channel that drifts from its protocol fails the type check here, before any test runs.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from cssc_core import (
    BlockingChannel,
    CascadeEngine,
    CascadeStatus,
    Channel,
    ChannelFile,
    ChannelPlugin,
    ChannelSettings,
    Clock,
    DeliveryStatusChange,
    FakeClock,
    Outgoing,
    PluginHost,
    ReplyClaim,
    RetryPolicy,
    RunReport,
    SendReport,
    SendResult,
    StorageBackend,
    Store,
    SystemClock,
    hookimpl,
    open_store,
    read_channel_file,
)
from cssc_core.cascade import Progress
from cssc_core.formats.message import read_message_file
from cssc_core.plugins import ChannelFactory, as_async
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import RecordingChannel, RecordingChannelPlugin, RecordingPlugin


def built_in_backends_are_stores(path: Path) -> list[Store]:
    return [MemoryStore(), SqliteStore(path), open_store("memory://"), open_store(path)]


def clocks() -> list[Clock]:
    return [SystemClock(), FakeClock(SystemClock().now())]


class Printer:
    def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        return [SendResult.delivered(item.delivery) for item in batch]

    def close(self) -> None:
        return None


def make_printer(settings: ChannelSettings) -> BlockingChannel:
    return Printer()


def make_recorder(settings: ChannelSettings) -> Channel:
    return RecordingChannel(settings=settings)


factories: list[ChannelFactory] = [make_printer, make_recorder]


@hookimpl
def cssc_delivery_channels() -> Iterable[ChannelPlugin]:
    return [
        ChannelPlugin("printer", make_printer),
        ChannelPlugin("recorder", make_recorder, refuses={"public"}),
    ]


@hookimpl
def cssc_storage_backends() -> Iterable[StorageBackend]:
    return [StorageBackend("scratch", ("scratch",), lambda url: MemoryStore())]


async def send_through_any(
    channel: Channel | BlockingChannel, batch: Sequence[Outgoing]
) -> Sequence[SendResult]:
    return await as_async(channel).send(batch)


def facade(host: PluginHost, changes: Sequence[DeliveryStatusChange]) -> Store:
    host.register(RecordingPlugin(), "recording-events")
    host.register(RecordingChannelPlugin(), "recording-channels")
    host.delivery_status_changed(changes)
    plugin: ChannelPlugin = host.channel_plugin("recording")
    assert plugin.name == "recording"
    return host.open_store("sqlite:///cssc.db")


class CountingProgress:
    def __init__(self) -> None:
        self.done = 0

    def start(self, total: int) -> None:
        self.done = 0

    def advance(self, count: int) -> None:
        self.done += count


def a_cascade_engine_drives_a_cascade(
    store: Store, path: Path
) -> tuple[SendReport, RunReport, bool, CascadeStatus]:
    channels: ChannelFile = read_channel_file(path)
    progress: Progress = CountingProgress()
    engine = CascadeEngine(
        store,
        clock=FakeClock(SystemClock().now()),
        rng=random.Random(1),
        retry=RetryPolicy(max_attempts=3),
        channels=channels,
        progress=progress,
    )
    message = read_message_file(path)
    sent = engine.send(message)
    ran = engine.tick()
    new = engine.acknowledge(message.id, "c-0001", via="portal")
    claim, repeated = engine.acknowledge_reply("+447400123456", "ACK K7QF2MZA")
    assert isinstance(claim, ReplyClaim)
    return sent, ran, new and repeated, engine.status(message.id)

"""A small incident network, recording channels and an engine on a fake clock, for the cascade tests."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cssc_core.cascade import CascadeEngine, RetryPolicy
from cssc_core.channels import ChannelConfig, ChannelFile
from cssc_core.domain.models import Contact, HubRole, IslRole, Language, Organisation, QuietHours
from cssc_core.domain.network import Network
from cssc_core.plugins.manager import PluginHost
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult
from cssc_core.reference import reference_regions, reference_sectors
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import DeliveryStatus
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import T0, FakeClock, RecordingPlugin

# Re-exported: the cascade tests take the incident's people and message from here.
from tests.cascade.incident import message as message
from tests.cascade.incident import person as person


def organisation(
    identifier: str, sectors: tuple[str, ...], *contacts: Contact, region: str = "EAST"
) -> Organisation:
    """An active organisation."""
    return Organisation(
        id=identifier, name=f"Org {identifier}", region=region, sectors=sectors, contacts=contacts
    )


def incident_network(**extra: Any) -> Network:
    """EAST: a retail cell with a lead and a deputy, a faith cell with one ISL, an education
    organisation without ISLs, a region hub and a national hub."""
    organisations = [
        organisation("retail-isls", ("retail",), person("isl-r1"), person("isl-r2")),
        organisation("faith-isls", ("faith",), person("isl-f1")),
        organisation("hubs", ("government",), person("hub-e"), person("hub-n")),
        organisation("shop", ("retail",), person("shop-a"), person("shop-b", "sms", "email")),
        organisation("church", ("faith",), person("church-a")),
        organisation("both", ("retail", "faith"), person("both-a")),
        organisation("school", ("education",), person("school-a", "email", "sms")),
        organisation(
            "bakery",
            ("food",),
            person("baker", quiet_hours=QuietHours(T0.time(), (T0 + timedelta(hours=2)).time(), "UTC")),
            person("welsh", language=Language.CY),
        ),
    ]
    return Network(
        regions=reference_regions(),
        sectors=reference_sectors(),
        organisations=tuple(organisations),
        roles=(
            IslRole("EAST", "retail", "isl-r1", 1),
            IslRole("EAST", "retail", "isl-r2", 2),
            IslRole("EAST", "faith", "isl-f1", 1),
            HubRole("hub-e", "EAST"),
            HubRole("hub-n"),
        ),
        **extra,
    )


class ScriptedChannels:
    """A channel plugin (type ``scripted``) whose senders share one log and one script of failures.

    Attributes:
        sent: Every copy accepted, in order, across every sender it made.
        attempts: Every copy given, in order.
        script: Results to report instead of ``delivered``, by (contact, channel), used in order.
        batches: The size of every batch given to a sender.
    """

    name = "scripted"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.attempts: list[Outgoing] = []
        self.script: dict[tuple[str, str], list[DeliveryStatus]] = {}
        self.batches: list[int] = []

    def fail(self, contact: str, channel: str, *statuses: DeliveryStatus) -> None:
        """Makes the next attempts to ``contact`` on ``channel`` report ``statuses``, in order."""
        self.script.setdefault((contact, channel), []).extend(statuses)

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Logs the batch and reports the scripted results."""
        self.batches.append(len(batch))
        results = []
        for copy in batch:
            self.attempts.append(copy)
            pending = self.script.get((copy.contact, copy.channel))
            if pending:
                results.append(SendResult(copy.delivery, pending.pop(0), "scripted failure"))
            else:
                self.sent.append(copy)
                results.append(SendResult.delivered(copy.delivery))
        return results

    async def aclose(self) -> None:
        """Nothing to close."""

    def _make(self, settings: ChannelSettings) -> ScriptedChannels:
        return self

    @hookimpl
    def cssc_delivery_channels(self) -> Iterable[ChannelPlugin]:
        """The scripted channel type."""
        return [ChannelPlugin(self.name, self._make, "scripted results, one shared log")]


def recording_setup(plugin: ScriptedChannels) -> ChannelFile:
    """Channels ``email`` (secure) and ``sms`` delivered by the scripted plugin."""
    return ChannelFile(
        channels={
            "email": ChannelConfig("email", plugin.name, "email", secure=True),
            "sms": ChannelConfig("sms", plugin.name, "phone", concurrency=2),
        }
    )


class Harness:
    """An engine over a store on a fake clock, with recording channels and a recording event plugin."""

    def __init__(self, store: Store, network: Network | None = None) -> None:
        self.store = store
        store.replace_network(network or incident_network())
        self.clock = FakeClock(T0)
        self.channels = ScriptedChannels()
        self.events = RecordingPlugin()
        self.host = PluginHost.load(entry_points=False)
        self.host.register(self.channels, "recording-channels")
        self.host.register(self.events, "recording-events")
        self.engine = self.make_engine()

    def make_engine(self, **options: Any) -> CascadeEngine:
        """A fresh engine on the same store, clock, host and channels."""
        options.setdefault("channels", recording_setup(self.channels))
        options.setdefault("rng", random.Random(7))
        options.setdefault("retry", RetryPolicy(max_attempts=3, base_s=60, jitter=0.5))
        return CascadeEngine(self.store, host=self.host, clock=self.clock, **options)

    def at(self, minutes: float) -> None:
        """Moves the clock to T0 + ``minutes``."""
        self.clock.set(T0 + timedelta(minutes=minutes))

    def sent(self, message_id: str | None = "msg-1") -> list[tuple[str, str, str]]:
        """The copies of a message (of every message when None) the channels accepted:
        (contact, channel, kind), in order."""
        return [
            (copy.contact, copy.channel, copy.kind)
            for copy in self.channels.sent
            if message_id is None or copy.message == message_id
        ]

    def statuses(self, message_id: str = "msg-1") -> dict[tuple[str, str, str], str]:
        """Every delivery of a message: (contact, channel, kind) -> status."""
        return {
            (d.contact, d.channel, d.kind.value): d.status.value for d in self.store.deliveries_of(message_id)
        }


@pytest.fixture(params=["memory", "sqlite"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A harness on each storage backend."""
    store: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "cssc.db")
    yield Harness(store)
    store.close()


@pytest.fixture
def memory_harness() -> Harness:
    """A harness on the in-memory store (for tests where the backend does not matter)."""
    return Harness(MemoryStore())

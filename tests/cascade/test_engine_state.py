"""What the engine keeps between calls: the network while its revision holds, channels on one loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cssc_core.cascade import CascadeEngine
from cssc_core.cascade.work import Work
from cssc_core.channels import ChannelConfig, ChannelFile
from cssc_core.domain.network import Network
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.plugins.manager import PluginHost
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import T0, FakeClock, RecordingPlugin, sample_delivery
from tests.cascade.conftest import Harness, incident_network, message

RELAYED = parse_policy_toml(
    'format = "cssc-policy/1"\n[defaults]\nvia = "isl"\nchannels = ["email"]\nrelay_deadline = "15m"\n'
)


class CountingStore(MemoryStore):
    """A memory store that counts how often the network is read back."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    def load_network(self) -> Network | None:
        self.loads += 1
        return super().load_network()


def test_the_network_is_read_once_while_its_revision_holds() -> None:
    store = CountingStore()
    harness = Harness(store)
    engine = harness.engine
    engine.send(message(), policy=RELAYED)
    harness.at(2)
    engine.acknowledge("msg-1", "isl-r1")
    engine.acknowledge("msg-1", "isl-f1")
    harness.at(60)
    engine.tick()
    assert store.loads == 1
    assert ("shop-a", "email", "message") in harness.sent()
    store.erase_contact("school-a", T0)
    engine.acknowledge("msg-1", "shop-b")
    assert store.loads == 2


def test_a_network_changed_by_another_process_is_read_again(tmp_path: Path) -> None:
    harness = Harness(SqliteStore(tmp_path / "cssc.db"))
    first = harness.engine.send(message("msg-1"), policy=RELAYED)
    assert "shop-a" in {r.contact for r in first.plan.recipients}
    other = SqliteStore(tmp_path / "cssc.db")
    other.erase_contact("shop-a", T0)
    other.close()
    second = harness.engine.send(message("msg-2"), policy=RELAYED)
    assert "shop-a" not in {r.contact for r in second.plan.recipients}
    harness.store.close()


class CountingChannels:
    """A channel type (``counting``) that counts the senders opened and closed."""

    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0
        self.sent: list[Outgoing] = []

    def _make(self, settings: ChannelSettings) -> CountingChannels.Sender:
        self.opened += 1
        return CountingChannels.Sender(self)

    class Sender:
        def __init__(self, owner: CountingChannels) -> None:
            self.owner = owner

        async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
            self.owner.sent.extend(batch)
            return [SendResult.delivered(copy.delivery) for copy in batch]

        async def aclose(self) -> None:
            self.owner.closed += 1

    @hookimpl
    def cssc_delivery_channels(self) -> Iterable[ChannelPlugin]:
        return [ChannelPlugin("counting", self._make, "counts senders")]


def _engine(channels: CountingChannels) -> CascadeEngine:
    store = MemoryStore()
    store.replace_network(incident_network())
    host = PluginHost.load(entry_points=False)
    host.register(channels, "counting")
    setup = ChannelFile(channels={"email": ChannelConfig("email", "counting", "email", secure=True)})
    return CascadeEngine(store, host=host, channels=setup, clock=FakeClock(T0))


def test_async_calls_keep_their_channels_open_until_the_engine_closes() -> None:
    channels = CountingChannels()
    engine = _engine(channels)

    async def portal() -> tuple[int, int]:
        async with engine:
            await engine.asend(message(), policy=RELAYED)
            await engine.aacknowledge("msg-1", "isl-r1")
            await engine.aacknowledge("msg-1", "isl-f1")
            return (channels.opened, channels.closed)

    assert asyncio.run(portal()) == (1, 0)
    assert channels.closed == 1
    assert {copy.contact for copy in channels.sent} >= {"isl-r1", "shop-a", "church-a"}


def test_each_synchronous_call_closes_what_it_opened() -> None:
    channels = CountingChannels()
    engine = _engine(channels)
    engine.send(message(), policy=RELAYED)
    engine.acknowledge("msg-1", "isl-r1")
    assert channels.opened == channels.closed == 2


def test_status_changes_are_only_prepared_for_listeners() -> None:
    channels = CountingChannels()
    engine = _engine(channels)
    assert not engine.host.listens("cssc_delivery_status_changed")
    delivery = sample_delivery("d-1")
    for watched, expected in ((False, 0), (True, 1)):
        work = Work(engine.store, T0, watched=watched)
        work.created([delivery])
        assert len(work.changes) == expected
        assert work.touched == {delivery.message}
    events = RecordingPlugin()
    engine.host.register(events, "events")
    assert engine.host.listens("cssc_delivery_status_changed")
    engine.send(message(), policy=RELAYED)
    assert "cssc_delivery_status_changed" in events.hooks()


class DurabilityStore(MemoryStore):
    """A memory store that notes, for each outermost transaction, whether it was durable and which
    writes it held."""

    WRITES = ("start_cascade", "claim_due", "record_results", "record_acknowledgement")

    def __init__(self) -> None:
        super().__init__()
        self.transactions: list[tuple[bool, set[str]]] = []
        self._open: set[str] | None = None

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        if self._open is not None:
            with super().transaction(durable=durable):
                yield
            return
        self._open = set()
        try:
            with super().transaction(durable=durable):
                yield
            self.transactions.append((durable, self._open))
        finally:
            self._open = None

    def __getattribute__(self, name: str) -> Any:
        if name in DurabilityStore.WRITES and object.__getattribute__(self, "_open") is not None:
            object.__getattribute__(self, "_open").add(name)
        return super().__getattribute__(name)


def test_only_the_dispatchers_claims_and_results_commit_without_waiting_for_the_disk() -> None:
    store = DurabilityStore()
    harness = Harness(store)
    harness.engine.send(message(), policy=RELAYED)
    harness.at(2)
    harness.engine.acknowledge("msg-1", "isl-r1")
    durable = set().union(*(writes for flag, writes in store.transactions if flag))
    lazy = set().union(*(writes for flag, writes in store.transactions if not flag))
    # The cascade and the acknowledgement (a release whose copies are claimed with it) are what a
    # caller was told happened; the dispatcher's own claims and results are done again after a crash.
    assert {"start_cascade", "record_acknowledgement", "claim_due"} <= durable
    assert lazy == {"claim_due", "record_results"}
    assert "record_results" not in durable

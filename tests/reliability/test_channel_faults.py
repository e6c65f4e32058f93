"""Channel plugins that raise, hang, answer nonsense or die half-way through a batch: every delivery
is still accounted for, and none is recorded delivered that no channel accepted.

A faulty plugin follows a random script: for each copy it is given, it delivers, raises, hangs past
the engine's send timeout, returns nonsense (no list, strangers' ids, objects that are not results),
or accepts part of its batch and then dies. The cascade runs to its end on a fake clock; afterwards
every delivery is in a final status, every ``delivered`` one was accepted on the wire, and the
only ones not delivered are those whose retries ran out.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cssc_core.cascade import CascadeEngine, RetryPolicy
from cssc_core.channels.config import ChannelConfig, ChannelFile
from cssc_core.plugins.manager import PluginHost
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import DeliveryStatus
from cssc_core.testing import T0, FakeClock
from tests.cascade.conftest import incident_network, message
from tests.reliability.tally import TALLY, fuzz_settings

FAULTS = ("ok", "raise", "hang", "none", "strangers", "junk", "short", "half-then-die")


class FaultyChannels:
    """A channel plugin (type ``faulty``) that misbehaves as its script says, batch by batch."""

    name = "faulty"

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.accepted: set[str] = set()
        self.faults = 0

    def _next(self) -> str:
        fault = self.script.pop(0) if self.script else "ok"
        self.faults += fault != "ok"
        return fault

    async def send(self, batch: Sequence[Outgoing]) -> Any:
        fault = self._next()
        if fault == "raise":
            raise ConnectionResetError("the provider went away")
        if fault == "hang":
            await asyncio.sleep(3600)
        if fault == "none":
            return None
        if fault == "strangers":
            return [SendResult.delivered(f"stranger-{copy.delivery}") for copy in batch]
        if fault == "junk":
            return ["delivered", 42, None]
        if fault == "short":
            self.accepted.update(copy.delivery for copy in batch[:1])
            return [SendResult.delivered(copy.delivery) for copy in batch[:1]]
        if fault == "half-then-die":
            self.accepted.update(copy.delivery for copy in batch[: len(batch) // 2])
            raise RuntimeError("died mid-batch")
        self.accepted.update(copy.delivery for copy in batch)
        return [SendResult.delivered(copy.delivery) for copy in batch]

    async def aclose(self) -> None:
        """Nothing to close."""

    def _make(self, settings: ChannelSettings) -> FaultyChannels:
        return self

    @hookimpl
    def cssc_delivery_channels(self) -> Iterable[ChannelPlugin]:
        """The faulty channel type."""
        return [ChannelPlugin(self.name, self._make, "misbehaves on purpose")]


@fuzz_settings(25)
@given(script=st.lists(st.sampled_from(FAULTS), max_size=12), seed=st.integers(0, 2**16))
def test_every_delivery_is_accounted_for_whatever_the_channel_does(script: list[str], seed: int) -> None:
    store = MemoryStore()
    store.replace_network(incident_network())
    plugin = FaultyChannels(list(script))
    host = PluginHost.load(entry_points=False)
    host.register(plugin, "faulty-channels")
    clock = FakeClock(T0)
    setup = ChannelFile(
        channels={
            "email": ChannelConfig("email", plugin.name, "email", secure=True),
            "sms": ChannelConfig("sms", plugin.name, "phone"),
        }
    )
    engine = CascadeEngine(
        store,
        host=host,
        clock=clock,
        channels=setup,
        rng=random.Random(seed),
        retry=RetryPolicy(max_attempts=4, base_s=60, jitter=0.5),
        send_timeout_s=0.05,
        batch_size=3,
    )
    engine.send(message(urgency="immediate", severity="severe"))
    for minutes in range(0, 24 * 60, 30):
        clock.set(T0 + timedelta(minutes=minutes))
        engine.tick()
    TALLY.faults_injected += plugin.faults
    deliveries = store.deliveries_of("msg-1")
    open_ = [d.id for d in deliveries if not d.status.is_final]
    delivered = [d.id for d in deliveries if d.status is DeliveryStatus.DELIVERED]
    unsent = [delivery for delivery in delivered if delivery not in plugin.accepted]
    failed = [d for d in deliveries if d.status is not DeliveryStatus.DELIVERED]
    TALLY.deliveries_expected += len(deliveries)
    TALLY.deliveries_accounted += len(deliveries) - len(open_) - len(unsent)
    assert open_ == []
    assert unsent == []
    for delivery in failed:
        # Retries ran out, or the copy was no longer needed (a relay request to a deputy, say).
        assert delivery.status in (DeliveryStatus.TECHNICAL_FAILURE, DeliveryStatus.CANCELLED), delivery

"""The outbox as a dispatcher drives it: claim, send through a channel, record; workers that die."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cssc_core.plugins import ChannelSettings, DeliveryStatusChange, Outgoing, PluginHost
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import Delivery, DeliveryStatus, DeliveryUpdate
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import (
    T0,
    FakeClock,
    RecordingChannel,
    RecordingChannelPlugin,
    RecordingPlugin,
    sample_cascade,
    sample_delivery,
    sample_message,
)

LEASE_S = 60.0


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "cssc.db")
    yield store
    store.close()


def copy_of(delivery: Delivery) -> Outgoing:
    return Outgoing(
        delivery.id,
        delivery.message,
        delivery.contact,
        delivery.channel,
        f"{delivery.contact}@example.org",
        delivery.kind.value,
        delivery.idempotency_key,
        "TLP:GREEN Test",
        "TLP:GREEN\nTest",
    )


def dispatch(
    store: Store, channel: RecordingChannel, clock: FakeClock, worker: str, *, record: bool = True
) -> int:
    """One dispatcher pass: claim what is due, send it, record the results (unless the worker dies)."""
    claimed = store.claim_due(clock.now(), 100, LEASE_S, worker)
    if not claimed:
        return 0
    results = asyncio.run(channel.send([copy_of(d) for d in claimed]))
    if record:
        retry_at = clock.now() + timedelta(minutes=2)
        updates = [DeliveryUpdate(r.delivery, r.status, clock.now(), r.reason, retry_at) for r in results]
        store.record_results(updates, worker, clock.now())
    return len(claimed)


def test_a_dead_worker_costs_duplicates_only_for_what_was_in_flight(store: Store) -> None:
    clock = FakeClock(T0)
    channel = RecordingChannel()
    store.start_cascade(sample_cascade(), sample_message(), [sample_delivery(f"d-{i}") for i in range(3)])

    assert dispatch(store, channel, clock, "w1", record=False) == 3  # w1 sends, then dies
    clock.advance(LEASE_S - 1)
    assert dispatch(store, channel, clock, "w2") == 0  # the lease still holds
    clock.advance(1)
    assert dispatch(store, channel, clock, "w2") == 3  # lapsed: w2 sends again and records
    late = store.record_results(
        [DeliveryUpdate("d-0", DeliveryStatus.PERMANENT_FAILURE, clock.now())], "w1", clock.now()
    )
    assert [r.reason for r in late.refused] == ["already delivered"]

    clock.advance(timedelta(days=1))
    assert dispatch(store, channel, clock, "w3") == 0  # delivered is never sent again
    assert sorted(o.delivery for o in channel.sent) == ["d-0", "d-0", "d-1", "d-1", "d-2", "d-2"]
    for delivery in store.deliveries_of("msg-1"):
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
        assert [c.status for c in delivery.history] == ["created", "sending", "sending", "delivered"]


def test_a_temporary_failure_is_retried_when_due_and_not_before(store: Store) -> None:
    clock = FakeClock(T0)
    channel = RecordingChannel({"d-1": DeliveryStatus.TEMPORARY_FAILURE})
    store.start_cascade(sample_cascade(), sample_message(), [sample_delivery("d-1"), sample_delivery("d-2")])

    assert dispatch(store, channel, clock, "w1") == 2
    assert store.next_due() == T0 + timedelta(minutes=2)
    clock.advance(timedelta(minutes=1))
    assert dispatch(store, channel, clock, "w1") == 0
    clock.advance(timedelta(minutes=1))
    assert dispatch(store, channel, clock, "w1") == 1
    assert store.undelivered("msg-1") == []
    assert store.next_due() is None
    assert [o.delivery for o in channel.attempts] == ["d-1", "d-2", "d-1"]


def test_event_hooks_hear_each_committed_change(store: Store) -> None:
    host = PluginHost.load(entry_points=False)
    events = RecordingPlugin()
    channels = RecordingChannelPlugin("recording")
    host.register(events, "events")
    host.register(channels, "channels")
    channel = host.channel_plugin("recording").open(ChannelSettings("email", "recording", "email"))
    store.start_cascade(sample_cascade(), sample_message(), [sample_delivery("d-1")])

    (claimed,) = store.claim_due(T0, 10, LEASE_S, "w1")
    host.delivery_status_changed([DeliveryStatusChange.of(claimed, "msg-1", "created", "sending", T0)])
    (result,) = asyncio.run(channel.send([copy_of(claimed)]))
    outcome = store.record_results([DeliveryUpdate(result.delivery, result.status, T0)], "w1", T0)
    host.delivery_status_changed(
        [DeliveryStatusChange.of(claimed, "msg-1", "sending", result.status, T0) for _ in outcome.applied]
    )

    assert [o.delivery for o in channels.channels["email"].sent] == ["d-1"]
    statuses = [(c.previous, c.status) for e in events.events for c in e.arguments["changes"]]
    assert statuses == [("created", "sending"), ("sending", "delivered")]

"""Workers that die holding leases: their deliveries are re-claimed once the lease lapses, their late
writes are refused, and every delivery ends recorded ``delivered`` exactly once.

Random interleavings of claims, results, deaths and the clock, on both built-in stores, checked
against a model of who holds which lease.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import DeliveryStatus, DeliveryUpdate
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import T0, sample_cascade, sample_delivery, sample_message
from tests.reliability.tally import TALLY, fuzz_settings

LEASE_S = 60
WORKERS = ("w1", "w2", "w3")
_steps = st.lists(
    st.tuples(
        st.sampled_from(["claim", "finish", "die", "wait"]),
        st.sampled_from(WORKERS),
        st.integers(1, 4),
        st.integers(0, 90),
    ),
    max_size=25,
)


@contextmanager
def _store(kind: str) -> Iterator[Store]:
    if kind == "memory":
        yield MemoryStore()
        return
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "cssc.db", synchronous="NORMAL")
        try:
            yield store
        finally:
            store.close()


def _finish(
    store: Store, worker: str, held: list[str], leases: dict[str, tuple[str, datetime]], now: datetime
) -> None:
    """Records ``worker``'s results and checks each acceptance against the model of leases."""
    outcome = store.record_results(
        [DeliveryUpdate(d, DeliveryStatus.DELIVERED, now) for d in held], worker, now
    )
    for delivery in held:
        owner, until = leases.get(delivery, ("", now))
        should = owner == worker and until > now
        assert (delivery in outcome.applied) is should, (delivery, worker, owner, until, now)
        if should:
            del leases[delivery]
    held.clear()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@fuzz_settings(40)
@given(count=st.integers(1, 8), steps=_steps)
def test_dead_workers_leases_are_reclaimed_and_their_late_writes_refused(
    kind: str, count: int, steps: list[tuple[str, str, int, int]]
) -> None:
    ids = [f"d-{i}" for i in range(count)]
    with _store(kind) as store:
        store.start_cascade(sample_cascade(), sample_message(), [sample_delivery(d) for d in ids])
        now = T0
        held: dict[str, list[str]] = {worker: [] for worker in WORKERS}
        leases: dict[str, tuple[str, datetime]] = {}  # the model: delivery -> (holder, lease end)
        for action, worker, limit, seconds in steps:
            if action == "claim":
                for delivery in store.claim_due(now, limit, LEASE_S, worker):
                    assert delivery.id not in leases or leases[delivery.id][1] <= now, "claimed twice"
                    leases[delivery.id] = (worker, now + timedelta(seconds=LEASE_S))
                    if delivery.id not in held[worker]:  # re-claimed by the same worker after a lapse
                        held[worker].append(delivery.id)
            elif action == "finish":
                _finish(store, worker, held[worker], leases, now)
            elif action == "die":
                # Killed holding its leases; its results never arrive (or arrive late, below).
                TALLY.faults_injected += 1 if held[worker] else 0
            else:
                now += timedelta(seconds=seconds)
        # The dead and the slow write late; then a fresh worker sweeps up after the leases lapse.
        for worker in WORKERS:
            _finish(store, worker, held[worker], leases, now)
        now += timedelta(seconds=LEASE_S + 1)
        sweep = store.claim_due(now, count, LEASE_S, "sweeper")
        leases.update({d.id: ("sweeper", now + timedelta(seconds=LEASE_S)) for d in sweep})
        _finish(store, "sweeper", [d.id for d in sweep], leases, now)
        delivered = [
            delivery
            for delivery in store.deliveries_of("msg-1")
            if delivery.status is DeliveryStatus.DELIVERED
            and [change.status for change in delivery.history].count(DeliveryStatus.DELIVERED) == 1
        ]
        TALLY.deliveries_expected += count
        TALLY.deliveries_accounted += len(delivered)
        assert len(delivered) == count

"""A hypothesis state machine that drives a backend and the in-memory reference side by side.

Every operation runs on both stores; the answers (or the class of the error raised) must be equal,
and after every step the stores must hold the same outbox. The machine also checks the promise that
matters most for at-least-once delivery: a delivery that reached a final status never changes again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import (
    RESULT_STATUSES,
    UPDATE_STATUSES,
    Acknowledgement,
    AuditEntry,
    Delivery,
    DeliveryStatus,
    DeliveryUpdate,
    Timer,
)
from cssc_core.testing._samples import (
    T0,
    sample_cascade,
    sample_delivery,
    sample_message,
    sample_network,
    sample_organisation,
)

__all__ = ["store_machine"]

T = TypeVar("T")

MESSAGES = ("m1", "m2", "m3")
DELIVERIES = tuple(f"d{i}" for i in range(10))
WORKERS = ("w1", "w2")
CELLS = (None, ("EAST", "retail"), ("SCOT", "faith"))
ORGANISATIONS = ("org-0002", "org-7", "org-8")
REGIONS = ("EAST", "WALES")
CONTACTS = ("c-0001", "c-0003", "org-7-c1", "nobody")

_offsets = st.integers(min_value=-5, max_value=30).map(lambda minutes: timedelta(minutes=minutes))
_new_delivery = st.tuples(
    st.sampled_from(DELIVERIES),
    st.sampled_from([DeliveryStatus.CREATED, DeliveryStatus.HELD]),
    st.none() | _offsets,
)


def _mostly(identifiers: list[str]) -> st.SearchStrategy[str]:
    """Delivery ids drawn from ``identifiers`` as often as from all of :data:`DELIVERIES` (which
    names unknown ones too), so that writes mostly reach the deliveries they were drawn for."""
    everything = st.sampled_from(DELIVERIES)
    return st.sampled_from(identifiers) | everything if identifiers else everything


def _outcome(call: Callable[[Store], T], store: Store) -> tuple[str, Any]:
    try:
        return "ok", call(store)
    except Exception as error:
        return "raised", type(error).__name__


def _asking(method: str, *args: Any) -> Callable[[Store], Any]:
    def ask(store: Store) -> Any:
        return getattr(store, method)(*args)

    return ask


def store_machine(factory: Callable[[], Store]) -> type[RuleBasedStateMachine]:
    """A state machine class comparing stores made by ``factory`` with :class:`MemoryStore`.

    Args:
        factory: Makes a new, empty store of the backend under test; called once per run.
    """

    class StoreMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.reference = MemoryStore()
            self.store = factory()
            self.now = T0
            self.finals: dict[str, Delivery] = {}

        def teardown(self) -> None:
            self.store.close()

        def same(self, call: Callable[[Store], T]) -> None:
            expected = _outcome(call, self.reference)
            actual = _outcome(call, self.store)
            assert actual == expected, f"backend gave {actual}, the reference {expected}"

        def deliveries(
            self, message: str, entries: list[tuple[str, DeliveryStatus, timedelta | None]]
        ) -> list[Delivery]:
            return [
                sample_delivery(
                    identifier,
                    message,
                    status=status,
                    not_before=None if offset is None else self.now + offset,
                    at=self.now,
                )
                for identifier, status, offset in entries
            ]

        @rule(message=st.sampled_from(MESSAGES), entries=st.lists(_new_delivery, max_size=4))
        def start_cascade(
            self, message: str, entries: list[tuple[str, DeliveryStatus, timedelta | None]]
        ) -> None:
            deliveries = self.deliveries(message, entries)
            self.same(
                lambda s: s.start_cascade(
                    sample_cascade(message, at=self.now), sample_message(message, sent=self.now), deliveries
                )
            )

        @initialize(entries=st.lists(_new_delivery, min_size=2, max_size=6, unique_by=lambda entry: entry[0]))
        def first_cascade(self, entries: list[tuple[str, DeliveryStatus, timedelta | None]]) -> None:
            # Every run starts with an outbox to work on: the other rules mostly find one that way.
            self.start_cascade(MESSAGES[0], entries)

        @rule(message=st.sampled_from(MESSAGES), entries=st.lists(_new_delivery, min_size=1, max_size=3))
        def add_deliveries(
            self, message: str, entries: list[tuple[str, DeliveryStatus, timedelta | None]]
        ) -> None:
            deliveries = self.deliveries(message, entries)
            self.same(lambda s: s.add_deliveries(deliveries))

        @rule(minutes=st.integers(min_value=0, max_value=20))
        def advance(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)

        @rule(
            limit=st.integers(min_value=0, max_value=4),
            lease_s=st.sampled_from([30.0, 300.0, 3600.0]),
            worker=st.sampled_from(WORKERS),
        )
        def claim_due(self, limit: int, lease_s: float, worker: str) -> None:
            self.same(lambda s: s.claim_due(self.now, limit, lease_s, worker))

        @rule(data=st.data())
        def record_results(self, data: st.DataObject) -> None:
            # Mostly deliveries some worker is sending, so that leases are exercised, not just refusals.
            sending = [
                d
                for m in MESSAGES
                for d in self.reference.deliveries_of(m)
                if d.status is DeliveryStatus.SENDING
            ]
            owners = [d.lease_owner for d in sending if d.lease_owner]
            worker = data.draw(
                st.sampled_from(owners) if owners else st.sampled_from(WORKERS), label="worker"
            )
            results = data.draw(
                st.lists(
                    st.tuples(
                        _mostly([d.id for d in sending]),
                        st.sampled_from(sorted(RESULT_STATUSES)),
                        _offsets,
                    ),
                    max_size=4,
                ),
                label="results",
            )
            batch = [
                DeliveryUpdate(
                    identifier,
                    status,
                    self.now,
                    reason=None if status is DeliveryStatus.DELIVERED else "failed",
                    next_attempt_at=self.now + abs(offset) + timedelta(seconds=1),
                )
                for identifier, status, offset in results
            ]
            self.same(lambda s: s.record_results(batch, worker, self.now))

        @rule(seconds=st.integers(min_value=1, max_value=90))
        def advance_a_little(self, seconds: int) -> None:
            self.now += timedelta(seconds=seconds)

        @rule(data=st.data())
        def update_deliveries(self, data: st.DataObject) -> None:
            # Mostly deliveries that exist, so that updates change them rather than being refused.
            stored = [d.id for m in MESSAGES for d in self.reference.deliveries_of(m)]
            updates = data.draw(
                st.lists(
                    st.tuples(
                        _mostly(stored),
                        st.sampled_from(sorted(UPDATE_STATUSES)),
                        st.none() | _offsets,
                        st.sampled_from(CELLS),
                    ),
                    max_size=4,
                ),
                label="updates",
            )
            batch = [
                DeliveryUpdate(
                    identifier,
                    status,
                    self.now,
                    reason="updated",
                    not_before=None if offset is None else self.now + offset,
                    cell=cell,
                )
                for identifier, status, offset, cell in updates
            ]
            self.same(lambda s: s.update_deliveries(batch))

        @rule(
            timer=st.sampled_from(["t1", "t2", "t3"]),
            message=st.sampled_from(MESSAGES),
            offset=_offsets,
            remove=st.booleans(),
        )
        def timers(self, timer: str, message: str, offset: timedelta, remove: bool) -> None:
            if remove:
                self.same(lambda s: s.remove_timers([timer]))
            else:
                self.same(lambda s: s.add_timers([Timer(timer, message, "ack-timeout", self.now + offset)]))
            self.same(lambda s: s.due_timers(self.now, 2))
            self.same(lambda s: s.timers_of(message))

        @rule(message=st.sampled_from(MESSAGES), contact=st.sampled_from(["c1", "c2"]))
        def acknowledge(self, message: str, contact: str) -> None:
            self.same(lambda s: s.record_acknowledgement(Acknowledgement(message, contact, self.now)))

        @rule()
        def replace_network(self) -> None:
            self.same(lambda s: s.replace_network(sample_network()))

        @rule(
            organisations=st.lists(st.sampled_from(ORGANISATIONS), max_size=3),
            region=st.sampled_from(REGIONS),
        )
        def upsert_organisations(self, organisations: list[str], region: str) -> None:
            batch = [sample_organisation(identifier, region=region) for identifier in organisations]
            self.same(lambda s: s.upsert_organisations(batch))

        @rule(contact=st.sampled_from(CONTACTS))
        def erase_contact(self, contact: str) -> None:
            self.same(lambda s: s.erase_contact(contact, self.now))

        @rule(
            event=st.sampled_from(["cascade-started", "delivery-failed"]), message=st.sampled_from(MESSAGES)
        )
        def append_audit(self, event: str, message: str) -> None:
            entry = AuditEntry(self.now, event, message=message, detail="550 sam@example.org unknown")
            self.same(lambda s: s.append_audit([entry]))

        @rule(key=st.sampled_from(["a", "b"]), value=st.sampled_from(["1", "2"]), keep=st.booleans())
        def settings(self, key: str, value: str, keep: bool) -> None:
            if keep:
                self.same(lambda s: s.setting_or_default(key, value))
            else:
                self.same(lambda s: s.set_setting(key, value))

        @rule(message=st.sampled_from(MESSAGES))
        def finish_cascade(self, message: str) -> None:
            self.same(lambda s: s.finish_cascade(message, self.now))

        @invariant()
        def the_same_outbox(self) -> None:
            for message in MESSAGES:
                for method in ("deliveries_of", "undelivered", "acknowledgements", "get_cascade"):
                    self.same(_asking(method, message))
            self.same(_asking("next_due"))
            self.same(_asking("load_network"))
            self.same(_asking("audit_log"))
            self.same(_asking("messages"))
            self.same(_asking("cascades"))
            self.same(lambda s: s.cascades(unfinished=True, since=self.now - timedelta(minutes=5)))
            for key in ("a", "b"):
                self.same(_asking("get_setting", key))

        @invariant()
        def final_statuses_stay(self) -> None:
            for message in MESSAGES:
                for delivery in self.store.deliveries_of(message):
                    if delivery.id in self.finals:
                        assert delivery == self.finals[delivery.id], (
                            f"{delivery.id} changed after a final status"
                        )
                    elif delivery.status.is_final:
                        self.finals[delivery.id] = attrs.evolve(delivery)

    StoreMachine.__name__ = StoreMachine.__qualname__ = "StoreMachine"
    return StoreMachine

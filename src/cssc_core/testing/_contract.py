"""The contract every storage backend passes: a pytest base class to subclass with your backend.

Example::

    from cssc_core.testing import StoreContract

    class TestMyBackend(StoreContract):
        def new_store(self, directory):
            return MyStore(directory / "data")

The class holds one test per promise of :class:`~cssc_core.storage.protocol.Store`, plus a hypothesis
state machine that runs random operations against your backend and the in-memory reference side by
side and fails at the first answer that differs.
"""

from __future__ import annotations

import abc
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from cssc_core.errors import ConflictError, NotFoundError, ValidationError
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import (
    Acknowledgement,
    AuditEntry,
    DeliveryRef,
    DeliveryStatus,
    DeliveryUpdate,
    Refusal,
    StatusChange,
    Timer,
    WriteOutcome,
)
from cssc_core.testing._samples import (
    T0,
    sample_cascade,
    sample_delivery,
    sample_message,
    sample_network,
    sample_organisation,
)
from cssc_core.testing._stateful import store_machine

__all__ = ["StoreContract"]

S = DeliveryStatus


class _Boom(Exception):
    """Raised inside a transaction by the tests to make it roll back."""


def _minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


class StoreContract(abc.ABC):
    """Tests every storage backend must pass. Subclass it in a ``test_*.py`` module as ``Test<Name>``
    and implement :meth:`new_store`.

    Attributes:
        stateful_examples: How many random runs the state machine makes.
        stateful_steps: How many operations each run makes.
    """

    stateful_examples: ClassVar[int] = 40
    stateful_steps: ClassVar[int] = 40

    @abc.abstractmethod
    def new_store(self, directory: Path) -> Store:
        """A new, empty store keeping whatever files it needs in ``directory`` (which exists)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        """A new, empty store, closed after the test."""
        store = self.new_store(tmp_path)
        try:
            yield store
        finally:
            store.close()

    def _with_cascade(self, store: Store, *deliveries: str, message: str = "msg-1") -> None:
        store.start_cascade(
            sample_cascade(message),
            sample_message(message),
            [sample_delivery(d, message) for d in deliveries],
        )

    @staticmethod
    def _fail_after(store: Store, writes: Callable[[], object], *, durable: bool = True) -> None:
        """Runs ``writes`` in a transaction, then fails it."""
        with store.transaction(durable=durable):
            writes()
            raise _Boom

    # --- the network -------------------------------------------------------------------------------

    def test_follows_the_store_protocol(self, store: Store) -> None:
        assert isinstance(store, Store)

    def test_a_new_store_has_no_network(self, store: Store) -> None:
        assert store.load_network() is None

    def test_a_network_comes_back_equal(self, store: Store) -> None:
        network = sample_network()
        store.replace_network(network)
        assert store.load_network() == network

    def test_replacing_the_network_forgets_the_old_one(self, store: Store) -> None:
        store.replace_network(sample_network())
        smaller = attrs.evolve(sample_network(), organisations=(sample_organisation("org-9"),), roles=())
        store.replace_network(smaller)
        assert store.load_network() == smaller

    def test_a_failed_transaction_keeps_the_network_it_had(self, store: Store) -> None:
        network = sample_network()
        store.replace_network(network)
        with pytest.raises(_Boom):
            self._fail_after(
                store, lambda: store.replace_network(attrs.evolve(network, organisations=(), roles=()))
            )
        assert store.load_network() == network

    def test_upsert_replaces_in_place_and_appends_new_ones(self, store: Store) -> None:
        store.replace_network(sample_network())
        renamed = attrs.evolve(sample_network().organisations[1], name="Renamed chapel")
        network = store.upsert_organisations([sample_organisation("org-0003"), renamed])
        assert [o.id for o in network.organisations] == ["org-0001", "org-0002", "org-0003"]
        assert network.organisation("org-0002").name == "Renamed chapel"
        assert store.load_network() == network

    def test_upsert_into_an_empty_store_uses_the_reference_data(self, store: Store) -> None:
        network = store.upsert_organisations([sample_organisation("org-1")])
        assert network.region("EAST").name == "Eastern"
        assert store.load_network() == network

    def test_an_invalid_upsert_writes_nothing(self, store: Store) -> None:
        store.replace_network(sample_network())
        # Drops c-0001, which holds roles: the result is not a valid network.
        broken = attrs.evolve(sample_network().organisations[0], contacts=())
        with pytest.raises(ValidationError):
            store.upsert_organisations([sample_organisation("org-0009"), broken])
        assert store.load_network() == sample_network()

    def test_erasing_a_contact_leaves_a_tombstone(self, store: Store) -> None:
        store.replace_network(sample_network())
        grave = store.erase_contact("c-0001", T0)
        network = store.load_network()
        assert network is not None
        stored = network.contact("c-0001")
        assert stored == grave
        assert (stored.email, stored.phone, stored.webhook, stored.quiet_hours) == (None, None, None, None)
        assert stored.name != "Sam Example"
        assert stored.channels == ()
        assert network.roles_of("c-0001") == ()
        assert network.contact("c-0002") == sample_network().contact("c-0002")
        (entry,) = store.audit_log()
        assert (entry.event, entry.contact) == ("contact-erased", "c-0001")

    def test_every_network_write_gives_a_new_revision(self, store: Store) -> None:
        seen = [store.network_revision()]
        store.replace_network(sample_network())
        seen.append(store.network_revision())
        store.upsert_organisations([sample_organisation("org-0003")])
        seen.append(store.network_revision())
        store.erase_contact("c-0001", T0)
        seen.append(store.network_revision())
        store.set_setting("unrelated", "1")
        store.load_network()
        assert store.network_revision() == seen[-1]
        if seen[0] is not None:
            assert len(set(seen)) == len(seen)

    def test_a_failed_network_write_keeps_the_revision(self, store: Store) -> None:
        store.replace_network(sample_network())
        before = store.network_revision()
        with pytest.raises(ValidationError):
            store.upsert_organisations([attrs.evolve(sample_network().organisations[0], contacts=())])
        assert store.network_revision() == before

    def test_erasing_an_unknown_contact_fails(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.erase_contact("c-0001", T0)
        store.replace_network(sample_network())
        with pytest.raises(NotFoundError):
            store.erase_contact("nobody", T0)

    # --- messages and cascades ---------------------------------------------------------------------

    def test_a_cascade_is_stored_with_its_message_and_deliveries(self, store: Store) -> None:
        self._with_cascade(store, "d-2", "d-1")
        assert store.get_message("msg-1") == sample_message("msg-1")
        assert store.get_cascade("msg-1") == sample_cascade("msg-1")
        assert store.deliveries_of("msg-1") == [sample_delivery("d-1"), sample_delivery("d-2")]
        assert store.get_delivery("d-2") == sample_delivery("d-2")
        assert store.get_delivery("d-3") is None
        assert store.get_message("msg-2") is None

    def test_a_cascade_of_a_stored_message_is_refused_whole(self, store: Store) -> None:
        self._with_cascade(store, "d-1")
        with pytest.raises(ConflictError):
            self._with_cascade(store, "d-2")
        assert store.get_delivery("d-2") is None

    def test_a_cascade_with_a_repeated_idempotency_key_writes_nothing(self, store: Store) -> None:
        self._with_cascade(store, "d-1")
        twin = attrs.evolve(
            sample_delivery("d-2", "msg-2"), idempotency_key=sample_delivery("d-1").idempotency_key
        )
        with pytest.raises(ConflictError):
            store.start_cascade(sample_cascade("msg-2"), sample_message("msg-2"), [twin])
        assert store.get_message("msg-2") is None
        assert store.get_cascade("msg-2") is None

    def test_messages_come_in_sent_order(self, store: Store) -> None:
        store.start_cascade(sample_cascade("b"), sample_message("b", sent=T0), [])
        store.start_cascade(sample_cascade("a"), sample_message("a", sent=T0 + _minutes(1)), [])
        store.start_cascade(sample_cascade("c"), sample_message("c", sent=T0), [])
        assert [m.id for m in store.messages()] == ["b", "c", "a"]

    def test_finished_cascades_leave_the_unfinished_list(self, store: Store) -> None:
        self._with_cascade(store, message="m1")
        self._with_cascade(store, message="m2")
        store.finish_cascade("m1", T0 + _minutes(5))
        assert [c.message for c in store.cascades()] == ["m1", "m2"]
        assert [c.message for c in store.cascades(unfinished=True)] == ["m2"]
        cascade = store.get_cascade("m1")
        assert cascade is not None
        assert cascade.finished_at == T0 + _minutes(5)
        with pytest.raises(NotFoundError):
            store.finish_cascade("m3", T0)

    def test_cascades_started_since_a_time(self, store: Store) -> None:
        for minute, message in ((0, "m0"), (5, "m5"), (5, "m4"), (9, "m9")):
            cascade = sample_cascade(message, at=T0 + _minutes(minute))
            store.start_cascade(cascade, sample_message(message), [])
        store.finish_cascade("m9", T0 + _minutes(10))
        assert [c.message for c in store.cascades(since=T0 + _minutes(5))] == ["m4", "m5", "m9"]
        assert [c.message for c in store.cascades(since=T0 + _minutes(5), unfinished=True)] == ["m4", "m5"]
        assert [c.message for c in store.cascades(since=T0 - _minutes(1))] == ["m0", "m4", "m5", "m9"]
        assert store.cascades(since=T0 + _minutes(10)) == []

    # --- the delivery outbox -----------------------------------------------------------------------

    def test_deliveries_are_found_by_their_ids(self, store: Store) -> None:
        self._with_cascade(store, "d-3", "d-1", "d-2")
        found = store.get_deliveries(["d-3", "d-unknown", "d-1", "d-3"])
        assert [d.id for d in found] == ["d-1", "d-3"]
        assert found[0] == store.get_delivery("d-1")
        assert store.get_deliveries([]) == []
        assert store.delivery_refs(["d-3", "d-unknown", "d-1"]) == [d.ref() for d in found]
        assert store.delivery_refs([]) == []
        many = [f"d-{i}" for i in range(1200)]
        assert [d.id for d in store.get_deliveries(many)] == ["d-1", "d-2", "d-3"]
        assert [ref.id for ref in store.delivery_refs(many)] == ["d-1", "d-2", "d-3"]

    def test_deliveries_of_an_unknown_message_are_refused(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.add_deliveries([sample_delivery("d-1", "nope")])

    def test_adding_deliveries_is_all_or_nothing(self, store: Store) -> None:
        self._with_cascade(store, "d-1")
        with pytest.raises(ConflictError):
            store.add_deliveries([sample_delivery("d-2"), sample_delivery("d-1")])
        assert store.get_delivery("d-2") is None
        store.add_deliveries([sample_delivery("d-2")])
        assert [d.id for d in store.deliveries_of("msg-1")] == ["d-1", "d-2"]

    def test_claims_take_what_is_due_in_due_order(self, store: Store) -> None:
        self._with_cascade(store)
        store.add_deliveries(
            [
                sample_delivery("d-late", not_before=T0 + _minutes(10)),
                sample_delivery("d-b"),
                sample_delivery("d-a"),
                sample_delivery("d-soon", not_before=T0 + _minutes(1)),
                sample_delivery("d-held", status=S.HELD),
            ]
        )
        claimed = store.claim_due(T0 + _minutes(2), limit=10, lease_s=60, worker="w1")
        # Equally due, they go in the order they were written (not by id).
        assert [d.id for d in claimed] == ["d-b", "d-a", "d-soon"]
        first = claimed[0]
        assert (first.status, first.attempts, first.lease_owner) == (S.SENDING, 1, "w1")
        assert first.lease_until == T0 + _minutes(3)
        assert first.history[-1] == StatusChange(S.SENDING, T0 + _minutes(2))
        assert store.get_delivery("d-b") == first
        assert store.claim_due(T0 + _minutes(2), limit=10, lease_s=60, worker="w2") == []

    def test_claims_respect_the_limit(self, store: Store) -> None:
        self._with_cascade(store, "d-1", "d-2", "d-3")
        assert [d.id for d in store.claim_due(T0, 2, 60, "w1")] == ["d-1", "d-2"]
        assert [d.id for d in store.claim_due(T0, 2, 60, "w1")] == ["d-3"]

    def test_a_lapsed_lease_is_claimed_again(self, store: Store) -> None:
        self._with_cascade(store, "d-1")
        store.claim_due(T0, 10, 30, "w1")
        assert store.claim_due(T0 + timedelta(seconds=29), 10, 30, "w2") == []
        (again,) = store.claim_due(T0 + timedelta(seconds=30), 10, 30, "w2")
        assert (again.lease_owner, again.attempts) == ("w2", 2)

    def test_results_are_recorded_under_a_live_lease(self, store: Store) -> None:
        self._with_cascade(store, "d-1", "d-2")
        store.claim_due(T0, 10, 60, "w1")
        retry_at = T0 + _minutes(5)
        outcome = store.record_results(
            [
                DeliveryUpdate("d-1", S.DELIVERED, T0 + timedelta(seconds=1)),
                DeliveryUpdate("d-2", S.TEMPORARY_FAILURE, T0 + timedelta(seconds=2), "timeout", retry_at),
            ],
            "w1",
            T0 + timedelta(seconds=3),
        )
        assert outcome == WriteOutcome(("d-1", "d-2"))
        done, retried = store.get_delivery("d-1"), store.get_delivery("d-2")
        assert done is not None
        assert retried is not None
        assert (done.status, done.lease_owner, done.lease_until) == (S.DELIVERED, None, None)
        assert [change.status for change in done.history] == [S.CREATED, S.SENDING, S.DELIVERED]
        assert (retried.status, retried.reason, retried.next_attempt_at) == (
            S.TEMPORARY_FAILURE,
            "timeout",
            retry_at,
        )
        assert retried.history[-1] == StatusChange(S.TEMPORARY_FAILURE, T0 + timedelta(seconds=2), "timeout")
        assert store.claim_due(retry_at - timedelta(seconds=1), 10, 60, "w1") == []
        assert [d.id for d in store.claim_due(retry_at, 10, 60, "w1")] == ["d-2"]

    def test_a_stale_worker_cannot_write(self, store: Store) -> None:
        self._with_cascade(store, "d-1", "d-2")
        store.claim_due(T0, 10, 30, "w1")
        store.claim_due(T0 + _minutes(1), 1, 30, "w2")  # d-1 goes to w2; d-2's lease has lapsed too
        outcome = store.record_results(
            [
                DeliveryUpdate("d-1", S.DELIVERED, T0 + _minutes(1)),
                DeliveryUpdate("d-2", S.DELIVERED, T0 + _minutes(1)),
            ],
            "w1",
            T0 + _minutes(1),
        )
        assert outcome == WriteOutcome(
            (), (Refusal("d-1", "not leased to w1"), Refusal("d-2", "lease lapsed"))
        )
        d1, d2 = store.get_delivery("d-1"), store.get_delivery("d-2")
        assert d1 is not None
        assert d2 is not None
        assert (d1.status, d1.lease_owner) == (S.SENDING, "w2")
        assert (d2.status, d2.lease_owner) == (S.SENDING, "w1")

    def test_one_refused_result_does_not_stop_the_others(self, store: Store) -> None:
        self._with_cascade(store, "d-1", "d-2")
        store.claim_due(T0, 10, 60, "w1")
        outcome = store.record_results(
            [
                DeliveryUpdate("d-1", S.DELIVERED, T0),
                DeliveryUpdate("d-1", S.PERMANENT_FAILURE, T0, "twice"),
                DeliveryUpdate("ghost", S.DELIVERED, T0),
                DeliveryUpdate("d-2", S.PERMANENT_FAILURE, T0, "550 mailbox unavailable"),
            ],
            "w1",
            T0,
        )
        assert outcome == WriteOutcome(
            ("d-1", "d-2"), (Refusal("d-1", "already delivered"), Refusal("ghost", "unknown delivery"))
        )

    def test_final_statuses_are_never_overwritten(self, store: Store) -> None:
        self._with_cascade(store, "d-1", "d-2")
        store.claim_due(T0, 10, 60, "w1")
        store.record_results([DeliveryUpdate("d-1", S.DELIVERED, T0)], "w1", T0)
        store.update_deliveries([DeliveryUpdate("d-2", S.CANCELLED, T0, "msg-2")])
        before = store.deliveries_of("msg-1")
        later = T0 + _minutes(1)
        assert store.update_deliveries(
            [DeliveryUpdate("d-1", S.CANCELLED, later), DeliveryUpdate("d-2", S.CREATED, later)]
        ).refused == (Refusal("d-1", "already delivered"), Refusal("d-2", "already cancelled"))
        assert store.record_results([DeliveryUpdate("d-2", S.DELIVERED, later)], "w1", later).refused == (
            Refusal("d-2", "already cancelled"),
        )
        assert store.claim_due(T0 + timedelta(days=1), 10, 60, "w1") == []
        assert store.deliveries_of("msg-1") == before

    def test_a_cancel_while_sending_refuses_the_worker(self, store: Store) -> None:
        self._with_cascade(store, "d-1")
        store.claim_due(T0, 10, 60, "w1")
        assert store.update_deliveries([DeliveryUpdate("d-1", S.CANCELLED, T0, "cancelled")]).applied == (
            "d-1",
        )
        outcome = store.record_results([DeliveryUpdate("d-1", S.DELIVERED, T0)], "w1", T0)
        assert outcome.refused == (Refusal("d-1", "already cancelled"),)

    def test_a_release_makes_a_held_copy_due(self, store: Store) -> None:
        self._with_cascade(store)
        store.add_deliveries([sample_delivery("d-1", status=S.HELD)])
        assert store.next_due() is None
        release_at = T0 + _minutes(7)
        outcome = store.update_deliveries(
            [DeliveryUpdate("d-1", S.CREATED, release_at, not_before=release_at, cell=("EAST", "retail"))]
        )
        assert outcome.applied == ("d-1",)
        released = store.get_delivery("d-1")
        assert released is not None
        assert (released.status, released.cell, released.not_before) == (
            S.CREATED,
            ("EAST", "retail"),
            release_at,
        )
        assert store.next_due() == release_at
        assert [d.id for d in store.claim_due(release_at, 10, 60, "w1")] == ["d-1"]

    def test_statuses_outside_a_write_kind_are_programming_errors(self, store: Store) -> None:
        self._with_cascade(store, "d-1")
        with pytest.raises(ValueError, match="cannot record"):
            store.record_results([DeliveryUpdate("d-1", S.CANCELLED, T0)], "w1", T0)
        with pytest.raises(ValueError, match="not set by an update"):
            store.update_deliveries([DeliveryUpdate("d-1", S.DELIVERED, T0)])
        assert store.get_delivery("d-1") == sample_delivery("d-1")

    def test_undelivered_lists_open_deliveries_in_write_order(self, store: Store) -> None:
        self._with_cascade(store, "d-3", "d-1", "d-2")
        self._with_cascade(store, "e-1", message="msg-2")
        store.claim_due(T0, 1, 60, "w1")
        store.record_results([DeliveryUpdate("d-3", S.DELIVERED, T0)], "w1", T0)
        store.claim_due(T0, 1, 60, "w1")
        assert store.undelivered("msg-1") == [
            DeliveryRef("d-1", "c-0001", "email", "message", "sending"),
            DeliveryRef("d-2", "c-0001", "email", "message", "created"),
        ]
        assert store.undelivered("msg-3") == []
        assert [ref.id for ref in store.undelivered("msg-1", limit=1)] == ["d-1"]

    def test_next_due_covers_deliveries_and_timers(self, store: Store) -> None:
        assert store.next_due() is None
        self._with_cascade(store)
        store.add_deliveries([sample_delivery("d-1", not_before=T0 + _minutes(9))])
        store.add_timers([Timer("t-1", "msg-1", "relay-deadline", T0 + _minutes(4), "EAST/retail")])
        assert store.next_due() == T0 + _minutes(4)
        store.remove_timers(["t-1", "t-unknown"])
        assert store.next_due() == T0 + _minutes(9)

    # --- timers, acknowledgements, audit, settings -------------------------------------------------

    def test_timers_fall_due_in_order_and_can_be_replaced(self, store: Store) -> None:
        store.add_timers(
            [
                Timer("t-2", "m", "ack-timeout", T0 + _minutes(2), "c-1"),
                Timer("t-1", "m", "ack-timeout", T0 + _minutes(2)),
                Timer("t-3", "m", "relay-deadline", T0 + _minutes(3)),
            ]
        )
        assert [t.id for t in store.due_timers(T0 + _minutes(2), 10)] == ["t-1", "t-2"]
        store.add_timers([Timer("t-1", "m", "ack-timeout", T0 + _minutes(5))])
        assert store.due_timers(T0 + _minutes(3), 1) == [
            Timer("t-2", "m", "ack-timeout", T0 + _minutes(2), "c-1")
        ]

    def test_timers_of_a_message_are_listed_in_due_order(self, store: Store) -> None:
        store.add_timers(
            [
                Timer("t-b", "m", "ack-timeout", T0 + _minutes(2), "c-1"),
                Timer("t-a", "m", "relay-deadline", T0 + _minutes(2), "EAST/retail"),
                Timer("t-c", "m", "expiry", T0 + _minutes(1)),
                Timer("t-x", "other", "expiry", T0),
            ]
        )
        assert [t.id for t in store.timers_of("m")] == ["t-c", "t-a", "t-b"]
        store.remove_timers(["t-a"])
        assert [t.id for t in store.timers_of("m")] == ["t-c", "t-b"]
        assert [t.id for t in store.timers_of("m", limit=1)] == ["t-c"]
        assert store.timers_of("unknown") == []

    def test_an_acknowledgement_is_recorded_once(self, store: Store) -> None:
        first = Acknowledgement("msg-1", "c-2", T0, "portal")
        assert store.record_acknowledgement(first)
        assert not store.record_acknowledgement(Acknowledgement("msg-1", "c-2", T0 + _minutes(1), "cli"))
        store.record_acknowledgement(Acknowledgement("msg-1", "c-1", T0))
        assert store.get_acknowledgement("msg-1", "c-2") == first
        assert store.get_acknowledgement("msg-1", "c-3") is None
        assert [a.contact for a in store.acknowledgements("msg-1")] == ["c-1", "c-2"]

    def test_the_audit_log_numbers_entries_and_holds_no_addresses(self, store: Store) -> None:
        store.append_audit(
            [
                AuditEntry(T0, "cascade-started", message="m1"),
                AuditEntry(T0, "delivery-failed", message="m2", delivery="d-1", detail="550 sam@example.org"),
            ]
        )
        store.append_audit([AuditEntry(T0, "cascade-finished", message="m1")])
        log = store.audit_log()
        assert [(e.seq, e.event) for e in log] == [
            (1, "cascade-started"),
            (2, "delivery-failed"),
            (3, "cascade-finished"),
        ]
        assert "sam@example.org" not in log[1].detail
        assert [e.seq for e in store.audit_log(message_id="m1")] == [1, 3]
        assert [e.seq for e in store.audit_log(message_id="m1", events=["cascade-finished"])] == [3]
        assert [e.seq for e in store.audit_log(events=("cascade-started", "delivery-failed"))] == [1, 2]
        assert store.audit_log(message_id="m2", events=()) == []
        assert [e.seq for e in store.audit_log(after=2)] == [3]
        store.append_audit([AuditEntry(T0, "acknowledged", message="m1", contact="c-1")])
        assert [e.seq for e in store.audit_log(message_id="m1", contact="c-1")] == [4]
        assert store.audit_log(message_id="m1", events=("cascade-started",), contact="c-1") == []

    def test_settings_keep_the_first_default(self, store: Store) -> None:
        assert store.get_setting("ack-key") is None
        assert store.setting_or_default("ack-key", "first") == "first"
        assert store.setting_or_default("ack-key", "second") == "first"
        store.set_setting("ack-key", "third")
        assert store.get_setting("ack-key") == "third"

    # --- transactions ------------------------------------------------------------------------------

    def test_a_transaction_is_all_or_nothing(self, store: Store) -> None:
        self._with_cascade(store, "d-1")

        def writes() -> None:
            store.add_deliveries([sample_delivery("d-2")])
            store.set_setting("k", "v")
            store.claim_due(T0, 10, 60, "w1")
            store.record_acknowledgement(Acknowledgement("msg-1", "c-0001", T0))

        with pytest.raises(_Boom):
            self._fail_after(store, writes)
        assert store.deliveries_of("msg-1") == [sample_delivery("d-1")]
        assert store.get_setting("k") is None
        assert store.acknowledgements("msg-1") == []

    def test_an_inner_failure_undoes_only_the_inner_block(self, store: Store) -> None:
        with store.transaction():
            store.set_setting("outer", "kept")
            with pytest.raises(_Boom):
                self._fail_after(store, lambda: store.set_setting("inner", "lost"))
        assert (store.get_setting("outer"), store.get_setting("inner")) == ("kept", None)

    def test_a_transaction_that_need_not_be_durable_is_still_all_or_nothing(self, store: Store) -> None:
        with store.transaction(durable=False):
            store.set_setting("kept", "yes")
        with pytest.raises(_Boom):
            self._fail_after(store, lambda: store.set_setting("lost", "yes"), durable=False)
        assert (store.get_setting("kept"), store.get_setting("lost")) == ("yes", None)

    def test_a_failed_write_inside_a_transaction_leaves_no_part_behind(self, store: Store) -> None:
        self._with_cascade(store, "d-1")
        with store.transaction():
            with pytest.raises(ConflictError):
                store.add_deliveries([sample_delivery("d-2"), sample_delivery("d-1")])
            store.set_setting("after", "yes")
        assert store.get_delivery("d-2") is None
        assert store.get_setting("after") == "yes"

    # --- against the reference ---------------------------------------------------------------------

    def test_behaves_like_the_reference(self) -> None:
        """Random operations give the same answers as :class:`~cssc_core.storage.memory.MemoryStore`."""
        with tempfile.TemporaryDirectory() as directory:
            counter = iter(range(1_000_000))

            def factory() -> Store:
                folder = Path(directory) / str(next(counter))
                folder.mkdir()
                return self.new_store(folder)

            run_state_machine_as_test(
                store_machine(factory),
                settings=settings(
                    max_examples=self.stateful_examples,
                    stateful_step_count=self.stateful_steps,
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow],
                ),
            )

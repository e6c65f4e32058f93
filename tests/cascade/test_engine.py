"""The cascade lifecycle and its guarantees, one rule at a time."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from cssc_core.cascade import RetryPolicy
from cssc_core.domain.models import QuietHours
from cssc_core.errors import NotARecipientError, NotFoundError, ValidationError
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import DeliveryStatus
from cssc_core.testing import T0
from tests.cascade.conftest import Harness, incident_network, message

RETAIL = {"organisations": ["retail-isls", "shop"]}


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def policy(**defaults: str) -> object:
    lines = "\n".join(f'{key} = "{value}"' for key, value in defaults.items())
    return parse_policy_toml(f'format = "cssc-policy/1"\n[defaults]\n{lines}\n')


ACK_POLICY = parse_policy_toml(
    """
format = "cssc-policy/1"
[defaults]
via = "direct"
channels = ["email", "sms"]
ack = "required"
ack_timeout = "10m"
"""
)


# --- time -----------------------------------------------------------------------------------------


def test_a_silent_lead_and_deputy_go_direct_at_plus_20m_even_when_the_first_tick_is_at_plus_60m(
    harness: Harness,
) -> None:
    harness.engine.send(message(audience=RETAIL), policy=policy(relay_deadline="10m"))
    harness.at(60)
    report = harness.engine.tick()
    assert report.timers == 2
    shop = {d.contact: d for d in harness.store.deliveries_of("msg-1") if d.kind.value == "message"}
    assert shop["shop-a"].status is DeliveryStatus.DELIVERED
    assert [(c.status, c.at) for c in shop["shop-a"].history] == [
        (DeliveryStatus.HELD, T0),
        (DeliveryStatus.CREATED, T0 + minutes(20)),
        (DeliveryStatus.SENDING, T0 + minutes(20)),
        (DeliveryStatus.DELIVERED, T0 + minutes(20)),
    ]
    deputy = harness.store.get_delivery(
        next(
            d.id
            for d in harness.store.deliveries_of("msg-1")
            if d.contact == "isl-r2" and d.kind.value == "relay-request"
        )
    )
    assert deputy is not None
    assert deputy.history[0].at == T0 + minutes(10)


def test_a_timer_starts_when_its_relay_request_goes_out_after_quiet_hours(memory_harness: Harness) -> None:
    network = incident_network()
    quiet = QuietHours(T0.time(), (T0 + minutes(30)).time(), "UTC")
    lead = network.contact("isl-r1")
    organisations = tuple(
        attrs.evolve(
            o,
            contacts=tuple(attrs.evolve(c, quiet_hours=quiet) if c.id == lead.id else c for c in o.contacts),
        )
        for o in network.organisations
    )
    memory_harness.store.replace_network(attrs.evolve(network, organisations=organisations))
    memory_harness.engine.send(message(audience=RETAIL), policy=policy(relay_deadline="10m"))
    request = next(d for d in memory_harness.store.deliveries_of("msg-1") if d.kind.value == "relay-request")
    assert request.status is DeliveryStatus.CREATED
    assert request.not_before == T0 + minutes(30)
    memory_harness.at(35)
    memory_harness.engine.tick()
    assert [t.due_at for t in memory_harness.store.timers_of("msg-1")] == [T0 + minutes(40)]


def test_quiet_hours_defer_copies_but_not_immediate_severe_ones(harness: Harness) -> None:
    bakery = {"organisations": ["bakery"]}
    harness.engine.send(message(audience=bakery), policy=policy(via="direct"))
    assert harness.statuses() == {
        ("baker", "email", "message"): "created",
        ("welsh", "email", "message"): "delivered",
    }
    baker = next(d for d in harness.store.deliveries_of("msg-1") if d.contact == "baker")
    assert baker.not_before == T0 + minutes(120)
    harness.at(119)
    harness.engine.tick()
    assert harness.statuses()["baker", "email", "message"] == "created"
    harness.at(120)
    harness.engine.tick()
    assert harness.statuses()["baker", "email", "message"] == "delivered"

    urgent = message("msg-2", audience=bakery, urgency="immediate", severity="severe")
    harness.engine.send(urgent, policy=policy(via="direct"))
    assert harness.statuses("msg-2")["baker", "email", "message"] == "delivered"


def test_undelivered_copies_expire_and_are_never_sent(harness: Harness) -> None:
    expires = (T0 + minutes(5)).isoformat()
    harness.engine.send(message(audience=RETAIL, expires=expires), policy=policy(relay_deadline="10m"))
    harness.at(60)
    harness.engine.tick()
    assert harness.statuses() == {
        ("isl-r1", "email", "relay-request"): "delivered",
        ("isl-r1", "email", "message"): "cancelled",
        ("isl-r2", "email", "message"): "expired",
        ("shop-a", "email", "message"): "expired",
        ("shop-b", "email", "message"): "expired",
    }
    assert harness.store.timers_of("msg-1") == []
    cascade = harness.store.get_cascade("msg-1")
    assert cascade is not None
    assert cascade.finished_at == T0 + minutes(5)


# --- relays ---------------------------------------------------------------------------------------


def test_any_isl_of_the_cell_may_release_it_asked_or_not(harness: Harness) -> None:
    harness.engine.send(message(audience=RETAIL), policy=policy(relay_deadline="10m"))
    harness.at(3)
    assert harness.engine.acknowledge("msg-1", "isl-r2")  # the deputy, not asked yet
    statuses = harness.statuses()
    assert statuses["shop-a", "email", "message"] == "delivered"
    assert ("isl-r2", "email", "relay-request") not in statuses
    assert harness.store.timers_of("msg-1") == []
    releases = [e for e in harness.events.events if e.hook == "cssc_relay_released"]
    assert len(releases) == 1
    assert releases[0].arguments["release"].contact == "isl-r2"
    # The lead releasing later changes nothing more.
    harness.at(4)
    assert harness.engine.acknowledge("msg-1", "isl-r1")
    assert len([e for e in harness.events.events if e.hook == "cssc_relay_released"]) == 1


def test_an_isl_that_cannot_be_reached_counts_as_silent_at_once(memory_harness: Harness) -> None:
    memory_harness.channels.fail("isl-r1", "email", DeliveryStatus.PERMANENT_FAILURE)
    memory_harness.engine.send(message(audience=RETAIL), policy=policy(relay_deadline="10m"))
    statuses = memory_harness.statuses()
    assert statuses["isl-r1", "email", "relay-request"] == "permanent-failure"
    assert statuses["isl-r2", "email", "relay-request"] == "delivered"


def test_a_test_message_goes_only_to_test_contacts_relay_requests_included(memory_harness: Harness) -> None:
    network = incident_network()
    testers = {"isl-r2", "shop-a", "hub-n"}
    organisations = tuple(
        attrs.evolve(o, contacts=tuple(attrs.evolve(c, test=c.id in testers) for c in o.contacts))
        for o in network.organisations
    )
    memory_harness.store.replace_network(attrs.evolve(network, organisations=organisations))
    memory_harness.engine.send(message(audience=RETAIL, status="test"), policy=policy(relay_deadline="10m"))
    assert memory_harness.statuses() == {
        ("isl-r2", "email", "relay-request"): "delivered",
        ("isl-r2", "email", "message"): "cancelled",
        ("shop-a", "email", "message"): "held",
    }
    assert memory_harness.channels.sent[0].body.startswith("TLP:GREEN TEST\n")


def test_exercise_copies_are_marked_exercise(memory_harness: Harness) -> None:
    memory_harness.engine.send(message(audience={"organisations": ["school"]}, status="exercise"))
    (copy,) = memory_harness.channels.sent
    assert copy.body.splitlines()[0] == "TLP:GREEN EXERCISE"
    assert copy.subject.startswith("TLP:GREEN EXERCISE ")


# --- acknowledgements and escalation ------------------------------------------------------------


def test_acknowledging_stops_the_next_channel_and_escalation(harness: Harness) -> None:
    harness.engine.send(message(audience={"organisations": ["school"]}), policy=ACK_POLICY)
    harness.at(5)
    assert harness.engine.acknowledge("msg-1", "school-a", via="portal")
    harness.at(120)
    harness.engine.tick()
    assert harness.statuses() == {("school-a", "email", "message"): "delivered"}
    assert harness.store.get_cascade("msg-1").finished_at == T0 + minutes(5)  # type: ignore[union-attr]


def test_a_repeated_acknowledgement_changes_nothing(harness: Harness) -> None:
    harness.engine.send(message(audience={"organisations": ["school"]}), policy=ACK_POLICY)
    assert harness.engine.acknowledge("msg-1", "school-a")
    before = (harness.store.audit_log(), harness.store.acknowledgements("msg-1"), len(harness.events.events))
    harness.at(1)
    assert not harness.engine.acknowledge("msg-1", "school-a")
    assert (
        harness.store.audit_log(),
        harness.store.acknowledgements("msg-1"),
        len(harness.events.events),
    ) == before


def test_acknowledgements_of_unknown_things_and_of_strangers_are_refused(memory_harness: Harness) -> None:
    memory_harness.engine.send(message(audience={"organisations": ["school"]}), policy=ACK_POLICY)
    with pytest.raises(NotFoundError, match="unknown message"):
        memory_harness.engine.acknowledge("msg-x", "school-a")
    with pytest.raises(NotFoundError, match="unknown contact"):
        memory_harness.engine.acknowledge("msg-1", "nobody")
    with pytest.raises(NotARecipientError):
        memory_harness.engine.acknowledge("msg-1", "church-a")


def test_a_permanent_failure_moves_to_the_next_channel_and_after_the_last_escalates_at_once(
    harness: Harness,
) -> None:
    harness.channels.fail("school-a", "email", DeliveryStatus.PERMANENT_FAILURE)
    harness.channels.fail("school-a", "sms", DeliveryStatus.PERMANENT_FAILURE)
    harness.engine.send(message(audience={"organisations": ["school"]}), policy=ACK_POLICY)
    assert harness.statuses() == {
        ("school-a", "email", "message"): "permanent-failure",
        ("school-a", "sms", "message"): "permanent-failure",
        ("hub-e", "email", "escalation"): "delivered",
    }
    assert harness.store.timers_of("msg-1") == []


def test_a_contact_is_escalated_once_when_its_last_channel_times_out_then_fails(harness: Harness) -> None:
    quick = parse_policy_toml(
        'format = "cssc-policy/1"\n[defaults]\nvia = "direct"\nchannels = ["email", "sms"]\n'
        'ack = "required"\nack_timeout = "1m"\n'
    )
    harness.channels.fail("school-a", "sms", *[DeliveryStatus.TEMPORARY_FAILURE] * 3)
    harness.engine.send(message(audience={"organisations": ["school"]}), policy=quick)
    harness.at(60)
    harness.engine.tick()
    assert harness.statuses() == {
        ("school-a", "email", "message"): "delivered",
        ("school-a", "sms", "message"): "technical-failure",
        ("hub-e", "email", "escalation"): "delivered",
    }
    (notice,) = [d for d in harness.store.deliveries_of("msg-1") if d.kind.value == "escalation"]
    assert notice.history[0].at == T0 + minutes(2)  # the sms copy's timeout, before its retries ran out


def test_escalation_falls_back_to_the_national_hub_then_to_a_recorded_failure(
    memory_harness: Harness,
) -> None:
    network = incident_network()
    without_region_hub = attrs.evolve(network, roles=tuple(r for r in network.roles if r.contact != "hub-e"))
    memory_harness.store.replace_network(without_region_hub)
    memory_harness.channels.fail("school-a", "email", DeliveryStatus.PERMANENT_FAILURE)
    memory_harness.channels.fail("school-a", "sms", DeliveryStatus.PERMANENT_FAILURE)
    memory_harness.engine.send(message(audience={"organisations": ["school"]}), policy=ACK_POLICY)
    assert memory_harness.statuses()["hub-n", "email", "escalation"] == "delivered"

    no_hubs = attrs.evolve(network, roles=tuple(r for r in network.roles if r.kind != "hub"))
    memory_harness.store.replace_network(no_hubs)
    memory_harness.channels.fail("school-a", "email", DeliveryStatus.PERMANENT_FAILURE)
    memory_harness.channels.fail("school-a", "sms", DeliveryStatus.PERMANENT_FAILURE)
    memory_harness.engine.send(message("msg-2", audience={"organisations": ["school"]}), policy=ACK_POLICY)
    (notice,) = [d for d in memory_harness.store.deliveries_of("msg-2") if d.kind.value == "escalation"]
    assert notice.status is DeliveryStatus.PERMANENT_FAILURE
    assert notice.reason is not None
    assert "no hub contact" in notice.reason


# --- retries ----------------------------------------------------------------------------------------


def test_temporary_failures_back_off_then_become_technical_failures(harness: Harness) -> None:
    harness.channels.fail("school-a", "email", *[DeliveryStatus.TEMPORARY_FAILURE] * 3)
    harness.engine.send(message(audience={"organisations": ["school"]}))
    (delivery,) = harness.store.deliveries_of("msg-1")
    assert delivery.status is DeliveryStatus.TEMPORARY_FAILURE
    first_retry = delivery.next_attempt_at
    assert first_retry is not None
    assert T0 + timedelta(seconds=30) <= first_retry <= T0 + timedelta(seconds=60)
    assert harness.store.next_due() == first_retry
    harness.at(24 * 60)
    harness.engine.tick()
    (delivery,) = harness.store.deliveries_of("msg-1")
    assert delivery.status is DeliveryStatus.TECHNICAL_FAILURE
    assert delivery.attempts == 3
    assert delivery.reason is not None
    assert delivery.reason.startswith("retries exhausted")
    gaps = [b.at - a.at for a, b in zip(delivery.history[1::2], delivery.history[3::2], strict=False)]
    assert gaps[1] > gaps[0]  # exponential


def test_the_same_seed_replays_the_same_retry_times() -> None:
    def retry_times() -> list[object]:
        harness = Harness(MemoryStore())
        harness.channels.fail("school-a", "email", *[DeliveryStatus.TEMPORARY_FAILURE] * 4)
        harness.engine = harness.make_engine(retry=RetryPolicy(max_attempts=5))
        harness.engine.send(message(audience={"organisations": ["school"]}))
        harness.at(600)
        harness.engine.tick()
        (delivery,) = harness.store.deliveries_of("msg-1")
        return [change.at for change in delivery.history]

    assert retry_times() == retry_times()


def test_a_channel_that_raises_fails_its_batch_temporarily(memory_harness: Harness) -> None:
    async def broken(batch: object) -> object:
        raise ConnectionError("gone")

    memory_harness.channels.send = broken  # type: ignore[method-assign,assignment]
    memory_harness.engine.send(message(audience={"organisations": ["school"]}))
    (delivery,) = memory_harness.store.deliveries_of("msg-1")
    assert delivery.status is DeliveryStatus.TEMPORARY_FAILURE
    assert delivery.reason == "channel error: ConnectionError"


# --- sending, resuming, events --------------------------------------------------------------------


def test_sending_an_id_the_store_holds_is_refused_and_writes_nothing(harness: Harness) -> None:
    harness.engine.send(message(audience={"organisations": ["school"]}))
    before = harness.store.deliveries_of("msg-1")
    with pytest.raises(ValidationError, match="already stored"):
        harness.engine.send(message(audience=RETAIL))
    assert harness.store.deliveries_of("msg-1") == before


def test_a_failed_transaction_at_send_leaves_nothing(harness: Harness) -> None:
    bad = message(audience={"organisations": ["school"]}, type="update", references=["msg-unknown"])
    with pytest.raises(ValidationError, match="msg-unknown"):
        harness.engine.send(bad)
    assert harness.store.messages() == []


def test_resume_takes_back_deliveries_left_sending_by_a_dead_worker(harness: Harness) -> None:
    harness.engine.send(message(audience={"organisations": ["bakery"]}), policy=policy(via="direct"))
    # At the end of quiet hours a worker claims the baker's copy and dies before recording anything.
    (claimed,) = harness.store.claim_due(T0 + minutes(120), 10, 300, "dead-worker")
    assert claimed.contact == "baker"
    harness.at(121)
    harness.engine.tick()  # the dead worker's lease has not lapsed: nothing to do yet
    assert harness.statuses()["baker", "email", "message"] == "sending"
    harness.engine.resume()
    (baker,) = [d for d in harness.store.deliveries_of("msg-1") if d.contact == "baker"]
    assert baker.status is DeliveryStatus.DELIVERED
    assert [c.status for c in baker.history][-4:] == [
        DeliveryStatus.SENDING,
        DeliveryStatus.CREATED,
        DeliveryStatus.SENDING,
        DeliveryStatus.DELIVERED,
    ]
    assert harness.sent().count(("baker", "email", "message")) == 1
    assert harness.store.cascades(unfinished=True) == []


def test_event_hooks_hear_every_committed_change_in_order(memory_harness: Harness) -> None:
    memory_harness.engine.send(message(audience=RETAIL), policy=policy(relay_deadline="10m"))
    memory_harness.at(2)
    memory_harness.engine.acknowledge("msg-1", "isl-r1")
    hooks = memory_harness.events.hooks()
    assert hooks[0] == "cssc_message_routed"
    assert "cssc_acknowledgement_received" in hooks
    assert "cssc_relay_released" in hooks
    changes = [
        change
        for event in memory_harness.events.events
        if event.hook == "cssc_delivery_status_changed"
        for change in event.arguments["changes"]
    ]
    final = {}
    for change in changes:
        final[change.delivery] = change.status
    assert final == {d.id: d.status for d in memory_harness.store.deliveries_of("msg-1")}


# --- updates and cancels ----------------------------------------------------------------------------


def test_an_update_reaches_exactly_whom_the_message_reached_with_the_marking_applied_again(
    harness: Harness,
) -> None:
    both = {"organisations": ["school", "shop", "church"]}
    harness.channels.fail("church-a", "email", DeliveryStatus.PERMANENT_FAILURE)
    harness.engine.send(
        message(audience=both),
        policy=parse_policy_toml(
            'format = "cssc-policy/1"\n[defaults]\nvia = "direct"\nchannels = ["email", "sms"]\n'
        ),
    )
    reached = {k for k, v in harness.statuses().items() if v == "delivered"}
    assert ("church-a", "email", "message") not in reached
    assert ("shop-b", "sms", "message") in reached

    # Even to an audience of everyone, an update goes only to the contacts reached, on those channels;
    # TLP:AMBER keeps it off sms.
    update = message("msg-2", type="update", references=["msg-1"], marking="TLP:AMBER", audience={})
    report = harness.engine.send(update)
    assert {r.contact: r.channels for r in report.plan.recipients} == {
        "school-a": ("email",),
        "shop-a": ("email",),
        "shop-b": ("email",),
    }
    assert set(harness.statuses("msg-2")) == {
        ("school-a", "email", "message"),
        ("shop-a", "email", "message"),
        ("shop-b", "email", "message"),
    }
    update_copy = next(c for c in harness.channels.sent if c.message == "msg-2")
    assert update_copy.body.startswith("TLP:AMBER\n\nUPDATE of msg-1\n")


def test_a_send_first_processes_what_fell_due_before_it(harness: Harness) -> None:
    harness.engine.send(message(audience=RETAIL), policy=policy(relay_deadline="10m"))
    # Nobody ticked since: the lead's and the deputy's deadlines passed at +10m and +20m, unseen.
    harness.at(30)
    report = harness.engine.send(message("msg-2", type="cancel", references=["msg-1"], audience={}))
    assert report.run.timers == 2
    # The cancel reaches the shop, which the relay fallback reached at +20m, before the cancel.
    assert {r.contact for r in report.plan.recipients} == {"isl-r1", "isl-r2", "shop-a", "shop-b"}
    shop = next(d for d in harness.store.deliveries_of("msg-1") if d.contact == "shop-a")
    assert shop.history[-1].at == T0 + minutes(20)


def test_a_cancel_stops_relay_requests_timers_and_held_copies(harness: Harness) -> None:
    harness.engine.send(message(audience=RETAIL), policy=policy(relay_deadline="10m"))
    harness.at(10)
    harness.engine.tick()  # the deputy is asked
    harness.channels.fail("isl-r2", "email", DeliveryStatus.TEMPORARY_FAILURE)
    harness.at(11)
    harness.engine.send(message("msg-2", type="cancel", references=["msg-1"], audience={}))
    assert harness.store.timers_of("msg-1") == []
    assert {k: v for k, v in harness.statuses().items() if v != "delivered"} == {
        ("isl-r1", "email", "message"): "cancelled",
        ("isl-r2", "email", "message"): "cancelled",
        ("shop-a", "email", "message"): "cancelled",
        ("shop-b", "email", "message"): "cancelled",
    }
    harness.at(600)
    harness.engine.tick()
    assert harness.sent("msg-1") == [
        ("isl-r1", "email", "relay-request"),
        ("isl-r2", "email", "relay-request"),
    ]
    assert set(harness.sent("msg-2")) == {("isl-r1", "email", "message"), ("isl-r2", "email", "message")}
    assert harness.store.cascades(unfinished=True) == []


# --- channels -------------------------------------------------------------------------------------


def test_channels_send_in_batches_within_their_concurrency_and_rate(memory_harness: Harness) -> None:
    waits: list[float] = []
    now = [0.0]

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    setup = memory_harness.engine.channels
    assert setup is not None
    limited = attrs.evolve(
        setup,
        channels={
            **setup.channels,
            "email": attrs.evolve(setup.channels["email"], concurrency=2, rate_per_s=4),
        },
    )
    engine = memory_harness.make_engine(channels=limited, monotonic=lambda: now[0], sleep=sleep)
    engine.send(message(audience={}), policy=policy(via="direct"))
    copies = len(memory_harness.channels.sent)
    assert copies == 11  # every contact but the baker, in quiet hours
    # Two batches (6 and 5 copies) for the two calls in flight, each fed to the channel from its token
    # bucket: at most 4 copies at once (a second's worth), then one every quarter second.
    assert memory_harness.channels.batches == [4, 2, 4, 1]
    assert waits == [2 / 4, 4 / 4, 1 / 4]
    # 11 copies at 4 a second after a burst of 4: the last goes out 7 / 4 seconds after the first.
    assert now[0] == 7 / 4


def test_a_channel_that_no_longer_fits_the_marking_is_refused_not_sent(memory_harness: Harness) -> None:
    amber = message(audience=RETAIL, marking="TLP:AMBER")
    memory_harness.engine.send(amber, policy=policy(relay_deadline="10m"))
    setup = memory_harness.engine.channels
    assert setup is not None
    insecure = attrs.evolve(
        setup, channels={**setup.channels, "email": attrs.evolve(setup.channels["email"], secure=False)}
    )
    memory_harness.at(2)
    later = memory_harness.make_engine(channels=insecure)
    later.acknowledge("msg-1", "isl-r1")
    statuses = memory_harness.statuses()
    assert statuses["shop-a", "email", "message"] == "permanent-failure"
    (shop,) = [d for d in memory_harness.store.deliveries_of("msg-1") if d.contact == "shop-a"]
    assert shop.reason == "channel 'email' no longer fits TLP:AMBER"
    assert memory_harness.sent() == [("isl-r1", "email", "relay-request")]


def test_a_contact_reached_by_its_relay_request_must_still_acknowledge(memory_harness: Harness) -> None:
    must_ack = parse_policy_toml(
        'format = "cssc-policy/1"\n[defaults]\nrelay_deadline = "30m"\n'
        'ack = "required"\nack_timeout = "10m"\n'
    )
    memory_harness.engine.send(message(audience=RETAIL), policy=must_ack)
    assert memory_harness.statuses()["isl-r1", "email", "message"] == "cancelled"
    timers = {t.subject: t.due_at for t in memory_harness.store.timers_of("msg-1")}
    assert timers == {"isl-r1": T0 + minutes(10), "EAST/retail": T0 + minutes(30)}
    memory_harness.at(10)
    memory_harness.engine.tick()
    (notice,) = [d for d in memory_harness.store.deliveries_of("msg-1") if d.kind.value == "escalation"]
    assert (notice.contact, notice.subject_contact) == ("hub-e", "isl-r1")


def test_a_message_that_reaches_nobody_finishes_at_once(memory_harness: Harness) -> None:
    nobody = message(audience={"regions": ["SCOT"]}, expires=(T0 + minutes(60)).isoformat())
    report = memory_harness.engine.send(nobody)
    assert report.deliveries == 0
    cascade = memory_harness.store.get_cascade("msg-1")
    assert cascade is not None
    assert cascade.finished_at == T0


def test_planning_without_sending_writes_nothing(memory_harness: Harness) -> None:
    plan = memory_harness.engine.plan(message(audience=RETAIL), policy=policy(relay_deadline="10m"))
    assert [(r.region, r.sector, r.isl) for r in plan.relays] == [("EAST", "retail", ("isl-r1", "isl-r2"))]
    assert memory_harness.store.messages() == []
    assert memory_harness.channels.sent == []


def test_an_isl_asked_on_two_channels_has_one_deadline_from_the_first(memory_harness: Harness) -> None:
    network = incident_network()
    organisations = tuple(
        attrs.evolve(o, contacts=tuple(attrs.evolve(c, channels=("sms", "email")) for c in o.contacts))
        if o.id == "retail-isls"
        else o
        for o in network.organisations
    )
    memory_harness.store.replace_network(attrs.evolve(network, organisations=organisations))
    memory_harness.engine.send(message(audience=RETAIL), policy=policy(relay_deadline="10m"))
    assert {k: v for k, v in memory_harness.statuses().items() if k[2] == "relay-request"} == {
        ("isl-r1", "sms", "relay-request"): "delivered",
        ("isl-r1", "email", "relay-request"): "delivered",
    }
    assert [(t.subject, t.due_at) for t in memory_harness.store.timers_of("msg-1")] == [
        ("EAST/retail", T0 + minutes(10))
    ]
    memory_harness.at(10)
    memory_harness.engine.tick()
    assert memory_harness.statuses()["isl-r2", "sms", "relay-request"] == "delivered"

"""A whole incident replayed on a fake clock: relays, a silent lead, a silent cell, an unacknowledged
contact, a channel failing for a while, then a cancel — every delivery accounted for, and no other."""

from __future__ import annotations

from datetime import timedelta

from cssc_core.storage.records import DeliveryStatus
from cssc_core.testing import T0
from tests.cascade.conftest import Harness, message
from tests.cascade.incident import INCIDENT_POLICY

POLICY = INCIDENT_POLICY

AUDIENCE = {"organisations": ["retail-isls", "faith-isls", "shop", "church", "both", "school", "bakery"]}


def test_the_incident_replays_with_every_expected_delivery_and_no_other(harness: Harness) -> None:
    engine, channels = harness.engine, harness.channels
    channels.fail("school-a", "sms", DeliveryStatus.TEMPORARY_FAILURE)

    engine.send(message(audience=AUDIENCE), policy=POLICY)
    # Leads asked; the school's first channel; the bakery's welsh contact at once, its baker in quiet hours.
    assert sorted(harness.sent()) == [
        ("isl-f1", "email", "relay-request"),
        ("isl-r1", "email", "relay-request"),
        ("school-a", "email", "message"),
        ("welsh", "email", "message"),
    ]

    # The retail deputy (asked at +10m, when the lead stayed silent) releases at +12m. By then the
    # faith cell, with no deputy, went direct at +10m, and the school got its second channel, which
    # failed once and was retried.
    harness.at(12)
    assert engine.acknowledge("msg-1", "isl-r2", via="cli")

    # Nobody at the school acknowledges: at +20m the region hub gets an escalation notice.
    harness.at(30)
    engine.tick()

    assert harness.statuses() == {
        ("isl-r1", "email", "relay-request"): "delivered",
        ("isl-r1", "email", "message"): "cancelled",  # reached by its relay request
        ("isl-r2", "email", "relay-request"): "delivered",
        ("isl-r2", "email", "message"): "cancelled",  # reached by its relay request
        ("isl-f1", "email", "relay-request"): "delivered",
        ("isl-f1", "email", "message"): "cancelled",  # reached by its relay request
        ("shop-a", "email", "message"): "delivered",
        ("shop-b", "email", "message"): "delivered",
        ("both-a", "email", "message"): "delivered",
        ("church-a", "email", "message"): "delivered",
        ("school-a", "email", "message"): "delivered",
        ("school-a", "sms", "message"): "delivered",
        ("hub-e", "email", "escalation"): "delivered",
        ("welsh", "email", "message"): "delivered",
        ("baker", "email", "message"): "created",  # waiting for the end of quiet hours
    }
    by_id = {(d.contact, d.channel, d.kind.value): d for d in harness.store.deliveries_of("msg-1")}
    # Released copies carry the releasing cell; the silent cell's copies went direct at its deadline,
    # and the organisation in both cells got its copy once, from the faith cell that settled first.
    assert by_id["shop-a", "email", "message"].cell == ("EAST", "retail")
    assert by_id["shop-a", "email", "message"].history[0].at == T0
    assert by_id["shop-a", "email", "message"].history[1].at == T0 + timedelta(minutes=12)
    assert by_id["church-a", "email", "message"].cell is None
    assert by_id["both-a", "email", "message"].cell is None
    assert by_id["both-a", "email", "message"].history[1].at == T0 + timedelta(minutes=10)
    sms = by_id["school-a", "sms", "message"]
    assert [c.status for c in sms.history] == [
        DeliveryStatus.CREATED,
        DeliveryStatus.SENDING,
        DeliveryStatus.TEMPORARY_FAILURE,
        DeliveryStatus.SENDING,
        DeliveryStatus.DELIVERED,
    ]
    assert sms.history[0].at == T0 + timedelta(minutes=10)
    assert T0 + timedelta(minutes=10, seconds=30) <= sms.history[-1].at <= T0 + timedelta(minutes=11)
    assert by_id["hub-e", "email", "escalation"].history[0].at == T0 + timedelta(minutes=20)
    assert by_id["hub-e", "email", "escalation"].subject_contact == "school-a"

    # The cancel goes to exactly the contacts reached, on the channels that reached them, and stops
    # what was not yet sent.
    harness.at(31)
    engine.send(message("msg-2", type="cancel", references=["msg-1"], audience=AUDIENCE))
    assert harness.statuses()["baker", "email", "message"] == "cancelled"
    assert harness.statuses("msg-2") == {
        (contact, channel, "message"): "delivered"
        for contact, channel in [
            ("isl-r1", "email"),
            ("isl-r2", "email"),
            ("isl-f1", "email"),
            ("shop-a", "email"),
            ("shop-b", "email"),
            ("both-a", "email"),
            ("church-a", "email"),
            ("school-a", "email"),
            ("school-a", "sms"),
            ("welsh", "email"),
        ]
    }
    harness.at(24 * 60)
    engine.tick()
    # Nothing else was ever sent: every copy the channels accepted is a delivery above, once.
    assert len(channels.sent) == 11 + 10
    for message_id in ("msg-1", "msg-2"):
        sent = harness.sent(message_id)
        assert len(sent) == len(set(sent))
        assert set(sent) == {
            key for key, status in harness.statuses(message_id).items() if status == "delivered"
        }
    assert harness.store.cascades(unfinished=True) == []
    escalation = next(c for c in channels.sent if c.kind == "escalation")
    assert "Person school-a" in escalation.body
    assert "Body text" not in escalation.body

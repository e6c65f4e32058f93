"""The story's facts, read back from the demo's store and outbox, and the report checked against them."""

from __future__ import annotations

import json
from collections import Counter

from cssc_core.cascade.context import plan_from_document
from cssc_core.cascade.relays import RELEASED
from cssc_core.cascade.status import hop_of
from cssc_core.demo import scenario
from cssc_core.demo.story import story_messages
from cssc_core.domain.audience import haversine_km
from cssc_core.domain.models import Language
from cssc_core.routing.plan import RoutingPlan
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import DeliveryKind, DeliveryStatus
from tests.demo.conftest import DemoRun

INCIDENT, UPDATE, CANCEL = "demo-scot-0612-01", "demo-scot-0612-02", "demo-scot-0612-03"
BULLETIN, PACKAGES, BRIDGE_CALL, NEWSLETTER = (
    "demo-nat-0612-01",
    "demo-nat-0612-02",
    "demo-wales-0612-01",
    "demo-emid-2019-q2",
)


def _plan(store: Store, message_id: str) -> RoutingPlan:
    cascade = store.get_cascade(message_id)
    assert cascade is not None
    return plan_from_document(json.loads(cascade.plan))


def _messages(demo: DemoRun) -> dict[str, dict[str, object]]:
    return {m["id"]: m for m in demo.report["messages"]}


def test_every_message_of_the_story_is_sent_and_nothing_is_left_to_send(demo: DemoRun) -> None:
    ids = [message.id for message in story_messages()]
    assert [m["id"] for m in demo.report["messages"]] == ids
    assert len(ids) == 7
    with demo.store() as store:
        for message_id in ids:
            assert store.get_cascade(message_id) is not None
            assert store.undelivered(message_id) == []
            # Only the expiry of messages that expire after the day is left to come.
            assert {timer.kind for timer in store.timers_of(message_id)} <= {"expiry"}
    # The demo works in its own folder only.
    assert not (demo.cwd / "cssc.db").exists()
    assert (demo.directory / "cssc.db").exists()


def test_the_incident_goes_direct_by_sms_and_email_near_the_cordon_and_needs_acknowledging(
    demo: DemoRun,
) -> None:
    with demo.store() as store:
        network = store.load_network()
        assert network is not None
        cascade = store.get_cascade(INCIDENT)
        assert cascade is not None
        plan = plan_from_document(json.loads(cascade.plan))
        assert plan.recipients
        assert not plan.relays
        for recipient in plan.recipients:
            assert recipient.via.value == "direct"
            assert recipient.ack
            # Locked and not continued: Scotland's own route is not tried.
            assert recipient.routes == ("life-safety",)
            assert recipient.region == "SCOT"
            location = network.organisation(recipient.organisation).location
            assert haversine_km(location.lat, location.lon, 55.866, -4.264) <= 1.5
        # Scotland's own route applies to the bulletin's BID members instead.
        bulletin = _plan(store, BULLETIN)
        routed = {r.organisation for r in bulletin.recipients if r.routes == ("city-centre-bids",)}
        tagged = {
            r.organisation
            for r in bulletin.recipients
            if r.region == "SCOT" and "bid" in network.organisation(r.organisation).tags
        }
        assert routed == tagged
        assert routed
        channels = {d.channel for d in store.deliveries_of(INCIDENT)}
        assert {"sms", "email"} <= channels


def test_the_cancel_reaches_whom_the_incident_reached_and_stops_the_escalations_still_waiting(
    demo: DemoRun,
) -> None:
    with demo.store() as store:
        incident = store.deliveries_of(INCIDENT)
        reached = {(d.contact, d.channel) for d in incident if d.status is DeliveryStatus.DELIVERED}
        reached = {pair for pair in reached if pair[1] != "none"}
        cancel = store.deliveries_of(CANCEL)
        copies = {(d.contact, d.channel) for d in cancel}
        message_copies = {
            (d.contact, d.channel)
            for d in incident
            if d.kind is DeliveryKind.MESSAGE and d.status is DeliveryStatus.DELIVERED
        }
        assert copies == message_copies
        assert all(d.status is DeliveryStatus.DELIVERED for d in cancel)
        required = {
            r.contact for r in plan_from_document(json.loads(store.get_cascade(INCIDENT).plan)).recipients
        }  # type: ignore[union-attr]
        acknowledged = {a.contact for a in store.acknowledgements(INCIDENT)}
        escalated = {d.subject_contact for d in incident if d.kind is DeliveryKind.ESCALATION}
        stopped = required - acknowledged - escalated
        # Some contacts were still on their second channel when the incident was stood down: their
        # escalation was due after the cancel and was never sent.
        assert stopped
        cancel_at = store.get_message(CANCEL).sent  # type: ignore[union-attr]
        for delivery in incident:
            if delivery.kind is DeliveryKind.ESCALATION:
                assert delivery.history[0].at < cancel_at
        assert _messages(demo)[INCIDENT]["acknowledgement"] == {
            "required": len(required),
            "acknowledged": len(acknowledged & required),
            "escalated": len(escalated),
            "stopped_by_cancel": len(stopped),
            "by_isls": 0,
        }
        # The update went to whom the incident had reached by then, on those channels.
        update_at = store.get_message(UPDATE).sent  # type: ignore[union-attr]
        by_then = {
            (d.contact, d.channel)
            for d in incident
            if d.kind is DeliveryKind.MESSAGE
            and d.status is DeliveryStatus.DELIVERED
            and d.history[-1].at <= update_at
        }
        assert {(d.contact, d.channel) for d in store.deliveries_of(UPDATE)} == by_then
        assert by_then < message_copies <= reached


def test_the_silent_london_finance_lead_is_covered_by_its_deputy(demo: DemoRun) -> None:
    with demo.store() as store:
        plan = _plan(store, PACKAGES)
        relay = next(r for r in plan.relays if (r.region, r.sector) == ("LDN", "finance"))
        lead, deputy = relay.isl[:2]
        releases = [
            entry
            for entry in store.audit_log(message_id=PACKAGES)
            if entry.event == RELEASED and entry.detail == "LDN/finance"
        ]
        assert [entry.contact for entry in releases] == [deputy]
        acknowledged = {a.contact for a in store.acknowledgements(PACKAGES)}
        assert lead not in acknowledged
        assert deputy in acknowledged
        requests = {
            d.contact: d.status
            for d in store.deliveries_of(PACKAGES)
            if d.kind is DeliveryKind.RELAY_REQUEST and d.cell == ("LDN", "finance")
        }
        assert requests == {lead: DeliveryStatus.DELIVERED, deputy: DeliveryStatus.DELIVERED}
        released = [d for d in store.deliveries_of(PACKAGES) if d.cell == ("LDN", "finance")]
        assert any(d.kind is DeliveryKind.MESSAGE and d.status is DeliveryStatus.DELIVERED for d in released)
    assert {"region": "LDN", "sector": "finance", "isl": deputy, "rank": 2} in _messages(demo)[PACKAGES][
        "released_by_deputies"
    ]


def test_amber_never_goes_on_a_channel_that_is_not_secure(demo: DemoRun) -> None:
    with demo.store() as store:
        channels = Counter(d.channel for d in store.deliveries_of(PACKAGES))
    assert channels["sms"] == 0
    assert channels["email"] > 0
    assert not [line for line in demo.outbox("sms") if line["message"] == PACKAGES]
    amber = [line for line in demo.outbox("email") if line["message"] == PACKAGES]
    assert amber
    assert all(line["body"].startswith("TLP:AMBER\n") for line in amber)
    exclusions = {e["message"]: e for e in demo.report["exclusions"]}
    assert exclusions[PACKAGES]["copies_on_channels_the_marking_forbids"] == 0
    # Recipients who would have had SMS: the marking held it back.
    assert exclusions[PACKAGES]["recipients_with_a_channel_withheld"] > 0


def test_the_bridge_call_is_an_exercise_and_welsh_speakers_get_the_welsh_text(demo: DemoRun) -> None:
    lines = [
        line
        for channel in ("email", "sms", "webhook")
        for line in demo.outbox(channel)
        if line["message"] == BRIDGE_CALL
    ]
    assert lines
    with demo.store() as store:
        network = store.load_network()
        assert network is not None
        welsh = english = 0
        for line in lines:
            assert line["body"].startswith("TLP:GREEN EXERCISE\n")
            assert line["subject"].startswith("TLP:GREEN EXERCISE ")
            contact = network.contact(line["contact"])
            assert network.organisation_of(contact.id).region == "WALES"
            if contact.language is Language.CY:
                welsh += 1
                assert "Galwad bont prawf" in line["body"]
            else:
                english += 1
                assert "Galwad bont prawf" not in line["body"]
            assert "Test bridge call" in line["body"]
        assert welsh
        assert english
    assert _messages(demo)[BRIDGE_CALL]["status"] == "exercise"


def test_the_newsletter_goes_straight_to_the_east_midlands(demo: DemoRun) -> None:
    with demo.store() as store:
        plan = _plan(store, NEWSLETTER)
    assert plan.recipients
    assert not plan.relays
    assert {r.region for r in plan.recipients} == {"EMID"}
    assert all(r.routes == ("hub-newsletter",) for r in plan.recipients)


def test_the_bulletin_reaches_every_region_through_isls_deputies_and_deadlines(demo: DemoRun) -> None:
    bulletin = _messages(demo)[BULLETIN]
    assert bulletin["reached"] == bulletin["recipients"] > 2000
    releases = bulletin["releases"]
    assert min(releases["lead"], releases["deputy"], releases["direct_at_deadline"]) > 0
    assert sum(releases.values()) == bulletin["relayed_cells"]
    regions = {row["region"] for row in demo.report["reach"]["by_region"]}
    assert len(regions) == 11


def test_the_report_counts_what_the_store_holds(demo: DemoRun) -> None:
    report = demo.report
    delivered = 0
    with demo.store() as store:
        escalations = 0
        for entry in report["messages"]:
            deliveries = store.deliveries_of(entry["id"])
            assert entry["deliveries"] == len(deliveries)
            assert entry["by_status"] == dict(sorted(Counter(d.status.value for d in deliveries).items()))
            reached = {
                d.contact
                for d in deliveries
                if d.status is DeliveryStatus.DELIVERED and d.kind is not DeliveryKind.ESCALATION
            }
            assert entry["reached"] == len(reached)
            assert entry["time_to_reach"]["reached"] == len(reached)
            escalations += sum(d.kind is DeliveryKind.ESCALATION for d in deliveries)
            delivered += sum(d.status is DeliveryStatus.DELIVERED for d in deliveries)
            plan = _plan(store, entry["id"])
            assert entry["recipients"] == len(plan.recipients)
            assert entry["relayed_cells"] == len(plan.relays)
        assert len(report["escalations"]) == escalations > 0
        # Reach by hop covers each actual alert's reached contacts once.
        alerts = [m for m in report["messages"] if m["status"] == "actual" and m["type"] == "alert"]
        assert sum(row["reached"] for row in report["reach"]["by_hop"]) == sum(m["reached"] for m in alerts)
        assert sum(row["reached"] for row in report["reach"]["by_region"]) == sum(
            m["reached"] for m in alerts
        )
        hops = Counter(
            hop_of(d)
            for d in store.deliveries_of(PACKAGES)
            if d.status is DeliveryStatus.DELIVERED and d.kind is not DeliveryKind.ESCALATION
        )
        assert hops["relay"] > 0
    # Every delivered delivery wrote one line to its file channel, and nothing else did.
    lines = sum(outbox["lines"] for outbox in report["files"]["outbox"])
    assert lines == delivered
    assert report["files"]["database"] == str((demo.directory / "cssc.db").resolve())


def test_the_scenario_names_only_cells_and_messages_of_the_story() -> None:
    ids = {message.id for message in story_messages()}
    assert set(scenario.CONDUCT) <= ids
    assert set(scenario.ACKNOWLEDGEMENTS) <= ids
    assert [step.at for step in scenario.STEPS] == sorted(step.at for step in scenario.STEPS)

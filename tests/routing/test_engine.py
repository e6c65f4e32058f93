"""The routing engine against the reference implementation, the marking table, and worked examples."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cssc_core.domain.marking import ChannelFlags, Marking
from cssc_core.domain.message import (
    Audience,
    MessageType,
)
from cssc_core.domain.network import Network
from cssc_core.errors import ValidationError
from cssc_core.routing.engine import Router, plan_message
from cssc_core.routing.plan import Reach, RoutingPlan
from cssc_core.routing.policy import Ack, Match, Route, RoutingPolicy, Select, Settings, Via
from tests.routing.examples import example_message
from tests.routing.reference import reference_plan
from tests.strategies import (
    message_reaches,
    messages,
    routing_channel_flags,
    routing_networks,
    routing_policies,
)

# --- the engine agrees with the reference ------------------------------------------------------


def _engine_view(plan: RoutingPlan) -> dict[str, Any]:
    document = plan.to_document()
    document["timers"] = {r.contact: (r.ack_timeout_s, r.relay_deadline_s) for r in plan.recipients}
    document["relay_channels"] = {
        (r.region, r.sector): [list(c) for c in r.isl_channels] for r in plan.relays
    }
    return document


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(), network=routing_networks(), policy=routing_policies(), channels=routing_channel_flags()
)
def test_engine_agrees_with_reference(
    data: st.DataObject, network: Network, policy: RoutingPolicy, channels: dict[str, ChannelFlags] | None
) -> None:
    message = data.draw(messages(network, alerts_only=True))
    router = Router(network, policy, channels)
    expected = reference_plan(network, policy, message, channels)
    assert _engine_view(router.plan(message)) == expected
    # A second message through the same router, using the caches the first one filled.
    second = data.draw(messages(network, alerts_only=True))
    assert _engine_view(router.plan(second)) == reference_plan(network, policy, second, channels)


# --- no plan breaks the marking table ----------------------------------------------------------

# SPEC section 6, restated: (only named contacts, relays allowed, channel test).
TABLE = {
    Marking.CLEAR: (False, True, lambda f: True),
    Marking.GREEN: (False, True, lambda f: not f.public),
    Marking.AMBER: (False, True, lambda f: f.secure and not f.public),
    Marking.AMBER_STRICT: (False, False, lambda f: f.secure and not f.public),
    Marking.RED: (True, False, lambda f: f.secure and not f.public),
}


def _flags(name: str, channels: dict[str, ChannelFlags] | None) -> ChannelFlags | None:
    if channels is None:
        return ChannelFlags(secure=name in ("email", "webhook"))
    return channels.get(name)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(), network=routing_networks(), policy=routing_policies(), channels=routing_channel_flags()
)
def test_no_plan_breaks_the_marking_table(
    data: st.DataObject, network: Network, policy: RoutingPolicy, channels: dict[str, ChannelFlags] | None
) -> None:
    message = data.draw(messages(network))
    reached = {reference: data.draw(message_reaches(network)) for reference in message.references}
    plan = Router(network, policy, channels).plan(message, reached=reached)
    only_named, relays, channel_ok = TABLE[message.marking]
    named = set(message.audience.contacts)
    for recipient in plan.recipients:
        contact = network.contact(recipient.contact)
        assert recipient.channels, "every recipient has a channel"
        for channel in recipient.channels:
            assert channel in contact.channels
            flags = _flags(channel, channels)
            assert flags is not None
            assert channel_ok(flags), f"{message.marking} refuses {channel} {flags}"
        if only_named:
            assert recipient.contact in named
        if message.type is MessageType.ALERT:
            # An update or cancel follows its reference to whoever it reached, whatever the audience.
            assert not named or recipient.contact in named
            assert network.organisation(recipient.organisation).is_active
        if not relays:
            assert recipient.via is Via.DIRECT
            assert recipient.relay == ()
    if not relays:
        assert plan.relays == ()
        assert plan.gaps == ()
    for relay in plan.relays:
        for isl, isl_channels in zip(relay.isl, relay.isl_channels, strict=True):
            assert network.organisation_of(isl).is_active
            assert isl_channels
            assert all(channel_ok(_flags(c, channels)) for c in isl_channels)
    for exclusion in plan.excluded:
        assert exclusion.reason
        assert plan.recipient(exclusion.contact) is None


# --- worked examples ---------------------------------------------------------------------------


def test_defaults_relay_through_isls_and_list_gaps(network: Network) -> None:
    plan = Router(network).plan(example_message())
    document = plan.to_document()
    first = document["recipients"][0]
    assert first == {
        "contact": "c-01",
        "organisation": "org-1",
        "region": "SCOT",
        "via": "isl",
        "relay": [["SCOT", "retail"]],
        "channels": ["email"],
        "ack": False,
        "routes": [],
    }
    assert document["relays"] == [
        {"region": "SCOT", "sector": "retail", "isl": ["c-09", "c-10"], "deadline_s": 900}
    ]
    # org-3's only cell (EAST, faith) has no ISL: it goes direct; (SCOT, faith) is a gap of org-1.
    assert document["gaps"] == [{"region": "EAST", "sector": "faith"}, {"region": "SCOT", "sector": "faith"}]
    assert plan.recipient("c-20") is not None
    assert plan.recipient("c-20").via is Via.DIRECT
    # c-20 uses sms only: the route's channels do not name it, so its first allowed channel is used.
    assert plan.recipient("c-20").channels == ("sms",)
    # org-4 is lapsed: not in the audience, and its ISL does not count.
    assert plan.recipient("c-30") is None


def test_locked_national_route_is_tried_before_region_routes(network: Network) -> None:
    policy = RoutingPolicy(
        routes=(
            Route("bulletins", channels=("email",)),
            Route(
                "life-safety",
                locked=True,
                match=Match(severity=("severe",)),
                via=Via.DIRECT,
                channels=("sms", "email"),
            ),
        ),
        regions={"SCOT": (Route("bids", select=Select(tags=("bid",)), continue_=True, ack=Ack.REQUIRED),)},
    )
    plan = Router(network, policy).plan(example_message())
    recipient = plan.recipient("c-01")
    assert recipient is not None
    # life-safety applies first and does not continue: nothing else is tried.
    assert recipient.routes == ("life-safety",)
    assert recipient.channels == ("sms", "email")
    assert recipient.via is Via.DIRECT
    assert not recipient.ack


def test_continue_merges_routes(network: Network) -> None:
    policy = RoutingPolicy(
        defaults=Settings(relay_deadline=600),
        routes=(Route("bulletins", channels=("email",), relay_deadline=1200),),
        regions={
            "SCOT": (
                Route(
                    "bids", select=Select(tags=("bid",)), continue_=True, channels=("sms",), ack=Ack.REQUIRED
                ),
            )
        },
    )
    plan = Router(network, policy).plan(example_message())
    recipient = plan.recipient("c-01")
    assert recipient is not None
    assert recipient.routes == ("bids", "bulletins")
    assert recipient.channels == ("sms", "email")  # ordered union, in the route's order
    assert recipient.ack
    # bids' unset relay deadline is completed from the defaults (600), the minimum of 600 and 1200.
    assert recipient.relay_deadline_s == 600
    assert plan.relays[0].deadline_s == 600
    # org-2 has no bid tag: bulletins alone.
    assert plan.recipient("c-09").routes == ("bulletins",)


def test_amber_excludes_contacts_without_a_secure_channel(network: Network) -> None:
    plan = Router(network).plan(example_message(Marking.AMBER))
    assert plan.recipient("c-01").channels == ("email",)
    assert [e.to_document() for e in plan.excluded] == [
        {"organisation": "org-3", "contact": "c-20", "reason": "TLP:AMBER allows no channel of this contact"}
    ]
    # org-3 has no recipient left: no gap for its cell.
    assert {(g.region, g.sector) for g in plan.gaps} == {("SCOT", "faith")}


def test_amber_strict_is_forced_direct(network: Network) -> None:
    plan = Router(network).plan(example_message(Marking.AMBER_STRICT))
    assert plan.relays == ()
    assert plan.gaps == ()
    assert all(r.via is Via.DIRECT and r.relay == () for r in plan.recipients)


def test_red_goes_only_to_named_contacts(network: Network) -> None:
    plan = Router(network).plan(example_message(Marking.RED, Audience(regions=("SCOT",))))
    assert plan.recipients == ()
    assert {e.contact for e in plan.excluded} == {"c-01", "c-09", "c-10"}
    named = Router(network).plan(example_message(Marking.RED, Audience(contacts=("c-09",))))
    assert [r.contact for r in named.recipients] == ["c-09"]
    assert named.recipient("c-09").via is Via.DIRECT


def test_audience_sectors_choose_the_cells(network: Network) -> None:
    plan = Router(network).plan(example_message(audience=Audience(sectors=("faith",))))
    # org-1 is relayed only through (SCOT, faith), which has no ISL: it goes direct, with a gap.
    assert plan.recipient("c-01").via is Via.DIRECT
    assert plan.relays == ()
    assert [(g.region, g.sector) for g in plan.gaps] == [("EAST", "faith"), ("SCOT", "faith")]


def test_isl_that_cannot_receive_does_not_count(network: Network) -> None:
    channels = {"email": ChannelFlags(secure=True, public=True), "sms": ChannelFlags(secure=False)}
    plan = Router(network, channels=channels).plan(example_message(Marking.AMBER))
    # Under AMBER, public email is refused: no ISL of (SCOT, retail) counts and nobody is left.
    assert plan.recipients == ()
    assert plan.relays == ()


def test_update_goes_to_the_contacts_reached(network: Network) -> None:
    update = example_message(Marking.AMBER, type=MessageType.UPDATE, references=("msg-0",), id="msg-2")
    with pytest.raises(ValidationError, match="msg-0"):
        Router(network).plan(update)
    reached = {"msg-0": [Reach("c-01", ("sms", "email")), Reach("c-20", ("sms",))]}
    plan = Router(network).plan(update, reached=reached)
    assert [(r.contact, r.channels) for r in plan.recipients] == [("c-01", ("email",))]
    assert [e.contact for e in plan.excluded] == ["c-20"]


def test_unknown_audience_names_are_bad_input(network: Network) -> None:
    with pytest.raises(ValidationError) as caught:
        Router(network).plan(example_message(audience=Audience(regions=("WALES",), contacts=("c-99",))))
    assert [p.path for p in caught.value.problems] == ["$.audience.regions[0]", "$.audience.contacts[0]"]


def test_policy_region_must_exist(network: Network) -> None:
    with pytest.raises(ValidationError, match="WALES"):
        Router(network, RoutingPolicy(regions={"WALES": (Route("w"),)}))


def test_plan_message_reuses_the_router_for_the_same_objects(network: Network) -> None:
    from cssc_core.routing import engine

    policy = RoutingPolicy(routes=(Route("bulletins"),))
    first = plan_message(network, example_message(), policy)
    router = engine._RECENT_ROUTERS[-1]
    assert router.network is network
    assert router.policy is policy
    assert plan_message(network, example_message(), policy) == first
    assert engine._RECENT_ROUTERS[-1] is router
    other = RoutingPolicy()
    assert plan_message(network, example_message(), other).recipient("c-01").routes == ()
    assert engine._RECENT_ROUTERS[-1] is not router
    assert engine._RECENT_ROUTERS[-1].policy is other


def test_cell_deadline_is_the_smallest_of_its_organisations(network: Network) -> None:
    policy = RoutingPolicy(
        defaults=Settings(relay_deadline=900),
        regions={"SCOT": (Route("bids-fast", select=Select(tags=("bid",)), relay_deadline=300),)},
    )
    plan = Router(network, policy).plan(example_message())
    assert plan.recipient("c-01").relay_deadline_s == 300
    assert plan.recipient("c-09").relay_deadline_s == 900
    assert [(r.sector, r.deadline_s) for r in plan.relays] == [("retail", 300)]

"""Explanations say every route tried, every marking and channel decision, and the outcome."""

from __future__ import annotations

import pytest

from cssc_core.domain.marking import Marking
from cssc_core.domain.message import Audience, MessageType
from cssc_core.domain.network import Network
from cssc_core.errors import ValidationError
from cssc_core.routing.engine import Router
from cssc_core.routing.explain import explain
from cssc_core.routing.plan import Reach
from cssc_core.routing.policy import Ack, Match, Route, RoutingPolicy, Select
from tests.routing.examples import example_message as _message

POLICY = RoutingPolicy(
    routes=(
        Route("life-safety", locked=True, match=Match(severity=("extreme",))),
        Route("bulletins", channels=("email",)),
        Route("never-reached"),
    ),
    regions={"SCOT": (Route("bids", select=Select(tags=("bid",)), continue_=True, ack=Ack.REQUIRED),)},
)


def test_routes_tried_merged_and_outcome(network: Network) -> None:
    lines = explain(Router(network, POLICY), _message(), "c-01")
    assert lines[2] == "In the audience."
    assert lines[3] == (
        "Route life-safety (national, locked): does not apply: severity is severe, the route wants extreme."
    )
    assert lines[4] == "Route bids (SCOT): applies, and continues to the next route."
    assert (
        lines[5] == "Route bulletins (national): applies; it does not continue, so no further route is tried."
    )
    assert (
        lines[6]
        == "Route never-reached (national): not tried, because bulletins applied and does not continue."
    )
    assert lines[7].startswith("Applied bids, bulletins, each completed from [defaults] and merged: via isl")
    assert "TLP:GREEN allows sms (not secure); TLP:GREEN allows email (secure)" in lines[8]
    assert lines[9] == (
        "Contact c-01 gets it relayed through (SCOT, retail), released by an ISL or at the deadline, "
        "on email (one at a time until acknowledged)."
    )
    assert (
        "Cell (SCOT, retail): relay request to c-09, then deputies c-10, each with 15m to release it."
        in lines
    )
    assert "Cells of this organisation without an ISL, listed as coverage gaps: (SCOT, faith)." in lines


def test_defaults_and_exclusions(network: Network) -> None:
    lines = explain(Router(network), _message(Marking.RED, Audience(regions=("SCOT",))), "org-2")
    assert "The policy has no route for this region." in lines
    assert any(line.startswith("No route applies, so [defaults] alone apply") for line in lines)
    assert "TLP:RED allows no relay through ISLs: everyone here is sent it direct." in lines
    assert "Contact c-09 is excluded: TLP:RED goes only to contacts named in the audience." in lines


def test_not_in_the_audience(network: Network) -> None:
    lines = explain(Router(network), _message(audience=Audience(regions=("EAST",))), "org-1")
    assert lines[-1] == (
        "Not in the audience: its region SCOT is not one of EAST. "
        "Nobody here gets the message as a recipient."
    )


def test_updates_are_explained_as_not_routed(network: Network) -> None:
    update = _message(type=MessageType.UPDATE, references=("msg-0",))
    router = Router(network)
    plan = router.plan(update, reached={"msg-0": [Reach("c-01", ("email",))]})
    lines = explain(router, update, "c-01", plan)
    assert "is not routed" in lines[2]
    assert lines[3] == "Contact c-01 gets it sent direct, on email (all at once)."


def test_unknown_subject(network: Network) -> None:
    with pytest.raises(ValidationError, match="no contact or organisation 'x'"):
        explain(Router(network), _message(), "x")

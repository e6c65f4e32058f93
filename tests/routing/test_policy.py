"""The routing policy model: the order routes are tried, completion from defaults, merging."""

from __future__ import annotations

import pytest

from cssc_core.errors import ValidationError
from cssc_core.routing.policy import Ack, Route, RoutingPolicy, Settings, Via, complete, merge


def test_routes_are_tried_locked_then_region_then_national() -> None:
    policy = RoutingPolicy(
        routes=(Route("n1"), Route("locked-1", locked=True), Route("n2"), Route("locked-2", locked=True)),
        regions={"SCOT": (Route("s1"), Route("s2"))},
    )
    assert [r.name for r in policy.routes_tried("SCOT")] == ["locked-1", "locked-2", "s1", "s2", "n1", "n2"]
    assert [r.name for r in policy.routes_tried("EAST")] == ["locked-1", "locked-2", "n1", "n2"]


def test_completion_takes_unset_fields_from_defaults() -> None:
    defaults = Settings(Via.ISL, ("email",), 900, Ack.NONE, 1800)
    assert complete(Route("r", channels=("sms",), ack_timeout=60), defaults) == Settings(
        Via.ISL, ("sms",), 900, Ack.NONE, 60
    )


def test_merge_rules() -> None:
    merged = merge(
        [
            Settings(Via.ISL, ("sms", "email"), 900, Ack.NONE, 600),
            Settings(Via.DIRECT, ("webhook", "sms"), 300, Ack.REQUIRED, 1800),
        ]
    )
    assert merged == Settings(Via.DIRECT, ("sms", "email", "webhook"), 300, Ack.REQUIRED, 600)
    with pytest.raises(ValueError, match="nothing to merge"):
        merge([])


def test_locked_region_routes_and_duplicate_names_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        RoutingPolicy(routes=(Route("a"),), regions={"SCOT": (Route("a"), Route("b", locked=True))})
    assert [p.path for p in caught.value.problems] == [
        "$.regions.SCOT.routes[0].name",
        "$.regions.SCOT.routes[1].locked",
    ]


def test_with_region_appends() -> None:
    policy = RoutingPolicy(regions={"SCOT": (Route("a"),)}).with_region("SCOT", [Route("b")])
    assert [r.name for r in policy.regions["SCOT"]] == ["a", "b"]

"""cssc-policy/1 files: SPEC.md section 5's example, region files, every problem with its path."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from cssc_core.errors import ValidationError
from cssc_core.formats.policy import dumps_policy_toml, parse_policy_toml, read_policy_files
from cssc_core.routing.policy import Ack, Match, Route, RoutingPolicy, Select, Settings, Via
from tests.strategies import routing_policies

SPEC_EXAMPLE = """
format = "cssc-policy/1"

[defaults]
via = "isl"              # "isl": through the ISLs of the recipient's sector; "direct": to the contacts
channels = ["email"]     # channel names, in order
relay_deadline = "15m"   # an ISL that has not released the message by then: deputies, then direct
ack = "none"             # or "required"
ack_timeout = "30m"      # unacknowledged: the next channel, then a notice to the region hub

[[routes]]
name = "life-safety"
locked = true            # national only: evaluated before any region's routes
match = { severity = ["extreme", "severe"], urgency = ["immediate"] }
via = "direct"
channels = ["sms", "email"]
ack = "required"
ack_timeout = "10m"

[[regions.SCOT.routes]]
name = "city-centre-bids"
match = { category = ["security"] }
select = { tags = ["bid"] }
channels = ["email", "sms"]
continue = true
"""


def test_the_spec_example_loads() -> None:
    policy = parse_policy_toml(SPEC_EXAMPLE)
    assert policy.defaults == Settings(Via.ISL, ("email",), 900, Ack.NONE, 1800)
    assert policy.routes == (
        Route(
            "life-safety",
            match=Match(severity=("extreme", "severe"), urgency=("immediate",)),
            locked=True,
            via=Via.DIRECT,
            channels=("sms", "email"),
            ack=Ack.REQUIRED,
            ack_timeout=600,
        ),
    )
    assert policy.regions == {
        "SCOT": (
            Route(
                "city-centre-bids",
                match=Match(category=("security",)),
                select=Select(tags=("bid",)),
                channels=("email", "sms"),
                continue_=True,
            ),
        )
    }


def test_every_problem_is_reported_with_its_path() -> None:
    text = """
format = "cssc-policy/1"
colour = "blue"
[defaults]
via = "pigeon"
channels = []
relay_deadline = "15 minutes"
[[routes]]
name = "a"
match = { severity = ["bad"], colour = ["red"] }
[[routes]]
name = "b"
continue = "yes"
[[routes]]
name = "b"
[[regions.SCOT.routes]]
name = "c"
locked = true
"""
    with pytest.raises(ValidationError) as caught:
        parse_policy_toml(text, source="policy.toml")
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("$.colour", "unknown field"),
        ("$.defaults.channels", "name at least one channel"),
        (
            "$.defaults.relay_deadline",
            "'15 minutes' is not a duration (write 90s, 15m, 1h, 1h30m or seconds)",
        ),
        ("$.defaults.via", "'pigeon' is not one of isl, direct"),
        ("$.regions.SCOT.routes[0].locked", "only national routes can be locked"),
        ("$.routes[0].match.colour", "unknown field"),
        ("$.routes[0].match.severity[0]", "'bad' is not one of extreme, severe, moderate, minor, unknown"),
        ("$.routes[1].continue", "expected true or false, got a string"),
    ]


def test_duplicate_route_names_are_refused() -> None:
    text = 'format = "cssc-policy/1"\n[[routes]]\nname = "a"\n[[regions.SCOT.routes]]\nname = "a"\n'
    with pytest.raises(ValidationError) as caught:
        parse_policy_toml(text)
    assert [p.path for p in caught.value.problems] == ["$.regions.SCOT.routes[0].name"]


def test_region_files_add_their_routes(tmp_path: Path) -> None:
    national = tmp_path / "national.toml"
    national.write_text(SPEC_EXAMPLE)
    scotland = tmp_path / "scot.toml"
    scotland.write_text(
        'format = "cssc-policy/1"\nregion = "SCOT"\n[[routes]]\nname = "glasgow"\nchannels = ["sms"]\n'
    )
    wales = tmp_path / "wales.toml"
    wales.write_text('format = "cssc-policy/1"\nregion = "WALES"\n[[routes]]\nname = "cardiff"\n')
    policy = read_policy_files([scotland, national, wales])
    assert [r.name for r in policy.routes_tried("SCOT")] == ["life-safety", "city-centre-bids", "glasgow"]
    assert [r.name for r in policy.routes_tried("WALES")] == ["life-safety", "cardiff"]
    assert read_policy_files([]) == RoutingPolicy()


def test_region_files_cannot_lock_or_set_defaults(tmp_path: Path) -> None:
    region = tmp_path / "scot.toml"
    region.write_text(
        'format = "cssc-policy/1"\nregion = "SCOT"\n[defaults]\nvia = "direct"\n'
        '[[routes]]\nname = "x"\nlocked = true\n'
    )
    second = tmp_path / "second.toml"
    second.write_text('format = "cssc-policy/1"\n')
    third = tmp_path / "third.toml"
    third.write_text('format = "cssc-policy/1"\n')
    with pytest.raises(ValidationError) as caught:
        read_policy_files([region, second, third, tmp_path / "missing.toml"])
    assert [p.path for p in caught.value.problems] == [
        f"{region}: $.defaults",
        f"{region}: $.routes[0].locked",
        f"{third}: $",
        f"{tmp_path / 'missing.toml'}: $",
    ]


@settings(max_examples=200, deadline=None)
@given(routing_policies())
def test_round_trip(policy: RoutingPolicy) -> None:
    assert parse_policy_toml(dumps_policy_toml(policy)) == policy

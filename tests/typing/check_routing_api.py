"""Checked by mypy (``files`` in pyproject.toml), never run: the routing API's types fit together."""

from __future__ import annotations

from pathlib import Path

from cssc_core import (
    ChannelFlags,
    Marking,
    Message,
    Network,
    Reach,
    Recipient,
    Router,
    RoutingPlan,
    RoutingPolicy,
    Via,
    dumps_cap_xml,
    explain,
    parse_cap_xml,
    plan_message,
    read_message_file,
    read_network_file,
    read_policy_files,
)


def plan_from_files(message: Path, network: Path, policies: list[Path]) -> RoutingPlan:
    router = Router(
        read_network_file(network), read_policy_files(policies), {"pager": ChannelFlags(secure=True)}
    )
    router.warm()
    return router.plan(read_message_file(message))


def follow_up(network: Network, update: Message) -> list[str]:
    plan = plan_message(network, update, RoutingPolicy(), reached={"msg-0": [Reach("c-0001", ("email",))]})
    direct: list[Recipient] = [r for r in plan.recipients if r.via is Via.DIRECT]
    return [r.contact for r in direct if plan.marking is not Marking.RED]


def explained(network: Network, message: Message, subject: str) -> tuple[str, ...]:
    return explain(Router(network), message, subject)


def cap_round_trip(text: str) -> Message:
    return parse_cap_xml(dumps_cap_xml(parse_cap_xml(text)))

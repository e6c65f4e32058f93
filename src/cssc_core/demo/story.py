"""Plays the story of :mod:`cssc_core.demo.scenario` on the example network, in a folder of its own.

The network is imported into ``<folder>/cssc.db`` and every copy goes to the built-in file channels in
``<folder>/cssc-outbox/``; the clock is a :class:`~cssc_core.domain.clock.FakeClock` and every random
choice is seeded, so that two runs store the same deliveries at the same times.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path

import attrs

from cssc_core.cascade import CascadeEngine
from cssc_core.cascade.context import cell_text
from cssc_core.channels.config import default_channels
from cssc_core.demo import scenario
from cssc_core.domain.clock import FakeClock
from cssc_core.domain.message import Message
from cssc_core.domain.network import Network
from cssc_core.formats.cap import parse_cap_xml
from cssc_core.formats.message import parse_message_json
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.plugins.manager import PluginHost
from cssc_core.reference import example_network
from cssc_core.routing.plan import RoutingPlan
from cssc_core.routing.policy import RoutingPolicy
from cssc_core.storage.sqlite import SqliteStore

__all__ = ["DemoStore", "StepReport", "demo_message", "demo_policy", "play", "story_messages"]

DATABASE = "cssc.db"
OUTBOX = "cssc-outbox"


class DemoStore(SqliteStore):
    """The demo's SQLite store. The demo never changes the network once it is imported, so it is read
    from the file once rather than at every acknowledgement."""

    def __init__(self, path: str | Path) -> None:
        # The demo replays in seconds and can be run again; it need not wait for the disk at each step.
        super().__init__(path, synchronous="NORMAL")
        self._network: Network | None = None

    def load_network(self) -> Network | None:
        """The stored network, read once."""
        if self._network is None:
            self._network = super().load_network()
        return self._network

    def replace_network(self, network: Network) -> None:
        """Stores a network in place of the one held."""
        super().replace_network(network)
        self._network = None


@attrs.frozen
class StepReport:
    """What one step of the timeline did, for the progress lines.

    Attributes:
        step: The step.
        acknowledgements: Acknowledgements and releases recorded since the step before (each
            dispatches what it makes due at once).
        dispatched: Deliveries sent by the step itself.
        timers: Timers handled (relay deadlines, acknowledgement timeouts).
        plan: The routing plan, for a step that sends a message.
    """

    step: scenario.Step
    acknowledgements: int
    dispatched: int
    timers: int
    plan: RoutingPlan | None = None

    def line(self) -> str:
        """The progress line of the step."""
        head = f"{self.step.at:%H:%M} {self.step.title}"
        parts = []
        if self.plan is not None:
            relays = f", {len(self.plan.relays)} cells relayed by ISLs" if self.plan.relays else ", direct"
            parts.append(f"{len(self.plan.recipients)} recipients{relays}")
        if self.acknowledgements:
            parts.append(f"{self.acknowledgements} acknowledgements and releases since the step before")
        parts.append(f"{self.dispatched} deliveries sent, {self.timers} timers handled")
        return f"{head}: {'; '.join(parts)}"


def _data(name: str) -> str:
    return files("cssc_core").joinpath("data", "demo", name).read_text("utf-8")


def demo_message(name: str) -> Message:
    """A message file of the story, read from the package (``.xml``: CAP 1.2; else ``cssc-message/1``)."""
    if name.endswith(".xml"):
        return parse_cap_xml(_data(name), source=name)
    return parse_message_json(_data(name), source=name)


def demo_policy() -> RoutingPolicy:
    """The story's routing policy."""
    return parse_policy_toml(_data(scenario.POLICY), source=scenario.POLICY)


def story_messages() -> tuple[Message, ...]:
    """Every message of the story, in the order they are sent."""
    return tuple(demo_message(step.send) for step in scenario.STEPS if step.send is not None)


def _minutes(rng: random.Random, bounds: tuple[int, int]) -> timedelta:
    return timedelta(minutes=rng.randint(*bounds), seconds=rng.randint(0, 59))


def _releases(message: Message, plan: RoutingPlan) -> list[tuple[datetime, str, str]]:
    """When which ISL releases which cell of the message, as the scenario's conduct says."""
    conduct = scenario.CONDUCT.get(message.id)
    if conduct is None:
        return []
    rng = random.Random(f"{scenario.SEED}:{message.id}:releases")
    relayed = {(relay.region, relay.sector) for relay in plan.relays}
    for cell in conduct.silent:
        if cell not in relayed:
            raise RuntimeError(f"the silent cell {cell_text(cell)} is not relayed for {message.id}")
    releases = []
    for relay in plan.relays:
        # The deputy is asked when the lead's deadline passes, and answers a few minutes later.
        deputy_at = message.sent + timedelta(seconds=relay.deadline_s)
        cell = (relay.region, relay.sector)
        deputy = relay.isl[1] if len(relay.isl) > 1 else None
        if cell in conduct.silent:
            if deputy is not None:
                releases.append((deputy_at + _minutes(rng, conduct.deputy_minutes), message.id, deputy))
        elif rng.random() < conduct.lead_share:
            releases.append((message.sent + _minutes(rng, conduct.lead_minutes), message.id, relay.isl[0]))
        elif deputy is not None and rng.random() < conduct.deputy_share:
            releases.append((deputy_at + _minutes(rng, conduct.deputy_minutes), message.id, deputy))
    return releases


def _acknowledgements(message: Message, plan: RoutingPlan) -> list[tuple[datetime, str, str]]:
    """When which recipient acknowledges the message, as the scenario's pattern says."""
    pattern = scenario.ACKNOWLEDGEMENTS.get(message.id)
    if pattern is None:
        return []
    rng = random.Random(f"{scenario.SEED}:{message.id}:acknowledgements")
    waiting = [recipient.contact for recipient in plan.recipients if recipient.ack]
    acknowledgements = []
    for share, minutes in pattern.waves:
        answering = {contact for contact in waiting if rng.random() < share}
        for contact in waiting:
            if contact in answering:
                acknowledgements.append((message.sent + _minutes(rng, minutes), message.id, contact))
        waiting = [contact for contact in waiting if contact not in answering]
    return acknowledgements


def play(directory: Path, progress: Callable[[StepReport], None] | None = None) -> None:
    """Plays the whole story into ``directory`` (its database and outbox must not exist yet).

    Args:
        directory: The folder the database and outbox are made in.
        progress: Hears each step of the timeline as it is done.
    """
    clock = FakeClock(scenario.START)
    policy = demo_policy()
    with closing(DemoStore(directory / DATABASE)) as store:
        store.replace_network(example_network())
        engine = CascadeEngine(
            store,
            host=PluginHost.load(),
            clock=clock,
            rng=random.Random(scenario.SEED),
            channels=default_channels(outbox=str((directory / OUTBOX).resolve())),
            worker="cssc-demo",
        )
        answers: list[tuple[datetime, str, str]] = []
        for step in scenario.STEPS:
            acknowledged = 0
            while answers and answers[0][0] <= step.at:
                at, message_id, contact = heapq.heappop(answers)
                clock.set(at)
                acknowledged += engine.acknowledge(message_id, contact, via="demo")
            clock.set(step.at)
            plan = None
            if step.send is not None:
                message = demo_message(step.send)
                report = engine.send(message, policy=policy)
                plan, run = report.plan, report.run
                for answer in _releases(message, plan) + _acknowledgements(message, plan):
                    heapq.heappush(answers, answer)
            else:
                run = engine.tick(step.at)
            if progress is not None:
                progress(StepReport(step, acknowledged, run.dispatched, run.timers, plan))

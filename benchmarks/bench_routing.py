"""Routing one message over a national network: the engine against the plain reference implementation.

The network is the synthetic one (100,000 organisations, ``--quick``: 2,000) and the policy has 200
routes (140 national, five of them locked, and 60 spread over the regions), with ``match`` and
``select`` tests drawn from a seeded random source. Each message is planned by the engine's
:class:`~cssc_core.routing.engine.Router`, caches warm, and by ``tests/routing/reference.py``, which
tries every route for every organisation; the two plans are checked to be the same before any time is
reported. The cache rebuild is the time a router needs for a network it has not seen: the audience
indexes and the route selection for every kind of organisation.

Run it with ``python benchmarks/bench_routing.py`` or ``python -m benchmarks routing``.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.routing.reference import reference_plan

from benchmarks._harness import Result, best_time, print_results
from cssc_core.domain.marking import Marking
from cssc_core.domain.message import (
    Audience,
    Category,
    Certainty,
    Message,
    MessageType,
    Severity,
    Status,
    Urgency,
)
from cssc_core.domain.network import Network
from cssc_core.formats.network import network_from_document
from cssc_core.routing.engine import Router
from cssc_core.routing.policy import Ack, Match, Route, RoutingPolicy, Select, Via
from cssc_core.synthetic import synthetic_document

__all__ = ["run", "synthetic_policy"]

_TAGS = ("city-centre", "crowded-place", "night-time-economy", "mailroom", "bid")


def _some(rng: random.Random, values: list[str], most: int) -> tuple[str, ...]:
    return tuple(rng.sample(values, rng.randint(0, most)))


def _route(rng: random.Random, name: str, network: Network, *, locked: bool = False) -> Route:
    sectors = [s.code for s in network.sectors]
    counties = [c for r in network.regions for c in r.counties]
    return Route(
        name=name,
        locked=locked,
        match=Match(
            category=_some(rng, [c.value for c in Category], 2),
            severity=_some(rng, [s.value for s in Severity], 2),
            urgency=_some(rng, [u.value for u in Urgency], 1) if locked else (),
            marking=_some(rng, [m.value for m in Marking], 1),
        ),
        select=Select(
            sectors=_some(rng, sectors, 2),
            tags=_some(rng, list(_TAGS), 1),
            counties=_some(rng, counties, 2) if rng.random() < 0.3 else (),
        ),
        continue_=rng.random() < 0.3,
        via=rng.choice([None, None, Via.ISL, Via.DIRECT]),
        channels=rng.choice([None, ("email",), ("sms", "email"), ("email", "webhook")]),
        relay_deadline=rng.choice([None, 300, 600, 900]),
        ack=rng.choice([None, None, Ack.REQUIRED]),
        ack_timeout=rng.choice([None, 600, 1800]),
    )


def synthetic_policy(network: Network, routes: int = 200, seed: int = 1) -> RoutingPolicy:
    """A reproducible policy of ``routes`` routes: 70% national (five locked), the rest regional."""
    rng = random.Random(seed)
    national_count = routes * 7 // 10
    national = tuple(_route(rng, f"national-{i:03d}", network, locked=i < 5) for i in range(national_count))
    regional: dict[str, list[Route]] = {}
    codes = [region.code for region in network.regions]
    for i in range(routes - national_count):
        code = codes[i % len(codes)]
        regional.setdefault(code, []).append(_route(rng, f"{code.lower()}-{i:03d}", network))
    return RoutingPolicy(routes=national, regions={code: tuple(r) for code, r in regional.items()})


def _message(ident: str, audience: Audience) -> Message:
    return Message(
        id=ident,
        sender="NCTPHQ",
        sent=datetime(2019, 6, 12, 8, tzinfo=UTC),
        status=Status.ACTUAL,
        type=MessageType.ALERT,
        marking=Marking.GREEN,
        category=Category.SECURITY,
        urgency=Urgency.IMMEDIATE,
        severity=Severity.MODERATE,
        certainty=Certainty.LIKELY,
        headline="Heightened vigilance",
        audience=audience,
    )


def _document(router: Router, message: Message) -> dict[str, object]:
    return router.plan(message).to_document()


def run(quick: bool = False) -> list[Result]:
    """Builds the network and policy, then times routing and the cache rebuild."""
    organisations = 2_000 if quick else 100_000
    document = synthetic_document(organisations, seed=1)
    network = network_from_document(document)
    policy = synthetic_policy(network)
    messages = [
        ("every active member", _message("msg-national", Audience())),
        ("one region's BIDs", _message("msg-regional", Audience(regions=("SCOT",), tags=("bid",)))),
    ]

    results = []
    router = Router(network, policy)
    for label, message in messages:
        plan = router.plan(message)
        reference_seconds = best_time(lambda m=message: reference_plan(network, policy, m), repeat=1)
        expected = reference_plan(network, policy, message)
        if plan.to_document() != {
            key: expected[key] for key in ("message", "recipients", "relays", "excluded", "gaps")
        }:
            raise AssertionError(f"the engine and the reference disagree on {message.id}")
        seconds = best_time(lambda m=message: router.plan(m), repeat=3)
        results.append(
            Result(
                name=f"route to {label} ({organisations:,} orgs, 200 routes)",
                seconds=seconds,
                reference="reference implementation",
                reference_seconds=reference_seconds,
                target="<= 0.2x",
                detail=f"{len(plan.recipients):,} recipients, {len(plan.relays)} relays, "
                f"{len(plan.gaps)} gaps",
            )
        )

    # A network the router has not seen: an equal copy, made outside the timing.
    fresh = [
        Network(network.regions, network.sectors, network.organisations, network.roles) for _ in range(3)
    ]
    national = messages[0][1]

    def rebuild() -> None:
        fresh_router = Router(fresh.pop(), policy)
        fresh_router.warm()

    rebuild_seconds = best_time(rebuild, repeat=3)
    reference_seconds = best_time(lambda: reference_plan(network, policy, national), repeat=1)
    results.append(
        Result(
            name="cache rebuild (audience indexes, route selection)",
            seconds=rebuild_seconds,
            reference="one reference routing",
            reference_seconds=reference_seconds,
            target="<= 0.5 s on 2 cores",
        )
    )
    return results


if __name__ == "__main__":
    started = time.perf_counter()
    print_results(run(quick="--quick" in sys.argv))
    print(f"(built and measured in {time.perf_counter() - started:.0f} s)")

"""A national cascade, end to end, on synthetic networks of 1,000, 10,000 and 100,000 organisations.

Each size runs in processes of its own, so that each peak memory figure is that size's alone:

1. ``import``: read the network file (``cssc-network/1`` JSON) and store it in a new SQLite file;
2. ``cascade``: one national message (TLP:CLEAR, security) through the ISLs of every cell, with the
   organisations tagged ``crowded-place`` asked to acknowledge, driven by a simulated clock:

   - ``send``: route, persist the whole cascade, dispatch the direct copies and the relay requests;
   - ``releases``: the leads of four cells in five release the message three minutes later (each
     release dispatches its cell's copies at once);
   - ``acks``: four in five of those asked to acknowledge do so, one call each, passed on by a
     portal serving 50 requests at once (acknowledgements in flight together share a commit);
   - ``deadlines``: ticks at +20 min, +40 min and +3 h: deputies asked, silent cells go direct,
     unacknowledged copies escalate to the region hubs.

Every copy goes through the ``webhook`` channel (signed JSON, 50 connections) to a loopback sink
in another process, which counts requests by idempotency key; the run checks that every delivery
the store records ``delivered`` arrived exactly once and that nothing failed. The reference is raw
aiohttp POSTing the same number of prebuilt bodies to the same sink, each to a URL of its own as the
cascade's copies go (50 workers on 50 connections, its best), measured in the same process right
after the cascade: the target is the whole cascade (import excluded) within
1.5x that time. ``route`` is also timed on its own (the plan alone, caches cold), which the ``send``
phase includes.

Each size also runs once with every copy going to a sender that sends nothing and answers
``delivered`` (the same network, story, claims, results and commits, checked to have reached the
sink not at all), beside a raw aiohttp reference of its own: what the engine (rendering each copy
included, which the dispatcher does) and the store take alone, without the channel's JSON, signing,
HTTP and the wire.

The growth from each size to the next is reported twice: as measured, and with the machine's drift
between the two runs taken out (the smaller size's time scaled by how much longer a reference POST
took in the larger size's run).

Run it with ``python -m benchmarks national`` (``--quick``: 100 and 1,000 organisations;
``--repeat N``: each size's cascade N times, each on a fresh copy of the imported file, its
median run reported).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import Result
from benchmarks.bench_channels import HOST, _raw_aiohttp, check, sink, stats
from cssc_core.cascade import CascadeEngine
from cssc_core.channels import channels_from_document
from cssc_core.domain.message import Message
from cssc_core.formats.message import message_from_document
from cssc_core.formats.network import parse_network_json
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.plugins import PluginHost
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult
from cssc_core.routing.plan import RoutingPlan
from cssc_core.routing.policy import RoutingPolicy
from cssc_core.storage.records import DeliveryKind, DeliveryStatus
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.synthetic import synthetic_document
from cssc_core.testing import T0, FakeClock

__all__ = ["run"]

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)
SECRET_ENV = "CSSC_BENCH_WEBHOOK_SECRET"
PORTAL_REQUESTS = 50
"""How many acknowledgements the portal of the ``acks`` phase has in flight at once."""
CHANNELS = {
    "format": "cssc-channels/1",
    "channels": {
        "webhook": {
            "type": "webhook",
            "address": "webhook",
            "secret_env": SECRET_ENV,
            "require_https": False,
            "allow_private": True,
            "timeout_s": 60,
            "concurrency": 50,
        }
    },
}
DISCARD = "bench-discard"
"""The channel type of the benchmark's sender that sends nothing (:class:`_Discard`)."""
DISCARD_CHANNELS = {
    "format": "cssc-channels/1",
    "channels": {"webhook": {"type": DISCARD, "address": "webhook", "concurrency": 50}},
}
POLICY = """
format = "cssc-policy/1"

[defaults]
via = "isl"
channels = ["webhook"]
relay_deadline = "15m"
ack = "none"
ack_timeout = "30m"

[[routes]]
name = "crowded-places-acknowledge"
match = { category = ["security"] }
select = { tags = ["crowded-place"] }
ack = "required"
ack_timeout = "10m"
continue = true
"""
MESSAGE = {
    "format": "cssc-message/1",
    "id": "bench-national-01",
    "sender": "NCTPHQ",
    "sent": "2019-06-12T08:00:00+00:00",
    "status": "actual",
    "type": "alert",
    "marking": "TLP:CLEAR",
    "category": "security",
    "urgency": "expected",
    "severity": "moderate",
    "certainty": "likely",
    "headline": "UK Protect bulletin: vigilance at crowded places this weekend",
    "body": "Police ask every member to brief staff on the HOT principles and to review search "
    "arrangements at entrances before the weekend's events. " * 2,
    "instruction": "Brief your staff today and report anything suspicious to the police on 999.",
    "audience": {},
}


class _Discard:
    """A sender that sends nothing and answers every copy ``delivered`` at once.

    The cascade run with it is the engine's and the store's work alone: the same network, story,
    claims, rendered copies, results and commits, without the channel's JSON, signing, HTTP or the
    wire. It is not the testing kit's ``RecordingChannel``, which keeps every copy (memory the
    cascade does not hold) and, not spreading a batch over connections, is given it in calls of a
    few copies each rather than the webhook channel's one.
    """

    sends_concurrently = True

    async def send(self, batch: Sequence[Outgoing]) -> list[SendResult]:
        """Every copy delivered, none sent."""
        return [SendResult.delivered(item.delivery) for item in batch]

    async def aclose(self) -> None:
        """Nothing to close."""


class _DiscardPlugin:
    """Provides the :data:`DISCARD` channel type, registered only in the benchmark's own process."""

    @hookimpl
    def cssc_delivery_channels(self) -> Iterable[ChannelPlugin]:
        def make(_: ChannelSettings) -> _Discard:
            return _Discard()

        return [ChannelPlugin(DISCARD, make, "sends nothing (benchmark)")]


def _peak_mib() -> float:
    """This process's peak resident memory. ``ru_maxrss`` survives ``exec``, so a child of a large
    process would report its parent's peak: Linux's ``VmHWM`` is the process's own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def write_network(organisations: int, url: str, path: Path) -> int:
    """Writes a synthetic network whose contacts all take copies by webhook at the sink; returns
    how many contacts it has."""
    document = synthetic_document(organisations, seed=1)
    contacts = 0
    for organisation in document["organisations"]:
        for contact in organisation["contacts"]:
            contact["webhook"] = f"{url}/{contact['id']}"
            contact["channels"] = ["webhook"]
            contacts += 1
    path.write_text(json.dumps(document), "utf-8")
    return contacts


def import_network(network_file: Path, database: Path) -> dict[str, Any]:
    """Phase ``import`` (in its own process): parse, validate and store the network."""
    start = time.perf_counter()
    network = parse_network_json(network_file.read_bytes(), source=str(network_file))
    store = SqliteStore(database)
    store.replace_network(network)
    store.close()
    return {"phases": {"import": time.perf_counter() - start}, "peak_mib": _peak_mib()}


class _Phases:
    """Times consecutive phases, and the end of persisting within ``send`` (as dispatch starts)."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._mark = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + now - self._mark
        self._mark = now

    def start(self, total: int) -> None:  # Progress: dispatch of the send is starting
        self.lap("send: route and persist")

    def advance(self, count: int) -> None:
        """Progress: nothing to do per batch."""


async def _portal(engine: CascadeEngine, message_id: str, contacts: list[str]) -> None:
    """Acknowledgements as a portal passes them on: one call per request, with up to
    :data:`PORTAL_REQUESTS` requests being served at once."""
    waiting = iter(contacts)

    async def serve() -> None:
        for contact in waiting:  # shared: each request takes the next acknowledgement
            await engine.aacknowledge(message_id, contact)

    await asyncio.gather(*(serve() for _ in range(PORTAL_REQUESTS)))


async def _story(
    engine: CascadeEngine, clock: FakeClock, message: Message, policy: RoutingPolicy, phases: _Phases
) -> tuple[RoutingPlan, list[str]]:
    """The cascade, on one event loop as a portal would run it (connections kept between calls)."""
    rng = random.Random(2)
    async with engine:
        report = await engine.asend(message, policy=policy)
        phases.lap("send: first dispatch")
        clock.advance(timedelta(minutes=3))
        plan = report.plan
        for relay in plan.relays:
            if rng.random() < 0.8:
                await engine.aacknowledge(message.id, relay.isl[0])
        phases.lap("releases")
        clock.advance(timedelta(minutes=5))
        asked = [r.contact for r in plan.recipients if r.ack]
        acknowledging = [contact for contact in asked if rng.random() < 0.8]
        await _portal(engine, message.id, acknowledging)
        phases.lap("acks")
        for minutes in (20, 40, 180):
            clock.set(T0 + timedelta(minutes=minutes))
            await engine.arun()
        phases.lap("deadlines")
    return plan, acknowledging


def cascade(database: Path, url: str, stats_port: int, discard: bool = False) -> dict[str, Any]:
    """Phase ``cascade`` (in its own process): the whole story, then the raw aiohttp reference.

    With ``discard``, every copy goes to a sender that sends nothing (:class:`_Discard`): the run
    checks that nothing reached the sink, and measures the engine and the store alone.
    """
    os.environ.setdefault(SECRET_ENV, "bench-national-secret")
    message = message_from_document(MESSAGE)
    policy = parse_policy_toml(POLICY)
    clock = FakeClock(T0)
    store = SqliteStore(database)
    phases = _Phases()
    host = PluginHost.load()
    if discard:
        host.register(_DiscardPlugin(), name=DISCARD)
    engine = CascadeEngine(
        store,
        channels=channels_from_document(DISCARD_CHANNELS if discard else CHANNELS, host=host),
        host=host,
        clock=clock,
        rng=random.Random(1),
        progress=phases,
    )
    cpu = time.process_time()
    phases.lap("setup")
    plan, acknowledging = asyncio.run(_story(engine, clock, message, policy, phases))
    cascade_cpu = time.process_time() - cpu
    total = sum(seconds for name, seconds in phases.times.items() if name != "setup")
    peak = _peak_mib()

    deliveries = store.deliveries_of(message.id)
    by_status: dict[str, int] = {}
    for delivery in deliveries:
        by_status[delivery.status.value] = by_status.get(delivery.status.value, 0) + 1
    delivered = by_status.get(DeliveryStatus.DELIVERED.value, 0)
    unsent = {s: n for s, n in by_status.items() if s not in ("delivered", "cancelled")}
    if unsent:
        raise AssertionError(f"deliveries left undelivered: {unsent}")
    if discard:
        counts = stats(stats_port, reset=True)
        if counts["total"]:
            raise AssertionError(f"a channel that sends nothing: the sink counted {counts}")
        checked = "nothing reached the sink"
    else:
        checked = check("national cascade", stats(stats_port, reset=True), delivered)
    kinds = {kind.value: sum(1 for d in deliveries if d.kind is kind) for kind in DeliveryKind}

    start = time.perf_counter()
    route_plan = engine.plan(message, policy=policy)
    route = time.perf_counter() - start
    assert len(route_plan.recipients) == len(plan.recipients)
    raw = asyncio.run(_raw_aiohttp(f"{url}/raw/{{i}}", delivered))  # a URL per body, as the cascade
    check("raw aiohttp", stats(stats_port, reset=True), delivered)
    store.close()
    return {
        "phases": phases.times,
        "route": route,
        "total": total,
        "cpu": cascade_cpu,
        "raw": raw,
        "peak_mib": peak,
        "recipients": len(plan.recipients),
        "relays": len(plan.relays),
        "acknowledgements": len(acknowledging),
        "delivered": delivered,
        "kinds": kinds,
        "checked": checked,
    }


def _child(*arguments: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_national", *arguments],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"bench_national {arguments[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(organisations: int, repeat: int = 1) -> dict[str, Any]:
    """Both processes of one size, against one sink: the network imported once, then the cascade
    ``repeat`` times, each on a fresh copy of the imported file, each followed by its reference.
    Then the cascade runs once more sending nothing. The figures are put together by :func:`summary`.
    """
    with tempfile.TemporaryDirectory(prefix="cssc-national-") as folder, sink("http") as (port, stats_port):
        url = f"http://{HOST}:{port}/hook"
        network_file, imported_file = Path(folder, "network.json"), Path(folder, "imported.db")
        contacts = write_network(organisations, url, network_file)
        imported = _child("import", str(network_file), str(imported_file))

        def on_a_copy(name: str, *mode: str) -> dict[str, Any]:
            database = Path(folder, f"cascade-{name}.db")
            shutil.copyfile(imported_file, database)  # the import closed its store: no WAL is left
            return _child("cascade", str(database), url, str(stats_port), *mode)

        runs = [on_a_copy(str(attempt)) for attempt in range(repeat)]
        # Once more with a sender that sends nothing: what the engine and the store take alone.
        discarded = on_a_copy("discard", "discard")
    return summary(
        {"organisations": organisations, "contacts": contacts, "import": imported}, runs, discarded
    )


def summary(size: dict[str, Any], runs: list[dict[str, Any]], discarded: dict[str, Any]) -> dict[str, Any]:
    """One size's figures: those of the run whose ratio is the median (the machine's speed drifts
    between runs, and the ratio with it), with the highest peak memory of any run; every run's
    figures under ``runs``, and those of the run that sent nothing under ``discard``."""
    figures = [_run_figures(run) for run in runs]
    # Of an even number of runs, the higher of the two middle ones: the report never flatters.
    median = sorted(range(len(runs)), key=lambda index: figures[index]["ratio"])[len(runs) // 2]
    return {
        **size,
        **runs[median],
        "peak_mib": max(run["peak_mib"] for run in runs),
        "runs": figures,
        "discard": {**_run_figures(discarded), "checked": discarded["checked"]},
    }


def _run_figures(run: dict[str, Any]) -> dict[str, Any]:
    """What the JSON report keeps of each run of a size."""
    figures = {key: run[key] for key in ("phases", "total", "cpu", "raw", "peak_mib")}
    return {**figures, "ratio": round(run["total"] / run["raw"], 4)}


def _report(size: dict[str, Any]) -> str:
    """The phases of one size, as lines under the results table."""
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in size["kinds"].items())
    imported = size["import"]
    phases = "\n".join(f"    {name:<28} {seconds:8.2f} s" for name, seconds in size["phases"].items())
    return (
        f"{size['organisations']:,} organisations, {size['contacts']:,} contacts: "
        f"{size['recipients']:,} recipients, {size['relays']:,} relayed cells, "
        f"{size['acknowledgements']:,} acknowledgements; {size['delivered']:,} delivered ({kinds})\n"
        f"    {'import (own process)':<28} {imported['phases']['import']:8.2f} s   "
        f"peak {imported['peak_mib']:.0f} MiB\n"
        f"{phases}\n"
        f"    {'cascade in all':<28} {size['total']:8.2f} s   CPU {size['cpu']:.2f} s, "
        f"peak {size['peak_mib']:.0f} MiB\n"
        f"    {'(route alone, cold)':<28} {size['route']:8.2f} s\n"
        f"    {'raw aiohttp, same POSTs':<28} {size['raw']:8.2f} s"
        f"{_spread(size['runs'])}\n"
        f"    {'sending nothing':<28} {size['discard']['total']:8.2f} s   "
        f"raw aiohttp {size['discard']['raw']:.2f} s in that run: the engine and the store alone"
    )


def _spread(runs: list[dict[str, Any]]) -> str:
    """The ratios of the runs of a size, when there were several."""
    if len(runs) < 2:
        return ""
    ratios = ", ".join(f"{run['ratio']:.2f}x" for run in sorted(runs, key=lambda run: run["ratio"]))
    return f"\n    {'ratio of each run':<28} {ratios} (the median run is shown)"


def _growth(smaller: dict[str, Any], larger: dict[str, Any]) -> list[Result]:
    """How the cascade's time grew from one size to the next: as measured, and with the machine's
    drift between the two runs taken out.

    The machine's speed moves between runs (the runs table of ``docs/performance.md`` shows raw
    aiohttp taking six times as long on one day as on another), and a time measured minutes after
    another moves with it. Each run's reference measures the speed of that moment: the second
    figure scales the smaller size's time by how much longer a reference POST took in the larger
    size's run.
    """
    factor = larger["organisations"] / smaller["organisations"]
    sizes = f"{smaller['organisations']:,} -> {larger['organisations']:,} organisations"
    target = f"<= 1.1x (at most {factor * 1.1:g}x the cost)"
    drift = (larger["raw"] / larger["delivered"]) / (smaller["raw"] / smaller["delivered"])
    return [
        Result(
            name=f"growth {sizes}",
            seconds=larger["total"],
            reference=f"{smaller['organisations']:,} organisations x {factor:g}",
            reference_seconds=smaller["total"] * factor,
            target=target,
            detail=f"{larger['total'] / smaller['total']:.1f}x the time for {factor:g}x the organisations",
        ),
        Result(
            name=f"growth {sizes}, drift taken out",
            seconds=larger["total"],
            reference="the same, at the larger run's speed",
            reference_seconds=smaller["total"] * factor * drift,
            target=target,
            detail=f"{larger['total'] / (smaller['total'] * drift):.1f}x the cost for {factor:g}x the "
            f"organisations; a reference POST took {drift:.2f}x as long in the larger run",
        ),
    ]


def _result(size: dict[str, Any], figures: dict[str, Any], variant: str = "", **more: Any) -> Result:
    """A cascade's time (``figures``: a size's median run, or its run sending nothing) against the
    raw aiohttp reference of the same run."""
    name = f"national cascade, {size['organisations']:,} organisations"
    return Result(
        name=f"{name}, {variant}" if variant else name,
        seconds=figures["total"],
        reference=f"raw aiohttp, {size['delivered']:,} POSTs",
        reference_seconds=figures["raw"],
        **more,
    )


def run(quick: bool = False, repeat: int = 1) -> list[Result]:
    """Every size, then the growth from each size to the next; with ``repeat``, each size's cascade
    runs that many times and its median run is reported."""
    sizes = [measure(organisations, repeat) for organisations in (QUICK_SIZES if quick else SIZES)]
    for size in sizes:
        print(_report(size), flush=True)
    results = [
        _result(
            size,
            size,
            target="<= 1.5x",
            detail=f"peak {size['peak_mib']:.0f} MiB, target < 1024; {size['checked']}"
            + (f"; median of {len(size['runs'])} runs" if len(size["runs"]) > 1 else ""),
            data={key: value for key, value in size.items() if key != "checked"},
        )
        for size in sizes
    ]
    results += [
        _result(
            size,
            size["discard"],
            "sending nothing",
            detail="the engine and the store alone: a channel that answers every copy delivered "
            f"and sends nothing; {size['discard']['checked']}",
        )
        for size in sizes
    ]
    for smaller, larger in itertools.pairwise(sizes):
        results.extend(_growth(smaller, larger))
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["import"]:
        print(json.dumps(import_network(Path(sys.argv[2]), Path(sys.argv[3]))))
    elif sys.argv[1:2] == ["cascade"]:
        discarding = sys.argv[5:6] == ["discard"]
        print(json.dumps(cascade(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), discarding)))
    else:
        from benchmarks.__main__ import main

        sys.exit(main(["national", *sys.argv[1:]]))

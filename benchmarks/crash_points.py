"""Kills a sending process at every storage write and every plugin call of a small incident, in turn.

``python benchmarks/crash_points.py`` prints one line per crash point and a summary table:

- crash points tried: every storage write (killed just before it), every channel call (killed once
  before the copies go out, once after they went out but before the results are recorded) and every
  event hook call;
- lost: deliveries of the clean run that never reached the wire or the store as ``delivered`` (must
  be 0);
- re-sent: copies sent again after the store had recorded them ``delivered`` (must be 0);
- duplicates: copies sent twice, each of which must have been in flight (``sending``) at the crash;
- integrity: SQLite's ``integrity_check`` after the crash and after recovery (must be ok).

The incident: an alert relayed through two cells (the lead of one releases it, the other stays silent
and goes direct at its deadline), a school that never acknowledges on either channel and is escalated
to the region's hub, then a cancel to everyone the alert reached.

Each run forks a child that runs the scenario on a copy of a SQLite store with the network already
loaded; the child counts storage writes and channel calls and sends itself SIGKILL at the chosen one.
The parent then recovers as an operator would (``send`` again a message never stored, else ``resume``; the
acknowledgement again; ``resume`` to the end) and compares what went out on the wire with the store.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.cascade.incident import INCIDENT_POLICY, message, person

from cssc_core.cascade import CascadeEngine
from cssc_core.channels import ChannelConfig, ChannelFile
from cssc_core.domain.clock import FakeClock
from cssc_core.domain.message import Message
from cssc_core.domain.models import HubRole, IslRole, Organisation
from cssc_core.domain.network import Network
from cssc_core.plugins.manager import PluginHost
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult
from cssc_core.reference import reference_regions, reference_sectors
from cssc_core.storage.records import DeliveryStatus
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import T0

__all__ = ["CrashPoint", "CrashReport", "main", "run_crash_points"]


WRITES = frozenset(
    {
        "replace_network",
        "upsert_organisations",
        "erase_contact",
        "start_cascade",
        "finish_cascade",
        "add_deliveries",
        "claim_due",
        "record_results",
        "update_deliveries",
        "add_timers",
        "remove_timers",
        "record_acknowledgement",
        "append_audit",
        "set_setting",
        "setting_or_default",
    }
)
"""The store methods that change what it holds; the child may be killed just before each."""

POLICY = INCIDENT_POLICY


def scenario_network() -> Network:
    """A retail cell whose lead releases, a faith cell left silent, a school that never acknowledges."""
    organisations = (
        Organisation("retail-isls", "Retail ISLs", "EAST", ("retail",), contacts=(person("isl-r1"),)),
        Organisation("faith-isls", "Faith ISLs", "EAST", ("faith",), contacts=(person("isl-f1"),)),
        Organisation("hub", "Hub", "EAST", ("government",), contacts=(person("hub-e"),)),
        Organisation("shop", "Shop", "EAST", ("retail",), contacts=(person("shop-a"), person("shop-b"))),
        Organisation("church", "Church", "EAST", ("faith",), contacts=(person("church-a"),)),
        Organisation(
            "school", "School", "EAST", ("education",), contacts=(person("school-a", "email", "sms"),)
        ),
    )
    return Network(
        regions=reference_regions(),
        sectors=reference_sectors(),
        organisations=organisations,
        roles=(
            IslRole("EAST", "retail", "isl-r1"),
            IslRole("EAST", "faith", "isl-f1"),
            HubRole("hub-e", "EAST"),
        ),
    )


def scenario_message(identifier: str = "msg-1", **fields: Any) -> Message:
    """The alert the scenario sends (or, with ``type`` and ``references``, its cancel)."""
    audience = {"organisations": ["retail-isls", "faith-isls", "shop", "church", "school"]}
    return message(identifier, **{"audience": audience, **fields})


MESSAGES = ("msg-1", "msg-2")
"""The alert, and the cancel sent once its escalation has gone out."""


class _Crash:
    """Counts crash points; at the chosen one, the process kills itself as a power cut would."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.count = 0

    def point(self) -> None:
        self.count += 1
        if self.count == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


class CrashingStore:
    """Passes every call to a store, counting the writes as crash points."""

    def __init__(self, inner: SqliteStore, crash: _Crash) -> None:
        self._inner = inner
        self._crash = crash

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in WRITES:
            return value

        def write(*args: Any, **kwargs: Any) -> Any:
            self._crash.point()
            return value(*args, **kwargs)

        return write


class WireChannel:
    """A channel that writes each copy to a wire log (fsynced) and reports it delivered.

    Each call is two crash points: before the copies go out, and after they went out but before the
    dispatcher hears of it.
    """

    name = "wire"

    def __init__(self, wire: Path, phase: str, crash: _Crash | None) -> None:
        self._wire = wire
        self._phase = phase
        self._crash = crash

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        if self._crash is not None:
            self._crash.point()
        with self._wire.open("a", encoding="utf-8") as log:
            for copy in batch:
                log.write(json.dumps({"delivery": copy.delivery, "phase": self._phase}) + "\n")
            log.flush()
            os.fsync(log.fileno())
        if self._crash is not None:
            self._crash.point()
        return [SendResult.delivered(copy.delivery) for copy in batch]

    async def aclose(self) -> None:
        """Nothing to close."""

    def _make(self, settings: ChannelSettings) -> WireChannel:
        return self

    @hookimpl
    def cssc_delivery_channels(self) -> Iterable[ChannelPlugin]:
        """The wire channel type."""
        return [ChannelPlugin(self.name, self._make, "a wire log for crash tests")]


class CrashingEvents:
    """An event plugin: every hook call is a crash point (it fires after its transaction commits)."""

    def __init__(self, crash: _Crash) -> None:
        self._crash = crash

    @hookimpl
    def cssc_message_routed(self) -> None:
        """A crash point."""
        self._crash.point()

    @hookimpl
    def cssc_delivery_status_changed(self) -> None:
        """A crash point."""
        self._crash.point()

    @hookimpl
    def cssc_acknowledgement_received(self) -> None:
        """A crash point."""
        self._crash.point()

    @hookimpl
    def cssc_relay_released(self) -> None:
        """A crash point."""
        self._crash.point()


def _setup() -> ChannelFile:
    return ChannelFile(
        channels={
            "email": ChannelConfig("email", "wire", "email", secure=True),
            "sms": ChannelConfig("sms", "wire", "phone"),
        }
    )


def _engine(store: Any, wire: Path, phase: str, crash: _Crash | None, clock: FakeClock) -> CascadeEngine:
    host = PluginHost.load(entry_points=False)
    host.register(WireChannel(wire, phase, crash), "wire-channel")
    if crash is not None:
        host.register(CrashingEvents(crash), "crashing-events")
    return CascadeEngine(store, host=host, clock=clock, rng=random.Random(1), channels=_setup())


def _send_or_resume(engine: CascadeEngine, store: Any, message: Message) -> None:
    # What an operator does after a crash: send again a message the store never got, else resume.
    if store.get_message(message.id) is None:
        engine.send(message, policy=POLICY)
    else:
        engine.resume()


def _scenario(store: Any, wire: Path, phase: str, crash: _Crash | None) -> None:
    """Sends, acknowledges (a release), lets the deadlines and timeouts pass, cancels, ticks to the end."""
    clock = FakeClock(T0)
    engine = _engine(store, wire, phase, crash, clock)
    _send_or_resume(engine, store, scenario_message())
    clock.set(T0 + timedelta(minutes=5))
    engine.acknowledge("msg-1", "isl-r1", via="crash-test")
    clock.set(T0 + timedelta(minutes=30))
    cancel = scenario_message("msg-2", type="cancel", references=["msg-1"], audience={})
    _send_or_resume(engine, store, cancel)
    clock.set(T0 + timedelta(hours=2))
    engine.resume()


@attrs.frozen
class CrashPoint:
    """What one crash point showed."""

    point: int
    killed: bool
    lost: int
    resent: int
    duplicates: int
    unexplained_duplicates: int
    extra: int
    integrity_after_crash: bool
    integrity_after_recovery: bool

    @property
    def ok(self) -> bool:
        """Whether every guarantee held at this point."""
        return (
            self.killed
            and self.lost == 0
            and self.resent == 0
            and self.unexplained_duplicates == 0
            and self.extra == 0
            and self.integrity_after_crash
            and self.integrity_after_recovery
        )


@attrs.frozen
class CrashReport:
    """Every crash point and the totals."""

    points: tuple[CrashPoint, ...]
    expected_deliveries: int

    @property
    def ok(self) -> bool:
        """Whether every point held."""
        return bool(self.points) and all(point.ok for point in self.points)

    def table(self) -> str:
        """The summary table."""
        rows = [
            ("crash points tried", len(self.points)),
            ("deliveries in the clean run", self.expected_deliveries),
            ("deliveries lost (must be 0)", sum(p.lost for p in self.points)),
            ("re-sent after recorded delivered (must be 0)", sum(p.resent for p in self.points)),
            ("duplicates (attempts in flight at the crash)", sum(p.duplicates for p in self.points)),
            ("duplicates not in flight (must be 0)", sum(p.unexplained_duplicates for p in self.points)),
            ("deliveries beyond the clean run (must be 0)", sum(p.extra for p in self.points)),
            (
                "integrity_check ok (after crash / recovery)",
                f"{sum(p.integrity_after_crash for p in self.points)}/"
                f"{sum(p.integrity_after_recovery for p in self.points)} of {len(self.points)}",
            ),
        ]
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)


def _deliveries(store: SqliteStore, status: DeliveryStatus) -> set[str]:
    return {d.id for m in MESSAGES for d in store.deliveries_of(m) if d.status is status}


def _delivered(store: SqliteStore) -> set[str]:
    return _deliveries(store, DeliveryStatus.DELIVERED)


def _wire(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _pristine(folder: Path) -> Path:
    path = folder / "pristine.db"
    store = SqliteStore(path)
    store.replace_network(scenario_network())
    store.close()
    return path


def _run_child(db: Path, wire: Path, crash_at: int) -> tuple[bool, int]:
    """Runs the scenario in a forked child killed at crash point ``crash_at`` (0: never).

    Returns:
        Whether the child was killed, and how many crash points it passed.
    """
    counted = db.with_suffix(".points")
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            crash = _Crash(crash_at)
            store = SqliteStore(db)
            _scenario(CrashingStore(store, crash), wire, "crashed-run", crash)
            store.close()
            counted.write_text(str(crash.count), "utf-8")
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    if not killed and os.WEXITSTATUS(status) != 0:
        raise RuntimeError(f"the scenario failed in the child at crash point {crash_at}")
    return killed, int(counted.read_text("utf-8")) if counted.exists() else 0


def run_crash_points(
    folder: Path, *, limit: int | None = None, report: Callable[[str], None] | None = None
) -> CrashReport:
    """Runs the clean scenario, then one crashed run and recovery per crash point.

    Args:
        folder: Where to keep the SQLite files and wire logs.
        limit: Try only the first ``limit`` crash points (all by default).
        report: Told one line per crash point.
    """
    pristine = _pristine(folder)
    clean_db, clean_wire = folder / "clean.db", folder / "clean.wire"
    shutil.copy(pristine, clean_db)
    _, total = _run_child(clean_db, clean_wire, 0)
    clean = SqliteStore(clean_db)
    expected = _delivered(clean)
    clean.close()
    points = []
    for point in range(1, (min(total, limit) if limit else total) + 1):
        db, wire = folder / f"run-{point}.db", folder / f"run-{point}.wire"
        shutil.copy(pristine, db)
        killed, _ = _run_child(db, wire, point)
        store = SqliteStore(db)
        integrity_after_crash = store.integrity_check() == []
        delivered_at_crash = _delivered(store)
        in_flight = _deliveries(store, DeliveryStatus.SENDING)
        _scenario(store, wire, "recovery", None)
        integrity_after_recovery = store.integrity_check() == []
        final = _delivered(store)
        store.close()
        lines = _wire(wire)
        sent = Counter(line["delivery"] for line in lines)
        duplicated = {delivery for delivery, count in sent.items() if count > 1}
        outcome = CrashPoint(
            point=point,
            killed=killed,
            lost=len({d for d in expected if d not in final or d not in sent}),
            resent=sum(
                1 for line in lines if line["phase"] == "recovery" and line["delivery"] in delivered_at_crash
            ),
            duplicates=len(duplicated),
            unexplained_duplicates=len(duplicated - in_flight),
            extra=len(final - expected),
            integrity_after_crash=integrity_after_crash,
            integrity_after_recovery=integrity_after_recovery,
        )
        points.append(outcome)
        if report is not None:
            report(
                f"point {point:3d}: {'killed' if killed else 'NOT KILLED'}, lost {outcome.lost}, "
                f"re-sent {outcome.resent}, duplicates {outcome.duplicates}, "
                f"{'ok' if outcome.ok else 'FAILED'}"
            )
        for path in (db, wire):
            path.unlink(missing_ok=True)
    return CrashReport(tuple(points), len(expected))


def main(argv: list[str] | None = None) -> int:
    """Runs every crash point and prints the table; exit status 1 when a guarantee failed."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/crash_points.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quiet", action="store_true", help="print the table only")
    parser.add_argument("--limit", type=int, default=None, help="try only the first N crash points")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cssc-crash-") as folder:
        result = run_crash_points(Path(folder), limit=args.limit, report=None if args.quiet else print)
    print(result.table())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""A commit that fails in the middle of a cascade, at every storage write in turn: the operator runs
the command again, and nothing is lost, nothing recorded delivered goes out again, and the copies sent
twice are only those that were in flight when the write failed.

The same incident as the crash test (``benchmarks/crash_points.py``: relays, a release, an
escalation, a cancel), on an in-process store whose Nth write raises StorageError instead of
committing; each command that fails is retried by a fresh engine, as an operator would. Afterwards every
delivery is in a final status, every one recorded delivered went out, and none went out again after
its delivery was recorded (committed) delivered; copies whose result was lost with the failed commit
may go out twice, as in a crash. (Such a copy, still ``sending`` when a cancel arrives, is cancelled
with the rest of its message; the cancel then goes to whom the message is recorded to have reached.)
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from benchmarks.crash_points import POLICY, WireChannel, _setup, scenario_message, scenario_network

from cssc_core.cascade import CascadeEngine
from cssc_core.errors import StorageError
from cssc_core.plugins.manager import PluginHost
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import DeliveryStatus
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import T0, FakeClock
from tests.reliability.tally import SCALE, TALLY

WRITES = frozenset(
    {
        "start_cascade",
        "add_deliveries",
        "claim_due",
        "record_results",
        "update_deliveries",
        "finish_cascade",
        "add_timers",
        "remove_timers",
        "record_acknowledgement",
        "append_audit",
        "set_setting",
        "setting_or_default",
    }
)


class FailingStore:
    """A store whose ``fail_at``-th write raises StorageError without writing (0: never)."""

    def __init__(self, inner: Any, fail_at: int) -> None:
        self._inner = inner
        self.fail_at = fail_at
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in WRITES:
            return value

        def write(*args: Any, **kwargs: Any) -> Any:
            self.writes += 1
            if self.writes == self.fail_at:
                raise StorageError("injected: the commit failed")
            return value(*args, **kwargs)

        return write


def _scenario(store: FailingStore, wire: Path) -> list[tuple[int, set[str]]]:
    """Runs the incident; returns, for each failed command, how many copies had gone out on the wire
    by then and which deliveries the store had recorded delivered (committed) once it failed."""
    clock = FakeClock(T0)
    failures: list[tuple[int, set[str]]] = []

    def again(command: Callable[[CascadeEngine], object]) -> None:
        # Each command runs on a fresh engine; a failed one is run again, as an operator would.
        for _ in range(2):
            host = PluginHost.load(entry_points=False)
            host.register(WireChannel(wire, "run", None), "wire-channel")
            engine = CascadeEngine(store, host=host, clock=clock, rng=random.Random(1), channels=_setup())
            try:
                command(engine)
                return
            except StorageError:
                failures.append((len(_wire(wire)), _delivered_ids(store)))
        raise AssertionError("the command failed twice")

    def send_or_resume(engine: CascadeEngine, message_id: str, **fields: Any) -> None:
        if store.get_message(message_id) is None:
            engine.send(scenario_message(message_id, **fields), policy=POLICY)
        else:
            engine.resume()

    again(lambda engine: send_or_resume(engine, "msg-1"))
    clock.set(T0 + timedelta(minutes=5))
    again(lambda engine: engine.acknowledge("msg-1", "isl-r1", via="test"))
    clock.set(T0 + timedelta(minutes=30))
    again(lambda engine: send_or_resume(engine, "msg-2", type="cancel", references=["msg-1"], audience={}))
    # Past every lease a failed worker left behind.
    clock.set(T0 + timedelta(hours=2))
    again(lambda engine: engine.resume())
    return failures


def _wire(path: Path) -> list[str]:
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    return [json.loads(line)["delivery"] for line in lines]


def _delivered_ids(store: Any) -> set[str]:
    return {
        d.id
        for message in store.messages()
        for d in store.deliveries_of(message.id)
        if d.status is DeliveryStatus.DELIVERED
    }


def _delivered(store: Any) -> set[str]:
    return {d.idempotency_key for d in _all(store) if d.status is DeliveryStatus.DELIVERED}


def _all(store: Any) -> list[Any]:
    return [d for message in store.messages() for d in store.deliveries_of(message.id)]


def _run(kind: str, folder: Path, fail_at: int) -> tuple[FailingStore, Any, list[str], list[Any]]:
    inner: Any = MemoryStore() if kind == "memory" else SqliteStore(folder / f"run-{fail_at}.db")
    inner.replace_network(scenario_network())
    store = FailingStore(inner, fail_at)
    wire = folder / f"run-{fail_at}.wire"
    failures = _scenario(store, wire)
    return store, inner, _wire(wire), failures


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_failed_commit_at_any_write_loses_and_resends_nothing(tmp_path: Path, kind: str) -> None:
    clean, clean_inner, _, _ = _run(kind, tmp_path, 0)
    assert _delivered(clean_inner)
    step = 1 if SCALE > 1 or kind == "memory" else 7
    for fail_at in range(1, clean.writes + 1, step):
        _, inner, sent, failures = _run(kind, tmp_path, fail_at)
        TALLY.faults_injected += 1
        deliveries = [d for m in inner.messages() for d in inner.deliveries_of(m.id)]
        settled = [d for d in deliveries if d.status.is_final]
        unsent = [d.id for d in settled if d.status is DeliveryStatus.DELIVERED and d.id not in sent]
        resent = [
            delivery
            for gone_out, recorded in failures
            for delivery in sent[gone_out:]
            if delivery in recorded
        ]
        TALLY.deliveries_expected += len(deliveries)
        TALLY.deliveries_accounted += len(settled) - len(unsent)
        assert len(settled) == len(deliveries), fail_at  # nothing left open
        assert unsent == [], fail_at  # recorded delivered only when it went out
        assert resent == [], fail_at  # never sent again once recorded delivered
        if kind == "sqlite":
            assert inner.integrity_check() == []
        inner.close()

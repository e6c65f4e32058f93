"""SQLite store against raw sqlite3 on the same data, in the same run.

Prints two ratios (targets in brackets):

- batched status writes: deliveries recorded per second by ``SqliteStore.record_results`` divided by
  raw ``executemany`` of the same row changes (status, history line, ``settled_at``, the lease
  guard; same batches, one transaction each, same ``synchronous`` setting) [>= 0.8];
- the undelivered lookup: time of ``SqliteStore.undelivered`` divided by the raw indexed query it
  runs [<= 1.5].

Usage: ``python benchmarks/bench_storage.py [--deliveries N] [--batch B] [--rounds R]``, or through
the harness, ``python -m benchmarks storage``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import Result
from cssc_core.storage.records import (
    CascadeRecord,
    Delivery,
    DeliveryKind,
    DeliveryRef,
    DeliveryStatus,
    DeliveryUpdate,
    MessageRecord,
    StatusChange,
    make_idempotency_key,
)
from cssc_core.storage.sqlite import SqliteStore

T0 = datetime(2019, 6, 12, 8, 0, tzinfo=UTC)


def deliveries(message: str, count: int) -> list[Delivery]:
    return [
        Delivery(
            id=f"{message}-{i:07}",
            message=message,
            contact=f"c-{i:07}",
            channel="email",
            address_kind="email",
            idempotency_key=make_idempotency_key(message, f"c-{i:07}", "email"),
            kind=DeliveryKind.MESSAGE,
            history=(StatusChange(DeliveryStatus.CREATED, T0),),
        )
        for i in range(count)
    ]


def start(store: SqliteStore, message: str, size: int) -> None:
    record = MessageRecord(id=message, document=f'{{"id": "{message}"}}', sent=T0)
    store.start_cascade(CascadeRecord(message=message, started_at=T0), record, deliveries(message, size))


def filled_store(path: Path, count: int) -> SqliteStore:
    """A store with one big cascade (``big``) among smaller ones, every delivery claimed by ``w1``."""
    store = SqliteStore(path)
    for message, size in (("small-a", count // 4), ("big", count), ("small-b", count // 4)):
        start(store, message, size)
    store.claim_due(T0, 10 * count, 3600, "w1")
    return store


def bench_writes(directory: Path, count: int, batch: int, rounds: int) -> tuple[float, float]:
    """Seconds to record ``count`` results in batches: (store, raw executemany)."""
    ids = [f"big-{i:07}" for i in range(count)]
    at = T0 + timedelta(seconds=1)

    def ours() -> float:
        store = filled_store(directory / f"ours-{time.perf_counter_ns()}.db", count)
        results = [DeliveryUpdate(i, DeliveryStatus.DELIVERED, at) for i in ids]
        start = time.perf_counter()
        for offset in range(0, count, batch):
            outcome = store.record_results(results[offset : offset + batch], "w1", at)
            assert not outcome.refused
        elapsed = time.perf_counter() - start
        store.close()
        return elapsed

    def raw() -> float:
        path = directory / f"raw-{time.perf_counter_ns()}.db"
        filled_store(path, count).close()
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA synchronous = FULL")
        settled = int(at.timestamp() * 1_000_000)
        line = json.dumps(["delivered", settled, None]) + "\n"
        rows = [("delivered", None, None, None, line, settled, i, "w1", settled) for i in ids]
        start = time.perf_counter()
        for offset in range(0, count, batch):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "UPDATE deliveries SET status = ?, reason = ?, next_attempt_at = ?, due_at = ?, "
                "lease_owner = NULL, lease_until = NULL, history = history || ?, settled_at = ? "
                "WHERE id = ? AND status = 'sending' AND lease_owner = ? AND lease_until > ?",
                rows[offset : offset + batch],
            )
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        assert db.total_changes == count, "the raw reference must write every row, as the store does"
        db.close()
        return elapsed

    ours_best = raw_best = float("inf")
    for _ in range(rounds):  # alternate, so that disk and cache conditions fall on both sides alike
        ours_best = min(ours_best, ours())
        raw_best = min(raw_best, raw())
    return ours_best, raw_best


def bench_lookup(directory: Path, count: int, rounds: int) -> tuple[float, float, int]:
    """Seconds per undelivered lookup of the big message: (store, raw query), and rows found."""
    store = SqliteStore(directory / "lookup.db")
    for message, size in (("small-a", count // 4), ("big", count), ("small-b", count // 4)):
        start(store, message, size)
    db = sqlite3.connect(directory / "lookup.db")
    sql = (
        "SELECT id, contact, channel, kind, status FROM deliveries INDEXED BY deliveries_undelivered "
        "WHERE message = ? AND settled_at IS NULL ORDER BY rowid"
    )
    repeats = 10

    def ours() -> list[DeliveryRef]:
        return store.undelivered("big")

    def raw() -> list[tuple[str, ...]]:
        return db.execute(sql, ("big",)).fetchall()

    assert len(ours()) == len(raw()) == count
    # timeit switches the garbage collector off while timing, for both sides alike.
    ours_timer, raw_timer = timeit.Timer(ours), timeit.Timer(raw)
    ours_best = raw_best = float("inf")
    for _ in range(rounds):  # alternate so that neither side always runs with a warmer cache
        ours_best = min(ours_best, ours_timer.timeit(repeats) / repeats)
        raw_best = min(raw_best, raw_timer.timeit(repeats) / repeats)
    db.close()
    store.close()
    return ours_best, raw_best, count


def run(quick: bool = False) -> list[Result]:
    """Both comparisons as harness results (``python -m benchmarks storage``); times, not rates."""
    count, rounds = (2_000, 2) if quick else (20_000, 5)
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        ours_w, raw_w = bench_writes(directory, count, 500, rounds)
        ours_l, raw_l, rows = bench_lookup(directory, count, rounds)
    return [
        Result(
            name=f"batched status writes ({count:,} in batches of 500)",
            seconds=ours_w,
            reference="raw sqlite3 executemany",
            reference_seconds=raw_w,
            target="<= 1.25x (throughput >= 0.8x raw)",
            detail=f"{count / ours_w:,.0f}/s against {count / raw_w:,.0f}/s, synchronous=FULL",
        ),
        Result(
            name=f"undelivered lookup ({rows:,} rows)",
            seconds=ours_l,
            reference="raw indexed query",
            reference_seconds=raw_l,
            target="<= 1.5x",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        ours_w, raw_w = bench_writes(directory, args.deliveries, args.batch, args.rounds)
        ours_l, raw_l, rows = bench_lookup(directory, args.deliveries, args.rounds)
    write_ratio = raw_w / ours_w
    lookup_ratio = ours_l / raw_l
    print(
        f"SQLite {sqlite3.sqlite_version}, {args.deliveries} deliveries, "
        f"batches of {args.batch}, synchronous=FULL"
    )
    print(
        f"batched status writes: store {args.deliveries / ours_w:,.0f}/s, raw executemany "
        f"{args.deliveries / raw_w:,.0f}/s, ratio {write_ratio:.2f}x of raw throughput (target >= 0.8x) "
        f"{'ok' if write_ratio >= 0.8 else 'MISSED'}"
    )
    print(
        f"undelivered lookup ({rows} rows): store {ours_l * 1000:.2f} ms, raw indexed query "
        f"{raw_l * 1000:.2f} ms, ratio {lookup_ratio:.2f}x of raw time (target <= 1.5x) "
        f"{'ok' if lookup_ratio <= 1.5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()

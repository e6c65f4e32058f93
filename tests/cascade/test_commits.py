"""Group commit: steps awaited together share one transaction; each caller resumes once it committed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cssc_core.cascade.commits import CommitGroups
from cssc_core.plugins.markers import hookimpl
from cssc_core.storage.records import Acknowledgement
from cssc_core.storage.sqlite import SqliteStore
from tests.cascade.conftest import Harness, message


class Transactions:
    """A fake transaction that logs what happens: ``begin``, each step's name, ``commit``/``rollback``."""

    def __init__(self, fail_commit: bool = False) -> None:
        self.log: list[str] = []
        self.fail_commit = fail_commit

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.log.append("begin")
        try:
            yield
        except BaseException:
            self.log.append("rollback")
            raise
        if self.fail_commit:
            self.log.append("rollback")
            raise OSError("disk full")
        self.log.append("commit")

    def step(self, name: str, result: Any = None, error: Exception | None = None) -> Callable[[], Any]:
        def run() -> Any:
            self.log.append(name)
            if error is not None:
                raise error
            return result

        return run


def test_steps_awaited_together_commit_together_and_get_their_own_results() -> None:
    fake = Transactions()
    groups = CommitGroups(fake.transaction)

    async def callers() -> list[Any]:
        return await asyncio.gather(*(groups.run(fake.step(f"s{i}", i * 10)) for i in range(4)))

    assert asyncio.run(callers()) == [0, 10, 20, 30]
    assert fake.log == ["begin", "s0", "s1", "s2", "s3", "commit"]


def test_a_caller_resumes_only_after_the_commit() -> None:
    fake = Transactions()
    groups = CommitGroups(fake.transaction)

    async def caller() -> list[str]:
        await groups.run(fake.step("s"))
        return list(fake.log)

    assert asyncio.run(caller()) == ["begin", "s", "commit"]


def test_steps_awaited_one_after_another_commit_one_by_one() -> None:
    fake = Transactions()
    groups = CommitGroups(fake.transaction)

    async def callers() -> None:
        await groups.run(fake.step("a"))
        await groups.run(fake.step("b"))

    asyncio.run(callers())
    assert fake.log == ["begin", "a", "commit", "begin", "b", "commit"]


def test_a_failing_step_fails_its_caller_alone() -> None:
    fake = Transactions()
    groups = CommitGroups(fake.transaction)

    async def callers() -> list[Any]:
        return await asyncio.gather(
            groups.run(fake.step("a", 1)),
            groups.run(fake.step("b", error=ValueError("bad step"))),
            groups.run(fake.step("c", 3)),
            return_exceptions=True,
        )

    first, second, third = asyncio.run(callers())
    assert (first, third) == (1, 3)
    assert isinstance(second, ValueError)
    assert str(second) == "bad step"
    assert fake.log == ["begin", "a", "b", "c", "commit"]


def test_a_failed_commit_fails_every_caller_of_the_group() -> None:
    fake = Transactions(fail_commit=True)
    groups = CommitGroups(fake.transaction)

    async def callers() -> list[Any]:
        return await asyncio.gather(
            groups.run(fake.step("a", 1)), groups.run(fake.step("b", 2)), return_exceptions=True
        )

    outcomes = asyncio.run(callers())
    assert all(isinstance(outcome, OSError) for outcome in outcomes)
    assert fake.log == ["begin", "a", "b", "rollback"]


def test_a_long_queue_commits_in_groups_of_at_most_max_group() -> None:
    fake = Transactions()
    groups = CommitGroups(fake.transaction, max_group=2)

    async def callers() -> list[Any]:
        return await asyncio.gather(*(groups.run(fake.step(f"s{i}", i)) for i in range(5)))

    assert asyncio.run(callers()) == [0, 1, 2, 3, 4]
    assert fake.log == [
        *("begin", "s0", "s1", "commit"),
        *("begin", "s2", "s3", "commit"),
        *("begin", "s4", "commit"),
    ]


def test_the_step_of_a_caller_that_stopped_waiting_is_not_run() -> None:
    fake = Transactions()
    groups = CommitGroups(fake.transaction)

    async def callers() -> list[Any]:
        kept = asyncio.ensure_future(groups.run(fake.step("kept", 1)))
        dropped = asyncio.ensure_future(groups.run(fake.step("dropped", 2)))
        await asyncio.sleep(0)  # both are queued
        dropped.cancel()
        return await asyncio.gather(kept, dropped, return_exceptions=True)

    kept, dropped = asyncio.run(callers())
    assert kept == 1
    assert isinstance(dropped, asyncio.CancelledError)
    assert fake.log == ["begin", "kept", "commit"]


def test_max_group_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_group"):
        CommitGroups(Transactions().transaction, max_group=0)


# --- in the engine ---------------------------------------------------------------------------------


class CommittedCheck:
    """Hears each acknowledgement and reads it back through a connection of its own: it is there
    only if the transaction that recorded it had committed when the event was announced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[tuple[str, bool]] = []

    @hookimpl
    def cssc_acknowledgement_received(self, acknowledgement: Acknowledgement) -> None:
        with sqlite3.connect(self.path) as other:
            row = other.execute(
                "SELECT 1 FROM acknowledgements WHERE message = ? AND contact = ?",
                (acknowledgement.message, acknowledgement.contact),
            ).fetchone()
        self.seen.append((acknowledgement.contact, row is not None))


def test_acknowledgements_awaited_together_share_one_commit_and_are_announced_after_it(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "cssc.db")
    harness = Harness(store)
    check = CommittedCheck(tmp_path / "cssc.db")
    harness.host.register(check, "committed-check")
    harness.engine.send(message())
    # Recipients that are not ISLs: their acknowledgements release nothing, so nothing is sent after.
    contacts = sorted({contact for contact, _, _ in harness.sent() if not contact.startswith("isl-")})
    assert len(contacts) >= 3
    harness.at(1)
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)

    async def portal() -> list[bool]:
        async with harness.engine:
            return await asyncio.gather(*(harness.engine.aacknowledge("msg-1", c) for c in contacts))

    assert asyncio.run(portal()) == [True] * len(contacts)
    store.connection.set_trace_callback(None)
    assert statements.count("COMMIT") == 1
    assert check.seen == [(contact, True) for contact in contacts]
    assert [a.contact for a in store.acknowledgements("msg-1")] == contacts
    store.close()


def test_a_refused_acknowledgement_in_a_group_leaves_the_others_recorded(harness: Harness) -> None:
    harness.engine.send(message())
    contacts = sorted({contact for contact, _, _ in harness.sent()})[:3]

    async def portal() -> list[Any]:
        async with harness.engine:
            return await asyncio.gather(
                harness.engine.aacknowledge("msg-1", contacts[0]),
                harness.engine.aacknowledge("msg-1", "nobody"),
                harness.engine.aacknowledge("msg-1", contacts[1]),
                harness.engine.aacknowledge("msg-1", contacts[0]),  # a repeat: not new
                return_exceptions=True,
            )

    first, unknown, second, repeat = asyncio.run(portal())
    assert (first, second, repeat) == (True, True, False)
    assert "unknown contact" in str(unknown)
    assert [a.contact for a in harness.store.acknowledgements("msg-1")] == sorted(contacts[:2])

"""Group commit: steps submitted together on one event loop share one store transaction.

A commit is the dear part of a small step: with ``synchronous=FULL`` SQLite waits for the disk to
confirm the write-ahead log, a fraction of a millisecond to a few milliseconds, whatever the step
wrote. When a portal passes on thousands of acknowledgements at once, each awaited by a request of
its own, committing them one by one caps the rate at one per disk flush. :class:`CommitGroups`
instead runs the steps submitted while one group forms (those ready to run in the same turn of the
event loop) inside one transaction and lets each caller go on only once that transaction has
committed: every step is as durable as before when its caller resumes. Each step opens a nested
transaction of its own (a savepoint), so that a step that fails rolls back alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

__all__ = ["CommitGroups"]

T = TypeVar("T")

MAX_GROUP = 500
"""The most steps one transaction takes: a longer queue commits in several groups, so that other
processes waiting for the write lock are not kept out for long."""


class _Pending(Generic[T]):
    __slots__ = ("future", "step")

    def __init__(self, step: Callable[[], T], future: asyncio.Future[T]) -> None:
        self.step = step
        self.future = future


class CommitGroups:
    """Runs synchronous steps in shared transactions.

    Args:
        transaction: Opens the transaction a group runs in; it commits when the block ends and rolls
            back when it raises.
        max_group: The most steps one transaction takes.
    """

    def __init__(
        self, transaction: Callable[[], AbstractContextManager[None]], *, max_group: int = MAX_GROUP
    ) -> None:
        if max_group < 1:
            raise ValueError(f"max_group must be at least 1, not {max_group}")
        self._transaction = transaction
        self._max_group = max_group
        self._pending: list[_Pending[Any]] = []

    async def run(self, step: Callable[[], T]) -> T:
        """Runs ``step`` in the transaction of the group forming now; returns what it returned (or
        raises what it raised) once that transaction has committed.

        The step must be atomic on its own (its writes in a nested transaction of the store's), so
        that when it raises, what it wrote is rolled back and the rest of the group's stands.

        Raises:
            Exception: what the step raised (its savepoint rolled back, the others' writes stand),
                or what the commit raised (then no step of the group was written).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append(_Pending(step, future))
        if len(self._pending) == 1:
            # The callback runs after everything ready to run now: the steps submitted in this turn
            # of the loop join the group before it commits.
            loop.call_soon(self._commit)
        return await future

    def _commit(self) -> None:
        group, self._pending = self._pending[: self._max_group], self._pending[self._max_group :]
        if self._pending:
            asyncio.get_running_loop().call_soon(self._commit)
        outcomes: list[tuple[_Pending[Any], Any, Exception | None]] = []
        try:
            with self._transaction():
                for pending in group:
                    if pending.future.cancelled():  # its caller stopped waiting: not run at all
                        continue
                    try:
                        outcomes.append((pending, pending.step(), None))
                    except Exception as failure:
                        outcomes.append((pending, None, failure))
        except Exception as error:  # the commit failed: nothing of the group was written
            for pending in group:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        except BaseException:
            for pending in group:
                pending.future.cancel()
            raise
        for pending, result, raised in outcomes:
            if raised is None:
                pending.future.set_result(result)
            else:
                pending.future.set_exception(raised)

"""A channel's ``rate_per_s``: at most that many copies a second, whoever calls ``send``.

Concurrency is the plugins' own business (the ``smtp`` channel keeps that many connections, the HTTP
channels that many sockets), but a provider's rate limit must hold across every task of the
dispatcher, so :class:`RateLimitedChannel` wraps the sender: a token bucket holding one second's
worth of copies, refilled continuously. A batch larger than the bucket goes out in slices. The clock
and the sleep are injected, so tests run in no time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from cssc_core.plugins.types import Channel, Outgoing, SendResult
from cssc_core.plugins.types import sends_concurrently as _sends_concurrently

__all__ = ["RateLimitedChannel"]


class RateLimitedChannel:
    """A :class:`~cssc_core.plugins.types.Channel` that sends at most ``rate_per_s`` copies a second.

    Args:
        inner: The sender to pace.
        rate_per_s: Copies a second (more than 0).
        clock: Seconds from an arbitrary start (:func:`time.monotonic` by default).
        sleep: Waits that many seconds (:func:`asyncio.sleep` by default).
    """

    def __init__(
        self,
        inner: Channel,
        rate_per_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not rate_per_s > 0:
            raise ValueError("a rate limit is more than 0 a second")
        self.inner = inner
        self.rate_per_s = rate_per_s
        self.capacity = max(1, int(rate_per_s))
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.capacity)
        self._updated = clock()
        self._lock: asyncio.Lock | None = None

    @property
    def sends_concurrently(self) -> bool:
        """As the paced sender: pacing slices a batch but does not change how it goes out."""
        return _sends_concurrently(self.inner)

    async def _take(self, count: int) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # first come, first served: waiting callers queue here
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate_per_s)
                self._updated = now
                if self._tokens >= count:
                    self._tokens -= count
                    return
                await self._sleep((count - self._tokens) / self.rate_per_s)

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Sends the batch in slices the bucket allows, waiting for tokens before each."""
        results: list[SendResult] = []
        for start in range(0, len(batch), self.capacity):
            part = batch[start : start + self.capacity]
            await self._take(len(part))
            results.extend(await self.inner.send(part))
        return results

    async def aclose(self) -> None:
        """Closes the wrapped sender."""
        await self.inner.aclose()

    def __repr__(self) -> str:
        return f"RateLimitedChannel({self.inner!r}, rate_per_s={self.rate_per_s:g})"

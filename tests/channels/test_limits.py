"""``rate_per_s``: copies paced by a token bucket, on a clock the test moves."""

from __future__ import annotations

import asyncio

import pytest

from cssc_core.channels.config import parse_channels_toml
from cssc_core.channels.limits import RateLimitedChannel
from cssc_core.plugins import Outgoing, PluginHost
from cssc_core.testing import RecordingChannel


def copies(count: int) -> list[Outgoing]:
    return [
        Outgoing(f"d-{i}", "m", f"c-{i}", "sms", "+447400123456", "message", f"k-{i}", "S", "B")
        for i in range(count)
    ]


class Time:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sent_at: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_copies_go_out_no_faster_than_the_rate() -> None:
    time, inner = Time(), RecordingChannel()
    channel = RateLimitedChannel(inner, 10, clock=time.clock, sleep=time.sleep)

    async def run() -> None:
        for start in range(0, 45, 15):
            results = await channel.send(copies(45)[start : start + 15])
            assert len(results) == 15
        await channel.aclose()

    asyncio.run(run())
    assert len(inner.sent) == 45
    assert inner.closed
    # A full bucket of 10 at once, then 10 a second: 45 copies take 3.5 seconds.
    assert time.now == pytest.approx(3.5)


def test_concurrent_callers_share_one_bucket() -> None:
    time, inner = Time(), RecordingChannel()
    channel = RateLimitedChannel(inner, 5, clock=time.clock, sleep=time.sleep)

    async def run() -> None:
        await asyncio.gather(*(channel.send(copies(5)) for _ in range(4)))

    asyncio.run(run())
    assert len(inner.sent) == 20
    assert time.now == pytest.approx(3.0)


def test_a_channel_with_a_rate_is_opened_paced() -> None:
    host = PluginHost.load(entry_points=False)
    text = 'format = "cssc-channels/1"\n[channels.sms]\ntype = "file"\naddress = "phone"\nrate_per_s = 2.5\n'
    config = parse_channels_toml(text, host=host).channels["sms"]
    sender = config.open(host)
    assert isinstance(sender, RateLimitedChannel)
    assert sender.rate_per_s == 2.5
    assert sender.capacity == 2
    with pytest.raises(ValueError, match="more than 0"):
        RateLimitedChannel(RecordingChannel(), 0)

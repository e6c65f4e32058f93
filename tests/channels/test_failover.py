"""Failover: weighted providers, failing ones lose weight, and only their own faults count."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import pytest

from cssc_core.channels.failover import FailoverChannel, Provider
from cssc_core.plugins import Outgoing, SendResult
from cssc_core.storage.records import DeliveryStatus


def copies(count: int, start: int = 0) -> list[Outgoing]:
    return [
        Outgoing(f"d-{i}", "m", f"c-{i}", "sms", "+447400123456", "message", f"k-{i}", "S", "B")
        for i in range(start, start + count)
    ]


class Scripted:
    """A provider answering every copy the same way, counting what it was given."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.given: list[str] = []

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        self.given.extend(item.delivery for item in batch)
        if self.answer == "raise":
            raise ConnectionResetError("dropped")
        if self.answer == "silent":
            return []
        if self.answer == "temporary":
            return [SendResult.temporary(item.delivery, "HTTP 503") for item in batch]
        if self.answer == "bad-address":
            return [SendResult.permanent(item.delivery, "HTTP 400") for item in batch]
        return [SendResult.delivered(item.delivery) for item in batch]

    async def aclose(self) -> None:
        self.given.append("closed")


def run(channel: FailoverChannel, batch: list[Outgoing]) -> list[SendResult]:
    return list(asyncio.run(channel.send(batch)))


@pytest.mark.parametrize("failure", ["temporary", "raise", "silent"])
def test_copies_a_provider_fails_go_to_the_next_at_once(failure: str) -> None:
    broken, healthy = Scripted(failure), Scripted("ok")
    channel = FailoverChannel([Provider("a", broken, 1000), Provider("b", healthy, 0.001)], random.Random(1))
    results = run(channel, copies(5))
    assert [r.status for r in results] == [DeliveryStatus.DELIVERED] * 5
    assert broken.given == healthy.given == [f"d-{i}" for i in range(5)]
    assert channel.error_rate("a") == 1.0
    assert channel.error_rate("b") == 0.0


def test_every_copy_is_accounted_for_when_all_providers_fail() -> None:
    channel = FailoverChannel(
        [Provider("a", Scripted("temporary")), Provider("b", Scripted("raise"))], random.Random(2)
    )
    results = run(channel, copies(4))
    assert [r.delivery for r in results] == ["d-0", "d-1", "d-2", "d-3"]
    assert {r.status for r in results} == {DeliveryStatus.TEMPORARY_FAILURE}


def test_a_provider_over_the_error_threshold_loses_weight() -> None:
    flaky, steady = Scripted("temporary"), Scripted("ok")
    channel = FailoverChannel(
        [Provider("flaky", flaky, 1), Provider("steady", steady, 1)],
        random.Random(3),
        min_samples=5,
        penalty=0.01,
    )
    for round_ in range(40):
        run(channel, copies(1, round_))
    assert channel.weight(channel.providers[0]) == pytest.approx(0.01)
    first_choices = len([d for d in flaky.given if d != "closed"])
    # After the first few errors flaky is tried first only about 1% of the time.
    assert first_choices < 15
    asyncio.run(channel.aclose())
    assert flaky.given[-1] == steady.given[-1] == "closed"


def test_failures_that_are_not_the_providers_do_not_count_against_it() -> None:
    picky = Scripted("bad-address")
    channel = FailoverChannel([Provider("picky", picky, 1)], random.Random(4), min_samples=1)
    results = run(channel, copies(10))
    assert {r.status for r in results} == {DeliveryStatus.PERMANENT_FAILURE}
    assert channel.error_rate("picky") == 0.0
    assert channel.weight(channel.providers[0]) == 1
    assert SendResult.permanent("d", "401", provider_fault=True).counts_against_provider
    assert not SendResult.permanent("d", "550").counts_against_provider
    assert SendResult.temporary("d", "503").counts_against_provider


def test_weights_must_be_positive_and_providers_present() -> None:
    with pytest.raises(ValueError, match="positive"):
        Provider("a", Scripted("ok"), 0)
    with pytest.raises(ValueError, match="at least one"):
        FailoverChannel([])

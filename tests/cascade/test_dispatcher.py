"""The dispatcher survives channel plugins that hang or answer nonsense: their copies fail temporarily."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from cssc_core.channels.failover import FailoverChannel, Provider
from cssc_core.channels.limits import RateLimitedChannel
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.plugins.channels.sms_http import SmsHttpChannel
from cssc_core.plugins.channels.webhook import WebhookChannel
from cssc_core.plugins.types import Outgoing, as_async, sends_concurrently
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import DeliveryStatus
from cssc_core.testing import T0
from tests.cascade.conftest import Harness, message

SHOP = {"organisations": ["shop"]}
DIRECT = parse_policy_toml(
    'format = "cssc-policy/1"\n[defaults]\nvia = "direct"\nchannels = ["email", "sms"]\n'
)


async def _hang(batch: Sequence[Outgoing]) -> Any:
    await asyncio.sleep(3600)


async def _junk(batch: Sequence[Outgoing]) -> Any:
    return ["delivered", 42, None]


async def _nothing(batch: Sequence[Outgoing]) -> Any:
    return None


@pytest.mark.parametrize(
    ("send", "reason"),
    [
        # Regression: a plugin that never returned held the cascade for ever.
        (_hang, "channel timed out after 0.05s"),
        # Regression: items that were not SendResults raised AttributeError out of the dispatcher.
        (_junk, "the channel reported no result for this copy"),
        (_nothing, "channel error: TypeError"),
    ],
)
def test_a_misbehaving_channel_fails_its_copies_temporarily(
    memory_harness: Harness, monkeypatch: pytest.MonkeyPatch, send: Any, reason: str
) -> None:
    monkeypatch.setattr(memory_harness.channels, "send", send)
    engine = memory_harness.make_engine(send_timeout_s=0.05)
    engine.send(message(audience=SHOP), policy=DIRECT)
    deliveries = memory_harness.store.deliveries_of("msg-1")
    assert deliveries
    assert {d.status for d in deliveries} == {DeliveryStatus.TEMPORARY_FAILURE}
    assert {d.reason for d in deliveries} == {reason}


def test_the_next_batch_is_claimed_while_one_is_on_the_wire(
    memory_harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, sent = memory_harness.store, memory_harness.channels.send
    leased: list[int] = []

    async def send(batch: Sequence[Outgoing]) -> Any:
        leased.append(sum(d.status is DeliveryStatus.SENDING for d in store.deliveries_of("msg-1")))
        return await sent(batch)

    monkeypatch.setattr(memory_harness.channels, "send", send)
    memory_harness.make_engine(batch_size=2).send(message(), policy=DIRECT)
    due = [d for d in store.deliveries_of("msg-1") if d.not_before == T0]  # not in quiet hours
    assert len(due) > 4
    assert {d.status for d in due} == {DeliveryStatus.DELIVERED}
    assert leased[0] == 4  # the first batch's calls found the second batch claimed too
    assert max(leased) <= 4  # and never more than two batches out at once


def test_a_sender_that_spreads_a_batch_itself_gets_each_batch_in_one_call(
    memory_harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = memory_harness.make_engine()
    engine.send(message(), policy=DIRECT)
    apart = memory_harness.channels.batches
    # Split for the channel's tasks: email (concurrency 10) and sms (concurrency 2).
    assert len(apart) > 2
    assert max(apart) <= 2

    spreading = Harness(MemoryStore())
    monkeypatch.setattr(spreading.channels, "sends_concurrently", True, raising=False)
    spreading.make_engine().send(message(), policy=DIRECT)
    assert sorted(spreading.channels.batches) == [2, 11]  # one call per channel: sms, email
    assert sum(spreading.channels.batches) == sum(apart)


def test_wrappers_spread_a_batch_as_what_they_wrap() -> None:
    spreading, sequential = SimpleNamespace(sends_concurrently=True), SimpleNamespace()
    assert sends_concurrently(RateLimitedChannel(spreading, 5))  # type: ignore[arg-type]
    assert not sends_concurrently(RateLimitedChannel(sequential, 5))  # type: ignore[arg-type]
    assert sends_concurrently(FailoverChannel([Provider("a", spreading), Provider("b", spreading)]))  # type: ignore[arg-type]
    assert not sends_concurrently(FailoverChannel([Provider("a", spreading), Provider("b", sequential)]))  # type: ignore[arg-type]
    assert not sends_concurrently(as_async(SimpleNamespace(send=lambda batch: [], close=lambda: None)))  # type: ignore[arg-type]
    assert WebhookChannel.sends_concurrently
    assert SmsHttpChannel.sends_concurrently

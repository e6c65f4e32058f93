"""Checked by mypy, never run: the channels API's types fit together for the cascade that drives it."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from cssc_core.channels import (
    AckClaim,
    AckSigner,
    ChannelFile,
    FailoverChannel,
    MessageCopy,
    Provider,
    Recipient,
    default_channels,
    parse_channels_toml,
)
from cssc_core.plugins import Channel, Outgoing, PluginHost, SendResult
from cssc_core.storage.memory import MemoryStore


async def deliver_one(text: str, host: PluginHost) -> list[SendResult]:
    channels: ChannelFile = parse_channels_toml(text, host=host) if text else default_channels(["email"])
    config = channels.channel("email")
    assert config is not None
    signer: AckSigner = channels.acks.signer(MemoryStore())
    sent = datetime(2019, 6, 12, 8, tzinfo=UTC)
    prepared = config.renderer(signer).prepare(MessageCopy("msg-1", "TLP:GREEN", sent, ack_required=True))
    copy: Outgoing = prepared.copy(Recipient("d-1", "c-1", "Sam", "sam@example.org", "key-1"))
    sender: Channel = config.open(host, rng=random.Random(1))
    try:
        return list(await sender.send([copy]))
    finally:
        await sender.aclose()


def verify(signer: AckSigner, token: str) -> tuple[str, str]:
    claim: AckClaim = signer.verify(token, datetime.now(UTC))
    return claim.message, claim.contact


def failover(first: Channel, second: Channel) -> Channel:
    return FailoverChannel([Provider("a", first, 3.0), Provider("b", second)], random.Random(2))

"""Cascades through the channels package: channel files, failover, acknowledgement links and codes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import unquote

import attrs
import pytest

from cssc_core.channels import AckSettings, AckSigner, AckTokenError, parse_channels_toml
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult
from cssc_core.storage.records import DeliveryStatus
from tests.cascade.conftest import Harness, message, recording_setup

RETAIL = {"organisations": ["retail-isls", "shop"]}

RELAYED = parse_policy_toml('format = "cssc-policy/1"\n[defaults]\nrelay_deadline = "10m"\n')

FAILOVER = """
format = "cssc-channels/1"

[channels.email]
address = "email"
secure = true
failover = { threshold = 0.5, window = 10, penalty = 0.05 }

[[channels.email.providers]]
name = "primary"
type = "down"
weight = 1000

[[channels.email.providers]]
name = "backup"
type = "scripted"
weight = 1
"""


class DownChannels:
    """A channel plugin (type ``down``) whose provider is out: every copy fails temporarily."""

    def __init__(self) -> None:
        self.given: list[Outgoing] = []

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Fails every copy, as the provider's fault."""
        self.given.extend(batch)
        return [SendResult.temporary(copy.delivery, "provider unavailable") for copy in batch]

    async def aclose(self) -> None:
        """Nothing to close."""

    def _make(self, settings: ChannelSettings) -> DownChannels:
        return self

    @hookimpl
    def cssc_delivery_channels(self) -> Iterable[ChannelPlugin]:
        """The ``down`` channel type."""
        return [ChannelPlugin("down", self._make, "a provider that is out")]


def test_a_cascade_through_a_channel_file_fails_over_to_the_next_provider(memory_harness: Harness) -> None:
    down = DownChannels()
    memory_harness.host.register(down, "down-channels")
    channels = parse_channels_toml(FAILOVER, host=memory_harness.host)
    engine = memory_harness.make_engine(channels=channels)
    engine.send(message(audience=RETAIL), policy=RELAYED)
    # The primary provider took the relay request first and failed it; the backup delivered it at once.
    assert [(c.contact, c.kind) for c in down.given] == [("isl-r1", "relay-request")]
    assert memory_harness.sent() == [("isl-r1", "email", "relay-request")]
    assert memory_harness.statuses() == {
        ("isl-r1", "email", "relay-request"): "delivered",
        ("isl-r1", "email", "message"): "cancelled",  # reached by its relay request
        ("isl-r2", "email", "message"): "held",
        ("shop-a", "email", "message"): "held",
        ("shop-b", "email", "message"): "held",
    }
    (request,) = [d for d in memory_harness.store.deliveries_of("msg-1") if d.kind.value == "relay-request"]
    assert request.attempts == 1

    # A later engine given no channels reads the configuration stored with the cascade, providers
    # and all: the copies the deputy's deadline makes due fail over the same way.
    memory_harness.at(30)
    memory_harness.make_engine(channels=None).tick()
    assert {c.contact for c in down.given} >= {"shop-a", "shop-b"}
    assert memory_harness.statuses() == {
        ("isl-r1", "email", "relay-request"): "delivered",
        ("isl-r1", "email", "message"): "cancelled",
        ("isl-r2", "email", "relay-request"): "delivered",  # the deputy, asked at the lead's deadline
        ("isl-r2", "email", "message"): "cancelled",
        ("shop-a", "email", "message"): "delivered",  # direct at the deputy's deadline
        ("shop-b", "email", "message"): "delivered",
    }
    assert all(
        d.attempts == 1
        for d in memory_harness.store.deliveries_of("msg-1")
        if d.status is DeliveryStatus.DELIVERED
    )


def test_a_relay_request_carries_a_reply_code_that_a_plain_copy_does_not(memory_harness: Harness) -> None:
    memory_harness.engine.send(message(audience=RETAIL), policy=RELAYED)
    signer = AckSettings().signer(memory_harness.store)
    (request,) = memory_harness.channels.sent
    code = signer.reply_code("msg-1", "isl-r1")
    assert request.payload["ack_code"] == code
    assert request.body.splitlines()[0] == "TLP:GREEN"
    assert f"To acknowledge, reply ACK {code}" in request.body
    assert "Body text." in request.body
    assert signer.match_reply(f"ack {code.lower()}", "isl-r1", ["msg-1"]) == "msg-1"

    memory_harness.at(1)
    memory_harness.engine.acknowledge("msg-1", "isl-r1")
    shop = next(c for c in memory_harness.channels.sent if c.contact == "shop-a")
    assert shop.payload["ack_code"] is None
    assert "To acknowledge" not in shop.body


def test_a_portal_acknowledges_by_token_with_the_key_of_the_cascade(memory_harness: Harness) -> None:
    channels = attrs.evolve(
        recording_setup(memory_harness.channels),
        acks=AckSettings(base_url="https://portal.example.org/ack"),
    )
    memory_harness.make_engine(channels=channels).send(message(audience=RETAIL), policy=RELAYED)
    (request,) = memory_harness.channels.sent
    token = unquote(request.payload["ack_link"].split("?t=", 1)[1])
    assert AckSigner.message_of(token) == "msg-1"

    memory_harness.at(1)
    portal = memory_harness.make_engine(channels=None)  # reads the stored configuration
    with pytest.raises(AckTokenError, match="signature does not match"):
        portal.acknowledge_token(token.replace(".", ".x", 1))
    claim, new = portal.acknowledge_token(token)
    assert (claim.message, claim.contact, new) == ("msg-1", "isl-r1", True)
    assert ("shop-a", "email", "message") in memory_harness.sent()
    assert portal.acknowledge_token(token)[1] is False
    memory_harness.at(60 * 24 * 8)
    with pytest.raises(AckTokenError, match="expired"):
        portal.acknowledge_token(token)


ACK_REQUIRED = parse_policy_toml(
    'format = "cssc-policy/1"\n[defaults]\nvia = "direct"\nchannels = ["email"]\n'
    'ack = "required"\nack_timeout = "10m"\n'
)


def test_copies_that_must_be_acknowledged_carry_a_code_and_escalations_carry_no_content(
    memory_harness: Harness,
) -> None:
    memory_harness.engine.send(message(audience={"organisations": ["shop"]}), policy=ACK_REQUIRED)
    signer = AckSettings().signer(memory_harness.store)
    copies = {c.contact: c for c in memory_harness.channels.sent}
    assert set(copies) == {"shop-a", "shop-b"}
    for contact, copy in copies.items():
        assert copy.payload["ack_code"] == signer.reply_code("msg-1", contact)
        assert f"To acknowledge, reply ACK {copy.payload['ack_code']}" in copy.body
    memory_harness.at(1)
    memory_harness.engine.acknowledge("msg-1", "shop-a")
    memory_harness.at(30)
    memory_harness.engine.tick()
    notices = [c for c in memory_harness.channels.sent if c.kind == "escalation"]
    assert notices
    for notice in notices:  # the message id, the marking and the name of who did not acknowledge
        assert notice.subject == "TLP:GREEN Not acknowledged: msg-1"
        assert (
            notice.body
            == "TLP:GREEN\n\nMessage msg-1 (TLP:GREEN) has not been acknowledged by: Person shop-b.\n"
        )
        assert notice.payload["ack_code"] is None

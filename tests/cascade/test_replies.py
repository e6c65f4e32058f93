"""SMS replies acknowledge: the sending number names the contacts, the reply code the message."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import given, settings

from cssc_core.cascade import ReplyClaim
from cssc_core.channels import AckSettings
from cssc_core.domain.network import Network
from cssc_core.errors import NotFoundError, UnmatchedReplyError, ValidationError
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.storage.memory import MemoryStore
from cssc_core.testing import T0
from tests.cascade.conftest import Harness, incident_network, message, recording_setup
from tests.strategies import reply_texts

SHARED = "+447400123456"
"""The number every contact of the incident network has, unless a test gives it another."""

SMS_FIRST = parse_policy_toml(
    'format = "cssc-policy/1"\n[defaults]\nvia = "direct"\nchannels = ["sms", "email"]\n'
    'ack = "required"\nack_timeout = "10m"\n'
)
RELAYED = parse_policy_toml('format = "cssc-policy/1"\n[defaults]\nrelay_deadline = "10m"\n')
SCHOOL_AND_SHOP = {"organisations": ["school", "shop"]}


def with_phones(network: Network, **numbers: str) -> Network:
    """The network with some contacts' numbers changed (keywords: contact ids, `-` written `_`)."""
    organisations = tuple(
        attrs.evolve(
            organisation,
            contacts=tuple(
                attrs.evolve(contact, phone=numbers.get(contact.id.replace("-", "_"), contact.phone))
                for contact in organisation.contacts
            ),
        )
        for organisation in network.organisations
    )
    return attrs.evolve(network, organisations=organisations)


def with_channels(network: Network, contact_id: str, *channels: str) -> Network:
    """The network with one contact's channels changed."""
    organisations = tuple(
        attrs.evolve(
            organisation,
            contacts=tuple(
                attrs.evolve(contact, channels=channels) if contact.id == contact_id else contact
                for contact in organisation.contacts
            ),
        )
        for organisation in network.organisations
    )
    return attrs.evolve(network, organisations=organisations)


def code_sent_to(harness: Harness, contact: str, message_id: str = "msg-1") -> str:
    """The reply code on the text message a contact was sent."""
    (copy,) = [
        c for c in harness.channels.sent if (c.contact, c.channel, c.message) == (contact, "sms", message_id)
    ]
    code: str = copy.payload["ack_code"]
    assert f"To acknowledge, reply ACK {code}" in copy.body
    return code


def test_a_reply_with_the_code_acknowledges_exactly_that_contacts_copy(harness: Harness) -> None:
    harness.engine.send(message(audience=SCHOOL_AND_SHOP), policy=SMS_FIRST)
    assert sorted(harness.sent()) == [
        ("school-a", "sms", "message"),
        ("shop-a", "email", "message"),
        ("shop-b", "sms", "message"),
    ]
    code = code_sent_to(harness, "school-a")
    harness.at(5)
    claim, new = harness.engine.acknowledge_reply("07400 123456", f"ack {code.lower()}")
    assert (claim, new) == (ReplyClaim("msg-1", "school-a"), True)
    [acknowledgement] = harness.store.acknowledgements("msg-1")
    assert (acknowledgement.contact, acknowledgement.at, acknowledgement.via) == (
        "school-a",
        T0 + timedelta(minutes=5),
        "sms-reply",
    )
    harness.at(120)
    harness.engine.tick()
    # school-a's escalation stopped; the shop's contacts (shop-b shares the number) did not reply.
    statuses = harness.statuses()
    assert statuses[("school-a", "sms", "message")] == "delivered"
    assert ("school-a", "email", "message") not in statuses
    assert statuses[("shop-b", "email", "message")] == "delivered"
    notices = [d for d in harness.store.deliveries_of("msg-1") if d.kind.value == "escalation"]
    assert {d.subject_contact for d in notices} == {"shop-a", "shop-b"}


def test_contacts_sharing_a_number_each_acknowledge_with_their_own_code(memory_harness: Harness) -> None:
    memory_harness.engine.send(message(audience=SCHOOL_AND_SHOP), policy=SMS_FIRST)
    school, shop = code_sent_to(memory_harness, "school-a"), code_sent_to(memory_harness, "shop-b")
    memory_harness.at(1)
    assert memory_harness.engine.acknowledge_reply(SHARED, shop)[0].contact == "shop-b"
    assert memory_harness.engine.acknowledge_reply(SHARED, school)[0].contact == "school-a"
    assert [a.contact for a in memory_harness.store.acknowledgements("msg-1")] == ["school-a", "shop-b"]


def test_a_reply_from_an_isl_releases_its_cell(harness: Harness) -> None:
    harness.store.replace_network(with_channels(incident_network(), "isl-r1", "sms"))
    harness.engine.send(message(audience={"organisations": ["retail-isls", "shop"]}), policy=RELAYED)
    assert harness.sent() == [("isl-r1", "sms", "relay-request")]
    code = code_sent_to(harness, "isl-r1")
    harness.at(3)
    claim, new = harness.engine.acknowledge_reply(SHARED, f"ACK {code}")
    assert (claim.contact, new) == ("isl-r1", True)
    [release] = [e.arguments["release"] for e in harness.events.events if e.hook == "cssc_relay_released"]
    assert (release.cell, release.contact) == (("EAST", "retail"), "isl-r1")
    assert {c for c, _, kind in harness.sent() if kind == "message"} == {"isl-r2", "shop-a", "shop-b"}


def test_a_code_for_another_contact_or_message_is_refused(memory_harness: Harness) -> None:
    memory_harness.store.replace_network(
        with_phones(incident_network(), school_a="+447400100001", shop_b="+447400100002")
    )
    memory_harness.engine.send(message(audience=SCHOOL_AND_SHOP), policy=SMS_FIRST)
    school = code_sent_to(memory_harness, "school-a")
    signer = AckSettings().signer(memory_harness.store)
    memory_harness.at(1)
    for phone, text in (
        ("+447400100002", school),  # school-a's code, from shop-b's number
        ("+447400100001", signer.reply_code("msg-2", "school-a")),  # a message it was not sent
        ("+447400100001", signer.reply_code("msg-1", "shop-b")),
    ):
        with pytest.raises(UnmatchedReplyError, match="not the code of any message") as refused:
            memory_harness.engine.acknowledge_reply(phone, text)
        assert refused.value.known_sender
        assert text not in str(refused.value)
    assert memory_harness.store.acknowledgements("msg-1") == []
    assert memory_harness.engine.acknowledge_reply("+447400100001", school)[0].contact == "school-a"


def test_a_repeated_reply_changes_nothing_even_once_the_cascade_has_finished(harness: Harness) -> None:
    harness.engine.send(message(audience={"organisations": ["school"]}), policy=SMS_FIRST)
    code = code_sent_to(harness, "school-a")
    harness.at(5)
    assert harness.engine.acknowledge_reply(SHARED, code)[1] is True
    assert harness.store.get_cascade("msg-1").finished_at is not None  # type: ignore[union-attr]
    before = (harness.store.audit_log(), harness.store.acknowledgements("msg-1"), len(harness.events.events))
    harness.at(6)  # a gateway that delivers the same inbound message twice, say
    assert harness.engine.acknowledge_reply(SHARED, code) == (ReplyClaim("msg-1", "school-a"), False)
    assert (
        harness.store.audit_log(),
        harness.store.acknowledgements("msg-1"),
        len(harness.events.events),
    ) == before


def test_a_late_reply_is_taken_while_a_link_would_be(memory_harness: Harness) -> None:
    memory_harness.engine.send(message(audience={"organisations": ["school"]}), policy=SMS_FIRST)
    code = code_sent_to(memory_harness, "school-a")
    memory_harness.at(60)
    memory_harness.engine.tick()
    cascade = memory_harness.store.get_cascade("msg-1")
    assert cascade is not None
    assert cascade.finished_at is not None  # escalated, nothing left to do
    # After the escalation, but within the seven days a link in the copy works: recorded.
    memory_harness.at(60 * 24 * 7 - 1)
    assert memory_harness.engine.acknowledge_reply(SHARED, code)[1] is True

    memory_harness.engine.send(message("msg-2", sent=(T0 + timedelta(days=7)).isoformat()), policy=SMS_FIRST)
    memory_harness.at(60 * 24 * 14)
    with pytest.raises(UnmatchedReplyError):
        memory_harness.engine.acknowledge_reply(SHARED, code_sent_to(memory_harness, "school-a", "msg-2"))


def test_a_reply_after_the_message_expired_is_refused(memory_harness: Harness) -> None:
    expires = (T0 + timedelta(minutes=30)).isoformat()
    memory_harness.engine.send(
        message(audience={"organisations": ["school"]}, expires=expires), policy=SMS_FIRST
    )
    code = code_sent_to(memory_harness, "school-a")
    memory_harness.at(30)
    with pytest.raises(UnmatchedReplyError):
        memory_harness.engine.acknowledge_reply(SHARED, code)
    assert memory_harness.store.acknowledgements("msg-1") == []


def test_junk_unknown_numbers_and_bad_numbers_are_refused(memory_harness: Harness) -> None:
    memory_harness.engine.send(message(audience={"organisations": ["school"]}), policy=SMS_FIRST)
    memory_harness.at(1)
    for junk in ("", "YES", "ACK", "hello, got it", "ACK AAAAAAAA", "\x00" * 50, "A" * 5000):
        with pytest.raises(UnmatchedReplyError) as refused:
            memory_harness.engine.acknowledge_reply(SHARED, junk)
        assert refused.value.known_sender
    code = code_sent_to(memory_harness, "school-a")
    with pytest.raises(UnmatchedReplyError, match="no contact has the number") as stranger:
        memory_harness.engine.acknowledge_reply("0131 496 0000", code)
    assert not stranger.value.known_sender
    assert isinstance(stranger.value, NotFoundError)
    for bad in ("not a number", "", "+44", "0" * 300):
        with pytest.raises(ValidationError, match="is not a valid phone number"):
            memory_harness.engine.acknowledge_reply(bad, code)
    assert memory_harness.store.acknowledgements("msg-1") == []


def test_a_number_is_read_in_the_forms_gateways_send_it(memory_harness: Harness) -> None:
    network = with_phones(incident_network(), school_a="+12025550123")
    memory_harness.store.replace_network(network)
    memory_harness.engine.send(message(audience={"organisations": ["school"]}), policy=SMS_FIRST)
    code = code_sent_to(memory_harness, "school-a")
    memory_harness.at(1)
    # Digits alone: an international number whose + the gateway left out, or whose + a form turned
    # into a space.
    assert memory_harness.engine.acknowledge_reply("12025550123", code)[0].contact == "school-a"
    assert memory_harness.engine.acknowledge_reply(" 12025550123", code)[1] is False


def test_replies_are_checked_with_the_key_of_their_cascade(
    memory_harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSSC_TEST_ACK_KEY", "a shared key of more than sixteen bytes")
    channels = attrs.evolve(recording_setup(memory_harness.channels), acks=AckSettings("CSSC_TEST_ACK_KEY"))
    memory_harness.make_engine(channels=channels).send(
        message(audience={"organisations": ["school"]}), policy=SMS_FIRST
    )
    code = code_sent_to(memory_harness, "school-a")
    assert code != AckSettings().signer(memory_harness.store).reply_code("msg-1", "school-a")
    portal = memory_harness.make_engine(channels=None)  # reads the configuration stored with the cascade
    memory_harness.at(1)
    assert portal.acknowledge_reply(SHARED, code)[0] == ReplyClaim("msg-1", "school-a")


def test_no_text_but_the_code_ever_acknowledges() -> None:
    # One cascade for every example: a refused reply changes nothing, which the end checks too.
    harness = Harness(MemoryStore())
    harness.engine.send(message(audience=SCHOOL_AND_SHOP), policy=SMS_FIRST)
    codes = [code_sent_to(harness, contact) for contact in ("school-a", "shop-b")]
    harness.at(1)

    @settings(max_examples=300, deadline=None)
    @given(text=reply_texts(codes))
    def replying(text: str) -> None:
        held = "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())
        if any(code in held for code in codes):
            return
        with pytest.raises(UnmatchedReplyError):
            harness.engine.acknowledge_reply(SHARED, text)

    replying()
    assert harness.store.acknowledgements("msg-1") == []

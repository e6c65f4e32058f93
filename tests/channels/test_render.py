"""Copies are rendered once per message and personalised per recipient, the marking always first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cssc_core.channels.acks import AckSigner
from cssc_core.channels.render import (
    ChannelTemplates,
    MessageCopy,
    Recipient,
    Renderer,
    WelshText,
    marking_line,
)
from cssc_core.channels.templates import HeaderInjectionError
from cssc_core.errors import ValidationError
from cssc_core.storage.records import DeliveryKind
from cssc_core.testing import T0

MESSAGE = MessageCopy(
    id="msg-1",
    marking="TLP:GREEN",
    sent=T0,
    headline="Suspicious vehicle",
    body="A van is parked outside.",
    instruction="Keep staff away.",
    sender="NCTPHQ",
    expires=T0 + timedelta(hours=12),
    welsh=WelshText("Cerbyd amheus", "Mae fan wedi parcio y tu allan.", "Cadwch staff draw."),
)
SAM = Recipient("d-1", "c-0001", "Sam Example", "sam@example.org", "key-1")
SIAN = Recipient("d-2", "c-0002", "Siân Enghraifft", "sian@example.org", "key-2", language="cy")
SIGNER = AckSigner(b"k" * 32, "https://portal.example.org/ack")


def test_the_marking_is_the_first_line_and_the_subject_prefix() -> None:
    copy = Renderer("email").prepare(MESSAGE).copy(SAM)
    assert copy.body.splitlines()[0] == "TLP:GREEN"
    assert copy.subject == "TLP:GREEN Suspicious vehicle"
    assert "A van is parked outside." in copy.body
    assert "Keep staff away." in copy.body
    assert (copy.delivery, copy.contact, copy.address, copy.idempotency_key) == (
        "d-1",
        "c-0001",
        "sam@example.org",
        "key-1",
    )
    assert copy.payload["message"]["marking"] == "TLP:GREEN"
    assert copy.payload["format"] == "cssc-copy/1"
    assert copy.payload["body"] == copy.body


@pytest.mark.parametrize(("status", "line"), [("exercise", "TLP:GREEN EXERCISE"), ("test", "TLP:GREEN TEST")])
def test_exercises_and_tests_say_so_on_the_first_line(status: str, line: str) -> None:
    import attrs

    copy = Renderer("sms").prepare(attrs.evolve(MESSAGE, status=status)).copy(SAM)
    assert copy.body.splitlines()[0] == line == marking_line("TLP:GREEN", status)
    assert copy.subject.startswith(f"{line} ")


def test_welsh_contacts_get_the_welsh_block_first_then_the_english() -> None:
    prepared = Renderer("email").prepare(MESSAGE)
    welsh = prepared.copy(SIAN).body
    assert welsh.splitlines()[0] == "TLP:GREEN"
    assert welsh.index("Mae fan wedi parcio") < welsh.index("A van is parked outside.")
    assert prepared.copy(SIAN).subject == "TLP:GREEN Cerbyd amheus"
    assert "Mae fan" not in prepared.copy(SAM).body


def test_a_template_cannot_leave_the_marking_out() -> None:
    templates = ChannelTemplates.from_options(
        {"subject_template": "{contact_name}", "body_template": "Hello {contact_name}"}, "$.channels.email"
    )
    copy = Renderer("email", templates).prepare(MESSAGE).copy(SAM)
    assert copy.subject == "TLP:GREEN Sam Example"
    assert copy.body == "TLP:GREEN\n\nHello Sam Example\n"


def test_escalation_templates_may_not_show_message_content() -> None:
    with pytest.raises(ValidationError, match="unknown field"):
        ChannelTemplates.from_options({"escalation_body_template": "{headline}"}, "$.channels.email")
    notice = Recipient(
        "d-9", "c-hub", "Hub", "hub@example.org", "key-9", kind="escalation", unacknowledged=["Sam"]
    )
    copy = Renderer("email", signer=SIGNER).prepare(MESSAGE).copy(notice)
    assert "Suspicious" not in copy.body + copy.subject
    assert "A van" not in copy.body
    assert "Sam" in copy.body
    assert "msg-1" in copy.body
    assert copy.body.startswith("TLP:GREEN\n")


def test_ack_links_and_codes_appear_only_when_acknowledgement_is_required() -> None:
    import attrs

    assert "Acknowledge" not in Renderer("email", signer=SIGNER).prepare(MESSAGE).copy(SAM).body
    required = attrs.evolve(MESSAGE, ack_required=True)
    copy = Renderer("email", signer=SIGNER).prepare(required).copy(SAM)
    link = copy.payload["ack_link"]
    assert isinstance(link, str)
    assert f"Acknowledge: {link}" in copy.body
    assert SIGNER.verify(link.partition("?t=")[2], T0).contact == "c-0001"
    sms = Renderer("sms", signer=SIGNER, reply_codes=True).prepare(required).copy(SAM)
    assert f"reply ACK {SIGNER.reply_code('msg-1', 'c-0001')}" in sms.body
    relay = Recipient("d-3", "c-isl", "Isla", "isla@example.org", "key-3", kind=DeliveryKind.RELAY_REQUEST)
    assert "Acknowledge:" in Renderer("email", signer=SIGNER).prepare(MESSAGE).copy(relay).body


def test_hostile_field_values_are_rendered_inert() -> None:
    import attrs

    hostile = attrs.evolve(MESSAGE, headline="{ack_link}", body="{contact_name.__class__} {{x}} %s")
    copy = Renderer("email", signer=SIGNER).prepare(hostile).copy(SAM)
    assert copy.subject == "TLP:GREEN {ack_link}"
    assert "{contact_name.__class__} {{x}} %s" in copy.body


def test_a_line_break_in_an_email_subject_is_refused_and_folded_elsewhere() -> None:
    import attrs

    injected = attrs.evolve(MESSAGE, headline="Hi\r\nBcc: everyone@example.org")
    with pytest.raises(HeaderInjectionError):
        Renderer("email", header_subject=True).prepare(injected).copy(SAM)
    assert Renderer("sms").prepare(injected).copy(SAM).subject == "TLP:GREEN Hi Bcc: everyone@example.org"


def test_personalising_does_not_render_the_message_again() -> None:
    prepared = Renderer("email").prepare(MESSAGE)
    copies = [
        prepared.copy(Recipient(f"d-{i}", f"c-{i}", f"N{i}", f"{i}@example.org", f"k{i}")) for i in range(3)
    ]
    assert len({c.body for c in copies}) == 1
    assert {c.delivery for c in copies} == {"d-0", "d-1", "d-2"}


def test_copies_are_made_from_a_parsed_message_and_a_stored_delivery() -> None:
    from cssc_core.domain.models import Contact, Language
    from cssc_core.formats.message import message_from_document
    from cssc_core.storage.records import Delivery, make_idempotency_key

    message = message_from_document(
        {
            "format": "cssc-message/1",
            "id": "msg-2019-0612-01",
            "sender": "NCTPHQ",
            "sent": "2019-06-12T09:00:00+01:00",
            "status": "exercise",
            "type": "alert",
            "marking": "TLP:AMBER",
            "category": "security",
            "urgency": "immediate",
            "severity": "severe",
            "certainty": "observed",
            "headline": "Suspicious vehicle",
            "body": "A van is parked outside.",
            "languages": {"cy": {"headline": "Cerbyd amheus", "body": "Mae fan wedi parcio."}},
        }
    )
    copy = MessageCopy.from_message(message, ack_required=True)
    assert (copy.marking, copy.status, copy.severity, copy.instruction) == (
        "TLP:AMBER",
        "exercise",
        "severe",
        "",
    )
    assert copy.welsh == WelshText("Cerbyd amheus", "Mae fan wedi parcio.", "")
    contact = Contact(
        id="c-0001", name="Siân", email="sian@example.org", channels=("email",), language=Language.CY
    )
    key = make_idempotency_key(message.id, "c-0001", "email")
    delivery = Delivery(
        id="d-1",
        message=message.id,
        contact="c-0001",
        channel="email",
        address_kind="email",
        idempotency_key=key,
    )
    out = Renderer("email", signer=SIGNER).prepare(copy).copy(Recipient.for_delivery(delivery, contact))
    assert out.body.startswith("TLP:AMBER EXERCISE\n\nCerbyd amheus")
    assert (out.address, out.language, out.idempotency_key) == ("sian@example.org", "cy", key)
    assert "Acknowledge:" in out.body
    phone = Delivery(
        id="d-2",
        message=message.id,
        contact="c-0001",
        channel="sms",
        address_kind="phone",
        idempotency_key="k2",
    )
    with pytest.raises(ValueError, match="has no phone address"):
        Recipient.for_delivery(phone, contact)

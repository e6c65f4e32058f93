"""Rendering copies: each message once per channel, then personalised per recipient.

The input is a :class:`MessageCopy`, the few fields of a message that copies show: the cascade
builds one from its message (:meth:`MessageCopy.from_message`) and a :class:`Recipient` per claimed
delivery (:meth:`Recipient.for_delivery`), calls
:meth:`Renderer.prepare` once per message and :meth:`PreparedMessage.copy` once per delivery, and
hands the :class:`~cssc_core.plugins.types.Outgoing` copies to the channel.

Every copy starts with the marking (SPEC.md section 6): the body's first line is the marking line
and the subject starts with it. The marking line is ``TLP:GREEN`` for an actual
message, ``TLP:GREEN EXERCISE`` for an exercise and ``TLP:GREEN TEST`` for a test. Templates
cannot remove it: it is added outside them. A contact whose language is ``cy`` gets the Welsh text
first (the message's ``languages.cy``), then the English, with the same template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from cssc_core.channels.acks import AckSigner
from cssc_core.channels.templates import (
    ACK_FIELDS,
    CONTACT_FIELDS,
    ESCALATION_FIELDS,
    FIELDS,
    Escape,
    Template,
)
from cssc_core.domain.message import Message
from cssc_core.domain.models import ADDRESS_KINDS, Contact
from cssc_core.plugins.types import Outgoing
from cssc_core.storage.records import Delivery, DeliveryKind

__all__ = [
    "COPY_FORMAT",
    "DEFAULT_TEMPLATES",
    "ESCALATION_ALLOWED",
    "ChannelTemplates",
    "MessageCopy",
    "PreparedMessage",
    "Recipient",
    "Renderer",
    "WelshText",
    "marking_line",
]

COPY_FORMAT = "cssc-copy/1"
"""The ``format`` of the JSON document a copy's ``payload`` holds."""

ACK_VALIDITY = timedelta(days=7)
"""How long an acknowledgement link of a message without ``expires`` stays valid."""

ESCALATION_ALLOWED = frozenset({"message_id", "marking", "status"}) | CONTACT_FIELDS | ESCALATION_FIELDS
"""The fields an escalation template may use: no message content (SPEC.md section 6)."""

_BLANK_RUNS = re.compile(r"\n{3,}")
_WELSH_SEPARATOR = "\n\n----\n\n"


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class WelshText:
    """The Welsh text of a message (its ``languages.cy``)."""

    headline: str = ""
    body: str = ""
    instruction: str = ""


@attrs.frozen
class MessageCopy:
    """What copies of a message show; the cascade makes one from its message.

    Attributes:
        id: The message id.
        marking: The TLP marking (``TLP:GREEN``).
        sent: When the message was sent.
        status: ``actual``, ``exercise`` or ``test``.
        type: ``alert``, ``update`` or ``cancel``.
        category: CAP category. urgency, severity, certainty likewise.
        headline: The English headline. body, instruction likewise.
        sender: Who sent it (``NCTPHQ``).
        expires: When it expires, if it does.
        welsh: The Welsh text, if any.
        ack_required: Whether recipients are asked to acknowledge (``ack = "required"``).
        references: For an update or cancel, the messages it refers to.
    """

    id: str
    marking: str
    sent: datetime
    status: str = "actual"
    type: str = "alert"
    category: str = ""
    urgency: str = ""
    severity: str = ""
    certainty: str = ""
    headline: str = ""
    body: str = ""
    instruction: str = ""
    sender: str = ""
    expires: datetime | None = None
    welsh: WelshText | None = None
    ack_required: bool = False
    references: tuple[str, ...] = attrs.field(default=(), converter=_names)

    @classmethod
    def from_message(cls, message: Message, *, ack_required: bool = False) -> MessageCopy:
        """The copy fields of a message (SPEC.md section 4); its ``languages.cy`` becomes the Welsh text.

        Args:
            message: The message.
            ack_required: Whether this recipient's route asks for acknowledgement.
        """
        cy = message.languages.get("cy")
        welsh = None if cy is None else WelshText(cy.headline, cy.body or "", cy.instruction or "")
        return cls(
            id=message.id,
            marking=message.marking.value,
            sent=message.sent,
            status=message.status.value,
            type=message.type.value,
            category=message.category.value,
            urgency=message.urgency.value,
            severity=message.severity.value,
            certainty=message.certainty.value,
            headline=message.headline,
            body=message.body or "",
            instruction=message.instruction or "",
            sender=message.sender,
            expires=message.expires,
            welsh=welsh,
            ack_required=ack_required,
            references=message.references,
        )


@attrs.frozen
class Recipient:
    """One delivery of a message, as a copy is personalised for it.

    Attributes:
        delivery: The delivery id.
        contact: The contact id.
        name: The contact's name.
        address: The address the channel delivers to.
        idempotency_key: The delivery's idempotency key.
        language: ``en`` or ``cy``.
        kind: ``message``, ``relay-request`` or ``escalation``.
        unacknowledged: For an escalation notice, the names of the contacts who did not acknowledge.
    """

    delivery: str
    contact: str
    name: str
    address: str
    idempotency_key: str
    language: str = "en"
    kind: DeliveryKind = attrs.field(default=DeliveryKind.MESSAGE, converter=DeliveryKind)
    unacknowledged: tuple[str, ...] = attrs.field(default=(), converter=_names)

    @classmethod
    def for_delivery(
        cls, delivery: Delivery, contact: Contact, unacknowledged: Iterable[str] = ()
    ) -> Recipient:
        """The recipient of a stored delivery: the address is the contact's field the channel names.

        Raises:
            ValueError: when the contact has no such address (it was erased or changed since planning).
        """
        address = (
            getattr(contact, delivery.address_kind, None) if delivery.address_kind in ADDRESS_KINDS else None
        )
        if not isinstance(address, str) or not address:
            raise ValueError(f"contact {contact.id} has no {delivery.address_kind} address")
        return cls(
            delivery=delivery.id,
            contact=contact.id,
            name=contact.name,
            address=address,
            idempotency_key=delivery.idempotency_key,
            language=contact.language.value,
            kind=delivery.kind,
            unacknowledged=_names(unacknowledged),
        )


@attrs.frozen
class ChannelTemplates:
    """A channel's templates, one subject and one body per kind of delivery.

    The marking is added outside the templates, so none of them can leave it out.
    """

    subject: Template
    body: Template
    relay_subject: Template
    relay_body: Template
    escalation_subject: Template
    escalation_body: Template

    @classmethod
    def from_options(cls, options: Mapping[str, Any], path: str) -> ChannelTemplates:
        """The defaults with any of ``subject_template``, ``body_template``, ``relay_...``,
        ``escalation_...`` of a channel's settings in their place.

        Raises:
            ValidationError: for a template that is not text or uses a placeholder it may not.
        """
        from cssc_core.errors import Problem, ValidationError

        chosen: dict[str, Template] = {}
        problems: list[Problem] = []
        for field in attrs.fields(cls):
            key = f"{field.name}_template"
            source = options.get(key)
            if source is None:
                chosen[field.name] = getattr(DEFAULT_TEMPLATES, field.name)
                continue
            if not isinstance(source, str):
                problems.append(Problem(f"{path}.{key}", "expected a string"))
                continue
            allowed = ESCALATION_ALLOWED if field.name.startswith("escalation") else FIELDS
            try:
                chosen[field.name] = Template.parse(source, f"{path}.{key}", allowed)
            except ValidationError as error:
                problems.extend(error.problems)
        if problems:
            raise ValidationError(problems)
        return cls(**chosen)


_DEFAULT_BODY = """{headline}

{body}

{instruction}

From {sender}, {sent}. Expires {expires}.
Message {message_id}.
{ack}"""

DEFAULT_TEMPLATES = ChannelTemplates(
    subject=Template.parse("{headline}"),
    body=Template.parse(_DEFAULT_BODY),
    relay_subject=Template.parse("Relay request: {headline}"),
    relay_body=Template.parse(
        "You are asked, as an Industry Sector Lead, to release this message to your sector.\n"
        "Acknowledging it releases it.\n{ack}\n\n" + _DEFAULT_BODY.removesuffix("\n{ack}")
    ),
    escalation_subject=Template.parse("Not acknowledged: {message_id}", allowed=ESCALATION_ALLOWED),
    escalation_body=Template.parse(
        "Message {message_id} ({marking}) has not been acknowledged by: {unacknowledged}.",
        allowed=ESCALATION_ALLOWED,
    ),
)
"""The templates of a channel that names none."""


def marking_line(marking: str, status: str) -> str:
    """The first line of every copy: the marking, then ``EXERCISE`` or ``TEST`` when not actual."""
    if status in ("exercise", "test"):
        return f"{marking} {status.upper()}"
    return marking


def _when(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="minutes")


def _message_values(message: MessageCopy, welsh: bool) -> dict[str, str]:
    text = message.welsh if welsh and message.welsh is not None else message
    return {
        "message_id": message.id,
        "marking": message.marking,
        "status": message.status,
        "type": message.type,
        "category": message.category,
        "urgency": message.urgency,
        "severity": message.severity,
        "certainty": message.certainty,
        "headline": text.headline,
        "body": text.body,
        "instruction": text.instruction,
        "sender": message.sender,
        "sent": _when(message.sent),
        "expires": _when(message.expires) or "never",
    }


@attrs.frozen
class _Form:
    """One kind of copy, with the message's fields filled in: only per-recipient fields remain."""

    subject: Template
    body: Template
    welsh_subject: Template | None
    welsh_body: Template | None


class Renderer:
    """Renders a channel's copies.

    Args:
        channel: The channel name.
        templates: Its templates.
        signer: Makes acknowledgement links and reply codes; None leaves ``ack`` fields empty.
        header_subject: Whether subjects go into a mail header: then a value holding a line break
            or NUL is refused (:class:`~cssc_core.channels.templates.HeaderInjectionError`);
            otherwise line breaks in a subject become spaces.
        reply_codes: Whether the ``ack`` line offers the reply code (SMS) rather than the link.
    """

    def __init__(
        self,
        channel: str,
        templates: ChannelTemplates = DEFAULT_TEMPLATES,
        signer: AckSigner | None = None,
        *,
        header_subject: bool = False,
        reply_codes: bool = False,
    ) -> None:
        self.channel = channel
        self.templates = templates
        self.signer = signer
        self.subject_escape = Escape.HEADER if header_subject else Escape.TEXT
        self.reply_codes = reply_codes

    def prepare(self, message: MessageCopy) -> PreparedMessage:
        """Renders the message's part of every copy once."""
        english = _message_values(message, welsh=False)
        welsh = _message_values(message, welsh=True) if message.welsh is not None else None
        forms: dict[DeliveryKind, _Form] = {}
        pairs = {
            DeliveryKind.MESSAGE: (self.templates.subject, self.templates.body),
            DeliveryKind.RELAY_REQUEST: (self.templates.relay_subject, self.templates.relay_body),
            DeliveryKind.ESCALATION: (self.templates.escalation_subject, self.templates.escalation_body),
        }
        for kind, (subject, body) in pairs.items():
            forms[kind] = _Form(
                subject.partial(english, self.subject_escape),
                body.partial(english),
                subject.partial(welsh, self.subject_escape) if welsh else None,
                body.partial(welsh) if welsh else None,
            )
        return PreparedMessage(self, message, forms)


class PreparedMessage:
    """A message rendered for one channel, ready to be personalised per recipient."""

    def __init__(self, renderer: Renderer, message: MessageCopy, forms: Mapping[DeliveryKind, _Form]) -> None:
        self.renderer = renderer
        self.message = message
        self._forms = forms
        self._line = marking_line(message.marking, message.status)
        # An update or cancel says so, and of what, right under the marking (outside the templates).
        self._heading = self._line
        if message.type != "alert" and message.references:
            self._heading += f"\n\n{message.type.upper()} of {', '.join(message.references)}"
        # One read-only object shared by every copy: a structured channel encodes it once per message.
        self._message_document: Mapping[str, Any] = MappingProxyType(
            {
                "id": message.id,
                "marking": message.marking,
                "status": message.status,
                "type": message.type,
                "category": message.category,
                "urgency": message.urgency,
                "severity": message.severity,
                "certainty": message.certainty,
                "sender": message.sender,
                "sent": _when(message.sent),
                "expires": _when(message.expires) or None,
            }
        )
        self._ack_expires = message.expires or message.sent + ACK_VALIDITY
        self._finished: dict[tuple[DeliveryKind, str], str] = {}

    def _ack_values(self, recipient: Recipient) -> dict[str, str]:
        signer = self.renderer.signer
        if signer is None or recipient.kind is DeliveryKind.ESCALATION:
            return dict.fromkeys(ACK_FIELDS, "")
        if not (self.message.ack_required or recipient.kind is DeliveryKind.RELAY_REQUEST):
            return dict.fromkeys(ACK_FIELDS, "")
        code = signer.reply_code(self.message.id, recipient.contact)
        link = signer.link(self.message.id, recipient.contact, self._ack_expires) or ""
        if link and not self.renderer.reply_codes:
            line = f"Acknowledge: {link}"
        else:
            line = f"To acknowledge, reply ACK {code}"
        return {"ack_link": link, "ack_code": code, "ack": line}

    def copy(self, recipient: Recipient) -> Outgoing:
        """The copy for one delivery.

        Raises:
            HeaderInjectionError: when a subject bound for a mail header would hold a line break.
        """
        form = self._forms[recipient.kind]
        values = self._ack_values(recipient)
        values["contact_id"] = recipient.contact
        values["contact_name"] = recipient.name
        values["unacknowledged"] = ", ".join(recipient.unacknowledged)
        escape = self.renderer.subject_escape
        welsh = recipient.language == "cy" and form.welsh_body is not None
        subject_form = form.welsh_subject if welsh and form.welsh_subject is not None else form.subject
        subject = subject_form.render(values, escape)
        if escape is Escape.TEXT:
            subject = " ".join(subject.split())
        subject = f"{self._line} {subject}"
        text = form.body.render(values)
        if welsh and form.welsh_body is not None:
            text = form.welsh_body.render(values) + _WELSH_SEPARATOR + text
        body = self._finished.get((recipient.kind, text))
        if body is None:
            heading = self._line if recipient.kind is DeliveryKind.ESCALATION else self._heading
            body = f"{heading}\n\n{_BLANK_RUNS.sub(chr(10) * 2, text).strip()}\n"
            if len(self._finished) < 64:  # most copies of a message share one text; names make others
                self._finished[recipient.kind, text] = body
        payload = {
            "format": COPY_FORMAT,
            "message": self._message_document,
            "delivery": recipient.delivery,
            "contact": recipient.contact,
            "kind": recipient.kind.value,
            "idempotency_key": recipient.idempotency_key,
            "language": recipient.language,
            "subject": subject,
            "body": body,
            "ack_link": values["ack_link"] or None,
            "ack_code": values["ack_code"] or None,
        }
        return Outgoing(
            delivery=recipient.delivery,
            message=self.message.id,
            contact=recipient.contact,
            channel=self.renderer.channel,
            address=recipient.address,
            kind=recipient.kind.value,
            idempotency_key=recipient.idempotency_key,
            subject=subject,
            body=body,
            marking=self.message.marking,
            language=recipient.language,
            payload=payload,
        )

"""Turning a delivery into the copy a channel sends: the one seam between cascades and rendering.

:func:`render_copy` is the built-in renderer: plain text with the marking as the first line (and
``EXERCISE`` or ``TEST`` after it when the message is not for real), the headline, body and
instruction, and the Welsh text after the English for contacts whose language is ``cy``. A relay
request carries the whole message with a line asking the ISL to release it to its cell; an
escalation notice carries no message content: only the message id, the marking and the names of
the contacts who did not acknowledge (SPEC.md section 6).

A :class:`CascadeEngine <cssc_core.cascade.engine.CascadeEngine>` takes any :data:`Renderer`, so that
channel templates replace this one without touching the cascade.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from cssc_core.domain.message import Message, MessageType, Status
from cssc_core.domain.models import Contact, Language
from cssc_core.plugins.types import Outgoing
from cssc_core.storage.records import Delivery, DeliveryKind

__all__ = ["CopyRequest", "Renderer", "marking_line", "render_copy"]


@attrs.frozen
class CopyRequest:
    """Everything a renderer needs for one copy.

    Attributes:
        delivery: The delivery being sent.
        message: Its message.
        contact: The receiving contact.
        address: Where the channel sends it (looked up from the contact at send time).
        unacknowledged: For an escalation notice, the names of the contacts who did not acknowledge.
    """

    delivery: Delivery
    message: Message
    contact: Contact
    address: str
    unacknowledged: tuple[str, ...] = ()


Renderer = Callable[[CopyRequest], Outgoing]
"""Makes the copy of a delivery; :func:`render_copy` is the built-in one."""


def marking_line(message: Message) -> str:
    """The first line of every copy: the marking, then ``EXERCISE`` or ``TEST`` when not actual."""
    if message.status is Status.ACTUAL:
        return str(message.marking)
    return f"{message.marking} {message.status.value.upper()}"


def _text(headline: str, body: str | None, instruction: str | None) -> list[str]:
    lines = [headline]
    if body:
        lines += ["", body]
    if instruction:
        lines += ["", instruction]
    return lines


def _message_lines(message: Message, contact: Contact) -> list[str]:
    lines: list[str] = []
    if message.type is not MessageType.ALERT:
        lines += [f"{message.type.value.upper()} of {', '.join(message.references)}", ""]
    lines += _text(message.headline, message.body, message.instruction)
    welsh = message.languages.get("cy")
    if contact.language is Language.CY and welsh is not None:
        lines += ["", "Cymraeg", "", *_text(welsh.headline, welsh.body, welsh.instruction)]
    return lines


def render_copy(request: CopyRequest) -> Outgoing:
    """The built-in renderer: plain text, marking first (see the module's description)."""
    delivery, message = request.delivery, request.message
    first = marking_line(message)
    if delivery.kind is DeliveryKind.ESCALATION:
        names = ", ".join(request.unacknowledged) or "(unnamed)"
        subject = f"{first} Not acknowledged: message {message.id}"
        lines = [first, "", f"Message {message.id} has not been acknowledged by: {names}."]
    elif delivery.kind is DeliveryKind.RELAY_REQUEST:
        cell = "/".join(delivery.cell) if delivery.cell else ""
        subject = f"{first} Relay request {cell}: {message.headline}"
        lines = [
            first,
            "",
            f"Please release message {message.id} to the organisations of {cell} by acknowledging it.",
            "",
            *_message_lines(message, request.contact),
        ]
    else:
        subject = f"{first} {message.headline}"
        lines = [first, "", *_message_lines(message, request.contact)]
    payload = {
        "message": message.id,
        "kind": delivery.kind.value,
        "marking": str(message.marking),
        "status": message.status.value,
        "type": message.type.value,
        "references": list(message.references),
        "cell": list(delivery.cell) if delivery.cell else None,
    }
    return Outgoing(
        delivery=delivery.id,
        message=message.id,
        contact=delivery.contact,
        channel=delivery.channel,
        address=request.address,
        kind=delivery.kind.value,
        idempotency_key=delivery.idempotency_key,
        subject=subject,
        body="\n".join(lines) + "\n",
        marking=str(message.marking),
        language=request.contact.language.value,
        payload=payload,
    )

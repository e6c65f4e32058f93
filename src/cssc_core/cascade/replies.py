"""SMS replies as acknowledgements: who sent a reply code, and for which message.

On a phone channel, a copy that must be acknowledged (and every relay request) ends
``To acknowledge, reply ACK K7QF2MZA``. The reply comes back through the SMS gateway's inbound
webhook as a sending number and a text. The number names the contacts who have it (several may
share a duty phone or a switchboard); the code, bound by HMAC to one message and one contact, says
which of them replied and to what (:meth:`~cssc_core.channels.acks.AckSigner.match_reply` says which
texts hold a code). A sending number is easy to forge and a code is not, so a number without the
right code acknowledges nothing.

A reply is taken for as long as the link in the same copy would be: until the message's
``expires``, or :data:`~cssc_core.channels.render.ACK_VALIDITY` after it was sent. A repeated reply
finds its message again and changes nothing, even once the cascade has finished.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import attrs

from cssc_core.cascade.context import CascadeContext
from cssc_core.channels.acks import AckSigner
from cssc_core.channels.render import ACK_VALIDITY
from cssc_core.domain.fields import clip, normalise_phone
from cssc_core.domain.network import Network
from cssc_core.errors import ValidationError

__all__ = ["ReplyClaim", "awaits", "match", "open_for_replies", "sender_number", "senders"]


@attrs.frozen
class ReplyClaim:
    """What an SMS reply acknowledged: this contact, this message.

    Attributes:
        message: The message id.
        contact: The contact whose reply code the text held.
    """

    message: str
    contact: str


def sender_number(phone: str) -> str:
    """The number a reply came from, in the E.164 form contacts' numbers are stored in.

    Gateways write it in several ways (``+447400123456``, ``447400123456``, ``07400 123456``); digits
    alone that are no UK number are read as an international number written without its ``+``.

    Raises:
        ValidationError: when it is not a valid phone number (path ``phone``, the value clipped).
    """
    candidates = [phone]
    digits = phone.strip()
    if digits.isascii() and digits.isdigit():
        candidates.append(f"+{digits}")
    for candidate in candidates:
        try:
            return normalise_phone(candidate)
        except ValueError:
            continue
    raise ValidationError.single("phone", f"{clip(phone)} is not a valid phone number")


def senders(network: Network, number: str) -> list[str]:
    """The ids of the contacts whose phone is ``number`` (E.164), in id order."""
    return sorted(contact.id for _, contact in network.contacts() if contact.phone == number)


def open_for_replies(ctx: CascadeContext, at: datetime) -> bool:
    """Whether replies to the cascade's message are still taken at ``at`` (as its links are)."""
    message = ctx.message
    return at < (message.expires or message.sent + ACK_VALIDITY)


def awaits(ctx: CascadeContext, contact: str) -> bool:
    """Whether the contact may acknowledge the cascade's message: a recipient, or an ISL of a
    relayed cell (whose acknowledgement releases it)."""
    return ctx.recipient(contact) is not None or bool(ctx.relayed_cells_of_isl(contact))


def match(
    text: str,
    contacts: Sequence[str],
    cascades: Iterable[CascadeContext],
    signer_of: Callable[[CascadeContext], AckSigner],
    at: datetime,
) -> ReplyClaim | None:
    """The message and contact whose reply code ``text`` holds, or None.

    Args:
        text: The reply.
        contacts: The contacts who have the number it came from.
        cascades: The cascades it may answer, in the order to try them.
        signer_of: The signer of a cascade (the key its copies' codes were made with).
        at: When the reply came (cascades closed to replies by then are passed over).
    """
    for ctx in cascades:
        if not open_for_replies(ctx, at):
            continue
        waiting = [contact for contact in contacts if awaits(ctx, contact)]
        if not waiting:
            continue
        signer = signer_of(ctx)
        for contact in waiting:
            if signer.match_reply(text, contact, [ctx.id]) is not None:
                return ReplyClaim(ctx.id, contact)
    return None

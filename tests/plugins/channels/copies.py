"""Realistic copies for the channel tests, rendered the way the cascade renders them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from cssc_core.channels.render import MessageCopy, Recipient, Renderer, WelshText
from cssc_core.plugins import Outgoing
from cssc_core.storage.records import make_idempotency_key
from cssc_core.testing import T0

MESSAGE = MessageCopy(
    id="msg-2019-0612-01",
    marking="TLP:GREEN",
    sent=T0,
    headline="Suspicious vehicle near the shopping centre",
    body="A white van has been parked on the loading bay since 07:00. Police are attending.",
    instruction="Keep staff and visitors away from the loading bay.",
    sender="NCTPHQ",
    expires=T0 + timedelta(hours=12),
    welsh=WelshText(
        "Cerbyd amheus ger y ganolfan siopa", "Mae fan wen wedi parcio ers 07:00.", "Cadwch draw."
    ),
)


def make_copies(
    count: int,
    channel: str,
    address: Callable[[int], str],
    message: MessageCopy = MESSAGE,
    *,
    header_subject: bool = False,
) -> list[Outgoing]:
    """``count`` copies of ``message`` on ``channel``; every fifth contact reads Welsh."""
    prepared = Renderer(channel, header_subject=header_subject).prepare(message)
    return [
        prepared.copy(
            Recipient(
                delivery=f"d-{i:05}",
                contact=f"c-{i:05}",
                name=f"Contact {i}",
                address=address(i),
                idempotency_key=make_idempotency_key(message.id, f"c-{i:05}", channel),
                language="cy" if i % 5 == 4 else "en",
            )
        )
        for i in range(count)
    ]

"""The ``pager`` channel: one JSON line per copy, appended to the spool file of a paging gateway."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from cssc_core.errors import ValidationError
from cssc_core.plugins import ChannelPlugin, ChannelSettings, Outgoing, SendResult, hookimpl


class PagerChannel:
    """Writes a batch of pages to the spool file, flushed and fsynced before reporting them delivered."""

    def __init__(self, spool: Path, width: int) -> None:
        self.spool = spool
        self.width = width

    def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Spools every page of the batch; a spool that cannot be written fails them temporarily."""
        try:
            with self.spool.open("a", encoding="utf-8") as spool:
                for item in batch:
                    page = {
                        "delivery": item.delivery,
                        "idempotency_key": item.idempotency_key,
                        "to": item.address,
                        "text": item.subject[: self.width],
                    }
                    spool.write(json.dumps(page) + "\n")
                spool.flush()
                os.fsync(spool.fileno())
        except OSError as error:
            return [
                SendResult.temporary(item.delivery, f"spool not writable: {error.strerror}") for item in batch
            ]
        return [SendResult.delivered(item.delivery) for item in batch]

    def close(self) -> None:
        """Nothing stays open between batches."""


def make_channel(settings: ChannelSettings) -> PagerChannel:
    """Checks the channel's ``spool`` (required) and ``width`` (default 80) settings."""
    spool = settings.options.get("spool")
    if not isinstance(spool, str) or not spool:
        raise ValidationError.single(f"$.channels.{settings.name}.spool", "required setting missing")
    width = settings.options.get("width", 80)
    if isinstance(width, bool) or not isinstance(width, int) or width < 20:
        raise ValidationError.single(f"$.channels.{settings.name}.width", "a whole number of at least 20")
    return PagerChannel(Path(spool), width)


@hookimpl
def cssc_delivery_channels() -> Iterable[ChannelPlugin]:
    """The ``pager`` channel type."""
    return [
        ChannelPlugin(
            name="pager",
            factory=make_channel,
            description="pages spooled for a paging gateway",
            refuses=frozenset({"secure"}),
        )
    ]

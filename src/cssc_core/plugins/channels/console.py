"""The ``console`` channel: each copy printed on standard output for a person to read.

Settings: ``stream`` (``stdout``, the default, or ``stderr``). Useful for trying a policy out and
for demonstrations; it never fails.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

from cssc_core.errors import ValidationError
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult

__all__ = ["ConsoleChannel", "cssc_delivery_channels", "make_channel"]


class ConsoleChannel:
    """Prints copies (a blocking sender, run in a worker thread)."""

    def __init__(self, stream: str) -> None:
        self.stream = stream

    def _output(self) -> TextIO:
        # Looked up at each send, so that a replaced sys.stdout (a test's capture) is honoured.
        return sys.stderr if self.stream == "stderr" else sys.stdout

    def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Prints every copy of the batch, then reports them delivered."""
        output = self._output()
        for item in batch:
            rule = f"── {item.channel} → {item.contact} <{item.address}> ({item.kind}, {item.delivery})"
            output.write(f"{rule}\nSubject: {item.subject}\n\n{item.body}\n")
        output.flush()
        return [SendResult.delivered(item.delivery) for item in batch]

    def close(self) -> None:
        """Nothing to close: the stream belongs to the process."""


def make_channel(settings: ChannelSettings) -> ConsoleChannel:
    """Checks the ``stream`` setting."""
    stream = settings.options.get("stream", "stdout")
    if stream not in ("stdout", "stderr"):
        raise ValidationError.single(f"$.channels.{settings.name}.stream", "expected stdout or stderr")
    return ConsoleChannel(stream)


@hookimpl
def cssc_delivery_channels() -> Iterable[ChannelPlugin]:
    """The ``console`` channel type."""
    return [ChannelPlugin("console", make_channel, "readable copies on standard output")]

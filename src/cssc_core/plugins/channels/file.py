"""The ``file`` channel: one JSON line per copy, appended to an outbox file, flushed and fsynced.

Settings: ``path`` (required; a channel file's ``file`` channels default to
``<outbox>/<channel>.jsonl``). Each line is the copy's :meth:`~cssc_core.plugins.types.Outgoing.to_document`:
``delivery``, ``message``, ``contact``, ``channel``, ``address``, ``kind``, ``idempotency_key``,
``subject``, ``body``, ``marking``, ``language`` and ``payload`` (SPEC.md section 7). A batch is
reported delivered only once its lines are on disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from cssc_core.errors import ValidationError
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult

__all__ = ["FileChannel", "cssc_delivery_channels", "make_channel"]


class FileChannel:
    """Appends copies to one JSON lines file (a blocking sender, run in a worker thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Writes the batch's lines, flushes and fsyncs; a file that cannot be written fails them
        temporarily."""
        lines = "".join(json.dumps(item.to_document(), ensure_ascii=False) + "\n" for item in batch)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as outbox:
                outbox.write(lines)
                outbox.flush()
                os.fsync(outbox.fileno())
        except OSError as error:
            reason = f"outbox not writable: {error.strerror or type(error).__name__}"
            return [SendResult.temporary(item.delivery, reason) for item in batch]
        return [SendResult.delivered(item.delivery) for item in batch]

    def close(self) -> None:
        """Nothing stays open between batches."""

    def __repr__(self) -> str:
        return f"FileChannel({str(self.path)!r})"


def make_channel(settings: ChannelSettings) -> FileChannel:
    """Checks the ``path`` setting."""
    path = settings.options.get("path")
    if not isinstance(path, str) or not path:
        raise ValidationError.single(f"$.channels.{settings.name}.path", "required setting missing")
    return FileChannel(Path(path))


@hookimpl
def cssc_delivery_channels() -> Iterable[ChannelPlugin]:
    """The ``file`` channel type."""
    return [ChannelPlugin("file", make_channel, "JSON lines in an outbox file, fsynced")]

"""Fakes for plugin authors: a channel that records what it is given, and a plugin that records events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import (
    ChannelPlugin,
    ChannelSettings,
    DeliveryStatusChange,
    Outgoing,
    SendResult,
)
from cssc_core.storage.records import Acknowledgement, DeliveryStatus, RelayRelease

__all__ = ["RecordedEvent", "RecordingChannel", "RecordingChannelPlugin", "RecordingPlugin"]


class RecordingChannel:
    """An async :class:`~cssc_core.plugins.types.Channel` that keeps every copy it is given.

    Args:
        failures: Results to report instead of ``delivered``, by delivery id or contact id:
            ``{"c-0001": DeliveryStatus.TEMPORARY_FAILURE}``. Each is reported once, then the
            copy is delivered on its next attempt.
        settings: The channel settings it was made with, if any.

    Attributes:
        sent: Every copy accepted, in order.
        attempts: Every copy given, failed or not, in order.
        closed: Whether :meth:`aclose` was called.
    """

    def __init__(
        self,
        failures: Mapping[str, DeliveryStatus] | None = None,
        settings: ChannelSettings | None = None,
    ) -> None:
        self.settings = settings
        self._failures = dict(failures or {})
        self.sent: list[Outgoing] = []
        self.attempts: list[Outgoing] = []
        self.closed = False

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Records the batch; reports the scripted failures and delivers the rest."""
        results = []
        for item in batch:
            self.attempts.append(item)
            failure = self._failures.pop(item.delivery, None) or self._failures.pop(item.contact, None)
            if failure is None:
                self.sent.append(item)
                results.append(SendResult.delivered(item.delivery))
            else:
                results.append(SendResult(item.delivery, failure, "scripted failure"))
        return results

    async def aclose(self) -> None:
        """Marks the channel closed."""
        self.closed = True

    def __repr__(self) -> str:
        return f"RecordingChannel(sent={len(self.sent)})"


class RecordingChannelPlugin:
    """A plugin providing the channel type ``name``, whose senders are :class:`RecordingChannel`\\ s.

    Register it with :meth:`PluginHost.register <cssc_core.plugins.PluginHost.register>`. Every
    sender it makes is kept in :attr:`channels`, by channel name.
    """

    def __init__(self, name: str = "recording", refuses: Iterable[str] = ()) -> None:
        self.name = name
        self.refuses = frozenset(refuses)
        self.channels: dict[str, RecordingChannel] = {}

    def _make(self, settings: ChannelSettings) -> RecordingChannel:
        channel = RecordingChannel(settings=settings)
        self.channels[settings.name] = channel
        return channel

    @hookimpl
    def cssc_delivery_channels(self) -> Iterable[ChannelPlugin]:
        """The recording channel type."""
        return [ChannelPlugin(self.name, self._make, "records copies in memory", refuses=self.refuses)]


@attrs.frozen
class RecordedEvent:
    """One event hook call: the hook's name and its arguments."""

    hook: str
    arguments: Mapping[str, Any]


class RecordingPlugin:
    """A plugin implementing every event hook, keeping each call in :attr:`events` in order."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []

    def hooks(self) -> list[str]:
        """The names of the hooks called, in order."""
        return [event.hook for event in self.events]

    @hookimpl
    def cssc_message_routed(self, message_id: str, plan: Mapping[str, Any], at: datetime) -> None:
        """Records the call."""
        self.events.append(
            RecordedEvent("cssc_message_routed", {"message_id": message_id, "plan": plan, "at": at})
        )

    @hookimpl
    def cssc_delivery_status_changed(self, changes: Sequence[DeliveryStatusChange]) -> None:
        """Records the call."""
        self.events.append(RecordedEvent("cssc_delivery_status_changed", {"changes": tuple(changes)}))

    @hookimpl
    def cssc_acknowledgement_received(self, acknowledgement: Acknowledgement) -> None:
        """Records the call."""
        self.events.append(
            RecordedEvent("cssc_acknowledgement_received", {"acknowledgement": acknowledgement})
        )

    @hookimpl
    def cssc_relay_released(self, release: RelayRelease) -> None:
        """Records the call."""
        self.events.append(RecordedEvent("cssc_relay_released", {"release": release}))

    @hookimpl
    def cssc_contact_erased(self, contact_id: str, at: datetime) -> None:
        """Records the call."""
        self.events.append(RecordedEvent("cssc_contact_erased", {"contact_id": contact_id, "at": at}))

"""Every hook a ``cssc_core`` plugin may implement.

Registration hooks are plural nouns returning records (:mod:`cssc_core.plugins.types`); the plugin
manager collects them once and rejects a name provided twice. Event hooks tell plugins (audit
exporters, metrics, portals) what happened; they return nothing, and an exception raised by one
propagates to the caller, so they must not raise for a condition they can handle.

Implement a hook with the :data:`~cssc_core.plugins.markers.hookimpl` marker and a function of the
same name; a plugin may take fewer parameters than the spec lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from cssc_core.plugins.markers import hookspec
from cssc_core.plugins.types import ChannelPlugin, DeliveryStatusChange, StorageBackend
from cssc_core.storage.records import Acknowledgement, RelayRelease

__all__ = [
    "cssc_acknowledgement_received",
    "cssc_contact_erased",
    "cssc_delivery_channels",
    "cssc_delivery_status_changed",
    "cssc_message_routed",
    "cssc_relay_released",
    "cssc_storage_backends",
]


@hookspec
def cssc_storage_backends() -> Iterable[StorageBackend]:
    """The storage backends this plugin provides.

    Fires once per plugin manager, the first time a store is opened or backends are listed
    (``cssc plugins``). Each backend's name and URL schemes must be unique among installed plugins.

    Returns:
        The backends, as :class:`~cssc_core.plugins.types.StorageBackend` records.
    """


@hookspec
def cssc_delivery_channels() -> Iterable[ChannelPlugin]:
    """The delivery channel plugins this plugin provides (the ``type`` of a configured channel).

    Fires once per plugin manager, the first time channels are configured or listed. Each name must
    be unique among installed plugins.

    Returns:
        The channel plugins, as :class:`~cssc_core.plugins.types.ChannelPlugin` records.
    """


@hookspec
def cssc_message_routed(message_id: str, plan: Mapping[str, Any], at: datetime) -> None:
    """A message was planned and its cascade persisted.

    Fires after ``send`` has written the message, its cascade and every planned delivery in one
    transaction, before anything is dispatched; never for ``route`` (planning without sending).

    Args:
        message_id: The message's id.
        plan: The routing plan as ``cssc route --json`` prints it (SPEC.md section 9): recipients,
            relays, exclusions and coverage gaps.
        at: When the cascade was persisted.
    """


@hookspec
def cssc_delivery_status_changed(changes: Sequence[DeliveryStatusChange]) -> None:
    """Deliveries changed status.

    Fires after each batch of status changes is committed to the store (creation, claim, results,
    releases, expiry, cancel), once per batch, with the changes in the order written; a write the
    store refused is not included.

    Args:
        changes: One record per delivery: the delivery after the change, its previous status
            (None when just created) and when it changed.
    """


@hookspec
def cssc_acknowledgement_received(acknowledgement: Acknowledgement) -> None:
    """A contact acknowledged a message.

    Fires after the acknowledgement is recorded, once per message and contact; a repeated
    acknowledgement changes nothing and does not fire it again.

    Args:
        acknowledgement: The message, the contact, when, and where it came from.
    """


@hookspec
def cssc_relay_released(release: RelayRelease) -> None:
    """An Industry Sector Lead released a message to the organisations of a cell.

    Fires after the release is recorded and the cell's held copies are made due, once per cell:
    the first ISL of the cell to release it wins, later releases of the same cell do not fire it.

    Args:
        release: The message, the cell, the releasing ISL, and when.
    """


@hookspec
def cssc_contact_erased(contact_id: str, at: datetime) -> None:
    """A contact's personal data was erased from the store (UK GDPR erasure).

    Fires after the store has committed the tombstone. A plugin that keeps copies of personal data
    (a file channel's outbox, a delivery log) must remove that contact's data from them now.

    Args:
        contact_id: The erased contact's id, which the tombstone keeps.
        at: When it was erased.
    """

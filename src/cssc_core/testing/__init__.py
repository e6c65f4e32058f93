"""Helpers for testing cssc_core plugins and embeddings (needs the ``test`` extra: pytest, hypothesis).

- :class:`StoreContract`: the tests every storage backend must pass; subclass it with your backend.
- :func:`store_machine`: the hypothesis state machine comparing a backend with the reference.
- :class:`RecordingChannel`, :class:`RecordingChannelPlugin`: a channel that keeps what it is sent.
- :class:`RecordingPlugin`: a plugin that keeps every event hook call.
- :class:`FakeClock`: a clock that moves only when told.
- ``sample_*``: small valid records to build tests from.
"""

from cssc_core.domain.clock import FakeClock
from cssc_core.testing._contract import StoreContract
from cssc_core.testing._fakes import RecordedEvent, RecordingChannel, RecordingChannelPlugin, RecordingPlugin
from cssc_core.testing._samples import (
    T0,
    sample_cascade,
    sample_delivery,
    sample_message,
    sample_network,
    sample_organisation,
)
from cssc_core.testing._stateful import store_machine

__all__ = [
    "T0",
    "FakeClock",
    "RecordedEvent",
    "RecordingChannel",
    "RecordingChannelPlugin",
    "RecordingPlugin",
    "StoreContract",
    "sample_cascade",
    "sample_delivery",
    "sample_message",
    "sample_network",
    "sample_organisation",
    "store_machine",
]

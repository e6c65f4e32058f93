"""Storage: the :class:`Store` protocol and its records.

The built-in backends, :mod:`cssc_core.storage.memory` and :mod:`cssc_core.storage.sqlite`, are plugins
and are imported by the plugin manager (or by name), not here.
"""

from cssc_core.storage.protocol import Store
from cssc_core.storage.records import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    RESULT_STATUSES,
    UPDATE_STATUSES,
    Acknowledgement,
    AuditEntry,
    CascadeRecord,
    Delivery,
    DeliveryKind,
    DeliveryRef,
    DeliveryStatus,
    DeliveryUpdate,
    MessageRecord,
    Refusal,
    RelayRelease,
    StatusChange,
    Timer,
    WriteOutcome,
    make_idempotency_key,
    redact,
)

__all__ = [
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "RESULT_STATUSES",
    "UPDATE_STATUSES",
    "Acknowledgement",
    "AuditEntry",
    "CascadeRecord",
    "Delivery",
    "DeliveryKind",
    "DeliveryRef",
    "DeliveryStatus",
    "DeliveryUpdate",
    "MessageRecord",
    "Refusal",
    "RelayRelease",
    "StatusChange",
    "Store",
    "Timer",
    "WriteOutcome",
    "make_idempotency_key",
    "redact",
]

"""The people, the message and the routing policy of the incident the cascade tests and the crash
benchmark replay. Plain data, no pytest: ``benchmarks/crash_points.py`` imports it too."""

from __future__ import annotations

from typing import Any

from cssc_core.domain.message import Message
from cssc_core.domain.models import Contact
from cssc_core.formats.message import message_from_document
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.testing import T0

__all__ = ["INCIDENT_POLICY", "message", "person"]


def person(identifier: str, *channels: str, **fields: Any) -> Contact:
    """A contact with an email address and a phone number, on ``channels`` (email by default)."""
    return Contact(
        id=identifier,
        name=f"Person {identifier}",
        email=f"{identifier}@example.org",
        phone="+447400123456",
        channels=channels or ("email",),
        **fields,
    )


def message(identifier: str = "msg-1", **fields: Any) -> Message:
    """A TLP:GREEN security alert to EAST, sent at T0, with the given fields changed."""
    document: dict[str, Any] = {
        "format": "cssc-message/1",
        "id": identifier,
        "sender": "NCTPHQ",
        "sent": T0.isoformat(),
        "status": "actual",
        "type": "alert",
        "marking": "TLP:GREEN",
        "category": "security",
        "urgency": "expected",
        "severity": "moderate",
        "certainty": "likely",
        "headline": f"Headline of {identifier}",
        "body": "Body text.",
        "instruction": "Stay alert.",
        "audience": {"regions": ["EAST"]},
    }
    document.update(fields)
    return message_from_document(document)


INCIDENT_POLICY = parse_policy_toml(
    """
format = "cssc-policy/1"

[defaults]
via = "isl"
channels = ["email"]
relay_deadline = "10m"

[[routes]]
name = "schools-acknowledge"
select = { sectors = ["education"] }
via = "direct"
channels = ["email", "sms"]
ack = "required"
ack_timeout = "10m"
"""
)

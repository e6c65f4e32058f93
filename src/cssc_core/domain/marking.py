"""Handling markings (TLP 2.0) and the table of SPEC.md section 6, kept as data.

The table says, for each marking, who may receive a message, whether it may be relayed through
Industry Sector Leads, and which channels may carry it. Channels are judged by two capability flags,
``secure`` and ``public``; :func:`default_channel_flags` gives the flags a channel has when no channel
file says otherwise.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

__all__ = [
    "MARKING_RULES",
    "ChannelFlags",
    "ChannelRule",
    "Marking",
    "MarkingRule",
    "channel_allowed",
    "default_channel_flags",
    "flags_for",
]


class Marking(enum.StrEnum):
    """A TLP 2.0 marking, carried by every copy as its first line or subject prefix."""

    CLEAR = "TLP:CLEAR"
    GREEN = "TLP:GREEN"
    AMBER = "TLP:AMBER"
    AMBER_STRICT = "TLP:AMBER+STRICT"
    RED = "TLP:RED"


class ChannelRule(enum.StrEnum):
    """Which channels a marking lets carry a message."""

    ANY = "any"
    NOT_PUBLIC = "not public"
    SECURE_ONLY = "secure only"


@attrs.frozen
class MarkingRule:
    """One row of the marking table.

    Attributes:
        named_contacts_only: Only contacts named in ``audience.contacts`` may receive the message.
        relays: The message may be relayed through ISLs; when false every recipient is sent it direct.
        channels: Which channels may carry it.
    """

    named_contacts_only: bool
    relays: bool
    channels: ChannelRule


MARKING_RULES: Mapping[Marking, MarkingRule] = {
    Marking.CLEAR: MarkingRule(named_contacts_only=False, relays=True, channels=ChannelRule.ANY),
    Marking.GREEN: MarkingRule(named_contacts_only=False, relays=True, channels=ChannelRule.NOT_PUBLIC),
    Marking.AMBER: MarkingRule(named_contacts_only=False, relays=True, channels=ChannelRule.SECURE_ONLY),
    Marking.AMBER_STRICT: MarkingRule(
        named_contacts_only=False, relays=False, channels=ChannelRule.SECURE_ONLY
    ),
    Marking.RED: MarkingRule(named_contacts_only=True, relays=False, channels=ChannelRule.SECURE_ONLY),
}
"""The marking table of SPEC.md section 6."""


@attrs.frozen
class ChannelFlags:
    """The capability flags of a channel that the marking table looks at."""

    secure: bool = False
    public: bool = False


_SECURE_BY_NAME = frozenset({"email", "webhook"})


def default_channel_flags(name: str) -> ChannelFlags:
    """The flags of a channel without a channel file: ``email`` and ``webhook`` are secure, none public."""
    return ChannelFlags(secure=name in _SECURE_BY_NAME, public=False)


def flags_for(name: str, channels: Mapping[str, ChannelFlags] | None) -> ChannelFlags | None:
    """The flags of a channel name, or None when a channel file is in use and does not define it.

    Args:
        name: The channel name a contact uses.
        channels: The channels a channel file defines, or None when there is no channel file.
    """
    if channels is None:
        return default_channel_flags(name)
    return channels.get(name)


def channel_allowed(marking: Marking, flags: ChannelFlags) -> bool:
    """Tells whether a channel with these flags may carry a message with this marking."""
    rule = MARKING_RULES[marking].channels
    if rule is ChannelRule.ANY:
        return True
    # The table tightens row by row, so a secure channel that is also public is refused where
    # TLP:GREEN already refuses public channels.
    if rule is ChannelRule.NOT_PUBLIC:
        return not flags.public
    return flags.secure and not flags.public

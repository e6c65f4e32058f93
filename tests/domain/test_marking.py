"""The marking table of SPEC.md section 6 and the default channel flags."""

from __future__ import annotations

import pytest

from cssc_core.domain.marking import (
    MARKING_RULES,
    ChannelFlags,
    Marking,
    channel_allowed,
    default_channel_flags,
    flags_for,
)

PLAIN = ChannelFlags(secure=False, public=False)
SECURE = ChannelFlags(secure=True, public=False)
PUBLIC = ChannelFlags(secure=False, public=True)
SECURE_PUBLIC = ChannelFlags(secure=True, public=True)


@pytest.mark.parametrize(
    ("marking", "plain", "secure", "public", "secure_public"),
    [
        (Marking.CLEAR, True, True, True, True),
        (Marking.GREEN, True, True, False, False),
        (Marking.AMBER, False, True, False, False),
        (Marking.AMBER_STRICT, False, True, False, False),
        (Marking.RED, False, True, False, False),
    ],
)
def test_channels_each_marking_allows(
    marking: Marking, plain: bool, secure: bool, public: bool, secure_public: bool
) -> None:
    assert channel_allowed(marking, PLAIN) is plain
    assert channel_allowed(marking, SECURE) is secure
    assert channel_allowed(marking, PUBLIC) is public
    assert channel_allowed(marking, SECURE_PUBLIC) is secure_public


def test_relays_and_named_contacts() -> None:
    assert [m for m in Marking if MARKING_RULES[m].relays] == [Marking.CLEAR, Marking.GREEN, Marking.AMBER]
    assert [m for m in Marking if MARKING_RULES[m].named_contacts_only] == [Marking.RED]


def test_default_flags_follow_the_channel_name() -> None:
    assert default_channel_flags("email") == SECURE
    assert default_channel_flags("webhook") == SECURE
    assert default_channel_flags("sms") == PLAIN
    assert default_channel_flags("pager") == PLAIN


def test_a_channel_file_defines_the_channels() -> None:
    channels = {"pager": SECURE}
    assert flags_for("pager", channels) == SECURE
    assert flags_for("email", channels) is None
    assert flags_for("email", None) == SECURE

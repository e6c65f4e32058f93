"""The storage records check what they are given."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cssc_core.storage.records import (
    EPOCH,
    AuditEntry,
    CascadeRecord,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    DeliveryUpdate,
    make_idempotency_key,
    redact,
)
from cssc_core.testing import T0, sample_delivery


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DeliveryUpdate("d-1", DeliveryStatus.CREATED, datetime(2019, 6, 12, 9, 0))


def test_times_are_kept_in_utc() -> None:
    summer = timezone(timedelta(hours=1))
    update = DeliveryUpdate("d-1", DeliveryStatus.CREATED, datetime(2019, 6, 12, 9, 0, tzinfo=summer))
    assert update.at.tzinfo is UTC
    assert update.at == T0 + timedelta(hours=0)


def test_a_temporary_failure_needs_a_retry_time() -> None:
    with pytest.raises(ValueError, match="next_attempt_at"):
        DeliveryUpdate("d-1", DeliveryStatus.TEMPORARY_FAILURE, T0)


@pytest.mark.parametrize(
    ("status", "fields", "due"),
    [
        (DeliveryStatus.CREATED, {}, EPOCH),
        (DeliveryStatus.CREATED, {"not_before": T0}, T0),
        (DeliveryStatus.TEMPORARY_FAILURE, {"next_attempt_at": T0}, T0),
        (DeliveryStatus.SENDING, {"lease_until": T0}, T0),
        (DeliveryStatus.HELD, {"not_before": T0}, None),
        (DeliveryStatus.DELIVERED, {}, None),
        (DeliveryStatus.CANCELLED, {"not_before": T0}, None),
    ],
)
def test_when_a_delivery_falls_due(
    status: DeliveryStatus, fields: dict[str, datetime], due: datetime | None
) -> None:
    delivery = Delivery("d", "m", "c", "email", "email", "k", status=status, **fields)  # type: ignore[arg-type]
    assert delivery.due_at == due


def test_final_statuses() -> None:
    assert {s for s in DeliveryStatus if s.is_final} == {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.PERMANENT_FAILURE,
        DeliveryStatus.TECHNICAL_FAILURE,
        DeliveryStatus.EXPIRED,
        DeliveryStatus.CANCELLED,
    }


def test_idempotency_keys_follow_the_identity() -> None:
    key = make_idempotency_key("m", "c", "email")
    assert key == make_idempotency_key("m", "c", "email", DeliveryKind.MESSAGE)
    others = {
        make_idempotency_key("m", "c", "sms"),
        make_idempotency_key("m2", "c", "email"),
        make_idempotency_key("m", "c", "email", DeliveryKind.RELAY_REQUEST, cell=("EAST", "retail")),
        make_idempotency_key("m", "c", "email", DeliveryKind.RELAY_REQUEST, cell=("EAST", "faith")),
        make_idempotency_key("m", "c", "email", DeliveryKind.ESCALATION, subject_contact="c-9"),
    }
    assert key not in others
    assert len(others) == 5


@pytest.mark.parametrize(
    "text",
    [
        "550 5.1.1 <sam@example.org>: mailbox unavailable",
        "POST https://hooks.example.org/cssc?token=abc failed",
        "gateway refused +447400123456",
        "gateway refused 07400 123456",
        # Regression: a URL run into the text before it escaped the word-boundary anchored pattern.
        "status=500https://hooks.example.org/cssc?token=abc",
    ],
)
def test_audit_details_lose_addresses(text: str) -> None:
    detail = AuditEntry(T0, "delivery-failed", detail=text).detail
    for secret in ("sam@example.org", "hooks.example.org", "abc", "7400123456", "123456"):
        assert secret not in detail
    assert "[redacted]" in detail
    assert redact("timeout after 10s") == "timeout after 10s"


# Any text, and ASCII alone (with its controls, DEL, the quote and the backslash), which takes the
# fast path for text json.dumps writes as it is.
_IDENTITY_PART = st.one_of(st.text(max_size=12), st.text(st.characters(max_codepoint=127), max_size=12))


@given(st.lists(_IDENTITY_PART, min_size=4, max_size=4), st.booleans())
@example(["m", "c\\1", "email", ""], False)  # what json.dumps escapes: the backslash,
@example(['m"1', "c", "email", ""], True)  # the quote,
@example(["m", "c", "email\x7f", ""], False)  # DEL and the controls,
@example(["m", "c", "email", "c-\n"], False)
@example(["m", "c-é", "email", ""], False)  # and, as json.dumps writes ASCII, the rest
def test_idempotency_keys_hash_the_identity_as_json(parts: list[str], with_cell: bool) -> None:
    message, contact, channel, subject = parts
    cell = ("EAST", channel) if with_cell else None
    identity = [message, contact, channel, "relay-request", "/".join(cell) if cell else "", subject]
    expected = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:32]
    key = make_idempotency_key(message, contact, channel, "relay-request", cell=cell, subject_contact=subject)
    assert key == expected


def test_a_cascade_stores_secrets_by_variable_name_only() -> None:
    good = {
        "email": {"type": "smtp", "password_env": "CSSC_SMTP_PASSWORD", "providers": [{"api_key_env": "K"}]}
    }
    assert CascadeRecord("m", T0, json.dumps(good)).channels == json.dumps(good)
    for bad in (
        {"email": {"type": "smtp", "password": "hunter2"}},
        {"sms": {"providers": [{"api_key": "abc"}]}},
        {"webhook": {"secret": "s3cr3t"}},
    ):
        with pytest.raises(ValueError, match="environment variables"):
            CascadeRecord("m", T0, json.dumps(bad))


def test_sample_deliveries_have_distinct_keys() -> None:
    assert sample_delivery("a").idempotency_key != sample_delivery("b").idempotency_key

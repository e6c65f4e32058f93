"""Acknowledgement tokens bind a message, a contact and an expiry; reply codes a message and a contact."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cssc_core.channels.acks import SETTING, AckSigner, AckTokenError
from cssc_core.errors import ValidationError
from cssc_core.storage.memory import MemoryStore
from cssc_core.testing import T0

KEY = b"k" * 32
EXPIRES = T0 + timedelta(hours=12)


def test_a_token_verifies_to_its_message_and_contact() -> None:
    signer = AckSigner(KEY)
    claim = signer.verify(signer.token("msg-1", "c-0001", EXPIRES), T0)
    assert (claim.message, claim.contact, claim.expires) == ("msg-1", "c-0001", EXPIRES)


def test_a_token_expires() -> None:
    signer = AckSigner(KEY)
    token = signer.token("msg-1", "c-0001", EXPIRES)
    signer.verify(token, EXPIRES - timedelta(seconds=1))
    with pytest.raises(AckTokenError, match="expired"):
        signer.verify(token, EXPIRES)


def _swap_payload(token: str, message: str, contact: str) -> str:
    other = AckSigner(b"x" * 32).token(message, contact, EXPIRES)
    return other.split(".")[0] + "." + token.split(".")[1]


@pytest.mark.parametrize(
    ("message", "contact"), [("msg-1", "c-0002"), ("msg-2", "c-0001"), ("msg-2", "c-0002")]
)
def test_a_token_cannot_be_moved_to_another_contact_or_message(message: str, contact: str) -> None:
    signer = AckSigner(KEY)
    token = signer.token("msg-1", "c-0001", EXPIRES)
    with pytest.raises(AckTokenError, match="signature"):
        signer.verify(_swap_payload(token, message, contact), T0)


def test_a_token_made_with_another_key_is_refused() -> None:
    forged = AckSigner(b"attacker-key-0123456789").token("msg-1", "c-0001", EXPIRES)
    with pytest.raises(AckTokenError):
        AckSigner(KEY).verify(forged, T0)


@given(st.text(max_size=300))
def test_garbage_is_refused_with_our_error_only(token: str) -> None:
    with pytest.raises(AckTokenError):
        AckSigner(KEY).verify(token, T0)


def test_an_extended_expiry_breaks_the_signature() -> None:
    signer = AckSigner(KEY)
    token = signer.token("msg-1", "c-0001", EXPIRES)
    later = AckSigner(b"z" * 32).token("msg-1", "c-0001", EXPIRES + timedelta(days=365))
    with pytest.raises(AckTokenError):
        signer.verify(later.split(".")[0] + "." + token.split(".")[1], T0)


def test_links_carry_the_token_after_the_base_url() -> None:
    signer = AckSigner(KEY, "https://portal.example.org/ack")
    link = signer.link("msg-1", "c-0001", EXPIRES)
    assert link is not None
    assert link.startswith("https://portal.example.org/ack?t=")
    assert signer.verify(link.partition("?t=")[2], T0).contact == "c-0001"
    assert (
        AckSigner(KEY, "https://p.example.org/a?x=1")
        .link("m", "c", EXPIRES)
        .startswith(  # type: ignore[union-attr]
            "https://p.example.org/a?x=1&t="
        )
    )
    assert AckSigner(KEY).link("m", "c", EXPIRES) is None


def test_reply_codes_are_short_and_bound_to_message_and_contact() -> None:
    signer = AckSigner(KEY)
    code = signer.reply_code("msg-1", "c-0001")
    assert len(code) == 8
    assert set(code) <= set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
    assert signer.match_reply(f"ack {code.lower()}", "c-0001", ["msg-0", "msg-1"]) == "msg-1"
    assert signer.match_reply(code, "c-0002", ["msg-0", "msg-1"]) is None
    assert signer.match_reply("ACK AAAAAAAA", "c-0001", ["msg-1"]) is None


def test_a_reply_is_the_code_alone_or_after_ack_whatever_the_case_spacing_and_punctuation() -> None:
    signer = AckSigner(KEY)
    code = signer.reply_code("msg-1", "c-0001")
    spaced = f"{code[:4]} {code[4:]}"
    for reply in (code, code.lower(), f" ACK {code}\n", f"Ack: {spaced.lower()}.", f"ack-{code}!"):
        assert signer.match_reply(reply, "c-0001", ["msg-1"]) == "msg-1", reply
    for reply in ("", "ACK", "yes", f"YES {code}", f"ACK {code} thanks", f"ACKACK {code}", code[:-1]):
        assert signer.match_reply(reply, "c-0001", ["msg-1"]) is None, reply
    assert signer.match_reply(code + " " * 2000, "c-0001", ["msg-1"]) is None  # longer than any SMS


def test_a_code_that_begins_with_ack_matches_alone_and_after_ack() -> None:
    signer = AckSigner(KEY)
    code = signer.reply_code("msg-71939", "c-0001")
    assert code.startswith("ACK")
    assert signer.match_reply(code, "c-0001", ["msg-71939"]) == "msg-71939"
    assert signer.match_reply(f"ACK {code}", "c-0001", ["msg-71939"]) == "msg-71939"


def test_the_key_is_made_once_and_kept_in_the_store() -> None:
    store = MemoryStore()
    first = AckSigner.from_store(store)
    token = first.token("m", "c", EXPIRES)
    assert store.get_setting(SETTING) is not None
    assert AckSigner.from_store(store).verify(token, T0).message == "m"


def test_a_named_variable_overrides_the_stored_key_and_never_shows() -> None:
    store = MemoryStore()
    signer = AckSigner.from_store(store, secret_env="ACK_KEY", environ={"ACK_KEY": "s3cret-s3cret-s3cret"})
    assert store.get_setting(SETTING) is None
    assert "s3cret" not in repr(signer)
    with pytest.raises(ValidationError, match="ACK_KEY is not set") as caught:
        AckSigner.from_store(store, secret_env="ACK_KEY", environ={})
    with pytest.raises(ValidationError, match="fewer than 16 bytes") as caught:
        AckSigner.from_store(store, secret_env="ACK_KEY", environ={"ACK_KEY": "short-pw"})
    assert "short-pw" not in str(caught.value)

"""Signed acknowledgement links and SMS reply codes.

A token binds a message id, a contact id and an expiry with HMAC-SHA256, so that it cannot be
altered to acknowledge another message or for another contact, and stops working when it expires.
cssc_core makes and verifies tokens; an embedder's portal only routes the request (``GET
{base_url}?t=TOKEN``) to :meth:`AckSigner.verify` and records the acknowledgement it returns.

An SMS cannot carry a long link comfortably, so a copy also gets a short reply code: eight
characters derived from the message and contact. The reply arrives from the contact's own number,
which names the contact; :meth:`AckSigner.match_reply` finds which of its messages the code is for.

The key is made once and kept in the store's settings (:data:`SETTING`), unless the channel file's
``[acks] secret_env`` names an environment variable holding one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

import attrs

from cssc_core.domain.clock import require_aware
from cssc_core.errors import CsscError, ValidationError
from cssc_core.storage.protocol import Store

__all__ = ["SETTING", "AckClaim", "AckSigner", "AckTokenError"]

SETTING = "ack_signing_key"
"""The store setting holding the generated signing key (hex)."""

_TOKEN_CONTEXT = b"cssc-ack-token/1\0"
_CODE_CONTEXT = b"cssc-ack-code/1\0"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
_CODE_LENGTH = 8
_REPLY_WORD = "ACK"
_NOT_IN_CODE = re.compile(r"[^A-Z0-9]")
_MAX_REPLY = 1600  # ten concatenated SMS parts: anything longer is not a reply to a copy
_MIN_SECRET = 16
_MAX_TOKEN = 2048


class AckTokenError(CsscError, ValueError):
    """An acknowledgement token is malformed, forged or expired (the reason never echoes the token)."""


@attrs.frozen
class AckClaim:
    """What a verified token says: this contact acknowledges this message.

    Attributes:
        message: The message id.
        contact: The contact id.
        expires: When the token stopped or stops being valid.
    """

    message: str
    contact: str
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _split(token: str) -> tuple[bytes, bytes]:
    """A token's payload and signature, decoded but not checked."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise AckTokenError("not an acknowledgement token")
    encoded_payload, encoded_signature = token.split(".")
    try:
        return _unb64(encoded_payload), _unb64(encoded_signature)
    except ValueError:
        raise AckTokenError("not an acknowledgement token") from None


def _claim(payload: bytes) -> tuple[str, str, datetime]:
    try:
        message, contact, seconds = payload.decode().split("\n")
        return message, contact, datetime.fromtimestamp(int(seconds), UTC)
    except (UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise AckTokenError("not an acknowledgement token") from None


class AckSigner:
    """Makes and checks acknowledgement tokens, links and reply codes with one key.

    Args:
        key: The HMAC key (at least 16 bytes).
        base_url: The portal address links point at (``[acks] base_url``), or None for no links.
    """

    def __init__(self, key: bytes, base_url: str | None = None) -> None:
        if len(key) < _MIN_SECRET:
            raise ValueError(f"an acknowledgement key has at least {_MIN_SECRET} bytes")
        self._key = key
        self.base_url = base_url

    def __repr__(self) -> str:
        return f"AckSigner(key=<hidden>, base_url={self.base_url!r})"

    @classmethod
    def from_store(
        cls,
        store: Store,
        *,
        secret_env: str | None = None,
        base_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> AckSigner:
        """The signer of a deployment: the key from ``secret_env`` when named, else the store's.

        The store's key is made at random the first time and kept (atomically, so two processes
        starting at once agree on one key).

        Raises:
            ValidationError: when ``secret_env`` names a variable that is unset or too short
                (naming the variable, never its value).
        """
        if secret_env:
            value = (os.environ if environ is None else environ).get(secret_env)
            path = "$.acks.secret_env"
            if value is None:
                raise ValidationError.single(path, f"environment variable {secret_env} is not set")
            if len(value.encode()) < _MIN_SECRET:
                raise ValidationError.single(
                    path, f"environment variable {secret_env} holds fewer than {_MIN_SECRET} bytes"
                )
            return cls(value.encode(), base_url)
        key = store.setting_or_default(SETTING, secrets.token_hex(32))
        return cls(bytes.fromhex(key), base_url)

    def _sign(self, context: bytes, payload: bytes) -> bytes:
        return hmac.new(self._key, context + payload, hashlib.sha256).digest()

    def token(self, message: str, contact: str, expires: datetime) -> str:
        """A token acknowledging ``message`` for ``contact``, valid until ``expires``."""
        seconds = int(require_aware(expires, "expires").timestamp())
        payload = "\n".join((message, contact, str(seconds))).encode()
        return f"{_b64(payload)}.{_b64(self._sign(_TOKEN_CONTEXT, payload))}"

    def link(self, message: str, contact: str, expires: datetime) -> str | None:
        """``{base_url}?t=TOKEN`` (``&t=`` when the base has a query), or None without a base URL."""
        if not self.base_url:
            return None
        joiner = "&" if "?" in self.base_url else "?"
        return f"{self.base_url}{joiner}t={quote(self.token(message, contact, expires), safe='')}"

    def verify(self, token: str, now: datetime) -> AckClaim:
        """The claim a token makes, after checking its signature and expiry.

        Raises:
            AckTokenError: when the token is malformed, its signature does not match (it was made
                with another key or altered) or it has expired.
        """
        payload, signature = _split(token)
        if not hmac.compare_digest(signature, self._sign(_TOKEN_CONTEXT, payload)):
            raise AckTokenError("the token's signature does not match")
        message, contact, expires = _claim(payload)
        if require_aware(now) >= expires:
            raise AckTokenError("the token has expired")
        return AckClaim(message, contact, expires)

    @staticmethod
    def message_of(token: str) -> str:
        """The message a token names, before anything is verified: only to find which key verifies it
        (the one of that message's cascade); trust nothing else in it until :meth:`verify` returns.

        Raises:
            AckTokenError: when the token is malformed.
        """
        return _claim(_split(token)[0])[0]

    def reply_code(self, message: str, contact: str) -> str:
        """The short code a contact may reply with to acknowledge ``message`` (eight characters)."""
        digest = self._sign(_CODE_CONTEXT, "\n".join((message, contact)).encode())
        number = int.from_bytes(digest[:8], "big")
        chars = []
        for _ in range(_CODE_LENGTH):
            number, index = divmod(number, len(_CODE_ALPHABET))
            chars.append(_CODE_ALPHABET[index])
        return "".join(chars)

    def match_reply(self, code: str, contact: str, messages: Iterable[str]) -> str | None:
        """Which of ``messages`` the reply ``code`` from ``contact`` acknowledges, or None.

        A reply matches when, upper-cased and stripped of everything but the letters A-Z and the
        digits 0-9 (spaces, punctuation), it is the code, or the word ``ACK`` followed by the code:
        ``ACK K7QF2MZA``, ``ack k7qf-2mza.`` and ``K7QF2MZA`` all match; ``yes``, ``ACK`` alone, or
        the code with other words around it do not.

        Args:
            code: What the contact sent.
            contact: The contact the reply came from (found from the sending number).
            messages: The ids of the messages the contact might be acknowledging.
        """
        cleaned = _reply_code_of(code)
        if cleaned is None:
            return None
        found = None
        for message in messages:
            if hmac.compare_digest(cleaned.encode(), self.reply_code(message, contact).encode()):
                found = message
        return found


def _reply_code_of(text: str) -> str | None:
    """The code a reply holds (see :meth:`AckSigner.match_reply`), or None when it cannot hold one."""
    if not isinstance(text, str) or len(text) > _MAX_REPLY:
        return None
    cleaned = _NOT_IN_CODE.sub("", text.upper())
    # Only a reply one word longer than a code drops the word: a code may itself begin with ACK.
    if len(cleaned) == len(_REPLY_WORD) + _CODE_LENGTH and cleaned.startswith(_REPLY_WORD):
        cleaned = cleaned[len(_REPLY_WORD) :]
    return cleaned if len(cleaned) == _CODE_LENGTH else None

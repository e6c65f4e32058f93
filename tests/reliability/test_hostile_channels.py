"""Channel files, acknowledgement tokens and templates, fed hostile input.

A damaged channel file is refused with the library's errors only; a token verifies only as exactly
the claim it was issued for, never for another message or contact, never after it expires, never
under another key; a template runs no code and a header value cannot add a header.
"""

from __future__ import annotations

import tempfile
import tomllib
from datetime import timedelta
from pathlib import Path

import tomli_w
from hypothesis import assume, given
from hypothesis import strategies as st

from cssc_core.channels.acks import AckClaim, AckSigner, AckTokenError
from cssc_core.channels.config import ChannelFile, parse_channels_toml, read_channel_file
from cssc_core.channels.templates import FIELDS, Escape, HeaderInjectionError, Template
from cssc_core.errors import ValidationError
from cssc_core.plugins import PluginHost
from cssc_core.testing import T0
from tests.reliability.tally import attempt, fuzz_settings
from tests.strategies import HOSTILE_STRINGS, damaged_documents, damaged_texts

ENV = {
    "CSSC_SMTP_USER": "smtp-login-7c1f",
    "CSSC_SMTP_PASSWORD": "hunter2-very-secret",
    "CSSC_WEBHOOK_SECRET": "whsec-1234567890",
}
CHANNEL_FILE = """
format = "cssc-channels/1"
outbox = "cssc-outbox"

[acks]
base_url = "https://portal.example.org/ack"

[channels.email]
type = "smtp"
address = "email"
secure = true
concurrency = 10
host = "127.0.0.1"
port = 25
tls = "starttls"
sender = "alerts@example.org"
username_env = "CSSC_SMTP_USER"
password_env = "CSSC_SMTP_PASSWORD"
subject = "{marking} {headline}"

[channels.webhook]
type = "webhook"
address = "webhook"
secret_env = "CSSC_WEBHOOK_SECRET"
timeout_s = 10

[channels.pager]
type = "file"
address = "phone"
"""
HOST = PluginHost.load(entry_points=False)


def _no_secret_in(channels: ChannelFile) -> None:
    for text in (repr(channels), str(channels.to_document())):
        assert all(secret not in text for secret in ENV.values())


def test_the_channel_file_reads() -> None:
    _no_secret_in(parse_channels_toml(CHANNEL_FILE, host=HOST, environ=ENV))


@fuzz_settings(60)
@given(st.data())
def test_damaged_channel_documents(data: st.DataObject) -> None:
    damaged = data.draw(damaged_documents(tomllib.loads(CHANNEL_FILE)))
    try:
        text = tomli_w.dumps(damaged)
    except (TypeError, ValueError, AttributeError):
        assume(False)
        return
    result = attempt(lambda: parse_channels_toml(text, host=HOST, environ=ENV))
    if isinstance(result, ValidationError):
        assert all(secret not in str(result) for secret in ENV.values())
    elif isinstance(result, ChannelFile):
        _no_secret_in(result)


@fuzz_settings(30)
@given(st.data())
def test_damaged_channel_files(data: st.DataObject) -> None:
    raw = data.draw(damaged_texts(CHANNEL_FILE))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "channels.toml"
        path.write_bytes(raw)
        result = attempt(lambda: read_channel_file(path, host=HOST, environ=ENV))
    if isinstance(result, ChannelFile):
        _no_secret_in(result)


_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True)
KEY = b"k" * 32


@fuzz_settings(60)
@given(
    message=_ids,
    contact=_ids,
    lifetime=st.integers(1, 86_400 * 30),
    damage=st.sampled_from(["none", "flip", "cut", "swap", "other-key", "late", "text"]),
    data=st.data(),
)
def test_tokens_verify_only_as_issued(
    message: str, contact: str, lifetime: int, damage: str, data: st.DataObject
) -> None:
    signer = AckSigner(KEY)
    expires = T0 + timedelta(seconds=lifetime)
    token = signer.token(message, contact, expires)
    now = T0
    if damage == "flip":
        index = data.draw(st.integers(0, len(token) - 1))
        token = token[:index] + data.draw(st.characters(codec="utf-8")) + token[index + 1 :]
    elif damage == "cut":
        token = token[: data.draw(st.integers(0, len(token) - 1))]
    elif damage == "swap":
        # The signature of a token for another contact, or another message, on this payload.
        other = signer.token(message, contact + "x", expires).split(".")[1]
        token = token.split(".")[0] + "." + other
    elif damage == "other-key":
        token = AckSigner(b"o" * 32).token(message, contact, expires)
    elif damage == "late":
        now = expires + timedelta(seconds=data.draw(st.integers(0, 10**6)))
    elif damage == "text":
        token = data.draw(st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=80))
    result = attempt(lambda: signer.verify(token, now))
    if isinstance(result, AckClaim):
        assert (result.message, result.contact) == (message, contact)
        assert now < result.expires
    else:
        assert isinstance(result, AckTokenError)
        assert damage != "none"


@fuzz_settings(60)
@given(
    source=st.lists(st.sampled_from([*"{}ab_ .:!r[0]\r\n", *sorted(FIELDS)]), max_size=20).map("".join),
    values=st.dictionaries(st.sampled_from(sorted(FIELDS)), st.sampled_from(HOSTILE_STRINGS) | st.text()),
)
def test_templates_fill_fields_and_nothing_else(source: str, values: dict[str, str]) -> None:
    template = attempt(lambda: Template.parse(source))
    if isinstance(template, ValidationError):
        return
    assert isinstance(template, Template)
    rendered = template.render(values)
    pairs = zip(template.parts[1::2], template.parts[2::2], strict=True)
    expected = template.parts[0] + "".join(values.get(name, "") + literal for name, literal in pairs)
    assert rendered == expected
    assert template.partial(values).render({}) == rendered
    header = attempt(lambda: template.render(values, Escape.HEADER))
    if isinstance(header, str):
        assert not any(ch in header for ch in "\r\n\0") or any(ch in template.source for ch in "\r\n\0")
    else:
        assert isinstance(header, HeaderInjectionError)

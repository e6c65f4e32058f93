"""Channel files: every problem with its path, defaults without a file, secrets only as variable names."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from cssc_core.channels.config import (
    ChannelFile,
    channels_from_document,
    default_channels,
    parse_channels_toml,
    read_channel_file,
)
from cssc_core.channels.failover import FailoverChannel
from cssc_core.errors import ValidationError
from cssc_core.plugins import PluginHost
from tests.strategies import channel_documents

ENV = {
    "CSSC_SMTP_USER": "alerts",
    "CSSC_SMTP_PASSWORD": "hunter2-very-secret",
    "CSSC_WEBHOOK_SECRET": "whsec-123",
}

SPEC_EXAMPLE = """
format = "cssc-channels/1"
outbox = "cssc-outbox"

[acks]
base_url = "https://portal.example.org/ack"

[channels.email]
type = "smtp"
address = "email"
secure = true
public = false
concurrency = 10
rate_per_s = 0
host = "127.0.0.1"
port = 25
tls = "starttls"
sender = "alerts@example.org"
username_env = "CSSC_SMTP_USER"
password_env = "CSSC_SMTP_PASSWORD"

[channels.webhook]
type = "webhook"
address = "webhook"
secret_env = "CSSC_WEBHOOK_SECRET"
require_https = true
allow_private = false
timeout_s = 10

[channels.pager]
type = "file"
address = "phone"
"""


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost.load(entry_points=False)


def test_the_spec_example_reads(host: PluginHost) -> None:
    channels = parse_channels_toml(SPEC_EXAMPLE, host=host, environ=ENV)
    email = channels.channels["email"]
    assert (email.type, email.address, email.secure, email.public, email.concurrency) == (
        "smtp",
        "email",
        True,
        False,
        10,
    )
    assert channels.channels["webhook"].secure is True
    assert channels.channels["pager"].options["path"] == str(Path("cssc-outbox") / "pager.jsonl")
    assert channels.acks.base_url == "https://portal.example.org/ack"
    assert channels.channel("sms") is None


def test_every_problem_is_reported_with_its_path(host: PluginHost) -> None:
    text = """
format = "cssc-channels/1"
surprise = 1
[channels.email]
type = "carrier-pigeon"
address = "fax"
secure = "yes"
[channels.webhook]
type = "webhook"
[channels.sms]
type = "sms-http"
secure = true
url = "https://sms.example.org/send"
[channels.mail2]
type = "smtp"
password = "hunter2"
body_template = "{headline.__class__}"
"""
    with pytest.raises(ValidationError) as caught:
        parse_channels_toml(text, host=host, environ={}, source="channels.toml")
    paths = {p.path: p.message for p in caught.value.problems}
    assert "unknown field" in paths["$.surprise"]
    assert "expected one of email, phone, webhook" in paths["$.channels.email.address"]
    assert "expected true or false" in paths["$.channels.email.secure"]
    assert "name an environment variable with password_env" in paths["$.channels.mail2.password"]
    assert "$.channels.mail2.body_template" in paths
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("channels.toml: ")


def test_plugin_problems_unknown_plugin_refused_flag_missing_setting_and_variable(host: PluginHost) -> None:
    text = """
format = "cssc-channels/1"
[channels.email]
type = "carrier-pigeon"
[channels.webhook]
type = "webhook"
[channels.sms]
type = "sms-http"
secure = true
url = "https://sms.example.org/send"
[channels.mail]
type = "smtp"
address = "email"
"""
    with pytest.raises(ValidationError) as caught:
        parse_channels_toml(text, host=host, environ={})
    paths = {p.path: p.message for p in caught.value.problems}
    assert "unknown channel plugin 'carrier-pigeon'" in paths["$.channels.email.type"]
    assert "required setting missing" in paths["$.channels.webhook.secret_env"]
    assert "cannot be secure" in paths["$.channels.sms.secure"]
    assert "required setting missing" in paths["$.channels.mail.sender"]


def test_an_unset_environment_variable_is_named_never_a_value(host: PluginHost) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_channels_toml(SPEC_EXAMPLE, host=host, environ={"CSSC_SMTP_USER": "alerts"})
    paths = {p.path: p.message for p in caught.value.problems}
    assert paths["$.channels.email.password_env"] == "environment variable CSSC_SMTP_PASSWORD is not set"
    assert paths["$.channels.webhook.secret_env"] == "environment variable CSSC_WEBHOOK_SECRET is not set"
    assert "alerts" not in str(caught.value)


def test_bad_toml_and_an_unreadable_file_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not valid TOML"):
        parse_channels_toml("format = ")
    with pytest.raises(ValidationError, match="cannot read the file"):
        read_channel_file(tmp_path / "missing.toml")
    with pytest.raises(ValidationError, match="expected 'cssc-channels/1'"):
        parse_channels_toml('format = "cssc-channels/2"')


def test_without_a_file_every_name_goes_to_the_outbox_with_flags_by_name() -> None:
    channels = default_channels(["email", "sms"], outbox="out")
    assert channels.channels["email"].options["path"] == str(Path("out") / "email.jsonl")
    pager = channels.channel("pager")
    assert pager is not None
    assert pager.type == "file"
    assert pager.options["path"] == str(Path("out") / "pager.jsonl")
    flags = {
        name: (channels.channel(name).secure, channels.channel(name).public)
        for name in ("email", "webhook", "sms", "pager")
    }  # type: ignore[union-attr]
    assert flags == {
        "email": (True, False),
        "webhook": (True, False),
        "sms": (False, False),
        "pager": (False, False),
    }
    assert channels.channel("sms").address == "phone"  # type: ignore[union-attr]


def test_the_stored_document_round_trips_and_holds_only_variable_names(host: PluginHost) -> None:
    channels = parse_channels_toml(SPEC_EXAMPLE, host=host, environ=ENV)
    document = channels.to_document()
    assert "hunter2" not in repr(document)
    assert "whsec" not in repr(document)
    assert document["channels"]["email"]["password_env"] == "CSSC_SMTP_PASSWORD"
    again = channels_from_document(document, host=host, environ=ENV)
    assert again == channels
    defaults = default_channels(["email"], outbox="o")
    assert channels_from_document(defaults.to_document()) == defaults


def test_failover_channels_list_providers_with_weights(host: PluginHost, tmp_path: Path) -> None:
    text = f"""
format = "cssc-channels/1"
[channels.sms]
address = "phone"
failover = {{ threshold = 0.3, window = 20 }}
[[channels.sms.providers]]
name = "primary"
type = "file"
weight = 3
path = "{tmp_path / "a.jsonl"}"
[[channels.sms.providers]]
type = "file"
path = "{tmp_path / "b.jsonl"}"
"""
    channels = parse_channels_toml(text, host=host, environ={})
    sms = channels.channels["sms"]
    assert [(p.name, p.weight) for p in sms.providers] == [("primary", 3.0), ("provider-2", 1.0)]
    sender = sms.open(host, environ={})
    assert isinstance(sender, FailoverChannel)
    assert sender.threshold == 0.3
    assert channels_from_document(channels.to_document(), host=host) == channels
    with pytest.raises(ValidationError) as caught:
        parse_channels_toml(
            'format = "cssc-channels/1"\n[channels.sms]\ntype = "file"\n'
            "providers = []\nfailover = {nope = 1}\n"
        )
    paths = {p.path for p in caught.value.problems}
    assert {"$.channels.sms.type", "$.channels.sms.providers", "$.channels.sms.failover.nope"} <= paths


def test_a_channel_file_value_is_frozen() -> None:
    channels = default_channels(["email"])
    assert isinstance(channels, ChannelFile)
    with pytest.raises(AttributeError):
        channels.outbox = "elsewhere"  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(document=channel_documents())
def test_any_document_reads_or_fails_with_our_error_only(document: object) -> None:
    host = PluginHost.load(entry_points=False)
    try:
        channels = channels_from_document(document, host=host, environ={})
    except ValidationError as error:
        problems = error.problems
    else:
        assert channels_from_document(channels.to_document()) == channels
        return
    assert problems
    assert all(p.path.startswith("$") for p in problems)


def test_the_stored_document_is_what_a_cascade_record_accepts(host: PluginHost) -> None:
    import json

    from cssc_core.storage.records import CascadeRecord
    from cssc_core.testing import T0

    text = SPEC_EXAMPLE.replace("[acks]", '[acks]\nsecret_env = "CSSC_ACK_KEY"')
    channels = parse_channels_toml(text, host=host, environ={**ENV, "CSSC_ACK_KEY": "k" * 32})
    record = CascadeRecord("msg-1", T0, json.dumps(channels.to_document()))
    assert (
        channels_from_document(
            json.loads(record.channels), host=host, environ={**ENV, "CSSC_ACK_KEY": "x" * 20}
        )
        == channels
    )


def test_a_relative_outbox_is_in_the_channel_files_folder(tmp_path: Path, host: PluginHost) -> None:
    path = tmp_path / "conf" / "channels.toml"
    path.parent.mkdir()
    path.write_text(
        'format = "cssc-channels/1"\noutbox = "out"\n[channels.pager]\ntype = "file"\naddress = "phone"\n'
    )
    channels = read_channel_file(path, host=host)
    assert channels.outbox == str(tmp_path / "conf" / "out")
    assert channels.channels["pager"].options["path"] == str(tmp_path / "conf" / "out" / "pager.jsonl")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        # Regressions: each of these escaped the channel file readers as a builtin exception.
        ("a = " + "[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("a = " + "9" * 5000, "a number is too long"),
    ],
)
def test_channel_files_too_deep_or_with_numbers_too_long_are_bad_input(raw: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        parse_channels_toml(raw)

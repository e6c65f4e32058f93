"""The file and console channels: the defaults that run with nothing else installed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from tests.plugins.channels.copies import make_copies

from cssc_core.channels.config import default_channels
from cssc_core.errors import ValidationError
from cssc_core.plugins import ChannelSettings, PluginHost
from cssc_core.plugins.channels import console, file
from cssc_core.storage.records import DeliveryStatus

SPEC_FIELDS = {
    "delivery",
    "message",
    "contact",
    "channel",
    "address",
    "kind",
    "idempotency_key",
    "subject",
    "body",
}


def test_the_default_channels_write_json_lines_to_the_outbox(tmp_path: Path) -> None:
    host = PluginHost.load(entry_points=False)
    config = default_channels(outbox=str(tmp_path / "cssc-outbox")).channel("pager")
    assert config is not None

    async def run() -> None:
        channel = config.open(host)
        copies = make_copies(7, "pager", lambda i: f"p{i}@example.org")
        results = [*await channel.send(copies[:3]), *await channel.send(copies[3:])]
        await channel.aclose()
        assert [r.status for r in results] == [DeliveryStatus.DELIVERED] * 7

    asyncio.run(run())
    lines = (tmp_path / "cssc-outbox" / "pager.jsonl").read_text("utf-8").splitlines()
    documents = [json.loads(line) for line in lines]
    assert len(documents) == 7
    assert set(documents[0]) >= SPEC_FIELDS
    assert documents[4]["body"].startswith("TLP:GREEN\n")
    assert documents[4]["language"] == "cy"
    assert [d["delivery"] for d in documents] == [f"d-{i:05}" for i in range(7)]


def test_an_unwritable_outbox_fails_temporarily(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    sender = file.make_channel(
        ChannelSettings("email", "file", "email", options={"path": str(blocker / "x.jsonl")})
    )
    results = sender.send(make_copies(2, "email", lambda i: "a@example.org"))
    assert {r.status for r in results} == {DeliveryStatus.TEMPORARY_FAILURE}
    with pytest.raises(ValidationError, match="path: required setting missing"):
        file.make_channel(ChannelSettings("email", "file", "email"))


def test_the_console_prints_readable_copies(capsys: pytest.CaptureFixture[str]) -> None:
    sender = console.make_channel(ChannelSettings("email", "console", "email"))
    results = sender.send(make_copies(2, "email", lambda i: f"c{i}@example.org"))
    out = capsys.readouterr().out
    assert [r.status for r in results] == [DeliveryStatus.DELIVERED] * 2
    assert "Subject: TLP:GREEN Suspicious vehicle" in out
    assert "c1@example.org" in out
    assert "\nTLP:GREEN\n" in out
    with pytest.raises(ValidationError, match="stdout or stderr"):
        console.make_channel(ChannelSettings("email", "console", "email", options={"stream": "printer"}))


def test_every_built_in_channel_plugin_is_registered() -> None:
    names = {p.item.name for p in PluginHost.load(entry_points=False).delivery_channels()}
    assert {"file", "console", "smtp", "webhook", "sms-http"} <= names
    sms = PluginHost.load(entry_points=False).channel_plugin("sms-http")
    assert sms.refuses == {"secure"}


@pytest.mark.parametrize(("plugin", "library", "extra"), [("smtp", "aiosmtplib", "smtp")])
def test_a_missing_library_names_the_extra_to_install(
    plugin: str, library: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cssc_core.errors import PluginError

    monkeypatch.setitem(__import__("sys").modules, library, None)
    host = PluginHost.load(entry_points=False)
    settings = ChannelSettings(
        "x", plugin, "email", options={"sender": "a@example.org", "url": "https://g.example.org/"}
    )
    with pytest.raises(PluginError, match=rf"pip install 'cssc_core\[{extra}\]'"):
        host.channel_plugin(plugin).open(settings)


@pytest.mark.parametrize("plugin", ["webhook", "sms-http"])
def test_the_http_channels_need_no_http_library(plugin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "aiohttp", None)
    settings = ChannelSettings(
        "x",
        plugin,
        "webhook",
        options={"secret_env": "S", "token_env": "S", "url": "https://g.example.org/"},
        environ={"S": "secret-value"},
    )
    sender = PluginHost.load(entry_points=False).channel_plugin(plugin).open(settings)
    assert type(sender).__module__.startswith("cssc_core.plugins.channels.")

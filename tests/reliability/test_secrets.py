"""Secrets stay in the environment: a channel's secret is found nowhere in the store, the outbox or
what the commands print, and a channel file that writes one down is refused without echoing it."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from cssc_core.cli import main
from cssc_core.formats.network import dumps_network_json
from cssc_core.testing import sample_network

SECRET = "tok-7f3c9a1e5b2d8c4f"
CHANNELS = """format = "cssc-channels/1"
outbox = "outbox"

[channels.email]
type = "file"
address = "email"
secure = true
token_env = "CSSC_TEST_TOKEN"
"""
MESSAGE = {
    "format": "cssc-message/1",
    "id": "msg-1",
    "sender": "NCTPHQ",
    "sent": "2019-06-12T09:00:00+01:00",
    "status": "actual",
    "type": "alert",
    "marking": "TLP:GREEN",
    "category": "security",
    "urgency": "immediate",
    "severity": "severe",
    "certainty": "observed",
    "headline": "Suspicious item",
    "audience": {},
}


def _cssc(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(list(argv))
    return status, out.getvalue()


def test_a_channel_secret_is_kept_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CSSC_TEST_TOKEN", SECRET)
    Path("network.json").write_text(dumps_network_json(sample_network()), "utf-8")
    Path("channels.toml").write_text(CHANNELS, "utf-8")
    Path("message.json").write_text(json.dumps(MESSAGE), "utf-8")
    printed = [_cssc("import", "network.json", "--db", "s.db")]
    printed.append(
        _cssc(
            "send", "message.json", "--channels", "channels.toml", "--db", "s.db", "--at", "2019-06-12T09:00Z"
        )
    )
    printed.append(_cssc("tick", "--db", "s.db", "--at", "2019-06-12T12:00Z"))
    printed.append(_cssc("status", "--message", "msg-1", "--db", "s.db", "--json"))
    assert [status for status, _ in printed] == [0, 0, 0, 0]
    assert list(Path("outbox").glob("*.jsonl"))
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert not [path for path in files if SECRET.encode() in path.read_bytes()]
    assert not [text for _, text in printed if SECRET in text]
    # What is stored is the variable's name, which later ticks read the secret from.
    assert any(b"CSSC_TEST_TOKEN" in path.read_bytes() for path in files if path.name.startswith("s.db"))


@pytest.mark.parametrize("key", ["password", "token", "api_key", "secret"])
def test_a_secret_written_in_the_channel_file_is_refused_unechoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("network.json").write_text(dumps_network_json(sample_network()), "utf-8")
    Path("channels.toml").write_text(CHANNELS + f'{key} = "{SECRET}"\n', "utf-8")
    Path("message.json").write_text(json.dumps(MESSAGE), "utf-8")
    assert _cssc("import", "network.json", "--db", "s.db")[0] == 0
    status, printed = _cssc("send", "message.json", "--channels", "channels.toml", "--db", "s.db")
    assert status == 2
    assert f"$.channels.email.{key}" in printed
    assert SECRET not in printed

"""``cssc channels``: a channel file checked against the installed plugins, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cssc_core.cli import main

GOOD = """
format = "cssc-channels/1"
[acks]
base_url = "https://portal.example.org/ack"
[channels.email]
type = "smtp"
sender = "alerts@example.org"
password_env = "CSSC_TEST_SMTP_PASSWORD"
username_env = "CSSC_TEST_SMTP_USER"
[channels.sms]
type = "sms-http"
url = "https://sms.example.org/send"
rate_per_s = 20
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_good_file_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSSC_TEST_SMTP_USER", "alerts")
    monkeypatch.setenv("CSSC_TEST_SMTP_PASSWORD", "hunter2-hunter2")
    path = tmp_path / "channels.toml"
    path.write_text(GOOD)
    status, out, _ = run(capsys, "channels", "--channels", str(path))
    assert status == 0
    assert out.splitlines()[0].split() == ["CHANNEL", "TYPE", "ADDRESS", "FLAGS", "CONCURRENCY", "RATE/S"]
    assert out.splitlines()[1].split() == ["email", "smtp", "email", "secure", "10", "no", "limit"]
    assert out.splitlines()[2].split() == ["sms", "sms-http", "phone", "-", "10", "20"]
    assert "ack links: https://portal.example.org/ack" in out
    assert "hunter2" not in out
    status, out, _ = run(capsys, "channels", "--channels", str(path), "--json")
    report = json.loads(out)
    assert [c["name"] for c in report["channels"]] == ["email", "sms"]
    assert "hunter2" not in out


def test_bad_input_lists_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CSSC_TEST_SMTP_PASSWORD", raising=False)
    monkeypatch.setenv("CSSC_TEST_SMTP_USER", "alerts")
    path = tmp_path / "channels.toml"
    path.write_text(
        GOOD.replace('type = "sms-http"', 'type = "sms-http"\nsecure = true')
        + '[channels.x]\ntype = "fax"\naddress = "phone"\n'
    )
    status, out, err = run(capsys, "channels", "--channels", str(path))
    assert status == 2
    assert out == ""
    assert "$.channels.email.password_env: environment variable CSSC_TEST_SMTP_PASSWORD is not set" in err
    assert "$.channels.sms.secure: the sms-http plugin cannot be secure" in err
    assert "$.channels.x.type: unknown channel plugin 'fax'" in err
    assert "Traceback" not in err


def test_without_a_file_the_defaults_are_described(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "channels")
    assert status == 0
    assert "cssc-outbox/<channel>.jsonl" in out

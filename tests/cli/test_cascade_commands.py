"""``cssc send``, ``tick``, ``ack``, ``resume``, ``status`` and ``route`` over the store's cascades."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from cssc_core.cli import cascade_commands
from cssc_core.cli.app import main
from cssc_core.formats.message import dumps_message_json
from cssc_core.formats.network import dumps_network_json
from cssc_core.testing import T0
from tests.cascade.conftest import incident_network, message

POLICY = """
format = "cssc-policy/1"
[defaults]
via = "isl"
channels = ["email"]
relay_deadline = "10m"
"""

RETAIL = {"organisations": ["retail-isls", "shop"]}


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def outbox(folder: Path, channel: str = "email") -> list[dict[str, Any]]:
    path = folder / f"{channel}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """A working folder with the incident network imported into ./cssc.db, a policy and a message."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "network.json").write_text(dumps_network_json(incident_network()), "utf-8")
    (tmp_path / "policy.toml").write_text(POLICY, "utf-8")
    (tmp_path / "msg-1.json").write_text(dumps_message_json(message(audience=RETAIL)), "utf-8")
    assert run(capsys, "import", "network.json")[0] == 0
    return tmp_path


def test_send_writes_the_outbox_and_tick_replays_the_deadlines(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(
        capsys, "send", "msg-1.json", "--policy", "policy.toml", "--at", at(0), "--seed", "1"
    )
    assert status == 0, out
    assert "msg-1: 4 recipients, 1 relays" in out
    lines = outbox(folder / "cssc-outbox")
    assert [(line["contact"], line["kind"]) for line in lines] == [("isl-r1", "relay-request")]
    assert lines[0]["body"].startswith("TLP:GREEN\n")
    # SPEC.md section 7: what every line of a file channel holds.
    required = {"delivery", "message", "contact", "channel", "address", "kind", "idempotency_key", "subject"}
    assert required | {"body"} <= set(lines[0])
    assert lines[0]["address"] == "isl-r1@example.org"

    status, out, _ = run(capsys, "tick", "--at", at(60), "--json")
    assert status == 0
    assert json.loads(out) == {"until": at(60).replace("+00:00", "+00:00"), "timers": 2, "dispatched": 3}
    contacts = sorted((line["contact"], line["kind"]) for line in outbox(folder / "cssc-outbox"))
    assert contacts == [
        ("isl-r1", "relay-request"),
        ("isl-r2", "relay-request"),
        ("shop-a", "message"),
        ("shop-b", "message"),
    ]

    status, out, _ = run(capsys, "status", "--message", "msg-1", "--json")
    report = json.loads(out)
    assert report["by_hop"] == {"direct": {"cancelled": 2, "delivered": 2}, "relay-request": {"delivered": 2}}
    assert report["time_to_reach"]["direct"] == {
        "count": 2,
        "p50_s": 1200.0,
        "p95_s": 1200.0,
        "max_s": 1200.0,
    }
    assert report["finished_at"] == at(20)
    status, out, _ = run(capsys, "status", "--message", "msg-1")
    assert status == 0
    assert "By hop" in out
    assert "Time to reach" in out


def test_sending_a_stored_id_again_is_bad_input(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "send", "msg-1.json", "--at", at(0))[0] == 0
    status, _, err = run(capsys, "send", "msg-1.json", "--at", at(1))
    assert status == 2
    assert "already stored" in err
    assert "Traceback" not in err


def test_ack_exit_statuses(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "send", "msg-1.json", "--policy", "policy.toml", "--at", at(0))[0] == 0
    assert run(capsys, "ack", "--message", "msg-x", "--contact", "isl-r1", "--at", at(1))[0] == 2
    assert run(capsys, "ack", "--message", "msg-1", "--contact", "nobody", "--at", at(1))[0] == 2
    status, _, err = run(capsys, "ack", "--message", "msg-1", "--contact", "church-a", "--at", at(1))
    assert status == 1
    assert "neither a recipient nor an ISL" in err
    status, out, _ = run(capsys, "ack", "--message", "msg-1", "--contact", "isl-r1", "--at", at(2))
    assert status == 0
    assert "isl-r1 acknowledged msg-1" in out
    # The lead's acknowledgement released the cell: the copies held for its organisations went at once.
    assert {line["contact"] for line in outbox(folder / "cssc-outbox")} == {
        "isl-r1",
        "isl-r2",
        "shop-a",
        "shop-b",
    }
    status, out, _ = run(capsys, "ack", "--message", "msg-1", "--contact", "isl-r1", "--at", at(3))
    assert status == 0
    assert "nothing changed" in out
    status, out, _ = run(capsys, "status", "--message", "msg-1", "--json")
    assert json.loads(out)["by_hop"]["relay"] == {"delivered": 3}


def test_the_channel_file_given_to_send_is_used_by_later_commands(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "channels.toml").write_text(
        'format = "cssc-channels/1"\noutbox = "elsewhere"\n'
        '[channels.email]\ntype = "file"\naddress = "email"\nsecure = true\n',
        "utf-8",
    )
    argv = ["send", "msg-1.json", "--policy", "policy.toml", "--channels", "channels.toml", "--at", at(0)]
    assert run(capsys, *argv)[0] == 0
    assert run(capsys, "tick", "--at", at(60))[0] == 0
    assert not (folder / "cssc-outbox").exists()
    assert len(outbox(folder / "elsewhere")) == 4


def test_a_bad_channel_file_is_bad_input(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "channels.toml").write_text(
        'format = "cssc-channels/1"\n[channels.email]\ntype = "carrier-pigeon"\naddress = "email"\n'
        '[channels.sms]\ntype = "file"\naddress = "fax"\npassword_env = "CSSC_TEST_UNSET_VARIABLE"\n',
        "utf-8",
    )
    status, _, err = run(capsys, "send", "msg-1.json", "--channels", "channels.toml", "--at", at(0))
    assert status == 2
    assert "$.channels.email.type: unknown channel plugin 'carrier-pigeon'" in err
    assert "$.channels.sms.address" in err
    assert "CSSC_TEST_UNSET_VARIABLE is not set" in err


def test_resume_and_tick_without_work_succeed(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "send", "msg-1.json", "--policy", "policy.toml", "--at", at(0))[0] == 0
    status, out, _ = run(capsys, "resume", "--at", at(60), "--json")
    assert status == 0
    assert json.loads(out)["cascades"] == 1
    status, out, _ = run(capsys, "resume", "--at", at(61))
    assert status == 0
    assert "resumed 0 unfinished cascades" in out
    assert run(capsys, "tick", "--at", at(30), "--follow")[0] == 2


def test_route_resolves_references_from_the_store(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "send", "msg-1.json", "--policy", "policy.toml", "--at", at(0))[0] == 0
    update = message("msg-2", type="update", references=["msg-1"], audience={})
    (folder / "msg-2.json").write_text(dumps_message_json(update), "utf-8")
    status, out, _ = run(capsys, "route", "msg-2.json", "--json")
    assert status == 0
    assert [r["contact"] for r in json.loads(out)["recipients"]] == ["isl-r1"]
    unknown = message("msg-3", type="cancel", references=["msg-404"], audience={})
    (folder / "msg-3.json").write_text(dumps_message_json(unknown), "utf-8")
    status, _, err = run(capsys, "route", "msg-3.json")
    assert status == 2
    assert "unknown message 'msg-404'" in err


def test_long_sends_show_a_progress_bar(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cascade_commands, "PROGRESS_FROM", 1)
    status, _, err = run(capsys, "send", "msg-1.json", "--at", at(0))
    assert status == 0
    assert "sending" in err


def test_status_of_an_unknown_message_is_bad_input(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "status", "--message", "msg-404")[0] == 2


def test_commands_need_an_imported_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "msg-1.json").write_text(dumps_message_json(message()), "utf-8")
    status, _, err = run(capsys, "send", "msg-1.json")
    assert status == 1
    assert "cssc import" in err


def test_tick_follow_dispatches_until_interrupted(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "send", "msg-1.json", "--policy", "policy.toml", "--at", at(0))[0] == 0
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cascade_commands.time, "sleep", nap)
    status, _, err = run(capsys, "tick", "--follow")
    assert status == 0
    # The first pass, on the real clock, long after T0: both deadlines passed, the copies went direct.
    assert "2 timers, 3 deliveries dispatched" in err
    assert err.rstrip().endswith("stopped")
    assert all(0.05 <= seconds <= 1.0 for seconds in naps)
    assert len(outbox(folder / "cssc-outbox")) == 4


ACK_CHANNELS = """
format = "cssc-channels/1"
[acks]
base_url = "https://portal.example.org/ack"
[channels.email]
type = "file"
address = "email"
secure = true
"""


def _token(link: str) -> str:
    return unquote(link.split("?t=", 1)[1])


def test_ack_by_the_token_of_a_link_releases_the_cell(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "channels.toml").write_text(ACK_CHANNELS, "utf-8")
    argv = ["send", "msg-1.json", "--policy", "policy.toml", "--channels", "channels.toml", "--at", at(0)]
    assert run(capsys, *argv)[0] == 0
    (request,) = outbox(folder / "cssc-outbox")
    assert request["kind"] == "relay-request"
    link = request["payload"]["ack_link"]
    assert link.startswith("https://portal.example.org/ack?t=")
    assert f"Acknowledge: {link}" in request["body"]
    token = _token(link)

    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    status, _, err = run(capsys, "ack", "--token", forged, "--at", at(1))
    assert status == 2
    assert "--token: the token's signature does not match" in err
    status, _, err = run(capsys, "ack", "--token", token, "--at", at(60 * 24 * 8))
    assert status == 2
    assert "--token: the token has expired" in err
    status, _, err = run(capsys, "ack", "--token", token, "--message", "msg-1", "--at", at(1))
    assert status == 2
    assert "give --message and --contact, or --token" in err
    assert [line["contact"] for line in outbox(folder / "cssc-outbox")] == ["isl-r1"]

    # Without --channels, the configuration stored with the cascade names the portal and the key.
    status, out, _ = run(capsys, "ack", "--token", token, "--at", at(1))
    assert status == 0
    assert "isl-r1 acknowledged msg-1" in out
    assert sorted((line["contact"], line["kind"]) for line in outbox(folder / "cssc-outbox")) == [
        ("isl-r1", "relay-request"),
        ("isl-r2", "message"),
        ("shop-a", "message"),
        ("shop-b", "message"),
    ]
    status, out, _ = run(capsys, "ack", "--token", token, "--at", at(2))
    assert status == 0
    assert "nothing changed" in out


def test_ack_by_an_sms_reply_from_the_isls_number(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "send", "msg-1.json", "--policy", "policy.toml", "--at", at(0))[0] == 0
    (request,) = outbox(folder / "cssc-outbox")
    code = request["payload"]["ack_code"]
    assert f"To acknowledge, reply ACK {code}" in request["body"]

    for argv, problem in (
        (["--reply-from", "not a phone", "--text", code], "--reply-from: 'not a phone' is not a valid phone"),
        (["--reply-from", "0131 496 0000", "--text", code], "no contact has the number the reply came from"),
        (["--reply-from", "07400 123456", "--text", "YES"], "the reply is not the code of any message"),
        (["--reply-from", "07400 123456"], "give --message and --contact, or --token, or --reply-from"),
        (["--text", code], "or --reply-from and --text"),
        (
            ["--reply-from", "07400 123456", "--text", code, "--contact", "isl-r1"],
            "or --reply-from and --text",
        ),
    ):
        status, _, err = run(capsys, "ack", *argv, "--at", at(1))
        assert status == 2, argv
        assert problem in err, err
        assert "Traceback" not in err
    status, _, err = run(
        capsys, "ack", "--reply-from", "07400 123456", "--text", "ACK ZZZZ2345", "--at", at(1)
    )
    assert status == 2
    assert "ZZZZ2345" not in err  # a reply may hold a code meant for something else: never echoed
    assert [line["contact"] for line in outbox(folder / "cssc-outbox")] == ["isl-r1"]

    # Every contact of the incident network shares this number: the code says which one replied.
    status, out, _ = run(
        capsys, "ack", "--reply-from", "+447400123456", "--text", f"ack {code}", "--at", at(1)
    )
    assert status == 0
    assert "isl-r1 acknowledged msg-1" in out
    assert {line["contact"] for line in outbox(folder / "cssc-outbox")} == {
        "isl-r1",
        "isl-r2",
        "shop-a",
        "shop-b",
    }
    status, out, _ = run(capsys, "ack", "--reply-from", "447400123456", "--text", code, "--at", at(2))
    assert (status, out) == (0, "isl-r1 had already acknowledged msg-1; nothing changed\n")

"""The command line, given hostile arguments and files: exit 1 or 2 with a message, never a traceback,
and nothing written to the store when the input is refused."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cssc_core import dumps_network_csv, dumps_network_json, dumps_network_toml
from cssc_core.cli import main
from tests.reliability.tally import TALLY, attempt, fuzz_settings
from tests.strategies import HOSTILE_STRINGS, damaged_texts, networks

# ``demo`` is left out (it runs a whole story when its arguments happen to be valid) and so is
# ``tick --follow`` (it dispatches until interrupted).
COMMANDS = (
    "import",
    "export",
    "coverage",
    "route",
    "plugins",
    "send",
    "tick",
    "ack",
    "resume",
    "status",
    "erase",
    "purge",
)
OPTIONS = (
    "--db",
    "--store",
    "--json",
    "--at",
    "--format",
    "--output",
    "--policy",
    "--explain",
    "--network",
    "--channels",
    "--seed",
    "--message",
    "--contact",
    "--older-than",
    "--outbox",
)
_arguments = st.lists(
    st.sampled_from(OPTIONS)
    | st.sampled_from(HOSTILE_STRINGS)
    | st.sampled_from(
        ["x.json", "x.toml", "x.csv", "x.xml", "c.toml", "sqlite:///y.db", "memory://", "json", "csv", "7"]
    )
    | st.text(max_size=12),
    max_size=6,
)


@contextlib.contextmanager
def _in_folder() -> Iterator[Path]:
    """A fresh current folder, so that the default ./cssc.db and any --output land in it."""
    before = Path.cwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(before)


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = attempt(lambda: main(argv))
    assert isinstance(status, int), f"main raised {status!r}"
    return status, err.getvalue()


@fuzz_settings(60)
@given(st.sampled_from(COMMANDS), _arguments)
def test_hostile_arguments(command: str, arguments: list[str]) -> None:
    with _in_folder() as folder:
        (folder / "x.json").write_text('{"format": "cssc-network/1"}', "utf-8")
        (folder / "c.toml").write_text(CHANNEL_FILE, "utf-8")
        status, err = _run([command, *arguments])
    assert status in (0, 1, 2)
    assert "Traceback" not in err


def _dump(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return list(connection.iterdump())


@fuzz_settings(40)
@given(st.data(), st.sampled_from([".json", ".toml", ".csv"]))
def test_a_refused_import_writes_nothing(data: st.DataObject, suffix: str) -> None:
    network = data.draw(networks(max_organisations=3))
    dumps = {".json": dumps_network_json, ".toml": dumps_network_toml, ".csv": dumps_network_csv}[suffix]
    with _in_folder() as folder:
        good = folder / f"good{suffix}"
        good.write_text(dumps(network), "utf-8")
        assert _run(["import", str(good), "--db", "s.db"])[0] == 0
        before = _dump(folder / "s.db")
        bad = folder / f"bad{suffix}"
        bad.write_bytes(data.draw(damaged_texts(dumps(network))))
        status, err = _run(["import", str(bad), "--db", "s.db"])
        assert "Traceback" not in err
        if status != 0:
            after = _dump(folder / "s.db")
            if after != before:
                TALLY.partial_writes += 1
            assert after == before


CHANNEL_FILE = """format = "cssc-channels/1"
outbox = "outbox"

[channels.email]
type = "file"
address = "email"
secure = true

[channels.sms]
type = "file"
address = "phone"
concurrency = 2
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
    "audience": {"regions": ["EAST"]},
}


@fuzz_settings(30)
@given(st.data(), st.sampled_from(["message", "channels"]))
def test_a_refused_send_writes_nothing(data: st.DataObject, damaged: str) -> None:
    """``cssc send`` with a damaged message or channel file: refused, or sent; never half-written."""
    network = data.draw(networks(max_organisations=3))
    with _in_folder() as folder:
        (folder / "n.json").write_text(dumps_network_json(network), "utf-8")
        assert _run(["import", "n.json", "--db", "s.db"])[0] == 0
        message, channels = json.dumps(MESSAGE), CHANNEL_FILE
        if damaged == "message":
            message_bytes = data.draw(damaged_texts(message))
            channel_bytes = channels.encode()
        else:
            message_bytes = message.encode()
            channel_bytes = data.draw(damaged_texts(channels))
        (folder / "m.json").write_bytes(message_bytes)
        (folder / "c.toml").write_bytes(channel_bytes)
        before = _dump(folder / "s.db")
        status, err = _run(
            ["send", "m.json", "--channels", "c.toml", "--db", "s.db", "--at", "2019-06-12T09:00Z"]
        )
        assert "Traceback" not in err
        assert status in (0, 1, 2)
        if status == 2:
            after = _dump(folder / "s.db")
            if after != before:
                TALLY.partial_writes += 1
            assert after == before

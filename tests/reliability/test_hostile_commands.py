"""The command line, given hostile arguments and files: exit 1 or 2 with a message, never a traceback,
and nothing written to the store when the input is refused."""

from __future__ import annotations

import contextlib
import io
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

COMMANDS = ("import", "export", "coverage", "route", "plugins")
OPTIONS = ("--db", "--store", "--json", "--at", "--format", "--output", "--policy", "--explain", "--network")
_arguments = st.lists(
    st.sampled_from(OPTIONS)
    | st.sampled_from(HOSTILE_STRINGS)
    | st.sampled_from(["x.json", "x.toml", "x.csv", "x.xml", "sqlite:///y.db", "memory://", "json", "csv"])
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

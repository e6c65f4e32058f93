"""``--db``, ``--store`` and ``--json``: shared by every command, resolved in one place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from cssc_core.cli import cli, main
from cssc_core.cli.options import json_option, open_store_from_options, store_options
from cssc_core.errors import ValidationError
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.sqlite import SqliteStore


def test_db_opens_that_sqlite_file(tmp_path: Path) -> None:
    store = open_store_from_options(tmp_path / "x.db", None)
    assert isinstance(store, SqliteStore)
    assert Path(store.path) == tmp_path / "x.db"
    store.close()


def test_the_default_is_cssc_db_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    open_store_from_options(None, None).close()
    assert (tmp_path / "cssc.db").exists()


def test_store_opens_any_backend_by_scheme(tmp_path: Path) -> None:
    assert isinstance(open_store_from_options(None, "memory://"), MemoryStore)
    store = open_store_from_options(None, f"sqlite:///{tmp_path}/y.db")
    assert isinstance(store, SqliteStore)
    store.close()


def test_both_at_once_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="give --db or --store, not both"):
        open_store_from_options(tmp_path / "x.db", "memory://")
    assert not (tmp_path / "x.db").exists()


@pytest.fixture
def probe() -> Iterator[click.Command]:
    """A command using the shared options, added to ``cssc`` for one test."""

    @click.command("probe-store")
    @store_options
    @json_option
    def probe_store(db: Path | None, store: str | None, as_json: bool) -> None:
        opened = open_store_from_options(db, store)
        click.echo(f"{type(opened).__name__} json={as_json}")
        opened.close()

    cli.add_command(probe_store)
    yield probe_store
    del cli.commands["probe-store"]


@pytest.mark.usefixtures("probe")
@pytest.mark.parametrize(
    ("argv", "status", "out"),
    [
        (["--store", "memory://", "--json"], 0, "MemoryStore json=True"),
        (["--db", "{tmp}/z.db"], 0, "SqliteStore json=False"),
        (["--db", "{tmp}/z.db", "--store", "memory://"], 2, ""),
        (["--store", "nosuch://x"], 2, ""),
        (["--store", "cssc.db"], 2, ""),
    ],
)
def test_exit_statuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], status: int, out: str
) -> None:
    assert main(["probe-store", *(arg.format(tmp=tmp_path) for arg in argv)]) == status
    captured = capsys.readouterr()
    assert captured.out.strip() == out
    if status == 2:
        assert "problem found" in captured.err
        assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("argv", "status", "err"),
    [
        # Regression: sqlite3.OperationalError escaped when the store's folder did not exist.
        (["export", "--db", "{tmp}/missing/x.db"], 1, "cannot open"),
        (["export", "--store", "sqlite:///{tmp}/missing/x.db"], 1, "cannot open"),
        # Regression: click.Path's os.stat raised ValueError for a NUL in a file name.
        (["export", "--db", "x\x00.db"], 2, "NUL"),
        (["import", "x\x00.json", "--db", "{tmp}/x.db"], 2, "NUL"),
        (["import", "\ud800.json", "--db", "{tmp}/x.db"], 2, "cannot be a file name"),
        (["export", "--store", "sqlite:///x%00.db"], 2, "NUL"),
        # Regression: an instant that overflows when converted to UTC.
        (["coverage", "--db", "{tmp}/x.db", "--at", "0001-01-01T00:00:00+01:00"], 2, "1900 and 9000"),
    ],
)
def test_paths_and_times_that_cannot_be_used(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], status: int, err: str
) -> None:
    assert main([arg.format(tmp=tmp_path) for arg in argv]) == status
    captured = capsys.readouterr().err
    assert err in captured
    assert "Traceback" not in captured

"""``cssc demo`` replays identically, keeps its store on request and prints a readable report."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import pytest

from cssc_core.cli import main
from cssc_core.demo.story import DemoStore
from cssc_core.reference import example_network
from tests.demo.conftest import DemoRun, run_demo


def test_two_runs_give_the_same_report(demo: DemoRun) -> None:
    again = run_demo(demo.cwd)
    assert again == demo.report


def test_keep_reports_the_kept_store_again_without_playing_it(
    demo: DemoRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--json", "--keep", "--dir", str(demo.directory)]) == 0
    captured = capsys.readouterr()
    assert "already holds the story" in captured.err
    assert "09:00 NCTPHQ" not in captured.err


def test_the_text_report_tells_the_story_and_where_to_look(
    demo: DemoRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--keep", "--dir", str(demo.directory)]) == 0
    text = capsys.readouterr().out
    for heading in (
        "Messages, UK time",
        "Relays through ISLs",
        "By hop",
        "By region",
        "By sector",
        "Acknowledgements",
        "Escalations",
        "Exclusions by marking",
        "Coverage gaps",
    ):
        assert heading in text
    assert "the London finance lead stayed silent" in text
    assert str((demo.directory / "cssc.db").resolve()) in text
    assert "cssc-outbox/email.jsonl" in text
    assert "alert (EXERCISE)" in text


def test_keep_plays_the_story_again_when_the_kept_store_holds_only_part_of_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "partial"
    folder.mkdir()
    with closing(DemoStore(folder / "cssc.db")) as store:
        store.replace_network(example_network())
    assert main(["demo", "--json", "--keep", "--dir", str(folder)]) == 0
    captured = capsys.readouterr()
    assert "already holds the story" not in captured.err
    assert len(json.loads(captured.out)["messages"]) == 7

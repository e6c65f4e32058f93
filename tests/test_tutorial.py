"""Every ``console`` and ``python`` block of docs/tutorial.md runs, in order, in an empty folder holding
the tutorial's files; each command's output is exactly what the tutorial shows."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from cssc_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
FILES = ROOT / "examples" / "tutorial"
BLOCK = re.compile(r"^```(console|python)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    """The tutorial's runnable blocks, in order: (language, text)."""
    return [(match[1], match[2]) for match in BLOCK.finditer(TUTORIAL.read_text("utf-8"))]


def commands(text: str) -> list[tuple[str, str]]:
    """A console block as (command, expected output) pairs."""
    pairs: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        else:
            assert pairs, f"output before any command: {line!r}"
            pairs[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in pairs]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def test_the_tutorial_has_commands_and_python() -> None:
    kinds = [kind for kind, _ in blocks()]
    assert kinds.count("console") >= 5
    assert "python" in kinds
    shown = [command for kind, text in blocks() if kind == "console" for command, _ in commands(text)]
    for step in ("import", "coverage", "route", "send", "ack", "tick", "status"):
        assert any(command.split()[1] == step for command in shown), step


def test_every_block_of_the_tutorial_runs_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for source in FILES.iterdir():
        shutil.copy(source, tmp_path / source.name)
    monkeypatch.chdir(tmp_path)
    for kind, text in blocks():
        if kind == "python":
            exec(compile(text, str(TUTORIAL), "exec"), {"__name__": "__tutorial__"})
            assert capsys.readouterr().out
            continue
        for command, expected in commands(text):
            argv = shlex.split(command)
            assert argv[0] == "cssc", command
            assert main(argv[1:]) == 0, command
            assert _lines(capsys.readouterr().out) == _lines(expected), command

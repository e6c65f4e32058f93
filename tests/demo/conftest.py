"""One run of ``cssc demo --json`` shared by the demo's tests (the story takes seconds to play)."""

from __future__ import annotations

import io
import json
import os
from contextlib import closing, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import attrs
import pytest

from cssc_core.cli import main
from cssc_core.demo.story import DemoStore


@attrs.frozen
class DemoRun:
    """The demo's folder, its JSON report and the folder it was run from."""

    directory: Path
    report: dict[str, Any]
    cwd: Path

    def store(self) -> closing[DemoStore]:
        """The demo's store, opened again."""
        return closing(DemoStore(self.directory / "cssc.db"))

    def outbox(self, channel: str) -> list[dict[str, Any]]:
        """Every line a file channel wrote."""
        path = self.directory / "cssc-outbox" / f"{channel}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def run_demo(cwd: Path, *args: str) -> dict[str, Any]:
    """Runs ``cssc demo --json`` in ``cwd`` and returns its report."""
    before = Path.cwd()
    os.chdir(cwd)
    try:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            assert main(["demo", "--json", *args]) == 0, err.getvalue()
    finally:
        os.chdir(before)
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    cwd = tmp_path_factory.mktemp("demo")
    return DemoRun(cwd / "cssc-demo", run_demo(cwd), cwd)

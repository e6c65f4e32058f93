"""Fixtures shared across the test suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "cssc-plugin-pager"


@pytest.fixture(scope="session")
def pager_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the example external plugin, installed by pip from ``examples/`` (offline)."""
    source = tmp_path_factory.mktemp("source") / EXAMPLE_PLUGIN.name
    shutil.copytree(EXAMPLE_PLUGIN, source, ignore=shutil.ignore_patterns("__pycache__", "build", "dist"))
    target = tmp_path_factory.mktemp("site")
    command = [
        sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
        "--disable-pip-version-check", "--quiet", "--target", str(target), str(source),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PIP_NO_INPUT": "1"})
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture
def with_pager(pager_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example plugin on ``sys.path`` for one test, so its entry point is discovered."""
    monkeypatch.syspath_prepend(str(pager_site))
    monkeypatch.delenv("CSSC_BLOCK_PLUGINS", raising=False)
    monkeypatch.delenv("CSSC_ALLOW_PLUGINS", raising=False)
    return pager_site

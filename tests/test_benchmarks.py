"""The benchmark scripts still run (on tiny data; their figures are printed, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_storage_benchmark_runs() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_storage.py"),
            "--deliveries",
            "200",
            "--rounds",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "batched status writes:" in done.stdout
    assert "undelivered lookup (200 rows):" in done.stdout


def test_the_channels_benchmark_runs_quick(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "channels", "--quick", "--output", str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "webhook: 300 deliveries" in done.stdout
    assert "smtp: client CPU per message" in done.stdout
    assert "300 arrived once each" in done.stdout
    assert "apprise json://" in done.stdout or "apprise is not installed" in done.stdout

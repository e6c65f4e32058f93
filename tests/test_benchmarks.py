"""The benchmark scripts still run (on tiny data; their figures are printed, never asserted)."""

from __future__ import annotations

import json
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


def test_the_harness_runs_every_benchmark_quickly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(output.read_text("utf-8"))
    names = {result["benchmark"] for result in report["results"]}
    assert {"channels", "load", "national", "routing", "storage"} <= names
    assert all(result["seconds"] > 0 and result["reference_seconds"] > 0 for result in report["results"])
    # The channel benchmark checks every delivery arrived once, and says so when apprise is missing.
    assert "webhook: 300 deliveries" in done.stdout
    assert "smtp: client CPU per message" in done.stdout
    assert "300 arrived once each" in done.stdout
    assert "apprise json://" in done.stdout or "apprise is not installed" in done.stdout
    # The national cascade runs end to end at each size, every delivery checked at the sink.
    national = [result for result in report["results"] if result["benchmark"] == "national"]
    assert [r["data"]["organisations"] for r in national if r.get("data")] == [100, 1000]
    assert "national cascade, 1,000 organisations" in done.stdout
    # Growth is reported as measured and with the machine's drift between the two runs taken out:
    # the smaller size's time scaled by how much longer a reference POST took in the larger run.
    small, large = (r["data"] for r in national if r.get("data"))
    growth = {r["name"]: r for r in national if r["name"].startswith("growth")}
    measured = growth["growth 100 -> 1,000 organisations"]
    assert abs(measured["ratio"] - large["total"] / (small["total"] * 10)) < 1e-3
    drift = (large["raw"] / large["delivered"]) / (small["raw"] / small["delivered"])
    steady = growth["growth 100 -> 1,000 organisations, drift taken out"]
    assert abs(steady["ratio"] - large["total"] / (small["total"] * 10 * drift)) < 1e-3
    assert done.stdout.count("arrived once each") >= 4
    # Each size runs once more with a channel that sends nothing (the engine and the store alone),
    # checked at the sink to have sent nothing at all, and beside a reference of its own.
    alone = [r for r in national if r["name"].endswith("organisations, sending nothing")]
    assert [r["name"] for r in alone] == [
        f"national cascade, {size} organisations, sending nothing" for size in ("100", "1,000")
    ]
    assert all("nothing reached the sink" in r["detail"] for r in alone)
    assert [r["seconds"] for r in alone] == [small["discard"]["total"], large["discard"]["total"]]
    assert done.stdout.count("the engine and the store alone") == 4  # two report lines, two results


def test_the_national_benchmark_reports_the_median_of_repeated_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    output = tmp_path / "results.json"
    command = [sys.executable, "-m", "benchmarks", "national", "--quick", "--output", str(output)]
    done = subprocess.run(
        [*command, "--repeat", "3"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(output.read_text("utf-8"))
    sizes = [result for result in report["results"] if result.get("data", {}).get("runs")]
    assert [size["data"]["organisations"] for size in sizes] == [100, 1000]
    for size in sizes:
        ratios = sorted(run["ratio"] for run in size["data"]["runs"])
        assert len(ratios) == 3
        assert abs(size["ratio"] - ratios[1]) < 1e-3  # the median run is the one reported
        assert size["data"]["peak_mib"] == max(run["peak_mib"] for run in size["data"]["runs"])
    assert done.stdout.count("ratio of each run") == 2
    # One result line a size; every run was checked at the sink (a failed check fails the command).
    assert done.stdout.count("arrived once each") == 2

    refused = subprocess.run(
        [*command, "--repeat", "0"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert refused.returncode == 2
    assert "--repeat: must be at least 1, not 0" in refused.stderr


def test_the_crash_point_runner_prints_its_table() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "crash_points.py"), "--quiet", "--limit", "3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "crash points tried                            3" in done.stdout
    assert "deliveries lost (must be 0)                   0" in done.stdout


def test_a_size_reports_its_median_run_with_the_highest_peak_of_any_run() -> None:
    from benchmarks.bench_national import summary

    def run(total: float, peak: float) -> dict[str, object]:
        phases = {"send: route and persist": total}
        return {"phases": phases, "total": total, "cpu": total, "raw": 1.0, "peak_mib": peak, "checked": "ok"}

    # The median run (ratio 2.0) has neither the highest nor the lowest peak.
    runs = [run(3.0, 40.0), run(2.0, 50.0), run(1.0, 60.0)]
    size = summary({"organisations": 10}, runs, run(0.5, 30.0))
    assert size["total"] == 2.0
    assert size["peak_mib"] == 60.0
    assert [figures["ratio"] for figures in size["runs"]] == [3.0, 2.0, 1.0]
    assert size["discard"]["total"] == 0.5
    assert size["discard"]["checked"] == "ok"
    # Of an even number of runs, the higher of the two middle ones.
    even = [run(1.0, 1.0), run(4.0, 1.0), run(2.0, 1.0), run(3.0, 1.0)]
    assert summary({}, even, run(0.5, 1.0))["total"] == 3.0

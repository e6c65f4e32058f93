"""A process killed at every storage write and every plugin call loses nothing and re-sends nothing
recorded delivered (SPEC.md section 7's guarantee); the table is printed by benchmarks/crash_points.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.crash_points import run_crash_points


@pytest.mark.slow
def test_a_crash_at_any_point_loses_nothing_and_resends_nothing_delivered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run_crash_points(tmp_path)
    with capsys.disabled():
        print("\n" + report.table())
    # One point per storage write and plugin call of the incident's clean run: dozens of them.
    assert len(report.points) >= 50
    assert report.expected_deliveries == 15
    assert all(point.killed for point in report.points)
    assert sum(point.lost for point in report.points) == 0
    assert sum(point.resent for point in report.points) == 0
    assert sum(point.unexplained_duplicates for point in report.points) == 0
    assert sum(point.extra for point in report.points) == 0
    assert all(point.integrity_after_crash and point.integrity_after_recovery for point in report.points)
    # Copies that went out just before the kill, unrecorded, go again: the only duplicates allowed.
    assert sum(point.duplicates for point in report.points) > 0
    assert report.ok

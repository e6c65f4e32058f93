"""A process killed at every storage write, channel call and event hook of an incident (relays through
ISLs, a release, an escalation, a cancel): nothing lost, nothing recorded delivered sent again.

The crash points and the recovery are those of ``benchmarks/crash_points.py`` (the cascade's crash
test); here their counts go into the reliability table. The ordinary suite tries the first 20 points
(``tests/cascade/test_crash.py`` tries them all); ``nox -s reliability`` tries every one.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.crash_points import run_crash_points

from tests.reliability.tally import SCALE, TALLY


def test_no_crash_point_loses_or_resends_a_delivery(tmp_path: Path) -> None:
    report = run_crash_points(tmp_path, limit=None if SCALE > 1 else 20)
    TALLY.crash_points += len(report.points)
    TALLY.crash_lost += sum(point.lost for point in report.points)
    TALLY.crash_resent += sum(point.resent for point in report.points)
    TALLY.crash_duplicates += sum(point.duplicates for point in report.points)
    assert all(point.killed for point in report.points)
    assert sum(point.lost for point in report.points) == 0
    assert sum(point.resent for point in report.points) == 0
    assert sum(point.unexplained_duplicates for point in report.points) == 0
    assert sum(point.extra for point in report.points) == 0
    assert all(point.integrity_after_crash and point.integrity_after_recovery for point in report.points)

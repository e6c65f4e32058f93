"""The injected clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cssc_core.domain.clock import Clock, FakeClock, SystemClock

START = datetime(2019, 6, 12, 9, 0, tzinfo=UTC)


def test_a_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(START)
    assert clock.now() == clock.now() == START
    assert clock.advance(90) == START + timedelta(seconds=90)
    assert clock.advance(timedelta(minutes=1)) == START + timedelta(seconds=150)
    clock.set(START + timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1)


def test_a_fake_clock_never_runs_backwards() -> None:
    clock = FakeClock(START)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(START - timedelta(seconds=1))


def test_a_fake_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(datetime(2019, 6, 12, 9, 0))


def test_the_system_clock_is_aware_and_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FakeClock(START), Clock)

"""Where the time comes from: an injected clock, so that a whole incident can replay identically.

Nothing in the domain reads the system clock or sleeps; it asks a :class:`Clock` for the time.
The command line uses :class:`SystemClock`, or a :class:`FakeClock` set by ``--at``; tests advance a
:class:`FakeClock` by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock", "require_aware"]


@runtime_checkable
class Clock(Protocol):
    """Tells the time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


def require_aware(instant: datetime, what: str = "time") -> datetime:
    """Returns ``instant`` in UTC; raises :class:`ValueError` for a naive datetime.

    Args:
        instant: The datetime to check.
        what: What it is, for the error message.
    """
    if instant.tzinfo is UTC:
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {instant.isoformat()}")
    return instant.astimezone(UTC)


class SystemClock:
    """The computer's clock."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that stands still until told to move: for ``--at``, replays and tests.

    Args:
        start: The time it shows at first; must be timezone-aware.
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "the clock's start")

    def now(self) -> datetime:
        """The time it is set to, in UTC."""
        return self._now

    def advance(self, by: timedelta | float) -> datetime:
        """Moves the clock forward and returns the new time.

        Args:
            by: How far, as a timedelta or in seconds; never backwards.
        """
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError("a clock does not run backwards")
        self._now += step
        return self._now

    def set(self, instant: datetime) -> None:
        """Moves the clock to ``instant``, which must not be earlier than the time it shows."""
        instant = require_aware(instant)
        if instant < self._now:
            raise ValueError("a clock does not run backwards")
        self._now = instant

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"

"""What the reliability suite tried and what it found, counted across one pytest session.

The tests add to :data:`TALLY` as they go and assert their own zero columns, so a regression fails the
ordinary test suite; ``nox -s reliability`` runs them with more examples and prints the table that
:func:`table` makes (``tests/reliability/conftest.py`` prints it at the end of the session).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
from hypothesis import HealthCheck, settings

from cssc_core.errors import CsscError, ValidationError

__all__ = ["SCALE", "TALLY", "Tally", "attempt", "fuzz_settings", "table"]

T = TypeVar("T")

SCALE = max(1, int(os.environ.get("CSSC_RELIABILITY_SCALE", "1")))
"""How many times the default number of examples each reliability property tries."""


@attrs.define
class Tally:
    """The reliability counters (each named as in the printed table)."""

    crash_points: int = 0
    crash_lost: int = 0
    crash_resent: int = 0
    crash_duplicates: int = 0
    faults_injected: int = 0
    deliveries_expected: int = 0
    deliveries_accounted: int = 0
    hostile_inputs: int = 0
    tracebacks: int = 0
    partial_writes: int = 0
    erased_contacts: int = 0
    erased_bytes_found: int = 0

    def any_counted(self) -> bool:
        """Whether any reliability test ran in this session."""
        return any(attrs.astuple(self))


TALLY = Tally()


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings for a reliability property: ``examples`` times :data:`SCALE`, no deadline
    (hostile inputs are slow by design), and no complaint about large or slow generated data."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def attempt(call: Callable[[], T]) -> T | CsscError:
    """Runs ``call`` on one hostile input: returns its result or the library error it raised.

    Any other exception is counted as a traceback and propagates, failing the test. A
    :class:`ValidationError` must name at least one problem, each with a place and a message.
    """
    TALLY.hostile_inputs += 1
    try:
        return call()
    except CsscError as error:
        refusal = error
    except BaseException:
        TALLY.tracebacks += 1
        raise
    if isinstance(refusal, ValidationError):
        assert refusal.problems, "a validation error names its problems"
        assert all(problem.path and problem.message for problem in refusal.problems)
    return refusal


def table(tally: Tally) -> str:
    """The reliability table, one row per area; the columns marked ``(must be 0)`` are guarantees."""
    accounted = f"{tally.deliveries_accounted}/{tally.deliveries_expected}"
    rows: list[tuple[str, Any]] = [
        ("crash points tried", tally.crash_points),
        ("  deliveries lost (must be 0)", tally.crash_lost),
        ("  re-sent after recorded delivered (must be 0)", tally.crash_resent),
        ("  duplicates (attempts in flight at the crash)", tally.crash_duplicates),
        ("faults injected", tally.faults_injected),
        ("  deliveries accounted for", accounted),
        ("hostile inputs tried", tally.hostile_inputs),
        ("  tracebacks (must be 0)", tally.tracebacks),
        ("  partial writes (must be 0)", tally.partial_writes),
        ("erased contacts", tally.erased_contacts),
        ("  bytes of their data found on disk (must be 0)", tally.erased_bytes_found),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["reliability", "-" * (width + 12)]
    lines.extend(f"{name.ljust(width)}  {value!s:>10}" for name, value in rows)
    return "\n".join(lines)

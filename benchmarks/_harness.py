"""What every benchmark shares: timing, result records and printing.

A benchmark never claims a number on its own: it measures the reference (plain ``json.load``, raw
``sqlite3``, a plain-Python implementation) in the same run, on the same data, and reports the ratio.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["Result", "best_time", "print_results"]


@attrs.frozen
class Result:
    """One benchmark figure and its comparison with the reference.

    Attributes:
        name: What was measured.
        seconds: Our time (best of the repeats).
        reference: What it is compared with.
        reference_seconds: The reference's time on the same data, same run.
        target: The ratio we aim for, in words (``<= 0.2x``), or empty.
        detail: Anything else worth printing (sizes, counts).
        data: Figures behind the result, for the JSON report only (phase times, say).
    """

    name: str
    seconds: float
    reference: str
    reference_seconds: float
    target: str = ""
    detail: str = ""
    data: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def ratio(self) -> float:
        """Our time divided by the reference's: below 1 is faster than the reference."""
        return self.seconds / self.reference_seconds

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return {**attrs.asdict(self), "ratio": round(self.ratio, 4)}


def best_time(work: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs of ``work``, in seconds, with the collector quiet while timing."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            work()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best


def print_results(results: list[Result]) -> None:
    """Prints results as a table: figure, reference, ratio and target."""
    for result in results:
        print(
            f"{result.name:<52} {result.seconds:9.3f} s   vs {result.reference:<34} "
            f"{result.reference_seconds:9.3f} s   ratio {result.ratio:7.2f}x"
            f"{'   target ' + result.target if result.target else ''}"
            f"{'   (' + result.detail + ')' if result.detail else ''}"
        )

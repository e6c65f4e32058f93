"""Keeping the engine's large, long-lived objects out of the cyclic garbage collector's way.

A national network read back from the store is a few million Python objects (organisations,
contacts, memberships, their tuples and strings), and a cascade's plan another half million; the
engine keeps both for as long as the store's network revision holds. CPython's cyclic collector
would otherwise examine every one of them again at each full collection, which its own heuristics
set off again and again while such structures are being built: at 100,000 organisations that was a
fifth of a whole national cascade's time, none of it freeing anything (the network and the plan hold
no reference cycles; they are freed by reference counting when the engine lets go of them).

:func:`long_lived` builds such objects with the collector paused, then moves everything alive into
the collector's permanent generation (``gc.freeze``), so that later collections look only at what is
new. Frozen objects are still freed as soon as nothing refers to them; only reference cycles that
exist at the freeze are never reclaimed, which is why a collection runs first.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["long_lived"]


@contextmanager
def long_lived() -> Iterator[None]:
    """Runs the block with cyclic garbage collection paused, then freezes what is alive.

    Collection is left as it was found: when the application has disabled it, it stays disabled.
    """
    enabled = gc.isenabled()
    # Collected first, so that no garbage cycle already waiting is frozen (and kept) for good.
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()

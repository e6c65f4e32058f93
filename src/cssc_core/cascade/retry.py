"""When a temporary failure is tried again: exponential backoff with jitter (SPEC.md section 7).

The delay is worked out from an injected :class:`random.Random` and stored as the delivery's
``next_attempt_at``; nothing ever sleeps on it.
"""

from __future__ import annotations

import random

import attrs

__all__ = ["RetryPolicy"]


@attrs.frozen
class RetryPolicy:
    """How often and how long after a temporary failure a copy is tried again.

    Attributes:
        max_attempts: Attempts in all; a temporary failure on the last becomes ``technical-failure``.
        base_s: The delay after the first attempt, before jitter.
        factor: Each further delay is this many times the one before.
        max_delay_s: No delay is longer, before jitter.
        jitter: The fraction of each delay drawn at random: a delay ``d`` becomes a value in
            ``[d * (1 - jitter), d]``, so that copies failing together do not all return together.
    """

    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    base_s: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    factor: float = attrs.field(default=2.0, validator=attrs.validators.ge(1))
    max_delay_s: float = attrs.field(default=3600.0, validator=attrs.validators.gt(0))
    jitter: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0), attrs.validators.le(1)])

    def exhausted(self, attempts: int) -> bool:
        """Whether a copy tried ``attempts`` times may not be tried again."""
        return attempts >= self.max_attempts

    def delay_s(self, attempts: int, rng: random.Random, retry_after_s: float | None = None) -> float:
        """Seconds to wait after the ``attempts``-th attempt failed temporarily.

        Args:
            attempts: How many attempts were made (1 after the first).
            rng: The random source of the jitter.
            retry_after_s: The least wait the receiver asked for, if any.
        """
        delay = min(self.max_delay_s, self.base_s * self.factor ** max(attempts - 1, 0))
        delay *= 1 - self.jitter * rng.random()
        return max(delay, retry_after_s or 0.0)

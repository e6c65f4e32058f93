"""Provider failover: one channel delivered by several providers, weighted by how well they do.

Each provider has a configured weight. A batch goes to a provider picked at random in proportion to
its effective weight: the configured weight, cut to ``penalty`` times itself while the provider's
recent error rate (over its last ``window`` results) is above ``threshold``. Copies a provider
fails temporarily are tried at once on another provider; permanent failures are not (the copy is at
fault). Only errors that are the provider's count against it (:attr:`SendResult.counts_against_provider`):
a mailbox that does not exist says nothing about the provider that reported it.

Randomness comes from an injected :class:`random.Random`, so tests and replays choose alike.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Sequence

import attrs

from cssc_core.plugins.types import Channel, Outgoing, SendResult
from cssc_core.plugins.types import sends_concurrently as _sends_concurrently
from cssc_core.storage.records import DeliveryStatus

__all__ = ["FailoverChannel", "Provider"]


@attrs.frozen
class Provider:
    """One provider of a channel.

    Attributes:
        name: Its name, for reasons and reports (``primary``, ``gateway-2``).
        channel: The sender that reaches it.
        weight: Its share of the traffic while healthy (positive).
    """

    name: str
    channel: Channel
    weight: float = attrs.field(default=1.0)

    @weight.validator
    def _positive(self, _: attrs.Attribute[float], value: float) -> None:
        if not value > 0:
            raise ValueError("a provider's weight must be positive")


class _Health:
    def __init__(self, window: int) -> None:
        self.outcomes: collections.deque[bool] = collections.deque(maxlen=window)

    def error_rate(self) -> float:
        return sum(self.outcomes) / len(self.outcomes) if self.outcomes else 0.0


class FailoverChannel:
    """A :class:`~cssc_core.plugins.types.Channel` over several providers.

    Args:
        providers: The providers, at least one.
        rng: The random source choosing among them.
        window: How many recent results make a provider's error rate.
        threshold: The error rate above which a provider loses weight.
        penalty: The factor its weight is multiplied by while it does.
        min_samples: Results needed before its error rate is judged.
    """

    def __init__(
        self,
        providers: Sequence[Provider],
        rng: random.Random | None = None,
        *,
        window: int = 50,
        threshold: float = 0.5,
        penalty: float = 0.05,
        min_samples: int = 5,
    ) -> None:
        if not providers:
            raise ValueError("failover needs at least one provider")
        self.providers = tuple(providers)
        self._rng = rng or random.Random()
        self._health = {provider.name: _Health(window) for provider in self.providers}
        self.threshold = threshold
        self.penalty = penalty
        self.min_samples = min_samples

    @property
    def sends_concurrently(self) -> bool:
        """Whether every provider's sender spreads a batch over its connections (a batch goes to
        one provider at a time, and what it refuses to the next)."""
        return all(_sends_concurrently(provider.channel) for provider in self.providers)

    def weight(self, provider: Provider) -> float:
        """The provider's effective weight now."""
        health = self._health[provider.name]
        if len(health.outcomes) >= self.min_samples and health.error_rate() > self.threshold:
            return provider.weight * self.penalty
        return provider.weight

    def error_rate(self, name: str) -> float:
        """The named provider's recent error rate (0 before any result)."""
        return self._health[name].error_rate()

    def _order(self) -> list[Provider]:
        """Every provider, in a weighted random order: the first is the one to try first."""
        left = list(self.providers)
        order = []
        while left:
            weights = [self.weight(provider) for provider in left]
            chosen = self._rng.choices(range(len(left)), weights)[0]
            order.append(left.pop(chosen))
        return order

    def _note(self, provider: Provider, results: Sequence[SendResult]) -> None:
        outcomes = self._health[provider.name].outcomes
        for result in results:
            if result.status is DeliveryStatus.DELIVERED or result.counts_against_provider:
                outcomes.append(result.counts_against_provider)

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Sends through the chosen provider; copies it fails temporarily go to the next one."""
        final: dict[str, SendResult] = {}
        pending = list(batch)
        for provider in self._order():
            if not pending:
                break
            try:
                results = list(await provider.channel.send(pending))
            except Exception as error:  # a provider's crash fails only its attempt, not the channel
                results = [
                    SendResult.temporary(item.delivery, f"{provider.name}: {type(error).__name__}")
                    for item in pending
                ]
            by_id = {result.delivery: result for result in results}
            reported = [
                by_id.get(item.delivery)
                or SendResult.temporary(item.delivery, f"{provider.name}: no result reported")
                for item in pending
            ]
            self._note(provider, reported)
            retry = []
            for item, result in zip(pending, reported, strict=True):
                final[item.delivery] = result
                if result.status is DeliveryStatus.TEMPORARY_FAILURE:
                    retry.append(item)
            pending = retry
        return [final[item.delivery] for item in batch]

    async def aclose(self) -> None:
        """Closes every provider's sender."""
        for provider in self.providers:
            await provider.channel.aclose()

    def __repr__(self) -> str:
        names = ", ".join(f"{p.name}={p.weight:g}" for p in self.providers)
        return f"FailoverChannel({names})"

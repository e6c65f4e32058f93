"""The dispatcher: claims due deliveries with a lease, sends them through the channel plugins, records
what happened (SPEC.md section 7).

Each pass claims up to a batch of due deliveries (``sending``, leased to this worker), renders each
into the copy its channel sends, and sends the copies of every channel concurrently: up to the
channel's ``concurrency`` calls in flight, at most ``rate_per_s`` copies a second. The next batch is
claimed while one is on the wire, so that two at most are out at once. The results of each
call are recorded in one transaction as soon as it returns, together with what they set off: a
relay deadline or acknowledgement timeout starting, the next channel after a permanent failure, a
copy no longer needed once a relay request reached its contact.

A temporary failure is tried again after an exponential backoff with jitter drawn from the injected
random source: the time is stored as ``next_attempt_at``, never slept on. When the attempts run out
it becomes a ``technical-failure``. A delivery the store has recorded ``delivered`` is never claimed
again, so it is never sent again.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from cssc_core.cascade import acks, relays
from cssc_core.cascade.context import CascadeContext
from cssc_core.cascade.retry import RetryPolicy
from cssc_core.cascade.work import Work
from cssc_core.channels.acks import AckSigner
from cssc_core.channels.config import AckSettings, ChannelConfig
from cssc_core.channels.render import MessageCopy, PreparedMessage, Recipient
from cssc_core.channels.templates import HeaderInjectionError
from cssc_core.domain.marking import ChannelFlags, channel_allowed
from cssc_core.errors import CsscError
from cssc_core.plugins.manager import PluginHost
from cssc_core.plugins.types import Channel, DeliveryStatusChange, Outgoing, SendResult, sends_concurrently
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import Delivery, DeliveryKind, DeliveryStatus, DeliveryUpdate, redact

__all__ = ["Dispatcher"]

_MAX_BATCH = 100
"""Copies in one call to a sender that sends them one after another."""
_MAX_SPREAD_BATCH = 1000
"""Copies in one call to a sender that spreads a batch over its connections itself."""
_LINGER_S = 0.05
"""How long results wait for others to be recorded with them (seconds of real time)."""


class OpenWork(Protocol):
    """Opens a unit of work at an instant: one transaction, its events announced after commit."""

    def __call__(self, at: datetime, *, durable: bool = True) -> AbstractContextManager[Work]: ...


def _results(answer: object) -> list[SendResult]:
    """The results in a plugin's answer; anything that is not one is left out, so that its copy
    counts as unanswered (a temporary failure).

    Raises:
        TypeError: when the answer is not a list of results at all.
    """
    if not isinstance(answer, list | tuple):
        raise TypeError(f"the channel answered {type(answer).__name__} instead of a list of results")
    return [result for result in answer if isinstance(result, SendResult)]


class Dispatcher:
    """Sends what is due; one instance per run of the engine (it keeps the channels it opened).

    Args:
        store: The store.
        host: Where channel plugins come from.
        contexts: The cascade of a message id (None when the store holds none).
        work: Opens a unit of work at an instant (one transaction; events announced after commit).
            The dispatcher's own units (claims, results) are not durable: a crash that loses one
            sends its copies again, as a crash while they are on the wire does.
        retry: When temporary failures are tried again.
        rng: The random source of the backoff jitter.
        lease_s: How long a claim lasts before another worker may take the delivery over.
        send_timeout_s: How long one call to a channel plugin may take before its copies fail
            temporarily.
        batch_size: How many deliveries one claim takes.
        worker: This worker's name, on every lease it takes.
        now: The clock's time (leases run from it).
        progress: Told how many deliveries each recorded batch settled.
        monotonic: The clock of rate-limited channels' token buckets.
        sleep: How rate-limited channels wait.
        linger_s: How long the results of a call that returned wait for other calls' results to
            be recorded in the same transaction; a crash in that time sends them again.
    """

    def __init__(
        self,
        *,
        store: Store,
        host: PluginHost,
        contexts: Callable[[str], CascadeContext | None],
        work: OpenWork,
        retry: RetryPolicy,
        rng: random.Random,
        lease_s: float,
        send_timeout_s: float = 120.0,
        batch_size: int,
        worker: str,
        now: Callable[[], datetime],
        progress: Callable[[int], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        linger_s: float = _LINGER_S,
    ) -> None:
        self._store = store
        self._host = host
        self._contexts = contexts
        self._work = work
        self._retry = retry
        self._rng = rng
        self._lease_s = lease_s
        self._send_timeout_s = send_timeout_s
        self._batch_size = batch_size
        self._worker = worker
        self._now = now
        self._progress = progress
        self._monotonic = monotonic
        self._sleep = sleep
        self._linger_s = linger_s
        self._senders: dict[str, Channel | str] = {}
        self._keys: dict[int, tuple[ChannelConfig, str]] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._concurrency: dict[str, int] = {}
        self._spreading: set[str] = set()  # senders that spread a batch over their connections
        self._signers: dict[AckSettings, AckSigner] = {}
        self._prepared: dict[tuple[str, str, bool], PreparedMessage] = {}

    async def dispatch(self, at: datetime, claimed: Sequence[Delivery] = ()) -> int:
        """Sends ``claimed`` (from :meth:`claim`), then everything due by ``at``, as of ``at``; returns
        how many deliveries were sent."""
        total = 0
        batch = list(claimed) or self._claim(at)
        sending: list[asyncio.Task[None]] = []
        try:
            while batch:
                total += len(batch)
                # Two batches at most are out at once: the next is claimed while this one is on
                # the wire, so that the store's work and the receivers' overlap instead of taking
                # turns. Its calls queue behind this one's for the channels' connections.
                sending.append(asyncio.ensure_future(self._send(batch, at)))
                await asyncio.sleep(0)  # lets it render its copies and start its calls
                if len(sending) > 1:
                    await sending[0]
                    del sending[0]
                batch = self._claim(at)
            while sending:
                await sending[0]
                del sending[0]
        finally:
            for task in sending:
                task.cancel()
        return total

    async def aclose(self) -> None:
        """Closes every channel this dispatcher opened."""
        senders = [s for s in self._senders.values() if not isinstance(s, str)]
        self._senders.clear()
        for sender in senders:
            await sender.aclose()

    # --- claiming ----------------------------------------------------------------------------------

    def _claim(self, at: datetime) -> list[Delivery]:
        with self._work(at, durable=False) as work:
            return self.claim(work, at)

    def claim(self, work: Work, at: datetime) -> list[Delivery]:
        """Claims what is due by ``at`` in ``work``'s transaction; returns what is to be sent (copies
        of expired messages are marked ``expired`` instead)."""
        # Events are processed at their own times, which may be behind the clock when a tick
        # catches up; a lease runs from the clock's time, so it never lapses while being held.
        behind = max((self._now() - at).total_seconds(), 0.0)
        claimed = self._store.claim_due(at, self._batch_size, self._lease_s + behind, self._worker)
        sendable: list[Delivery] = []
        expired: dict[str, list[Delivery]] = {}
        # The acknowledgement timeouts and relay deadlines these claims start are written together.
        with work.timers_together():
            for delivery in claimed:
                previous = delivery.history[-2].status if len(delivery.history) > 1 else None
                if work.watched:
                    work.changes.append(
                        DeliveryStatusChange.of(
                            delivery, delivery.message, previous, DeliveryStatus.SENDING, at
                        )
                    )
                ctx = self._contexts(delivery.message)
                if ctx is not None and ctx.expired(at):
                    expired.setdefault(delivery.message, []).append(delivery)
                    continue
                if ctx is not None and delivery.attempts == 1:
                    if delivery.kind is DeliveryKind.RELAY_REQUEST:
                        relays.on_request_claimed(work, ctx, delivery)
                    elif delivery.kind is DeliveryKind.MESSAGE:
                        acks.on_copy_claimed(work, ctx, delivery)
                sendable.append(delivery)
        for message, deliveries in expired.items():
            work.update(message, deliveries, DeliveryStatus.EXPIRED, "message expired")
        return sendable

    # --- sending -------------------------------------------------------------------------------------

    def _signer(self, settings: AckSettings) -> AckSigner:
        signer = self._signers.get(settings)
        if signer is None:
            signer = self._signers[settings] = settings.signer(self._store)
        return signer

    def _prepare(
        self, ctx: CascadeContext, config: ChannelConfig, key: str, delivery: Delivery
    ) -> PreparedMessage:
        # Rendered once per message, channel and whether its copies ask for an acknowledgement.
        recipient = ctx.recipient(delivery.contact)
        ack_required = delivery.kind is DeliveryKind.MESSAGE and recipient is not None and recipient.ack
        cached = self._prepared.get((ctx.id, key, ack_required))
        if cached is None:
            renderer = config.renderer(self._signer(ctx.channels.acks))
            cached = renderer.prepare(MessageCopy.from_message(ctx.message, ack_required=ack_required))
            self._prepared[ctx.id, key, ack_required] = cached
        return cached

    def _copy(self, delivery: Delivery) -> tuple[str, Outgoing] | SendResult:
        ctx = self._contexts(delivery.message)
        if ctx is None:
            return SendResult.permanent(delivery.id, "no cascade of this message is stored")
        config = ctx.channels.channel(delivery.channel)
        if config is None:
            return SendResult.permanent(delivery.id, f"channel {delivery.channel!r} is not configured")
        if not channel_allowed(ctx.plan.marking, ChannelFlags(config.secure, config.public)):
            # The channels given to a later command may differ from those the cascade was planned with.
            reason = f"channel {delivery.channel!r} no longer fits {ctx.plan.marking}"
            return SendResult.permanent(delivery.id, reason)
        contact = ctx.contact(delivery.contact)
        if contact is None:
            return SendResult.permanent(delivery.id, "the contact is no longer in the network")
        names: tuple[str, ...] = ()
        if delivery.subject_contact is not None:
            subject = ctx.contact(delivery.subject_contact)
            names = (subject.name if subject is not None else delivery.subject_contact,)
        key, sender = self._sender(config)
        if isinstance(sender, str):
            return SendResult.permanent(delivery.id, sender)
        if delivery.address_kind != config.address:
            delivery = attrs.evolve(delivery, address_kind=config.address)
        try:
            recipient = Recipient.for_delivery(delivery, contact, names)
        except ValueError as error:  # erased or changed since planning
            return SendResult.permanent(delivery.id, str(error))
        try:
            copy = self._prepare(ctx, config, key, delivery).copy(recipient)
        except HeaderInjectionError as error:
            return SendResult.permanent(delivery.id, str(error))
        return key, copy

    def _sender(self, config: ChannelConfig) -> tuple[str, Channel | str]:
        # Keyed by the configuration's content, so that equal configurations share one sender; the
        # key of a configuration object is worked out once, not once per copy.
        known = self._keys.get(id(config))
        if known is not None and known[0] is config:
            key = known[1]
        else:
            key = json.dumps(config.to_document(), sort_keys=True, default=str)
            self._keys[id(config)] = (config, key)
        sender = self._senders.get(key)
        if sender is None:
            try:
                sender = config.open(
                    self._host,
                    rng=random.Random(self._rng.random()) if config.providers else None,
                    clock=self._monotonic,
                    sleep=self._sleep,
                )
            except CsscError as error:
                sender = f"channel {config.name!r} cannot be opened: {error}"
            self._senders[key] = sender
            self._concurrency[key] = max(config.concurrency, 1)
            self._limits[key] = asyncio.Semaphore(self._concurrency[key])
            if sends_concurrently(sender):
                self._spreading.add(key)
        return key, sender

    async def _send(self, claimed: Sequence[Delivery], at: datetime) -> None:
        refused: list[tuple[Delivery, SendResult]] = []
        groups: dict[str, list[tuple[Delivery, Outgoing]]] = {}
        for delivery in claimed:
            made = self._copy(delivery)
            if isinstance(made, SendResult):
                refused.append((delivery, made))
                continue
            key, copy = made
            groups.setdefault(key, []).append((delivery, copy))
        if refused:
            self._record([d for d, _ in refused], [r for _, r in refused], at)
        returned: asyncio.Queue[tuple[list[Delivery], Sequence[SendResult]]] = asyncio.Queue()
        calls: list[asyncio.Task[None]] = []
        for key, items in groups.items():
            sender, semaphore = self._senders[key], self._limits[key]
            assert not isinstance(sender, str)
            size = self._call_size(key, len(items))
            for start in range(0, len(items), size):
                batch = items[start : start + size]
                calls.append(asyncio.ensure_future(self._call(sender, semaphore, batch, returned)))
        try:
            await self._record_as_returned(returned, len(calls), at)
        finally:
            for task in calls:
                task.cancel()

    def _call_size(self, key: str, copies: int) -> int:
        """How many of a batch's copies for one sender go in one call to it.

        A sender that spreads a batch over its own connections gets them in one call: split into
        ``concurrency`` calls, each call's copies would wait their turn for those connections, and
        the calls cost tasks, timers and hand-overs of their own (some 16,000 in a national
        cascade). Any other sender gets them in ``concurrency`` calls, for its tasks to run side by
        side.
        """
        if key in self._spreading:
            return max(1, min(_MAX_SPREAD_BATCH, copies))
        return max(1, min(_MAX_BATCH, -(-copies // self._concurrency[key])))

    async def _record_as_returned(
        self,
        returned: asyncio.Queue[tuple[list[Delivery], Sequence[SendResult]]],
        calls: int,
        at: datetime,
    ) -> None:
        # Results are recorded soon after their call returns, so that a crash resends little: the
        # calls that return within a short linger of the first unrecorded one are recorded together,
        # one commit for many calls however small each was (a commit costs far more than a row).
        loop = asyncio.get_running_loop()
        while calls:
            answers = [await returned.get()]
            deadline = loop.time() + self._linger_s
            while len(answers) < calls:
                while not returned.empty():
                    answers.append(returned.get_nowait())
                left = deadline - loop.time()
                if len(answers) >= calls or left <= 0:
                    break
                try:
                    answers.append(await asyncio.wait_for(returned.get(), left))
                except TimeoutError:
                    break
            calls -= len(answers)
            self._record(
                [delivery for deliveries, _ in answers for delivery in deliveries],
                [result for _, results in answers for result in results],
                at,
            )

    async def _call(
        self,
        sender: Channel,
        semaphore: asyncio.Semaphore,
        items: list[tuple[Delivery, Outgoing]],
        returned: asyncio.Queue[tuple[list[Delivery], Sequence[SendResult]]],
    ) -> None:
        async with semaphore:
            # A plugin that raises, hangs or answers nonsense must not lose the batch, nor stop the
            # dispatcher: its copies fail temporarily and are tried again.
            results: Sequence[SendResult]
            try:
                answer = await asyncio.wait_for(
                    sender.send([copy for _, copy in items]), self._send_timeout_s
                )
                results = _results(answer)
            except TimeoutError:
                reason = f"channel timed out after {self._send_timeout_s:g}s"
                results = [SendResult.temporary(d.id, reason) for d, _ in items]
            except Exception as error:
                reason = f"channel error: {type(error).__name__}"
                results = [SendResult.temporary(d.id, reason) for d, _ in items]
        returned.put_nowait(([d for d, _ in items], results))

    # --- recording -----------------------------------------------------------------------------------

    def _update(self, delivery: Delivery, result: SendResult | None, at: datetime) -> DeliveryUpdate:
        if result is None:
            result = SendResult.temporary(delivery.id, "the channel reported no result for this copy")
        reason = redact(result.reason) if result.reason else None
        if result.status is not DeliveryStatus.TEMPORARY_FAILURE:
            return DeliveryUpdate(delivery.id, result.status, at, reason)
        if self._retry.exhausted(delivery.attempts):
            return DeliveryUpdate(
                delivery.id, DeliveryStatus.TECHNICAL_FAILURE, at, f"retries exhausted: {reason}"
            )
        delay = self._retry.delay_s(delivery.attempts, self._rng, result.retry_after_s)
        return DeliveryUpdate(
            delivery.id, DeliveryStatus.TEMPORARY_FAILURE, at, reason, at + timedelta(seconds=delay)
        )

    def _record(self, batch: Sequence[Delivery], results: Sequence[SendResult], at: datetime) -> None:
        by_id = {result.delivery: result for result in results}
        updates = [self._update(delivery, by_id.get(delivery.id), at) for delivery in batch]
        claimed = {delivery.id: delivery for delivery in batch}
        statuses = {update.delivery: update.status for update in updates}
        # Not durable: were a power cut to lose these results, the copies would be claimed again
        # when their lease lapses and sent again under the same idempotency keys.
        with self._work(at, durable=False) as work:
            for delivery_id in work.results(updates, claimed, self._worker):
                delivery, status = claimed[delivery_id], statuses[delivery_id]
                ctx = self._contexts(delivery.message)
                if ctx is None:
                    continue
                if status is DeliveryStatus.DELIVERED and delivery.kind is DeliveryKind.RELAY_REQUEST:
                    reached = relays.on_request_delivered(work, ctx, delivery)
                    if reached is not None:
                        acks.on_copy_reached(work, ctx, reached)
                elif status in (DeliveryStatus.PERMANENT_FAILURE, DeliveryStatus.TECHNICAL_FAILURE):
                    if delivery.kind is DeliveryKind.RELAY_REQUEST:
                        relays.on_request_failed(work, ctx, delivery)
                    elif delivery.kind is DeliveryKind.MESSAGE:
                        acks.on_copy_failed(work, ctx, delivery)
        if self._progress is not None:
            self._progress(len(batch))

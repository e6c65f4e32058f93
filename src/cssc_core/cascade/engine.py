"""The cascade engine: the one object an embedder drives to send messages and keep cascades moving.

:class:`CascadeEngine` ties together the store, the plugin host (channels and event hooks), a clock
and a random source. Every method that changes a cascade ends by dispatching what is due at its time;
:meth:`CascadeEngine.tick` processes every timer and delivery due by a time in time order, each at its
own scheduled time (SPEC.md section 10), so that a whole incident replays identically on a
:class:`~cssc_core.domain.clock.FakeClock`.

The synchronous methods run their own event loop and close the channels they opened before they
return. Code already inside an event loop awaits the ``a``-prefixed methods instead; those keep the
channels' connections open from one call to the next on the same loop, until
:meth:`CascadeEngine.aclose` (or the end of an ``async with engine:`` block).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol, TypeVar

import attrs

from cssc_core.cascade import acks, replies, timers
from cssc_core.cascade.commits import CommitGroups
from cssc_core.cascade.context import CascadeContext, send_channels
from cssc_core.cascade.dispatcher import Dispatcher
from cssc_core.cascade.heap import long_lived
from cssc_core.cascade.replies import ReplyClaim
from cssc_core.cascade.retry import RetryPolicy
from cssc_core.cascade.sender import persist_cascade, plan_for_store
from cssc_core.cascade.status import CascadeStatus
from cssc_core.cascade.work import Work
from cssc_core.channels.acks import AckClaim, AckSigner
from cssc_core.channels.config import AckSettings, ChannelFile
from cssc_core.channels.render import ACK_VALIDITY
from cssc_core.domain.clock import Clock, SystemClock
from cssc_core.domain.message import Message
from cssc_core.domain.network import Network
from cssc_core.errors import NotARecipientError, NotFoundError, UnmatchedReplyError, ValidationError
from cssc_core.plugins.manager import PluginHost
from cssc_core.routing.plan import RoutingPlan
from cssc_core.routing.policy import RoutingPolicy
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import CascadeRecord, Delivery, DeliveryStatus

__all__ = ["CascadeEngine", "Progress", "RunReport", "SendReport"]


class Progress(Protocol):
    """Hears how far a long dispatch has got (the command line draws a progress bar with it)."""

    def start(self, total: int) -> None:
        """About ``total`` deliveries are about to be dispatched."""
        ...

    def advance(self, count: int) -> None:
        """``count`` more deliveries were settled (recorded delivered, failed or to be retried)."""
        ...


@attrs.frozen
class RunReport:
    """What one run of the engine did.

    Attributes:
        until: The time it ran to.
        timers: Timers handled (relay deadlines, acknowledgement timeouts, expiry).
        dispatched: Deliveries claimed and sent (each attempt counts).
    """

    until: datetime
    timers: int = 0
    dispatched: int = 0


@attrs.frozen
class SendReport:
    """What sending a message did.

    Attributes:
        message: The message id.
        plan: Its routing plan.
        deliveries: How many deliveries and relay requests were written at once.
        run: The dispatch that followed.
    """

    message: str
    plan: RoutingPlan
    deliveries: int
    run: RunReport


T = TypeVar("T")

_KEPT_CONTEXTS = 64
"""How many cascades' contexts the engine keeps between calls (those read last)."""


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class CascadeEngine:
    """Sends messages and drives their cascades: relays, acknowledgements, escalation, retries, expiry.

    Args:
        store: Where everything is kept.
        host: The plugin host: channel plugins and event hooks (built-ins and installed plugins by
            default).
        clock: Where the time comes from (the system clock by default).
        rng: The random source of retry jitter (seed it to replay identically).
        retry: When temporary failures are tried again.
        channels: Channels to use instead of those stored with each cascade; when None, every
            cascade uses the configuration it was sent with (``send`` stores this one with new
            cascades, or the default file channels in ``./cssc-outbox``).
        lease_s: How long a claim on a delivery lasts before another worker may take it over.
        send_timeout_s: How long one call to a channel plugin may take; a call that takes longer
            fails its copies temporarily (they are tried again), so a hung plugin stops nothing.
        batch_size: How many deliveries one claim takes.
        worker: This worker's name on its leases (host, process and a random suffix by default).
        progress: Hears how far long dispatches have got.
        monotonic: The clock pacing rate-limited channels.
        sleep: How rate-limited channels wait.
    """

    def __init__(
        self,
        store: Store,
        *,
        host: PluginHost | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        retry: RetryPolicy | None = None,
        channels: ChannelFile | None = None,
        lease_s: float = 300.0,
        send_timeout_s: float = 120.0,
        batch_size: int = 500,
        worker: str | None = None,
        progress: Progress | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.host = host or PluginHost.load()
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.retry = retry or RetryPolicy()
        self.channels = channels
        self.lease_s = lease_s
        self.send_timeout_s = send_timeout_s
        self.batch_size = batch_size
        self.worker = worker or _worker_name()
        self.progress = progress
        self._monotonic = monotonic
        self._sleep = sleep
        self._network: Network | None = None
        self._revision: str | None = None
        self._contexts: dict[str, CascadeContext | None] = {}
        self._touched: dict[str, datetime] = {}
        self._dispatch: Dispatcher | None = None
        self._dispatch_loop: asyncio.AbstractEventLoop | None = None
        # Acknowledgements arriving together commit together (cascade/commits.py); the steps of a
        # group announce their events once the group's transaction has committed.
        self._commits = CommitGroups(self._group_transaction)
        self._deferred: list[Work] | None = None

    # --- the public API ----------------------------------------------------------------------------

    def plan(self, message: Message, *, policy: RoutingPolicy | None = None) -> RoutingPlan:
        """Plans a message over the stored network without sending it (updates and cancels reach
        whom their references reached)."""
        self._refresh()
        return plan_for_store(
            self.store, self._load_network(), message, policy, self.channels or send_channels()
        )

    def send(self, message: Message, *, policy: RoutingPolicy | None = None) -> SendReport:
        """Sends a message: plans it, persists its whole cascade in one transaction, dispatches what is due.

        What fell due before the send (by the clock) is processed first, in time order.

        Raises:
            ValidationError: when the store already holds a message with this id, holds no network,
                or the message names what the network lacks or references an unknown message.
        """
        return self._once(self.asend(message, policy=policy))

    async def asend(self, message: Message, *, policy: RoutingPolicy | None = None) -> SendReport:
        """:meth:`send`, inside a running event loop."""
        self._refresh()
        at = self.clock.now()
        if self.store.get_message(message.id) is not None:
            raise ValidationError.single(
                "$.id",
                f"message {message.id!r} is already stored; an update is a new message that references it",
            )
        # What fell due before this send happened first, as with a process running all along: an
        # update or cancel reaches whom earlier messages had reached by now.
        before = await self._run(at)
        setup = self.channels or send_channels()
        network = self._load_network()
        with long_lived():  # the plan stays with the cascade's context
            plan = plan_for_store(self.store, network, message, policy, setup)
            ctx = CascadeContext(message, plan, setup, network)
            with self._work(at) as work:
                deliveries = persist_cascade(work, ctx, self._context)
        self._contexts[message.id] = ctx
        if self.progress is not None:
            self.progress.start(sum(1 for d in deliveries if d.status is DeliveryStatus.CREATED))
        run = await self._run(at)
        total = RunReport(at, before.timers + run.timers, before.dispatched + run.dispatched)
        return SendReport(message.id, plan, len(deliveries), total)

    def tick(self, until: datetime | None = None) -> RunReport:
        """Processes every timer and delivery due by ``until`` (default: now), in time order, each at
        its own scheduled time, until nothing more is due by then."""
        return self._once(self.arun(until))

    async def arun(self, until: datetime | None = None) -> RunReport:
        """:meth:`tick`, inside a running event loop."""
        self._refresh()
        return await self._run(until or self.clock.now())

    async def _run(self, until: datetime, claimed: Sequence[Delivery] = ()) -> RunReport:
        handled = dispatched = 0
        dispatcher = self._open_dispatcher()
        if claimed:
            dispatched += await dispatcher.dispatch(until, claimed)
        floor: datetime | None = None
        while True:
            due = self.store.next_due()
            if due is None or due > until:
                break
            at = due if floor is None else max(due, floor)
            floor = at
            fired = self._fire_timers(at)
            sent = await dispatcher.dispatch(at)
            handled, dispatched = handled + fired, dispatched + sent
            if not fired and not sent:
                break
        self._finish_touched()
        return RunReport(until, handled, dispatched)

    def acknowledge(self, message_id: str, contact_id: str, *, via: str | None = None) -> bool:
        """Records that a contact acknowledged a message, then dispatches what that makes due.

        From an ISL of a relayed cell, the acknowledgement also releases the cell.

        Returns:
            False when the contact had already acknowledged it (nothing changes).

        Raises:
            NotFoundError: for an unknown message or contact.
            NotARecipientError: when the contact is neither a recipient nor an ISL of the message.
        """
        return self._once(self.aacknowledge(message_id, contact_id, via=via))

    async def aacknowledge(self, message_id: str, contact_id: str, *, via: str | None = None) -> bool:
        """:meth:`acknowledge`, inside a running event loop."""
        self._refresh()
        at = self.clock.now()
        ctx = self._context(message_id)
        if ctx is None:
            raise NotFoundError(f"unknown message {message_id!r}")
        if not ctx.network.has_contact(contact_id):
            raise NotFoundError(f"unknown contact {contact_id!r}")
        if ctx.recipient(contact_id) is None and not ctx.relayed_cells_of_isl(contact_id):
            raise NotARecipientError(
                f"contact {contact_id!r} is neither a recipient nor an ISL of message {message_id!r}"
            )
        # What fell due before the acknowledgement happened first (a timeout at +10m before an
        # acknowledgement at +12m), as it would have with a process running all along.
        await self._run(at)
        dispatcher = self._open_dispatcher()

        def step() -> tuple[bool, list[Delivery]]:
            with self._work(at) as work:
                new = acks.acknowledge(work, ctx, contact_id, via)
                # What it made due (a released cell's copies) is claimed in the same transaction:
                # the rows it just wrote are written again before the commit, not in one of their own.
                return new, dispatcher.claim(work, at) if work.releases else []

        # Acknowledgements awaited concurrently (a portal's requests) share one commit.
        new, claimed = await self._commits.run(step)
        if new:
            await self._run(at, claimed)
        return new

    def acknowledge_token(self, token: str, *, via: str | None = "link") -> tuple[AckClaim, bool]:
        """Records the acknowledgement a signed link carries, then dispatches what that makes due.

        An embedder's portal only routes the request: it passes on the token (the link's ``t``
        parameter) and the engine verifies it with the key of the message's cascade (the channel
        configuration's ``[acks]``; the store's key by default).

        Returns:
            The token's claim (message and contact) and whether the acknowledgement was new.

        Raises:
            AckTokenError: when the token is malformed, forged, altered or expired.
            NotFoundError: for a message or contact the store does not hold.
            NotARecipientError: when the contact is neither a recipient nor an ISL of the message.
        """
        return self._once(self.aacknowledge_token(token, via=via))

    async def aacknowledge_token(self, token: str, *, via: str | None = "link") -> tuple[AckClaim, bool]:
        """:meth:`acknowledge_token`, inside a running event loop."""
        self._refresh()
        if self.channels is not None:
            settings = self.channels.acks
        else:
            ctx = self._context(AckSigner.message_of(token))
            settings = ctx.channels.acks if ctx is not None else AckSettings()
        claim = settings.signer(self.store).verify(token, self.clock.now())
        new = await self.aacknowledge(claim.message, claim.contact, via=via)
        return claim, new

    def acknowledge_reply(
        self, phone: str, text: str, *, via: str | None = "sms-reply"
    ) -> tuple[ReplyClaim, bool]:
        """Records the acknowledgement an SMS reply carries, then dispatches what that makes due.

        An embedder's portal passes on what its SMS gateway's inbound webhook received: the number
        the reply came from and its text. The contacts with that number (several may share one)
        are tried in turn, against every cascade of which they are a recipient or an ISL that is
        still open to replies: as long as a link in the same copy would work (until the message
        expires; when it never does, until seven days after it was sent). The reply matches when
        its text is one's code, alone or after the word ``ACK``, in any case, spacing and
        punctuation (:meth:`~cssc_core.channels.acks.AckSigner.match_reply`). Each code is checked
        with the key of its cascade (the channel configuration's ``[acks]``; the store's key by
        default).

        Args:
            phone: The sending number, in any form a gateway writes it (``+447400123456``,
                ``447400123456``, ``07400 123456``).
            text: The reply.
            via: How the acknowledgement came, as recorded with it.

        Returns:
            The reply's claim (message and contact) and whether the acknowledgement was new (a
            repeated reply, or one a gateway delivered twice, changes nothing).

        Raises:
            ValidationError: when ``phone`` is not a phone number.
            UnmatchedReplyError: when no contact has the number, or the text is not the code of a
                message open to replies from one that has (the error never repeats the text).
        """
        return asyncio.run(self.aacknowledge_reply(phone, text, via=via))

    async def aacknowledge_reply(
        self, phone: str, text: str, *, via: str | None = "sms-reply"
    ) -> tuple[ReplyClaim, bool]:
        """:meth:`acknowledge_reply`, inside a running event loop."""
        self._refresh()
        at = self.clock.now()
        contacts = replies.senders(self._load_network(), replies.sender_number(phone))
        if not contacts:
            raise UnmatchedReplyError("no contact has the number the reply came from", known_sender=False)
        signers: dict[AckSettings, AckSigner] = {}

        def signer_of(ctx: CascadeContext) -> AckSigner:
            settings = self.channels.acks if self.channels is not None else ctx.channels.acks
            if settings not in signers:
                signers[settings] = settings.signer(self.store)
            return signers[settings]

        claim = replies.match(text, contacts, self._open_cascades(at), signer_of, at)
        if claim is None:
            raise UnmatchedReplyError(
                "the reply is not the code of any message awaiting an acknowledgement from its number",
                known_sender=True,
            )
        new = await self.aacknowledge(claim.message, claim.contact, via=via)
        return claim, new

    def resume(self) -> RunReport:
        """Continues every unfinished cascade after a crash: deliveries left ``sending`` by a dead
        process are taken back (a copy in flight then may go twice), then everything due is processed.

        Run it when no other process is dispatching from the same store.
        """
        return self._once(self.aresume())

    async def aresume(self) -> RunReport:
        """:meth:`resume`, inside a running event loop."""
        self._refresh()
        at = self.clock.now()
        for cascade in self.store.cascades(unfinished=True):
            in_flight = [
                ref for ref in self.store.undelivered(cascade.message) if ref.status == DeliveryStatus.SENDING
            ]
            with self._work(at) as work:
                work.touched.add(cascade.message)
                work.update(
                    cascade.message, in_flight, DeliveryStatus.CREATED, "taken back after an interruption"
                )
        return await self._run(at)

    def status(self, message_id: str) -> CascadeStatus:
        """How a message's cascade stands.

        Raises:
            NotFoundError: when the store holds no such message or no cascade of it.
        """
        record = self.store.get_message(message_id)
        cascade = self.store.get_cascade(message_id)
        if record is None or cascade is None:
            raise NotFoundError(f"unknown message {message_id!r}")
        return CascadeStatus.build(
            record,
            cascade,
            self.store.deliveries_of(message_id),
            self.store.load_network(),
            len(self.store.acknowledgements(message_id)),
        )

    async def aclose(self) -> None:
        """Closes the channels the ``a``-prefixed methods opened (their connections are kept open
        from one call to the next on the same event loop)."""
        dispatcher, self._dispatch = self._dispatch, None
        if dispatcher is not None:
            await dispatcher.aclose()

    async def __aenter__(self) -> CascadeEngine:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- the machinery -----------------------------------------------------------------------------

    def _once(self, call: Coroutine[Any, Any, T]) -> T:
        """Runs an ``a``-prefixed method in an event loop of its own, closing its channels before the
        loop ends (a synchronous call keeps no connection open)."""

        async def once() -> T:
            try:
                return await call
            finally:
                await self.aclose()

        return asyncio.run(once())

    def _open_dispatcher(self) -> Dispatcher:
        # Channels (an HTTP session, SMTP connections) belong to the event loop they were opened on:
        # a dispatcher is kept for calls on the same loop, so that acknowledgements arriving one by
        # one reuse the connections rather than opening new ones each time.
        loop = asyncio.get_running_loop()
        if self._dispatch is None or self._dispatch_loop is not loop:
            self._dispatch, self._dispatch_loop = self._dispatcher(), loop
        return self._dispatch

    def _refresh(self) -> None:
        # The network may have changed since the last call (an import, an erasure, perhaps by another
        # process): it is read again when the store's revision says so. A cascade's message and plan
        # never change once stored, so its context is kept with the network it was read with; what
        # a context learnt during a call (the settled cells) is forgotten, as another process may
        # have moved the cascade on since.
        revision = self.store.network_revision()
        if revision is None or revision != self._revision:
            self._network = None
            self._contexts.clear()
            self._revision = revision
        for message_id, ctx in list(self._contexts.items()):
            if ctx is None:
                del self._contexts[message_id]  # a message another process may send meanwhile
            else:
                ctx.settled_current = False
        while len(self._contexts) > _KEPT_CONTEXTS:
            del self._contexts[next(iter(self._contexts))]

    def _load_network(self) -> Network:
        if self._network is None:
            with long_lived():
                network = self.store.load_network()
            if network is None:
                raise ValidationError.single(
                    "--db", "the store holds no network: load one with cssc import first"
                )
            self._network = network
        return self._network

    def _context(self, message_id: str, cascade: CascadeRecord | None = None) -> CascadeContext | None:
        if message_id not in self._contexts:
            record = self.store.get_message(message_id)
            cascade = cascade or self.store.get_cascade(message_id)
            ctx = None
            if record is not None and cascade is not None:
                network = self._load_network()
                with long_lived():
                    ctx = CascadeContext.load(record, cascade, network, self.channels)
            self._contexts[message_id] = ctx
        return self._contexts[message_id]

    def _open_cascades(self, at: datetime) -> Iterator[CascadeContext]:
        """The cascades that may still take replies at ``at``, oldest first: the running ones and
        those started within a link's lifetime (a finished cascade still takes a late reply, and a
        repeated one, while its links work)."""
        found = {c.message: c for c in self.store.cascades(since=at - ACK_VALIDITY)}
        found.update((c.message, c) for c in self.store.cascades(unfinished=True))
        for cascade in sorted(found.values(), key=lambda c: (c.started_at, c.message)):
            ctx = self._context(cascade.message, cascade)
            if ctx is not None:
                yield ctx

    @contextmanager
    def _work(self, at: datetime, *, durable: bool = True) -> Iterator[Work]:
        work = Work(self.store, at, watched=self.host.listens("cssc_delivery_status_changed"))
        try:
            with self.store.transaction(durable=durable):
                yield work
        except BaseException:
            self._forget_settled()
            raise
        for message in work.touched:
            self._touched[message] = max(at, self._touched.get(message, at))
        if self._deferred is not None:
            self._deferred.append(work)
        else:
            self._announce(work)

    @contextmanager
    def _group_transaction(self) -> Iterator[None]:
        """The transaction of a group of steps (:class:`CommitGroups`): the events of the steps'
        work are announced once it has committed, in the order the steps ran."""
        deferred: list[Work] = []
        self._deferred = deferred
        try:
            with self.store.transaction():
                yield
        except BaseException:
            self._forget_settled()
            raise
        finally:
            self._deferred = None
        for work in deferred:
            self._announce(work)

    def _forget_settled(self) -> None:
        # What the contexts learnt inside a transaction that rolled back went with it.
        for ctx in self._contexts.values():
            if ctx is not None:
                ctx.settled = None

    def _finish_touched(self) -> None:
        """Marks finished the cascades touched in this run that have nothing left to do, as of the
        last step that touched each (checked once per run rather than after every step)."""
        touched, self._touched = self._touched, {}
        for message, at in sorted(touched.items()):
            # Two indexed lookups first: the cascade record holds the whole plan, read only when
            # nothing is left to do.
            if self.store.timers_of(message, limit=1) or self.store.undelivered(message, limit=1):
                continue
            cascade = self.store.get_cascade(message)
            if cascade is None or cascade.is_finished:
                continue
            with self._work(at) as work:
                self.store.finish_cascade(message, at)
                work.audit("cascade-finished", message)
            self._touched.pop(message, None)

    def _announce(self, work: Work) -> None:
        if work.routed and self.host.listens("cssc_message_routed"):
            for message, plan in work.routed:
                self.host.message_routed(message, plan.to_document(), work.at)
        self.host.delivery_status_changed(work.changes)
        for acknowledgement in work.acknowledgements:
            self.host.acknowledgement_received(acknowledgement)
        for release in work.releases:
            self.host.relay_released(release)

    def _fire_timers(self, at: datetime) -> int:
        fired = 0
        while due := self.store.due_timers(at, self.batch_size):
            # A batch of timers in one transaction: thousands of acknowledgement timeouts fall due
            # together on a national cascade, and a crash still leaves each either done or due.
            with self._work(at) as work:
                for timer in due:
                    ctx = self._context(timer.message)
                    if ctx is None:
                        work.remove_timers(timer.message, [timer.id])
                    else:
                        timers.handle(work, ctx, timer)
            fired += len(due)
        return fired

    def _dispatcher(self) -> Dispatcher:
        return Dispatcher(
            store=self.store,
            host=self.host,
            contexts=self._context,
            work=self._work,
            retry=self.retry,
            rng=self.rng,
            lease_s=self.lease_s,
            send_timeout_s=self.send_timeout_s,
            batch_size=self.batch_size,
            worker=self.worker,
            now=self.clock.now,
            progress=self.progress.advance if self.progress is not None else None,
            monotonic=self._monotonic,
            sleep=self._sleep,
        )

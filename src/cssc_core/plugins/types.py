"""The records plugins return from registration hooks, and the shapes of what they provide.

One record class per registration hook: :class:`StorageBackend` for ``cssc_storage_backends`` and
:class:`ChannelPlugin` for ``cssc_delivery_channels``. A channel plugin's factory turns a configured
channel's :class:`ChannelSettings` into a sender following :class:`Channel` (async) or
:class:`BlockingChannel` (plain functions, run in a worker thread by :func:`as_async`).
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, Protocol, TypeAlias, cast, runtime_checkable

import attrs

from cssc_core.errors import Problem, ValidationError
from cssc_core.storage.protocol import Store
from cssc_core.storage.records import (
    Delivery,
    DeliveryKind,
    DeliveryRef,
    DeliveryStatus,
    kind_of,
    status_of,
)

__all__ = [
    "BlockingChannel",
    "Capability",
    "Channel",
    "ChannelFactory",
    "ChannelPlugin",
    "ChannelSettings",
    "DeliveryStatusChange",
    "Outgoing",
    "SendResult",
    "StorageBackend",
    "as_async",
    "sends_concurrently",
]

Capability: TypeAlias = Literal["secure", "public"]
"""The capability flags a channel may carry (SPEC.md section 6)."""


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _capabilities(value: Iterable[str]) -> frozenset[Capability]:
    flags = frozenset(value)
    unknown = flags - {"secure", "public"}
    if unknown:
        raise ValueError(f"unknown capability flags: {', '.join(sorted(unknown))} (secure, public)")
    return cast(frozenset[Capability], flags)


@attrs.frozen
class StorageBackend:
    """A storage backend a plugin provides.

    Attributes:
        name: Unique among installed backends (``sqlite``, ``memory``, ``postgresql``).
        schemes: The URL schemes it opens (``sqlite`` for ``sqlite:///cssc.db``); unique too.
        open: Opens a store from a URL of one of its schemes; raises
            :class:`~cssc_core.errors.ValidationError` for a URL it cannot use.
        description: One line for ``cssc plugins``.
    """

    name: str
    schemes: tuple[str, ...] = attrs.field(converter=_strings)
    open: Callable[[str], Store]
    description: str = ""


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _environment() -> Mapping[str, str]:
    return dict(os.environ)


@attrs.frozen
class ChannelSettings:
    """One configured channel, as a channel factory receives it.

    Attributes:
        name: The channel's name, as contacts list it (``email``, ``pager``).
        type: The plugin that delivers it (``smtp``, ``file``).
        address: Which contact field it delivers to: ``email``, ``phone`` or ``webhook``.
        secure: Whether it may carry TLP:AMBER and stricter bodies.
        public: Whether it is public (TLP:GREEN and stricter then refuse it).
        concurrency: How many deliveries may be in flight on it at once.
        rate_per_s: At most this many deliveries a second; 0 for no limit.
        options: The plugin's own settings; secrets appear only as ``<name>_env`` keys naming an
            environment variable.
        environ: Where :meth:`secret` reads environment variables from (the process environment
            by default); never shown in a repr.
    """

    name: str
    type: str
    address: str
    secure: bool = False
    public: bool = False
    concurrency: int = 10
    rate_per_s: float = 0.0
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    environ: Mapping[str, str] = attrs.field(factory=_environment, repr=False, eq=False)

    def secret(self, key: str) -> str:
        """The value of the secret ``key``, read from the variable that option ``<key>_env`` names.

        Raises:
            ValidationError: when the option or the variable is missing (naming the variable, never
                a value).
        """
        path = f"$.channels.{self.name}.{key}_env"
        variable = self.options.get(f"{key}_env")
        if not isinstance(variable, str) or not variable:
            raise ValidationError.single(
                path, "required setting missing (the name of an environment variable)"
            )
        value = self.environ.get(variable)
        if value is None:
            raise ValidationError.single(path, f"environment variable {variable} is not set")
        return value


@attrs.frozen
class Outgoing:
    """One copy to send: a delivery with its address and its rendered text.

    Attributes:
        delivery: The delivery id.
        message: The message id.
        contact: The receiving contact's id.
        channel: The channel name.
        address: Where to: an email address, an E.164 phone number or a webhook URL.
        kind: ``message``, ``relay-request`` or ``escalation``.
        idempotency_key: Stable across retries; a receiver may drop a copy it has seen.
        subject: The subject line, the marking first.
        body: The text, the marking on its first line.
        marking: The TLP marking (``TLP:GREEN``).
        language: ``en`` or ``cy``.
        payload: A JSON-ready document for channels that post structured data.
    """

    delivery: str
    message: str
    contact: str
    channel: str
    address: str
    kind: str
    idempotency_key: str
    subject: str
    body: str
    marking: str = ""
    language: str = "en"
    payload: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)

    def to_document(self) -> dict[str, Any]:
        """The copy as one JSON object (the file channel's line, SPEC.md section 7)."""
        document = attrs.asdict(self, recurse=False)
        document["payload"] = _plain(self.payload)
        return document


def _plain(value: Any) -> Any:
    # Read-only mappings (a payload shares its message's part between copies) as plain dicts.
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


_SENT_STATUSES = frozenset(
    {DeliveryStatus.DELIVERED, DeliveryStatus.TEMPORARY_FAILURE, DeliveryStatus.PERMANENT_FAILURE}
)


def _sent_status(value: DeliveryStatus | str) -> DeliveryStatus:
    status = DeliveryStatus(value)
    if status not in _SENT_STATUSES:
        raise ValueError(f"a channel reports delivered, temporary-failure or permanent-failure, not {status}")
    return status


@attrs.frozen
class SendResult:
    """What a channel did with one copy.

    Attributes:
        delivery: The delivery id.
        status: ``delivered``, ``temporary-failure`` (retried later) or ``permanent-failure``
            (not retried; for an ``ack = "required"`` contact the next channel is tried at once).
        reason: Why it failed, without the address or the message text.
        retry_after_s: For a temporary failure, the least wait the receiver asked for, if any.
        provider_fault: Whether the failure is the provider's (an outage, refused credentials) rather
            than the copy's (a mailbox that does not exist). None means: temporary failures are the
            provider's, permanent ones are not. Failover (:mod:`cssc_core.channels.failover`) moves
            weight away from a provider only for its own faults.
    """

    delivery: str
    status: DeliveryStatus = attrs.field(converter=_sent_status)
    reason: str | None = None
    retry_after_s: float | None = None
    provider_fault: bool | None = None

    @property
    def counts_against_provider(self) -> bool:
        """Whether this result is an error of the provider that sent it (see ``provider_fault``)."""
        if self.status is DeliveryStatus.DELIVERED:
            return False
        if self.provider_fault is not None:
            return self.provider_fault
        return self.status is DeliveryStatus.TEMPORARY_FAILURE

    @classmethod
    def delivered(cls, delivery: str) -> SendResult:
        """The copy was accepted."""
        return cls(delivery, DeliveryStatus.DELIVERED)

    @classmethod
    def temporary(cls, delivery: str, reason: str, retry_after_s: float | None = None) -> SendResult:
        """The copy may get through later (timeouts, 5xx, 429, dropped connections)."""
        return cls(delivery, DeliveryStatus.TEMPORARY_FAILURE, reason, retry_after_s)

    @classmethod
    def permanent(cls, delivery: str, reason: str, *, provider_fault: bool = False) -> SendResult:
        """The copy will never get through this way (unknown mailbox, 4xx, refused address).

        Args:
            delivery: The delivery id.
            reason: Why, without the address or the message text.
            provider_fault: True when the provider is to blame (it refused our credentials, say),
                so that failover counts it against the provider.
        """
        return cls(delivery, DeliveryStatus.PERMANENT_FAILURE, reason, provider_fault=provider_fault)


@runtime_checkable
class Channel(Protocol):
    """A sender for one configured channel, driven by the dispatcher on its event loop.

    The dispatcher calls :meth:`send` from several tasks at once, up to the channel's
    ``concurrency``; a sender shares what it may (connections, sessions) between calls.

    A sender whose :meth:`send` itself spreads a batch over its connections, up to the channel's
    ``concurrency``, says so with a class attribute ``sends_concurrently = True``
    (:func:`sends_concurrently`): the dispatcher then gives it each claimed batch of its copies in
    one call, rather than in ``concurrency`` smaller calls for its tasks to run side by side.
    """

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Sends a batch of copies and reports one result per copy.

        A copy it reports nothing for counts as a temporary failure; an exception fails the whole
        batch temporarily. It must not raise for one bad copy: report that copy's failure instead.
        """
        ...

    async def aclose(self) -> None:
        """Closes connections; called once when the dispatcher is done with the channel."""
        ...


@runtime_checkable
class BlockingChannel(Protocol):
    """A sender written with plain (blocking) functions; :func:`as_async` runs them in a thread."""

    def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """As :meth:`Channel.send`, blocking."""
        ...

    def close(self) -> None:
        """As :meth:`Channel.aclose`, blocking."""
        ...


ChannelFactory: TypeAlias = Callable[[ChannelSettings], Channel | BlockingChannel]
"""Makes a sender from a channel's settings; raises ValidationError for bad settings."""


class _ThreadedChannel:
    """Runs a blocking sender's calls in a worker thread, one at a time."""

    def __init__(self, inner: BlockingChannel) -> None:
        self._inner = inner
        self._lock = asyncio.Lock()

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        async with self._lock:
            return await asyncio.to_thread(self._inner.send, batch)

    async def aclose(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._inner.close)

    def __repr__(self) -> str:
        return f"as_async({self._inner!r})"


def sends_concurrently(sender: object) -> bool:
    """Whether ``sender`` spreads one batch over its own connections: its ``sends_concurrently``
    attribute, False when it has none (a sender that sends a batch's copies one after another)."""
    return getattr(sender, "sends_concurrently", False) is True


def as_async(sender: Channel | BlockingChannel) -> Channel:
    """The sender as a :class:`Channel`: async senders as they are, blocking ones run in a thread."""
    if inspect.iscoroutinefunction(sender.send):
        return cast(Channel, sender)
    return _ThreadedChannel(cast(BlockingChannel, sender))


@attrs.frozen
class ChannelPlugin:
    """A delivery channel plugin a plugin provides.

    Attributes:
        name: The ``type`` that channel files name (``smtp``, ``file``, ``pager``); unique among
            installed channel plugins.
        factory: Makes a sender for one configured channel.
        description: One line for ``cssc plugins``.
        refuses: Capability flags the plugin cannot honour (``sms-http`` refuses ``secure``): a
            channel of this type configured with such a flag is bad input.
    """

    name: str
    factory: ChannelFactory
    description: str = ""
    refuses: frozenset[Capability] = attrs.field(default=frozenset(), converter=_capabilities)

    def problems(self, settings: ChannelSettings) -> list[Problem]:
        """What is wrong with configuring ``settings`` on this plugin (flags it refuses)."""
        flags: dict[Capability, bool] = {"secure": settings.secure, "public": settings.public}
        return [
            Problem(f"$.channels.{settings.name}.{flag}", f"the {self.name} plugin cannot be {flag}")
            for flag in sorted(self.refuses)
            if flags[flag]
        ]

    def open(self, settings: ChannelSettings) -> Channel:
        """Checks the settings against what the plugin refuses, then makes an async sender.

        Raises:
            ValidationError: when a refused flag is set, or the factory rejects the settings.
        """
        problems = self.problems(settings)
        if problems:
            raise ValidationError(problems)
        return as_async(self.factory(settings))


@attrs.frozen
class DeliveryStatusChange:
    """A delivery's status changed (what ``cssc_delivery_status_changed`` receives, one per delivery).

    Flat on purpose: whoever writes a change has these fields at hand (a claimed :class:`Delivery`,
    a :class:`~cssc_core.storage.records.DeliveryRef` from ``undelivered``) without reading the store
    again.

    Attributes:
        delivery: The delivery id.
        message: Its message id.
        contact: The receiving contact's id.
        channel: The channel name.
        kind: ``message``, ``relay-request`` or ``escalation``.
        previous: The status before, or None when the delivery was just created.
        status: The status now.
        at: When it changed.
        reason: Why, for failures and cancels; never an address or message text.
    """

    delivery: str
    message: str
    contact: str
    channel: str
    kind: DeliveryKind = attrs.field(converter=kind_of)
    previous: DeliveryStatus | None
    status: DeliveryStatus = attrs.field(converter=status_of)
    at: datetime
    reason: str | None = None

    @classmethod
    def of(
        cls,
        delivery: Delivery | DeliveryRef,
        message: str,
        previous: DeliveryStatus | str | None,
        status: DeliveryStatus | str,
        at: datetime,
        reason: str | None = None,
    ) -> DeliveryStatusChange:
        """The change of ``delivery`` (a record or a ref) from ``previous`` to ``status``."""
        return cls(
            delivery=delivery.id,
            message=message,
            contact=delivery.contact,
            channel=delivery.channel,
            kind=delivery.kind,
            previous=None if previous is None else status_of(previous),
            status=status,
            at=at,
            reason=reason,
        )

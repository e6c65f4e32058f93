"""The ``webhook`` channel: each copy POSTed as signed JSON to the contact's URL (the ``webhook`` extra).

Settings:

| setting | meaning |
|---|---|
| ``secret_env`` | environment variable holding the HMAC-SHA256 key (required) |
| ``require_https`` | refuse ``http://`` URLs (default true) |
| ``allow_private`` | allow loopback, private, link-local and other non-global targets (default false) |
| ``timeout_s`` | for the whole request (default 10) |

The body is the copy's JSON document (``format`` ``cssc-copy/1``: message fields, subject, body,
ack link); headers ``X-CSSC-Signature: sha256=<hex HMAC of the body>``, ``Idempotency-Key`` and
``X-CSSC-Delivery``. Redirects are not followed (a 3xx is a permanent failure). 2xx is delivered;
5xx, 408, 429 (honouring ``Retry-After``), timeouts and dropped connections are temporary; any other
4xx is permanent. The URL comes from a contact record, so the SSRF guard of
:mod:`cssc_core.channels.ssrf` checks it before the request and checks each address just before a
socket is opened to it.

The requests go through :class:`cssc_core.channels.http.HttpClient`, a small keep-alive HTTP/1.1
client on asyncio itself, rather than aiohttp: on a national cascade the client's CPU per request
was the largest single cost, and aiohttp's spent most of it on machinery a webhook never uses (the
channel benchmark's figures are in ``docs/channels.md``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from cssc_core.channels.http import HttpClient, InvalidRequestError, Resolver, Response
from cssc_core.channels.render import COPY_FORMAT
from cssc_core.channels.ssrf import ForbiddenAddressError, GuardedSocketFactory, check_url, find_forbidden
from cssc_core.errors import ValidationError
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult

__all__ = [
    "DocumentEncoder",
    "WebhookChannel",
    "cssc_delivery_channels",
    "document_of",
    "encode_document",
    "make_channel",
    "outcome",
]


def document_of(item: Outgoing) -> Mapping[str, Any]:
    """The JSON document posted for a copy: its rendered ``payload`` (``cssc-copy/1``)."""
    if item.payload:
        return item.payload
    document = item.to_document()
    del document["address"], document["payload"]
    return {"format": COPY_FORMAT, **document}


_encode_string = json.encoder.encode_basestring_ascii  # the C encoder json.dumps uses
_BLOCK = 64  # SHA-256's block size, in bytes: HMAC pads (or first hashes) the key to it
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


def encode_document(document: Mapping[str, Any], memo: dict[int, tuple[object, str]] | None = None) -> bytes:
    """``document`` as compact ASCII JSON, what ``json.dumps`` would write.

    Copies of one message share objects (the message's part of the document, the body): ``memo``
    keeps the encoding of each large value by identity, so that it is encoded once per message
    rather than once per recipient.
    """
    parts = [f"{_encode_string(key)}:{_encode_value(value, memo)}" for key, value in document.items()]
    return ("{" + ",".join(parts) + "}").encode("ascii")


def _encode_value(value: Any, memo: dict[int, tuple[object, str]] | None) -> str:
    if isinstance(value, str) and len(value) < 64:
        return _encode_string(value)
    if value is None:
        return "null"
    entry = memo.get(id(value)) if memo is not None else None
    if entry is not None and entry[0] is value:
        return entry[1]
    encoded = (
        _encode_string(value) if isinstance(value, str) else json.dumps(_plain(value), separators=(",", ":"))
    )
    if memo is not None:
        if len(memo) > 256:
            memo.clear()
        memo[id(value)] = (value, encoded)  # the value kept alive, so that its id is not reused
    return encoded


_UNSEEN = object()
_SHAPES_KEPT = 64


class DocumentEncoder:
    """Encodes documents one after another, each as :func:`encode_document` would.

    A message's copies have the same keys in the same order, and most of their values are the very
    same objects (the message's part, the body, the format, the kind): for each sequence of keys the
    encoder keeps the encoded names and, at each place, the last value with its encoding, so that
    a copy costs the encoding of only the values that are its own (delivery, contact, key, subject).
    Like :func:`encode_document`'s ``memo``, it takes a value that is the same object as before to
    be unchanged.
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[object, str]] = {}
        # By the keys in order: each place's name (with the "{" or "," before it), last value, and
        # the two encoded.
        self._shapes: dict[tuple[Any, ...], tuple[list[str], list[object], list[str]]] = {}

    def encode(self, document: Mapping[str, Any]) -> bytes:
        """``document`` as compact ASCII JSON, what ``json.dumps`` would write."""
        keys = tuple(document)
        shape = self._shapes.get(keys)
        if shape is None:
            if not keys:
                return b"{}"
            if len(self._shapes) >= _SHAPES_KEPT:
                self._shapes.clear()
            names = [("," if index else "{") + _encode_string(key) + ":" for index, key in enumerate(keys)]
            shape = self._shapes[keys] = (names, [_UNSEEN] * len(keys), [""] * len(keys))
        names, seen, encoded = shape
        parts = []
        for index, value in enumerate(document.values()):
            if value is not seen[index]:
                seen[index] = value
                encoded[index] = names[index] + _encode_value(value, self._memo)
            parts.append(encoded[index])
        parts.append("}")
        return "".join(parts).encode("ascii")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def outcome(delivery: str, status: int, retry_after: str | None = None) -> SendResult:
    """The result of an HTTP answer: 2xx delivered; 5xx, 408, 429 temporary; 3xx and other 4xx permanent."""
    if 200 <= status < 300:
        return SendResult.delivered(delivery)
    if status >= 500 or status in (408, 429):
        return SendResult.temporary(delivery, f"HTTP {status}", _retry_after(retry_after))
    if 300 <= status < 400:
        return SendResult.permanent(delivery, f"HTTP {status}: redirects are not followed")
    return SendResult.permanent(delivery, f"HTTP {status}")


def _result(delivery: str, answer: Response | Exception) -> SendResult:
    # What the client's answer to a copy makes of it; an error no copy could cause is raised.
    if isinstance(answer, Response):
        return outcome(delivery, answer.status, answer.headers.get("retry-after"))
    if isinstance(answer, TimeoutError):
        return SendResult.temporary(delivery, "timed out")
    if isinstance(answer, InvalidRequestError):
        return SendResult.permanent(delivery, f"webhook request refused: {answer}")
    if isinstance(answer, OSError):
        forbidden = find_forbidden(answer)
        if forbidden is not None:
            return SendResult.permanent(delivery, f"webhook URL refused: {forbidden}")
        return SendResult.temporary(delivery, type(answer).__name__)
    raise answer


class WebhookChannel:
    """Posts copies over one shared HTTP client (made on first use, on the dispatcher's loop).

    Args:
        secret: The HMAC key (never shown).
        require_https: Refuse http URLs.
        allow_private: Allow non-global targets.
        timeout_s: Timeout for each request.
        concurrency: Connections at most.
        resolver: Resolves host names (``loop.getaddrinfo`` when None; tests inject one).
        socket_factory: The guard that checks each address before connecting (tests wrap it).
    """

    sends_concurrently = True
    """A batch goes out on up to ``concurrency`` connections at once (``HttpClient.post_each``)."""

    def __init__(
        self,
        *,
        secret: bytes,
        require_https: bool = True,
        allow_private: bool = False,
        timeout_s: float = 10.0,
        concurrency: int = 10,
        resolver: Resolver | None = None,
        socket_factory: GuardedSocketFactory | None = None,
    ) -> None:
        # HMAC-SHA256 (RFC 2104) with the key's two padded blocks hashed once: each signature then
        # copies the two states and hashes the body, rather than keying OpenSSL afresh, which cost
        # twice as much a copy.
        key = (hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret).ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_INNER_PAD))
        self._outer = hashlib.sha256(key.translate(_OUTER_PAD))
        self.require_https = require_https
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.guard = socket_factory or GuardedSocketFactory(allow_private=allow_private)
        self._resolver = resolver
        self._client: HttpClient | None = None
        self._encoder = DocumentEncoder()

    def __repr__(self) -> str:
        flags = f"require_https={self.require_https}, allow_private={self.allow_private}"
        return f"WebhookChannel(secret=<hidden>, {flags})"

    def _open(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient(
                limit=self.concurrency,
                timeout_s=self.timeout_s,
                socket_factory=self.guard,
                resolver=self._resolver,
                user_agent="cssc-core-webhook",
            )
        return self._client

    def sign(self, body: bytes) -> str:
        """The signature header's value for a body: ``sha256=<hex>``."""
        inner, outer = self._inner.copy(), self._outer.copy()
        inner.update(body)
        outer.update(inner.digest())
        return "sha256=" + outer.hexdigest()

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Posts every copy of the batch concurrently, on as many connections as it may open."""
        client = self._open()
        results: list[SendResult | None] = [None] * len(batch)
        posted: list[int] = []
        requests: list[tuple[str, bytes, Mapping[str, str] | None]] = []
        for index, item in enumerate(batch):
            try:
                check_url(item.address, require_https=self.require_https, allow_private=self.allow_private)
            except ForbiddenAddressError as error:
                results[index] = SendResult.permanent(item.delivery, f"webhook URL refused: {error}")
                continue
            body = self._encoder.encode(document_of(item))
            headers = {
                "X-CSSC-Signature": self.sign(body),
                "Idempotency-Key": item.idempotency_key,
                "X-CSSC-Delivery": item.delivery,
            }
            posted.append(index)
            requests.append((item.address, body, headers))
        for index, answer in zip(posted, await client.post_each(requests), strict=True):
            results[index] = _result(batch[index].delivery, answer)
        return cast(list[SendResult], results)

    async def aclose(self) -> None:
        """Closes the client and its connections."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _flag(settings: ChannelSettings, key: str, default: bool) -> bool:
    value = settings.options.get(key, default)
    if not isinstance(value, bool):
        raise ValidationError.single(f"$.channels.{settings.name}.{key}", "expected true or false")
    return value


def _seconds(settings: ChannelSettings, key: str, default: float) -> float:
    value = settings.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
        raise ValidationError.single(
            f"$.channels.{settings.name}.{key}", "expected seconds, more than 0, at most 600"
        )
    return float(value)


def make_channel(settings: ChannelSettings) -> WebhookChannel:
    """Checks the settings, reads the signing key from the environment, and makes the sender.

    Raises:
        ValidationError: for a malformed setting or an unset environment variable.
    """
    return WebhookChannel(
        secret=settings.secret("secret").encode(),
        require_https=_flag(settings, "require_https", True),
        allow_private=_flag(settings, "allow_private", False),
        timeout_s=_seconds(settings, "timeout_s", 10.0),
        concurrency=settings.concurrency,
    )


@hookimpl
def cssc_delivery_channels() -> Iterable[ChannelPlugin]:
    """The ``webhook`` channel type."""
    return [ChannelPlugin("webhook", make_channel, "signed JSON POSTed to HTTPS endpoints, SSRF-guarded")]

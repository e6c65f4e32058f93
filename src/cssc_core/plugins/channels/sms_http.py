"""The ``sms-http`` channel: a generic JSON SMS gateway client.

Settings:

| setting | meaning |
|---|---|
| ``url`` | the gateway's send endpoint (required) |
| ``token_env`` | variable holding a bearer token (or ``username_env`` and ``password_env``: basic auth) |
| ``body`` | the JSON document to post: a table of string templates (see below) |
| ``sender`` | the sender id the ``{sender}`` placeholder gives (default empty) |
| ``max_length`` | characters the gateway takes (default 160, at most 1600) |
| ``require_https`` | refuse an ``http://`` URL (default true) |
| ``allow_private`` | allow a gateway on a non-global address (default false) |
| ``timeout_s`` | per request (default 10) |

The ``body`` table's values are templates over ``{to}``, ``{text}``, ``{reference}`` (the
idempotency key), ``{delivery}`` and ``{sender}``; the default is
``{to = "{to}", text = "{text}", reference = "{reference}"}``.

The text is the copy's body cut to ``max_length`` with the marking line kept first and the reply
code line (``To acknowledge, reply ACK ...``) kept last. The document is built from the rendered
values and JSON-encoded whole, so no value can break out of its string. SMS is not secure: the
plugin refuses the ``secure`` flag, and refuses any copy marked TLP:AMBER or stricter that reaches
it anyway. 2xx is delivered; 5xx, 408, 429 and network errors are temporary; 401 and 403 are
permanent and the gateway's fault; any other 4xx is a permanent failure of the copy.

It posts with :class:`cssc_core.channels.http.HttpClient` (not aiohttp), the client the ``webhook``
channel uses, for the same reason: a fraction of aiohttp's CPU per request.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from cssc_core.channels.http import HttpClient, InvalidRequestError, Response
from cssc_core.channels.ssrf import ForbiddenAddressError, GuardedSocketFactory, check_url, find_forbidden
from cssc_core.channels.templates import Template
from cssc_core.errors import Problem, ValidationError
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult

__all__ = ["SmsHttpChannel", "cssc_delivery_channels", "cut", "make_channel"]

FIELDS = frozenset({"to", "text", "reference", "delivery", "sender"})
NOT_FOR_SMS = frozenset({"TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"})
_DEFAULT_BODY = {"to": "{to}", "text": "{text}", "reference": "{reference}"}
_ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: the first line (the marking) kept, and a last line
    holding a reply code kept, the middle cut with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    first, _, rest = text.partition("\n")
    head, _, last = rest.rpartition("\n")
    tail = f"\n{last}" if "reply ACK" in last else ""
    middle = head if tail else rest
    room = limit - len(first) - len(tail) - len(_ELLIPSIS) - 1
    if room <= 0:
        return (first + tail)[: limit - 1] + _ELLIPSIS if len(first + tail) > limit else first + tail
    return f"{first}\n{middle.strip()[:room].rstrip()}{_ELLIPSIS}{tail}"


def _result(delivery: str, answer: Response | Exception) -> SendResult:
    # What the gateway's answer to a text makes of it; an error no text could cause is raised.
    if isinstance(answer, TimeoutError):
        return SendResult.temporary(delivery, "timed out")
    if isinstance(answer, InvalidRequestError):
        return SendResult.permanent(delivery, f"request refused: {answer}", provider_fault=True)
    if isinstance(answer, OSError):
        forbidden = find_forbidden(answer)
        if forbidden is not None:
            return SendResult.permanent(delivery, str(forbidden), provider_fault=True)
        return SendResult.temporary(delivery, type(answer).__name__)
    if not isinstance(answer, Response):
        raise answer
    status, retry_after = answer.status, answer.headers.get("retry-after")
    if 200 <= status < 300:
        return SendResult.delivered(delivery)
    if status >= 500 or status in (408, 429):
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        return SendResult.temporary(delivery, f"HTTP {status}", wait)
    if status in (401, 403) or 300 <= status < 400:
        return SendResult.permanent(delivery, f"HTTP {status} from the gateway", provider_fault=True)
    return SendResult.permanent(delivery, f"HTTP {status}")


class SmsHttpChannel:
    """Posts texts to the gateway over one shared HTTP client.

    Args:
        url: The gateway endpoint.
        body: The document template.
        authorization: The ``Authorization`` header value, or None (never shown).
        sender: The sender id.
        max_length: Characters a text may have.
        timeout_s: Per request.
        concurrency: Connections at most.
        socket_factory: The SSRF guard for the gateway's address.
    """

    sends_concurrently = True
    """A batch goes out on up to ``concurrency`` connections at once (``HttpClient.post_each``)."""

    def __init__(
        self,
        *,
        url: str,
        body: Mapping[str, Template],
        authorization: str | None,
        sender: str,
        max_length: int,
        timeout_s: float,
        concurrency: int,
        socket_factory: GuardedSocketFactory,
    ) -> None:
        self.url = url
        self.body = dict(body)
        self._authorization = authorization
        self.sender = sender
        self.max_length = max_length
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.guard = socket_factory
        self._client: HttpClient | None = None

    def __repr__(self) -> str:
        auth = ", authorization=<hidden>" if self._authorization else ""
        return f"SmsHttpChannel({self.url!r}{auth})"

    def _open(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient(
                limit=self.concurrency,
                timeout_s=self.timeout_s,
                socket_factory=self.guard,
                user_agent="cssc-core-sms-http",
            )
        return self._client

    def document(self, item: Outgoing) -> dict[str, str]:
        """The JSON document for one copy."""
        values = {
            "to": item.address,
            "text": cut(item.body, self.max_length),
            "reference": item.idempotency_key,
            "delivery": item.delivery,
            "sender": self.sender,
        }
        return {key: template.render(values) for key, template in self.body.items()}

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Posts every text of the batch concurrently, on as many connections as it may open."""
        client = self._open()
        results: list[SendResult | None] = [None] * len(batch)
        posted: list[int] = []
        requests: list[tuple[str, bytes, Mapping[str, str] | None]] = []
        headers = {"Authorization": self._authorization} if self._authorization else None
        for index, item in enumerate(batch):
            if item.marking in NOT_FOR_SMS:
                results[index] = SendResult.permanent(item.delivery, f"sms-http never carries {item.marking}")
                continue
            posted.append(index)
            requests.append((self.url, json.dumps(self.document(item), ensure_ascii=False).encode(), headers))
        for index, answer in zip(posted, await client.post_each(requests), strict=True):
            results[index] = _result(batch[index].delivery, answer)
        return cast(list[SendResult], results)

    async def aclose(self) -> None:
        """Closes the client and its connections."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _problem(settings: ChannelSettings, key: str, message: str) -> ValidationError:
    return ValidationError.single(f"$.channels.{settings.name}.{key}", message)


def _authorization(settings: ChannelSettings) -> str | None:
    options = settings.options
    if "token_env" in options:
        return f"Bearer {settings.secret('token')}"
    if "username_env" in options or "password_env" in options:
        login = f"{settings.secret('username')}:{settings.secret('password')}"
        return "Basic " + base64.b64encode(login.encode()).decode("ascii")
    return None


def _body(settings: ChannelSettings) -> dict[str, Template]:
    value: Any = settings.options.get("body", _DEFAULT_BODY)
    if not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values()):
        raise _problem(settings, "body", "expected a table of strings")
    problems: list[Problem] = []
    body: dict[str, Template] = {}
    for key, source in value.items():
        try:
            body[key] = Template.parse(source, f"$.channels.{settings.name}.body.{key}", FIELDS)
        except ValidationError as error:
            problems.extend(error.problems)
    if problems:
        raise ValidationError(problems)
    return body


def make_channel(settings: ChannelSettings) -> SmsHttpChannel:
    """Checks the settings, reads the credentials from the environment, and makes the sender.

    Raises:
        ValidationError: for a missing or malformed setting, or an unset environment variable.
    """
    options = settings.options
    flags = {}
    for key, default in (("require_https", True), ("allow_private", False)):
        flags[key] = options.get(key, default)
        if not isinstance(flags[key], bool):
            raise _problem(settings, key, "expected true or false")
    url = options.get("url")
    if not isinstance(url, str) or not url:
        raise _problem(settings, "url", "required setting missing")
    try:
        check_url(url, require_https=flags["require_https"], allow_private=flags["allow_private"])
    except ForbiddenAddressError as error:
        raise _problem(settings, "url", str(error)) from None
    max_length = options.get("max_length", 160)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not 70 <= max_length <= 1600:
        raise _problem(settings, "max_length", "expected a whole number from 70 to 1600")
    timeout = options.get("timeout_s", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise _problem(settings, "timeout_s", "expected seconds, more than 0, at most 600")
    sender = options.get("sender", "")
    if not isinstance(sender, str):
        raise _problem(settings, "sender", "expected text")
    return SmsHttpChannel(
        url=url,
        body=_body(settings),
        authorization=_authorization(settings),
        sender=sender,
        max_length=max_length,
        timeout_s=float(timeout),
        concurrency=settings.concurrency,
        socket_factory=GuardedSocketFactory(allow_private=flags["allow_private"]),
    )


@hookimpl
def cssc_delivery_channels() -> Iterable[ChannelPlugin]:
    """The ``sms-http`` channel type."""
    return [
        ChannelPlugin(
            "sms-http",
            make_channel,
            "texts through a generic JSON SMS gateway (never secure)",
            refuses=frozenset({"secure"}),
        )
    ]

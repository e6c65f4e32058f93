"""The ``smtp`` channel: email over SMTP with aiosmtplib (install the ``smtp`` extra).

Settings:

| setting | meaning |
|---|---|
| ``host``, ``port`` | the server (default ``127.0.0.1``; port 25, or 465 with ``tls = "tls"``) |
| ``tls`` | ``"starttls"`` (default), ``"tls"`` (TLS from the first byte) or ``"none"`` |
| ``ca_file`` | a CA bundle to verify the server with (default: the system's) |
| ``sender`` | the ``From`` address (required) |
| ``username_env``, ``password_env`` | environment variables holding the login (both or neither) |
| ``connections`` | connections kept open and reused (default: the channel's ``concurrency``, at most 20) |
| ``timeout_s`` | for connecting and each command (default 30) |

Connections stay open and are reused from batch to batch. Each copy is sent as prebuilt bytes,
headers written directly (building an :class:`email.message.EmailMessage` per recipient costs
several times the transfer); the ``Message-ID`` comes from the idempotency key, so a receiver sees
a re-sent copy as the same message. A subject, sender or address holding CR, LF or NUL is refused.
5xx replies to a recipient are permanent failures of that copy; 4xx replies, dropped connections
and timeouts are temporary; refused credentials or sender are permanent and the provider's fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable, Sequence
from email.header import Header
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from cssc_core.errors import PluginError, ValidationError
from cssc_core.plugins.markers import hookimpl
from cssc_core.plugins.types import ChannelPlugin, ChannelSettings, Outgoing, SendResult

if TYPE_CHECKING:
    import aiosmtplib

__all__ = ["SmtpChannel", "build_message", "cssc_delivery_channels", "make_channel"]

_UNSAFE = ("\r", "\n", "\0")


def _header_safe(*values: str) -> bool:
    return not any(ch in value for value in values for ch in _UNSAFE)


def _subject_header(subject: str) -> bytes:
    if subject.isascii() and len(subject) < 70:
        return subject.encode("ascii")
    return Header(subject, "utf-8").encode().encode("ascii")


def build_message(item: Outgoing, sender: str, date: str, domain: str, subject: bytes | None = None) -> bytes:
    """The copy as the bytes of a mail message (UTF-8 text, ``8bit``, CRLF line ends).

    Args:
        item: The copy.
        sender: The ``From`` address.
        date: The ``Date`` header value.
        domain: The right-hand side of the ``Message-ID``.
        subject: The encoded subject, when the caller has it already (it is the same for every
            copy of a message).
    """
    body = item.body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return b"".join(
        (
            b"From: ",
            sender.encode("utf-8"),
            b"\r\nTo: ",
            item.address.encode("utf-8"),
            b"\r\nSubject: ",
            subject if subject is not None else _subject_header(item.subject),
            b"\r\nDate: ",
            date.encode("ascii"),
            b"\r\nMessage-ID: <",
            item.idempotency_key.encode("ascii", "replace"),
            b"@",
            domain.encode("ascii", "replace"),
            b">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\nX-CSSC-Marking: ",
            item.marking.encode("ascii", "replace"),
            b"\r\nX-CSSC-Delivery: ",
            item.delivery.encode("ascii", "replace"),
            b"\r\n\r\n",
            body,
        )
    )


class SmtpChannel:
    """Sends copies over a few persistent SMTP connections.

    Args:
        host: The server's host. port: Its port.
        tls: ``none``, ``starttls`` or ``tls``.
        sender: The ``From`` address.
        connections: How many connections to keep.
        timeout_s: Timeout for connecting and for each command.
        username: The login, or None. password: Its password (never shown).
        tls_context: The TLS context (a CA bundle to trust), or None for the system's.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: str,
        sender: str,
        connections: int,
        timeout_s: float,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.sender = sender
        self.connections = connections
        self.timeout_s = timeout_s
        self._username = username
        self._password = password
        self._tls_context = tls_context
        self._domain = sender.rpartition("@")[2] or "cssc.invalid"
        self._sender_bytes = sender.encode("utf-8")
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots: asyncio.Semaphore | None = None
        self._subjects: dict[str, bytes] = {}

    def __repr__(self) -> str:
        login = ", login=<hidden>" if self._username else ""
        return f"SmtpChannel({self.host}:{self.port}, tls={self.tls}{login})"

    async def _connect(self) -> aiosmtplib.SMTP:
        import aiosmtplib

        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.tls == "tls",
            start_tls=self.tls == "starttls",
            tls_context=self._tls_context,
            timeout=self.timeout_s,
            username=self._username,
            password=self._password,
        )
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
        except Exception:
            # Refused credentials or a failed handshake leave the socket open: drop it here, and
            # give the loop the turn on which the socket is closed.
            _discard(client)
            await asyncio.sleep(0)
            raise
        except BaseException:
            _discard(client)
            raise
        return client

    def _subject(self, subject: str) -> bytes:
        encoded = self._subjects.get(subject)
        if encoded is None:
            if len(self._subjects) > 256:
                self._subjects.clear()
            encoded = self._subjects[subject] = _subject_header(subject)
        return encoded

    async def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
        """Sends the batch on one connection, reconnecting once when the server drops it."""
        import aiosmtplib

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.connections)
        results: list[SendResult] = []
        date = formatdate(usegmt=True)
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            try:
                for item in batch:
                    if not _header_safe(item.subject, item.address, item.marking, item.delivery):
                        results.append(SendResult.permanent(item.delivery, "header injection refused"))
                        continue
                    message = build_message(
                        item, self.sender, date, self._domain, self._subject(item.subject)
                    )
                    for attempt in (1, 2):
                        if client is None or not client.is_connected:
                            try:
                                client = await self._connect()
                            except aiosmtplib.SMTPAuthenticationError as error:
                                return _rest(results, batch, error, permanent=True)
                            except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                                # The server cannot be reached: the rest of the batch waits for a retry.
                                return _rest(results, batch, error, permanent=False)
                        try:
                            results.append(await self._send_one(client, item, message))
                            break
                        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as error:
                            _discard(client)
                            client = None
                            if attempt == 2:
                                results.append(SendResult.temporary(item.delivery, _describe(error)))
                        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                            # A timeout leaves the conversation out of step: never reuse that connection.
                            _discard(client)
                            client = None
                            results.append(SendResult.temporary(item.delivery, _describe(error)))
                            break
            finally:
                if client is not None and client.is_connected:
                    self._idle.append(client)
        return results

    async def _send_one(self, client: aiosmtplib.SMTP, item: Outgoing, message: bytes) -> SendResult:
        # One transaction in plain commands, under one deadline: the addresses were checked when the
        # network was loaded and for line breaks above, so parsing them again for every message, and
        # arming a timer for every command, would only cost time.
        import aiosmtplib

        async with asyncio.timeout(self.timeout_s):
            options = b" BODY=8BITMIME" if client.supports_extension("8bitmime") else b""
            mail = b"FROM:<" + self._sender_bytes + b">" + options
            reply = await client.execute_command(b"MAIL", mail, timeout=None)
            if reply.code != 250:
                await self._reset(client)
                return _by_code(item.delivery, reply.code, "sender refused", provider_fault=True)
            rcpt = b"TO:<" + item.address.encode("utf-8") + b">"
            reply = await client.execute_command(b"RCPT", rcpt, timeout=None)
            if reply.code not in (250, 251):
                await self._reset(client)
                return _by_code(item.delivery, reply.code, "recipient refused", provider_fault=False)
            try:
                reply = await client.data(message, timeout=None)
            except aiosmtplib.SMTPResponseException as error:
                return _by_code(item.delivery, error.code, "message refused", provider_fault=False)
        if reply.code != 250:
            return _by_code(item.delivery, reply.code, "message refused", provider_fault=False)
        return SendResult.delivered(item.delivery)

    @staticmethod
    async def _reset(client: aiosmtplib.SMTP) -> None:
        reply = await client.execute_command(b"RSET", timeout=None)
        if reply.code != 250:
            _discard(client)

    async def aclose(self) -> None:
        """Says goodbye on every idle connection."""
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(Exception):
                await client.execute_command(b"QUIT", timeout=self.timeout_s)
            _discard(client)
        # The sockets close on the loop's next turn, which must come before the loop may end.
        await asyncio.sleep(0)


def _rest(
    results: list[SendResult], batch: Sequence[Outgoing], error: BaseException, *, permanent: bool
) -> list[SendResult]:
    """``results`` completed with one failure for each copy of the batch not yet tried."""
    reason = _describe(error)
    rest = batch[len(results) :]
    if permanent:  # refused credentials: the provider's fault, and no retry will help
        return [*results, *(SendResult.permanent(i.delivery, reason, provider_fault=True) for i in rest)]
    return [*results, *(SendResult.temporary(i.delivery, reason) for i in rest)]


def _discard(client: aiosmtplib.SMTP | None) -> None:
    """Drops a connection at once. A TLS connection closed politely waits for the server's close
    notification, and its socket outlives an event loop that ends first; aborting does not wait."""
    if client is None:
        return
    if client.transport is not None:
        client.transport.abort()  # type: ignore[attr-defined]
    client.close()


def _by_code(delivery: str, code: int, what: str, *, provider_fault: bool) -> SendResult:
    if 400 <= code < 500:
        return SendResult.temporary(delivery, f"{what} (SMTP {code})")
    return SendResult.permanent(delivery, f"{what} (SMTP {code})", provider_fault=provider_fault)


def _describe(error: BaseException) -> str:
    code = getattr(error, "code", None)
    return f"{type(error).__name__} (SMTP {code})" if isinstance(code, int) else type(error).__name__


def _option(settings: ChannelSettings, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = settings.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "text" if kind is str else "number"
        raise ValidationError.single(f"$.channels.{settings.name}.{key}", f"expected {what}")
    return value


def make_channel(settings: ChannelSettings) -> SmtpChannel:
    """Checks the settings, reads the login from the environment, and makes the sender.

    Raises:
        PluginError: when aiosmtplib is not installed (``pip install 'cssc_core[smtp]'``).
        ValidationError: for a missing or malformed setting, or an unset environment variable.
    """
    try:
        import aiosmtplib  # noqa: F401
    except ImportError:
        raise PluginError(
            "the smtp channel needs aiosmtplib: install it with pip install 'cssc_core[smtp]'"
        ) from None
    path = f"$.channels.{settings.name}"
    tls = _option(settings, "tls", str, "starttls")
    if tls not in ("none", "starttls", "tls"):
        raise ValidationError.single(f"{path}.tls", "expected none, starttls or tls")
    sender = settings.options.get("sender")
    if not isinstance(sender, str) or "@" not in sender or not _header_safe(sender):
        raise ValidationError.single(f"{path}.sender", "required setting missing (an email address)")
    port = _option(settings, "port", int, 465 if tls == "tls" else 25)
    if not 0 < port < 65536:
        raise ValidationError.single(f"{path}.port", "expected a port number")
    has_user, has_password = "username_env" in settings.options, "password_env" in settings.options
    if has_user != has_password:
        raise ValidationError.single(path, "username_env and password_env go together")
    context = None
    ca_file = _option(settings, "ca_file", str, "")
    if ca_file:
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError):
            raise ValidationError.single(f"{path}.ca_file", "not a readable CA bundle") from None
    return SmtpChannel(
        host=_option(settings, "host", str, "127.0.0.1"),
        port=port,
        tls=tls,
        sender=sender,
        connections=max(1, min(int(_option(settings, "connections", int, settings.concurrency)), 20)),
        timeout_s=float(_option(settings, "timeout_s", (int, float), 30)),
        username=settings.secret("username") if has_user else None,
        password=settings.secret("password") if has_password else None,
        tls_context=context,
    )


@hookimpl
def cssc_delivery_channels() -> Iterable[ChannelPlugin]:
    """The ``smtp`` channel type."""
    return [ChannelPlugin("smtp", make_channel, "email over SMTP (STARTTLS/TLS, persistent connections)")]

"""Servers the channel tests start on loopback: an SMTP sink (aiosmtpd), HTTP sinks (aiohttp).

Every server here listens on 127.0.0.1 only, counts what it receives, and injects failures on cue.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class MailSink:
    """An aiosmtpd handler that parses every message it accepts.

    Recipients are scripted by their local part: ``bounce`` gets 550, ``later`` 451, ``slow`` an
    answer only after 3 s; at DATA, ``reject`` gets 554, ``busy`` 452, and ``drop`` has its
    connection dropped the first time.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.dropped = 0
        self.sessions: set[int] = set()

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        local = address.partition("@")[0]
        if local == "bounce":
            return "550 5.1.1 no such mailbox"
        if local == "later":
            return "451 4.3.0 try again later"
        if local == "slow":
            await asyncio.sleep(3)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if envelope.rcpt_tos[0].startswith("reject@"):
            return "554 5.7.1 message refused"
        if envelope.rcpt_tos[0].startswith("busy@"):
            return "452 4.3.1 insufficient storage"
        if envelope.rcpt_tos[0].startswith("drop@") and not self.dropped:
            self.dropped += 1
            assert server.transport is not None
            server.transport.close()
            return "421 dropped"
        self.sessions.add(id(session))
        self.envelopes.append(envelope)
        content = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


def authenticator(user: str, password: str) -> Callable[..., AuthResult]:
    def check(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return check


def smtp_server(sink: MailSink, **kwargs: Any) -> Controller:
    """A started aiosmtpd controller on a free loopback port (stop it when done)."""
    controller = Controller(sink, hostname=LOOPBACK, port=free_port(), ready_timeout=10, **kwargs)
    controller.start()
    return controller


class WebhookSink:
    """An aiohttp app verifying signatures and counting copies by idempotency key.

    Paths script the answer: ``/ok``, ``/status/<code>``, ``/flaky`` (503 the first time per key),
    ``/slow`` (answers after 5 s), ``/drop`` (closes the connection the first time per key),
    ``/redirect`` (302 to the metadata address).
    """

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.received: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.documents: list[dict[str, Any]] = []
        self.bad_signatures = 0

    def app(self) -> web.Application:
        """A new application over this sink (an application serves on one event loop only)."""
        app = web.Application()
        app.router.add_post("/{path:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-CSSC-Signature", ""), expected):
            self.bad_signatures += 1
            return web.Response(status=401)
        key = request.headers["Idempotency-Key"]
        self.attempts[key] += 1
        path = request.match_info["path"]
        if path.startswith("status/"):
            return web.Response(status=int(path.removeprefix("status/")), headers={"Retry-After": "7"})
        if path == "flaky" and self.attempts[key] == 1:
            return web.Response(status=503)
        if path == "slow":
            await asyncio.sleep(5)
        if path == "drop" and self.attempts[key] == 1:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=200)
        if path == "redirect":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        self.received[key] += 1
        self.documents.append(json.loads(body))
        return web.Response(status=204)


@asynccontextmanager
async def serve(app: web.Application, host: str = LOOPBACK) -> AsyncIterator[str]:
    """Runs an aiohttp app on a free loopback port for the duration; yields its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://{LOOPBACK if host == LOOPBACK else f'[{host}]'}:{port}"
    finally:
        await runner.cleanup()


def tls_contexts(trustme: Any, tmp_path: Any) -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for 127.0.0.1 from a fresh test CA, and the CA's file."""
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(LOOPBACK, "localhost").configure_cert(server)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return server, str(ca_file)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

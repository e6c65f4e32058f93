"""The smtp channel against a real SMTP server (aiosmtpd) on loopback: plain, AUTH, STARTTLS and TLS.

Covered: every message received once and parsed (headers, marking first, Welsh block, Message-ID
from the idempotency key), connections reused across batches, 5xx recipients permanent, 4xx
temporary, a dropped connection retried on a new one, refused credentials, header injection
refused, and the login never in a repr or an error. TLS uses a certificate from a CA made in the
test (trustme) and trusted through the channel's ``ca_file``.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import trustme
from tests.plugins.channels.copies import make_copies
from tests.plugins.channels.servers import LOOPBACK, MailSink, authenticator, smtp_server, tls_contexts

from cssc_core.errors import ValidationError
from cssc_core.plugins import ChannelSettings, PluginHost, SendResult
from cssc_core.plugins.channels import smtp
from cssc_core.storage.records import DeliveryStatus

ENV = {"SMTP_USER": "alerts", "SMTP_PASSWORD": "correct-horse-battery"}

# asyncio's TLS transports finish closing over several turns of the loop, and each test here runs
# its own short loop, so the socket of a TLS session can be collected unclosed after its
# loop has ended. That is a property of these short-lived test loops, not of the channel (whose
# connections are aborted, not politely closed), so the report is not an error in this module.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def sink() -> MailSink:
    return MailSink()


def settings(port: int, **options: Any) -> ChannelSettings:
    return ChannelSettings(
        "email",
        "smtp",
        "email",
        secure=True,
        concurrency=4,
        options={"host": LOOPBACK, "port": port, "tls": "none", "sender": "alerts@cssc.example.org"}
        | options,
        environ=ENV,
    )


def send_all(channel_settings: ChannelSettings, batches: list[list[Any]]) -> list[SendResult]:
    async def run() -> list[SendResult]:
        channel = PluginHost.load(entry_points=False).channel_plugin("smtp").open(channel_settings)
        try:
            results = await asyncio.gather(*(channel.send(batch) for batch in batches))
        finally:
            await channel.aclose()
        return [result for batch in results for result in batch]

    results = asyncio.run(run())
    # A TLS socket whose close was still under way when the event loop ended is reported when it is
    # collected; collect here, so that the report falls in this module, under its filter below.
    gc.collect()
    return results


@pytest.fixture
def plain(sink: MailSink) -> Iterator[int]:
    controller = smtp_server(sink)
    yield controller.port
    controller.stop()


def test_every_copy_arrives_once_parsed_with_the_marking_first(sink: MailSink, plain: int) -> None:
    copies = make_copies(40, "email", lambda i: f"member{i}@example.org", header_subject=True)
    results = send_all(settings(plain), [copies[i : i + 10] for i in range(0, 40, 10)])
    assert [r.status for r in results] == [DeliveryStatus.DELIVERED] * 40
    assert len(sink.messages) == 40
    by_to = {m["To"]: m for m in sink.messages}
    assert set(by_to) == {f"member{i}@example.org" for i in range(40)}
    english, welsh = by_to["member0@example.org"], by_to["member4@example.org"]
    assert english["Subject"] == "TLP:GREEN Suspicious vehicle near the shopping centre"
    assert english["From"] == "alerts@cssc.example.org"
    assert english["Message-ID"] == f"<{copies[0].idempotency_key}@cssc.example.org>"
    assert english["X-CSSC-Marking"] == "TLP:GREEN"
    text = english.get_content()
    assert text.splitlines()[0] == "TLP:GREEN"
    assert "loading bay" in text
    assert welsh["Subject"] == "TLP:GREEN Cerbyd amheus ger y ganolfan siopa"
    assert welsh.get_content().index("Mae fan wen") < welsh.get_content().index("A white van")
    # Four batches on four persistent connections at most: never one connection per message.
    assert len(sink.sessions) <= 4


def test_connections_are_reused_from_batch_to_batch(sink: MailSink, plain: int) -> None:
    copies = make_copies(30, "email", lambda i: f"m{i}@example.org")

    async def run() -> None:
        channel = smtp.make_channel(settings(plain, connections=1))
        for start in range(0, 30, 5):
            await channel.send(copies[start : start + 5])
        await channel.aclose()

    asyncio.run(run())
    assert len(sink.messages) == 30
    assert len(sink.sessions) == 1


def test_refused_recipients_and_a_dropped_connection_are_accounted_for(sink: MailSink, plain: int) -> None:
    addresses = [
        "ok1@example.org",
        "bounce@example.org",
        "later@example.org",
        "drop@example.org",
        "reject@example.org",
        "busy@example.org",
        "ok2@example.org",
    ]
    copies = make_copies(len(addresses), "email", lambda i: addresses[i])
    results = send_all(settings(plain, connections=1), [copies])
    statuses = {copy.address: result for copy, result in zip(copies, results, strict=True)}
    assert statuses["bounce@example.org"].status is DeliveryStatus.PERMANENT_FAILURE
    assert statuses["bounce@example.org"].reason == "recipient refused (SMTP 550)"
    assert not statuses["bounce@example.org"].counts_against_provider
    assert statuses["later@example.org"].status is DeliveryStatus.TEMPORARY_FAILURE
    assert statuses["drop@example.org"].status is DeliveryStatus.DELIVERED
    assert statuses["reject@example.org"].status is DeliveryStatus.PERMANENT_FAILURE
    assert statuses["reject@example.org"].reason == "message refused (SMTP 554)"
    assert statuses["busy@example.org"].status is DeliveryStatus.TEMPORARY_FAILURE
    assert sink.dropped == 1
    assert sorted(e.rcpt_tos[0] for e in sink.envelopes) == [
        "drop@example.org",
        "ok1@example.org",
        "ok2@example.org",
    ]
    assert [r.delivery for r in results] == [c.delivery for c in copies]


def test_a_server_that_is_gone_fails_temporarily() -> None:
    from tests.plugins.channels.servers import free_port

    results = send_all(
        settings(free_port(), timeout_s=2), [make_copies(3, "email", lambda i: f"x{i}@example.org")]
    )
    assert {r.status for r in results} == {DeliveryStatus.TEMPORARY_FAILURE}


def test_header_injection_is_refused(sink: MailSink, plain: int) -> None:
    good, bad_subject, bad_address = make_copies(3, "email", lambda i: f"h{i}@example.org")
    bad_subject = attrs.evolve(bad_subject, subject="TLP:GREEN hi\r\nBcc: all@example.org")
    bad_address = attrs.evolve(bad_address, address="h2@example.org\r\nBcc: all@example.org")
    results = send_all(settings(plain), [[good, bad_subject, bad_address]])
    assert [r.status for r in results] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.PERMANENT_FAILURE,
        DeliveryStatus.PERMANENT_FAILURE,
    ]
    assert results[1].reason == "header injection refused"
    assert len(sink.messages) == 1
    assert all("Bcc" not in str(m) for m in sink.messages)


def test_auth_over_starttls_with_a_test_ca(sink: MailSink, tmp_path: Path) -> None:
    server_context, ca_file = tls_contexts(trustme, tmp_path)
    controller = smtp_server(
        sink,
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticator("alerts", "correct-horse-battery"),
        auth_required=True,
    )
    try:
        ok = settings(
            controller.port,
            tls="starttls",
            ca_file=ca_file,
            username_env="SMTP_USER",
            password_env="SMTP_PASSWORD",
            timeout_s=20,
        )
        results = send_all(ok, [make_copies(5, "email", lambda i: f"t{i}@example.org")])
        assert {r.status for r in results} == {DeliveryStatus.DELIVERED}
        assert len(sink.messages) == 5
        wrong = attrs.evolve(ok, environ={"SMTP_USER": "alerts", "SMTP_PASSWORD": "wrong-password-here"})
        refused = send_all(wrong, [make_copies(2, "email", lambda i: f"u{i}@example.org")])
        assert {r.status for r in refused} == {DeliveryStatus.PERMANENT_FAILURE}, refused
        assert all(r.counts_against_provider for r in refused)
        assert all("wrong-password" not in (r.reason or "") for r in refused)
        untrusted = settings(
            controller.port, tls="starttls", username_env="SMTP_USER", password_env="SMTP_PASSWORD"
        )
        failed = send_all(untrusted, [make_copies(1, "email", lambda i: "v@example.org")])
        assert failed[0].status is DeliveryStatus.TEMPORARY_FAILURE
        assert len(sink.messages) == 5
    finally:
        controller.stop()


def test_implicit_tls(sink: MailSink, tmp_path: Path) -> None:
    server_context, ca_file = tls_contexts(trustme, tmp_path)
    controller = smtp_server(sink, ssl_context=server_context)
    try:
        results = send_all(
            settings(controller.port, tls="tls", ca_file=ca_file),
            [make_copies(3, "email", lambda i: f"s{i}@example.org")],
        )
        assert {r.status for r in results} == {DeliveryStatus.DELIVERED}
        assert len(sink.messages) == 3
    finally:
        controller.stop()


def test_settings_are_checked_and_secrets_never_shown() -> None:
    channel = smtp.make_channel(settings(25, username_env="SMTP_USER", password_env="SMTP_PASSWORD"))
    assert "correct-horse" not in repr(channel)
    assert "alerts" not in repr(channel).replace("alerts@", "")
    cases = {
        "tls": ({"tls": "ssl3"}, "expected none, starttls or tls"),
        "sender": ({"sender": "nobody"}, "required setting missing"),
        "port": ({"port": 70_000}, "expected a port number"),
        "username_env": ({"username_env": "SMTP_USER"}, "go together"),
        "ca_file": ({"ca_file": "/nonexistent/ca.pem"}, "not a readable CA bundle"),
    }
    for options, message in cases.values():
        with pytest.raises(ValidationError, match=message):
            smtp.make_channel(attrs.evolve(settings(25), options={**settings(25).options, **options}))
    with pytest.raises(ValidationError, match="SMTP_PASSWORD is not set") as caught:
        smtp.make_channel(
            attrs.evolve(
                settings(25, username_env="SMTP_USER", password_env="SMTP_PASSWORD"),
                environ={"SMTP_USER": "u"},
            )
        )
    assert "correct-horse" not in str(caught.value)


def test_a_stalled_server_times_out_and_the_connection_is_replaced(sink: MailSink, plain: int) -> None:
    addresses = ["slow@example.org", "after@example.org"]
    copies = make_copies(2, "email", lambda i: addresses[i])
    results = send_all(settings(plain, connections=1, timeout_s=1), [copies])
    assert [r.status for r in results] == [DeliveryStatus.TEMPORARY_FAILURE, DeliveryStatus.DELIVERED]
    assert results[0].reason == "TimeoutError"
    assert [e.rcpt_tos for e in sink.envelopes] == [["after@example.org"]]


def test_the_login_never_reaches_a_log(
    sink: MailSink, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    controller = smtp_server(
        sink, authenticator=authenticator("alerts", "correct-horse-battery"), auth_require_tls=False
    )
    try:
        ok = settings(controller.port, username_env="SMTP_USER", password_env="SMTP_PASSWORD")
        results = send_all(ok, [make_copies(2, "email", lambda i: f"l{i}@example.org")])
        wrong = attrs.evolve(ok, environ={"SMTP_USER": "alerts", "SMTP_PASSWORD": "wrong-password-here"})
        refused = send_all(wrong, [make_copies(1, "email", lambda i: "m@example.org")])
    finally:
        controller.stop()
    assert {r.status for r in results} == {DeliveryStatus.DELIVERED}
    assert refused[0].status is DeliveryStatus.PERMANENT_FAILURE
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]  # the test server's own log
    text = "\n".join(r.getMessage() for r in ours) + repr(results) + repr(refused)
    assert "correct-horse-battery" not in text
    assert "wrong-password-here" not in text


def test_an_unreachable_server_fails_the_batch_at_once_without_a_connection_per_copy() -> None:
    from tests.plugins.channels.servers import free_port

    attempts = []

    class Counting(smtp.SmtpChannel):
        async def _connect(self) -> Any:
            attempts.append(1)
            return await super()._connect()

    channel = Counting(
        host=LOOPBACK, port=free_port(), tls="none", sender="a@example.org", connections=1, timeout_s=2
    )
    results = asyncio.run(channel.send(make_copies(20, "email", lambda i: f"z{i}@example.org")))
    assert len(results) == 20
    assert {r.status for r in results} == {DeliveryStatus.TEMPORARY_FAILURE}
    assert len(attempts) == 1

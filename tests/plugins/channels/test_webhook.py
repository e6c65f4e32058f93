"""The webhook channel against an aiohttp server on loopback, and its SSRF guard against hostile targets.

The hostile targets are never contacted: literal addresses are refused before any lookup, and
names are resolved by a resolver the test injects (no DNS query leaves the process) and refused by
the socket guard before a socket exists. A recording socket factory under the guard proves that no
connection was even attempted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from tests.channels.raw_server import Recorder
from tests.channels.targets import HOSTILE_NAMES, HOSTILE_URLS
from tests.plugins.channels.copies import make_copies
from tests.plugins.channels.servers import WebhookSink, serve

from cssc_core.channels.http import AddrInfo, Resolver
from cssc_core.channels.ssrf import GuardedSocketFactory
from cssc_core.errors import ValidationError
from cssc_core.plugins import ChannelSettings, Outgoing, PluginHost, SendResult
from cssc_core.plugins.channels import webhook
from cssc_core.storage.records import DeliveryStatus

SECRET = "whsec-test-key"


class MapResolver:
    """Resolves names from a table, never asking DNS; counts lookups."""

    def __init__(self, table: dict[str, str | list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[AddrInfo]:
        self.lookups.append(host)
        found = self.table[host]
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port, 0, 0) if ":" in address else (address, port),
            )
            for address in ([found] if isinstance(found, str) else found)
        ]


def channel(
    *,
    allow_private: bool,
    resolver: Resolver | None = None,
    recorder: Recorder | None = None,
    timeout_s: float = 30,
) -> webhook.WebhookChannel:
    guard = GuardedSocketFactory(allow_private=allow_private, inner=recorder or Recorder())
    return webhook.WebhookChannel(
        secret=SECRET.encode(),
        require_https=False,
        allow_private=allow_private,
        timeout_s=timeout_s,
        concurrency=20,
        resolver=resolver,
        socket_factory=guard,
    )


def copies_to(urls: Sequence[str]) -> list[Outgoing]:
    return make_copies(len(urls), "webhook", lambda i: urls[i])


def test_copies_arrive_signed_once_each_with_their_idempotency_key() -> None:
    sink = WebhookSink(SECRET.encode())

    async def run() -> list[SendResult]:
        async with serve(sink.app()) as base:
            sender = channel(allow_private=True)
            try:
                return list(await sender.send(copies_to([f"{base}/ok"] * 60)))
            finally:
                await sender.aclose()

    results = asyncio.run(run())
    assert {r.status for r in results} == {DeliveryStatus.DELIVERED}
    assert sink.bad_signatures == 0
    assert len(sink.received) == 60
    assert set(sink.received.values()) == {1}
    document = sink.documents[0]
    assert document["format"] == "cssc-copy/1"
    assert document["body"].splitlines()[0] == "TLP:GREEN"
    assert {"message", "delivery", "contact", "idempotency_key", "subject", "body", "ack_link"} <= set(
        document
    )
    assert document["message"]["marking"] == "TLP:GREEN"
    assert document["message"]["id"] == "msg-2019-0612-01"


def test_failures_are_classified_and_every_delivery_accounted_for() -> None:
    sink = WebhookSink(SECRET.encode())
    paths = [
        "ok",
        "flaky",
        "drop",
        "status/500",
        "status/429",
        "status/404",
        "status/400",
        "redirect",
        "slow",
    ]

    async def run() -> tuple[list[SendResult], list[SendResult], Recorder]:
        async with serve(sink.app()) as base:
            recorder = Recorder()
            sender = channel(allow_private=True, recorder=recorder, timeout_s=0.5)
            try:
                copies = copies_to([f"{base}/{path}" for path in paths])
                first = list(await sender.send(copies))
                retry = [
                    c
                    for c, r in zip(copies, first, strict=True)
                    if r.status is DeliveryStatus.TEMPORARY_FAILURE
                ]
                second = list(await sender.send(retry))
            finally:
                await sender.aclose()
            return first, second, recorder

    first, second, recorder = asyncio.run(run())
    by_path = dict(zip(paths, first, strict=True))
    temporary, permanent = DeliveryStatus.TEMPORARY_FAILURE, DeliveryStatus.PERMANENT_FAILURE
    assert by_path["ok"].status is DeliveryStatus.DELIVERED
    assert {
        p: by_path[p].status for p in ("flaky", "drop", "status/500", "status/429", "slow")
    } == dict.fromkeys(("flaky", "drop", "status/500", "status/429", "slow"), temporary)
    assert by_path["status/429"].retry_after_s == 7
    assert by_path["slow"].reason == "timed out"
    assert {p: by_path[p].status for p in ("status/404", "status/400", "redirect")} == dict.fromkeys(
        ("status/404", "status/400", "redirect"), permanent
    )
    assert "redirects are not followed" in (by_path["redirect"].reason or "")
    # The retry: flaky and the dropped connection get through; 500, 429 and slow still fail.
    assert [r.status for r in second] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.DELIVERED,
        temporary,
        temporary,
        temporary,
    ]
    assert len(first) == len(paths)
    assert set(sink.received.values()) == {1}
    assert len(sink.received) == 3
    assert set(recorder.attempts) == {"127.0.0.1"}


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_literal_targets_get_no_connection(url: str) -> None:
    recorder, resolver = Recorder(), MapResolver({})

    async def run() -> SendResult:
        sender = channel(allow_private=False, resolver=resolver, recorder=recorder)
        try:
            return (await sender.send(copies_to([url])))[0]
        finally:
            await sender.aclose()

    result = asyncio.run(run())
    assert result.status is DeliveryStatus.PERMANENT_FAILURE
    assert (result.reason or "").startswith("webhook URL refused")
    assert recorder.attempts == []
    assert resolver.lookups == []


@pytest.mark.parametrize(("name", "address"), sorted(HOSTILE_NAMES.items()))
def test_names_resolving_to_forbidden_addresses_get_no_connection(name: str, address: str) -> None:
    recorder, resolver = Recorder(), MapResolver({name: address})

    async def run() -> tuple[SendResult, int]:
        sender = channel(allow_private=False, resolver=resolver, recorder=recorder)
        try:
            return (await sender.send(copies_to([f"http://{name}:8080/hook"])))[0], sender.guard.refused
        finally:
            await sender.aclose()

    result, refused = asyncio.run(run())
    assert result.status is DeliveryStatus.PERMANENT_FAILURE, result
    assert "refused to connect: the destination is" in (result.reason or "")
    assert "not an IP address" not in (result.reason or "")
    assert resolver.lookups == [name]
    assert refused == 1
    assert recorder.attempts == []


def test_a_name_resolving_to_the_test_server_is_refused_unless_private_targets_are_allowed() -> None:
    sink = WebhookSink(SECRET.encode())

    async def run(allow: bool) -> tuple[SendResult, Recorder]:
        async with serve(sink.app()) as base:
            port = base.rpartition(":")[2]
            recorder = Recorder()
            sender = channel(
                allow_private=allow,
                resolver=MapResolver({"hooks.member.example": "127.0.0.1"}),
                recorder=recorder,
            )
            try:
                return (await sender.send(copies_to([f"http://hooks.member.example:{port}/ok"])))[0], recorder
            finally:
                await sender.aclose()

    refused, recorder = asyncio.run(run(False))
    assert refused.status is DeliveryStatus.PERMANENT_FAILURE
    assert recorder.attempts == []
    assert len(sink.received) == 0
    allowed, recorder = asyncio.run(run(True))
    assert allowed.status is DeliveryStatus.DELIVERED
    assert recorder.attempts == ["127.0.0.1"]
    assert len(sink.received) == 1


def test_https_is_required_by_default_and_settings_are_checked() -> None:
    settings = ChannelSettings(
        "webhook", "webhook", "webhook", options={"secret_env": "WH"}, environ={"WH": SECRET}
    )
    sender = PluginHost.load(entry_points=False).channel_plugin("webhook").open(settings)
    result = asyncio.run(sender.send(copies_to(["http://hooks.example.org/x"])))[0]
    asyncio.run(sender.aclose())
    assert result.status is DeliveryStatus.PERMANENT_FAILURE
    assert "https" in (result.reason or "")
    assert SECRET not in repr(webhook.make_channel(settings))
    with pytest.raises(ValidationError, match="WH is not set") as caught:
        webhook.make_channel(attrs.evolve(settings, environ={}))
    with pytest.raises(ValidationError, match="expected true or false"):
        webhook.make_channel(attrs.evolve(settings, options={"secret_env": "WH", "allow_private": "yes"}))
    with pytest.raises(ValidationError, match="expected seconds"):
        webhook.make_channel(attrs.evolve(settings, options={"secret_env": "WH", "timeout_s": 0}))
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        'quote " backslash \\ newline \n tab \t',
        "Welsh ŵ ŷ and emoji 🚨",
        "lone surrogate \ud800",
        "\x00\x1f\x7f",
        "x" * 300,
    ],
)
def test_documents_encode_as_json_would(value: str) -> None:
    import json

    nested = MappingProxyType({"a": [1, "b"], "text": value})
    document = {"body": value, "subject": value, "ack_link": None, "n": 3, "nested": nested, "again": nested}
    memo: dict[int, tuple[object, str]] = {}
    first, second = webhook.encode_document(document, memo), webhook.encode_document(document, memo)
    plain = {**document, "nested": dict(nested), "again": dict(nested)}
    assert first == second == json.dumps(plain, separators=(",", ":")).encode()
    assert json.loads(first) == plain


@given(st.binary(max_size=200), st.binary(max_size=3000))
@example(b"", b"")
@example(b"k" * 64, b"body")
@example(b"k" * 65, b"body")
def test_signatures_are_hmac_sha256_of_the_body(secret: bytes, body: bytes) -> None:
    sender = webhook.WebhookChannel(secret=secret)
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert sender.sign(body) == expected
    assert sender.sign(body) == expected  # the keyed states are copied, never used up


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=70), max_size=3).map(MappingProxyType),
)


@given(
    st.lists(_values, min_size=1, max_size=6),
    st.lists(
        st.lists(st.tuples(st.sampled_from(["format", "message", "body", "é", "n"]), st.integers(0, 5))),
        max_size=10,
    ),
)
def test_an_encoder_writes_each_document_as_json_would(pool: list[Any], documents: list[Any]) -> None:
    import json

    # Documents made of a few shared objects, in repeated and changing key orders, as copies are.
    encoder = webhook.DocumentEncoder()
    for pairs in documents:
        document = {key: pool[index % len(pool)] for key, index in pairs}
        plain = {
            key: dict(value) if isinstance(value, MappingProxyType) else value
            for key, value in document.items()
        }
        assert encoder.encode(document) == json.dumps(plain, separators=(",", ":")).encode()
        assert encoder.encode(MappingProxyType(document)) == webhook.encode_document(document)


class RefusingRecorder(Recorder):
    """Records the attempt and fails it as a refused connection, without making a socket."""

    def __call__(self, info: tuple[Any, ...]) -> socket.socket:
        self.attempts.append(str(info[4][0]))
        raise ConnectionRefusedError("nothing is sent off this machine in a test")


def test_each_resolved_address_is_checked_just_before_connecting() -> None:
    recorder = RefusingRecorder()
    resolver = MapResolver({"mixed.member.example": ["169.254.169.254", "10.1.1.1", "93.184.216.34"]})

    async def run() -> tuple[SendResult, int]:
        sender = channel(allow_private=False, resolver=resolver, recorder=recorder)
        try:
            return (await sender.send(copies_to(["http://mixed.member.example/hook"])))[
                0
            ], sender.guard.refused
        finally:
            await sender.aclose()

    result, refused = asyncio.run(run())
    # The two forbidden addresses never reach the socket factory; the global one does (and is refused
    # by the recorder here, so nothing leaves the machine).
    assert refused >= 2
    assert set(recorder.attempts) == {"93.184.216.34"}
    assert result.status is DeliveryStatus.TEMPORARY_FAILURE


def test_an_error_no_copy_could_cause_is_raised_not_reported() -> None:
    class Broken:
        async def post_each(self, requests: Sequence[Any]) -> list[Exception]:
            return [RuntimeError("a bug")] * len(requests)

    async def run() -> None:
        sender = channel(allow_private=True)
        sender._client = Broken()  # type: ignore[assignment]
        await sender.send(copies_to(["http://127.0.0.1:1/hook"]))

    with pytest.raises(RuntimeError, match="a bug"):
        asyncio.run(run())

"""The sms-http channel against a JSON SMS gateway stub on loopback."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import attrs
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from tests.plugins.channels.copies import MESSAGE, make_copies
from tests.plugins.channels.servers import serve

from cssc_core.channels.acks import AckSigner
from cssc_core.channels.render import Recipient, Renderer
from cssc_core.errors import ValidationError
from cssc_core.plugins import ChannelSettings, Outgoing, PluginHost, SendResult
from cssc_core.plugins.channels import sms_http
from cssc_core.plugins.channels.sms_http import cut
from cssc_core.storage.records import DeliveryStatus

TOKEN = "gw-token-abcdef"


class Gateway:
    """Accepts texts with the right bearer token; numbers ending 0 are invalid (400), ending 9 get
    a 503 the first time, ending 8 have their connection dropped the first time."""

    def __init__(self) -> None:
        self.texts: list[dict[str, Any]] = []
        self.attempts: Counter[str] = Counter()
        self.unauthorised = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/send", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.unauthorised += 1
            return web.Response(status=401)
        document = await request.json()
        self.attempts[document["reference"]] += 1
        number = document["to"]
        if number.endswith("0"):
            return web.Response(status=400, text="invalid number")
        if number.endswith("9") and self.attempts[document["reference"]] == 1:
            return web.Response(status=503)
        if number.endswith("8") and self.attempts[document["reference"]] == 1:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=200)
        self.texts.append(document)
        return web.json_response({"id": f"gw-{len(self.texts)}"}, status=201)


def settings(base: str, **options: Any) -> ChannelSettings:
    return ChannelSettings(
        "sms",
        "sms-http",
        "phone",
        options={
            "url": f"{base}/send",
            "token_env": "GW_TOKEN",
            "require_https": False,
            "allow_private": True,
        }
        | options,
        environ={"GW_TOKEN": TOKEN},
    )


def numbers(i: int) -> str:
    return f"+4474001234{i:02}"


def send(gateway: Gateway, batches: list[list[Outgoing]], **options: Any) -> list[list[SendResult]]:
    async def run() -> list[list[SendResult]]:
        async with serve(gateway.app()) as base:
            channel = (
                PluginHost.load(entry_points=False).channel_plugin("sms-http").open(settings(base, **options))
            )
            try:
                return [list(await channel.send(batch)) for batch in batches]
            finally:
                await channel.aclose()

    return asyncio.run(run())


def test_texts_reach_the_gateway_cut_with_the_marking_first_and_every_one_accounted_for() -> None:
    gateway = Gateway()
    copies = make_copies(20, "sms", numbers)
    (first,) = send(gateway, [copies])
    statuses = {c.address: r.status for c, r in zip(copies, first, strict=True)}
    assert statuses[numbers(10)] is DeliveryStatus.PERMANENT_FAILURE
    assert statuses[numbers(9)] is statuses[numbers(8)] is DeliveryStatus.TEMPORARY_FAILURE
    retry = [c for c, r in zip(copies, first, strict=True) if r.status is DeliveryStatus.TEMPORARY_FAILURE]
    (second,) = send(gateway, [retry])
    assert {r.status for r in second} == {DeliveryStatus.DELIVERED}
    delivered = [t["reference"] for t in gateway.texts]
    assert len(delivered) == len(set(delivered)) == 20 - 2  # numbers ending 0: 00 and 10 are invalid
    for text in gateway.texts:
        assert set(text) == {"to", "text", "reference"}
        assert text["text"].startswith("TLP:GREEN\n")
        assert len(text["text"]) <= 160


def test_a_custom_body_template_is_json_encoded_whole() -> None:
    gateway = Gateway()
    hostile = attrs.evolve(make_copies(1, "sms", numbers)[0], address='+447400123401", "admin": "true')
    body = {"to": "{to}", "text": "{text}", "reference": "{reference}", "from": "{sender}"}
    (result,) = send(gateway, [[hostile]], body=body, sender="CSSC")[0]
    assert result.status is DeliveryStatus.DELIVERED
    (text,) = gateway.texts
    assert text["to"] == '+447400123401", "admin": "true'
    assert "admin" not in text
    assert text["from"] == "CSSC"


def test_amber_is_never_carried_and_secure_is_refused() -> None:
    gateway = Gateway()
    amber = make_copies(2, "sms", numbers, attrs.evolve(MESSAGE, marking="TLP:AMBER"))
    (results,) = send(gateway, [amber])
    assert {r.status for r in results} == {DeliveryStatus.PERMANENT_FAILURE}
    assert gateway.texts == []
    assert sum(gateway.attempts.values()) == 0
    with pytest.raises(ValidationError, match="cannot be secure"):
        PluginHost.load(entry_points=False).channel_plugin("sms-http").open(
            attrs.evolve(settings("https://sms.example.org"), secure=True)
        )


def test_refused_credentials_are_the_gateways_fault() -> None:
    gateway = Gateway()

    async def run() -> list[SendResult]:
        async with serve(gateway.app()) as base:
            wrong = attrs.evolve(settings(base), environ={"GW_TOKEN": "nope-nope"})
            channel = sms_http.make_channel(wrong)
            try:
                return list(await channel.send(make_copies(2, "sms", numbers)))
            finally:
                await channel.aclose()

    results = asyncio.run(run())
    assert {r.status for r in results} == {DeliveryStatus.PERMANENT_FAILURE}
    assert all(r.counts_against_provider for r in results)
    assert gateway.unauthorised == 2


def test_cutting_keeps_the_marking_line_and_the_reply_code() -> None:
    signer = AckSigner(b"k" * 32)
    prepared = Renderer("sms", signer=signer, reply_codes=True).prepare(
        attrs.evolve(MESSAGE, ack_required=True)
    )
    copy = prepared.copy(Recipient("d", "c-1", "Sam", numbers(1), "key"))
    text = cut(copy.body, 160)
    assert len(text) <= 160
    assert text.startswith("TLP:GREEN\n")
    assert text.endswith(f"reply ACK {signer.reply_code(MESSAGE.id, 'c-1')}")
    assert "…" in text
    assert cut("TLP:CLEAR\nshort", 160) == "TLP:CLEAR\nshort"


def test_settings_are_checked_and_the_token_never_shown() -> None:
    base = settings("https://sms.example.org")
    channel = sms_http.make_channel(attrs.evolve(base, options={**base.options, "require_https": True}))
    assert TOKEN not in repr(channel)
    bad = {
        "url": ({"url": ""}, "required setting missing"),
        "https": ({"require_https": True, "url": "http://sms.example.org/send"}, "scheme must be https"),
        "private": ({"allow_private": False, "url": "http://10.0.0.1/send"}, "private address"),
        "length": ({"max_length": 20}, "from 70 to 1600"),
        "body": ({"body": {"to": "{to.__class__}"}}, "not a placeholder"),
        "unknown": ({"body": {"to": "{password}"}}, "unknown field"),
    }
    for options, message in bad.values():
        with pytest.raises(ValidationError, match=message):
            sms_http.make_channel(attrs.evolve(base, options={**base.options, **options}))
    with pytest.raises(ValidationError, match="GW_TOKEN is not set") as caught:
        sms_http.make_channel(attrs.evolve(base, environ={}))
    assert TOKEN not in str(caught.value)
    basic = sms_http.make_channel(
        attrs.evolve(
            base,
            options={"url": "https://sms.example.org/send", "username_env": "U", "password_env": "P"},
            environ={"U": "user", "P": "pass"},
        )
    )
    assert "pass" not in repr(basic).replace("sms.example.org", "")
    assert json.dumps(basic.document(make_copies(1, "sms", numbers)[0]))


@given(st.text(), st.integers(70, 400))
def test_a_cut_text_fits_and_keeps_the_marking_line(text: str, limit: int) -> None:
    marked = "TLP:GREEN\n" + text
    result = cut(marked, limit)
    assert len(result) <= limit
    assert result.startswith("TLP:GREEN")


def test_an_error_no_text_could_cause_is_raised_not_reported() -> None:
    class Broken:
        async def post_each(self, requests: list[Any]) -> list[Exception]:
            return [RuntimeError("a bug")] * len(requests)

    async def run() -> None:
        channel = sms_http.make_channel(settings("http://127.0.0.1:1"))
        channel._client = Broken()  # type: ignore[assignment]
        await channel.send(make_copies(2, "sms", numbers))

    with pytest.raises(RuntimeError, match="a bug"):
        asyncio.run(run())

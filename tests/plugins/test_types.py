"""The records plugins exchange with cssc_core."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from cssc_core.errors import ValidationError
from cssc_core.plugins import ChannelPlugin, ChannelSettings, Outgoing, SendResult, as_async
from cssc_core.storage.records import DeliveryStatus
from cssc_core.testing import RecordingChannel


def outgoing(delivery: str, contact: str = "c-1") -> Outgoing:
    return Outgoing(delivery, "m", contact, "email", "a@example.org", "message", "k-" + delivery, "S", "B")


def test_secrets_come_from_the_named_variable_and_never_show() -> None:
    settings = ChannelSettings(
        "email", "smtp", "email", options={"password_env": "SMTP_PW"}, environ={"SMTP_PW": "hunter2"}
    )
    assert settings.secret("password") == "hunter2"
    assert "hunter2" not in repr(settings)
    with pytest.raises(ValidationError, match=r"password_env: environment variable SMTP_PW is not set"):
        ChannelSettings("email", "smtp", "email", options={"password_env": "SMTP_PW"}, environ={}).secret(
            "password"
        )
    with pytest.raises(ValidationError, match=r"\$\.channels\.email\.token_env: required setting missing"):
        settings.secret("token")


def test_settings_options_cannot_be_changed_afterwards() -> None:
    options = {"host": "a"}
    settings = ChannelSettings("email", "smtp", "email", options=options)
    options["host"] = "b"
    assert settings.options["host"] == "a"
    with pytest.raises(TypeError):
        settings.options["host"] = "c"  # type: ignore[index]


def test_a_channel_reports_only_send_outcomes() -> None:
    assert SendResult.temporary("d", "timeout", 5).status is DeliveryStatus.TEMPORARY_FAILURE
    assert SendResult.permanent("d", "550").status is DeliveryStatus.PERMANENT_FAILURE
    with pytest.raises(ValueError, match="a channel reports"):
        SendResult("d", DeliveryStatus.CANCELLED)


def test_unknown_capability_flags_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown capability flags: fast"):
        ChannelPlugin("x", RecordingChannel, refuses={"fast"})


def test_blocking_senders_run_off_the_event_loop() -> None:
    threads: list[str] = []

    class Blocking:
        def send(self, batch: Sequence[Outgoing]) -> Sequence[SendResult]:
            threads.append(threading.current_thread().name)
            return [SendResult.delivered(item.delivery) for item in batch]

        def close(self) -> None:
            threads.append("closed")

    async def run() -> Sequence[SendResult]:
        channel = as_async(Blocking())
        results = await channel.send([outgoing("d-1")])
        await channel.aclose()
        return results

    assert asyncio.run(run()) == [SendResult.delivered("d-1")]
    assert threads[0] != threading.main_thread().name
    assert threads[1] == "closed"


def test_async_senders_are_used_as_they_are() -> None:
    channel = RecordingChannel()
    assert as_async(channel) is channel


def test_the_recording_channel_scripts_failures_once() -> None:
    channel = RecordingChannel({"c-2": DeliveryStatus.TEMPORARY_FAILURE})
    first = asyncio.run(channel.send([outgoing("d-1"), outgoing("d-2", "c-2")]))
    again = asyncio.run(channel.send([outgoing("d-2", "c-2")]))
    assert [r.status for r in first] == [DeliveryStatus.DELIVERED, DeliveryStatus.TEMPORARY_FAILURE]
    assert [r.status for r in again] == [DeliveryStatus.DELIVERED]
    assert [o.delivery for o in channel.sent] == ["d-1", "d-2"]
    assert len(channel.attempts) == 3


def test_an_outgoing_copy_as_a_file_line() -> None:
    document = outgoing("d-1").to_document()
    for key in (
        "delivery",
        "message",
        "contact",
        "channel",
        "address",
        "kind",
        "idempotency_key",
        "subject",
        "body",
    ):
        assert key in document
    assert document["payload"] == {}

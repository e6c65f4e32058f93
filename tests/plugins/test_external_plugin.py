"""The example external plugin, installed from ``examples/``, is found through its entry point."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from cssc_core.cli import main
from cssc_core.errors import ValidationError
from cssc_core.plugins import ChannelSettings, Outgoing, PluginHost
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import DeliveryStatus, DeliveryUpdate
from cssc_core.testing import T0, sample_cascade, sample_delivery, sample_message

pytestmark = pytest.mark.usefixtures("with_pager")


def test_the_plugin_is_discovered_with_its_package() -> None:
    host = PluginHost.load()
    (info,) = [p for p in host.plugins() if not p.builtin]
    assert (info.name, info.package, info.version) == ("pager", "cssc-plugin-pager", "1.0.0")
    (provided,) = [p for p in host.delivery_channels() if p.item.name == "pager"]
    assert provided.plugin == info
    assert provided.item.refuses == {"secure"}


def test_the_plugin_delivers_through_the_outbox(tmp_path: Path) -> None:
    host = PluginHost.load()
    store = MemoryStore()
    delivery = sample_delivery("d-1", channel="pager")
    store.start_cascade(sample_cascade(), sample_message(), [delivery])
    spool = tmp_path / "pages.jsonl"
    settings = ChannelSettings("pager", "pager", "phone", options={"spool": str(spool), "width": 24})
    channel = host.channel_plugin("pager").open(settings)

    (claimed,) = store.claim_due(T0, 10, 60, "w1")
    outgoing = Outgoing(
        delivery=claimed.id,
        message=claimed.message,
        contact=claimed.contact,
        channel=claimed.channel,
        address="+447400123456",
        kind=claimed.kind.value,
        idempotency_key=claimed.idempotency_key,
        subject="TLP:GREEN Suspicious vehicle near the station",
        body="TLP:GREEN\nDetails follow.",
        marking="TLP:GREEN",
    )
    (result,) = asyncio.run(channel.send([outgoing]))
    asyncio.run(channel.aclose())
    outcome = store.record_results([DeliveryUpdate(result.delivery, result.status, T0)], "w1", T0)

    assert outcome.applied == ("d-1",)
    stored = store.get_delivery("d-1")
    assert stored is not None
    assert stored.status is DeliveryStatus.DELIVERED
    (line,) = spool.read_text().splitlines()
    assert json.loads(line) == {
        "delivery": "d-1",
        "idempotency_key": delivery.idempotency_key,
        "to": "+447400123456",
        "text": "TLP:GREEN Suspicious veh",
    }


def test_the_plugin_refuses_to_be_secure(tmp_path: Path) -> None:
    settings = ChannelSettings("pager", "pager", "phone", secure=True, options={"spool": str(tmp_path / "p")})
    with pytest.raises(ValidationError, match="cannot be secure"):
        PluginHost.load().channel_plugin("pager").open(settings)


def test_the_plugin_checks_its_settings() -> None:
    with pytest.raises(ValidationError, match="spool"):
        PluginHost.load().channel_plugin("pager").open(ChannelSettings("pager", "pager", "phone"))


@pytest.mark.parametrize("blocked", ["pager", "cssc-plugin-pager", "other, CSSC_Plugin_Pager"])
def test_blocking_removes_the_plugin(monkeypatch: pytest.MonkeyPatch, blocked: str) -> None:
    monkeypatch.setenv("CSSC_BLOCK_PLUGINS", blocked)
    host = PluginHost.load()
    assert [p.name for p in host.plugins() if not p.builtin] == []
    assert [p.name for p in host.blocked()] == ["pager"]
    with pytest.raises(ValidationError, match="unknown channel plugin 'pager'"):
        host.channel_plugin("pager")


@pytest.mark.parametrize(
    ("allow", "block", "loaded"),
    [("pager", None, True), ("someone-else", None, False), ("pager", "pager", False), ("", None, True)],
)
def test_an_allow_list_loads_only_what_it_names(
    monkeypatch: pytest.MonkeyPatch, allow: str, block: str | None, loaded: bool
) -> None:
    monkeypatch.setenv("CSSC_ALLOW_PLUGINS", allow)
    if block is not None:
        monkeypatch.setenv("CSSC_BLOCK_PLUGINS", block)
    host = PluginHost.load()
    assert any(p.item.name == "pager" for p in host.delivery_channels()) is loaded
    assert [p.name for p in host.blocked()] == ([] if loaded else ["pager"])
    assert {p.item.name for p in host.storage_backends()} == {"memory", "sqlite"}  # built-ins always load


@pytest.mark.parametrize(("allow", "block"), [("someone-else", None), (None, "pager")])
def test_a_plugin_left_out_is_never_imported(
    monkeypatch: pytest.MonkeyPatch, allow: str | None, block: str | None
) -> None:
    # Leaving a plugin out must keep its code from running at all, import side effects included.
    monkeypatch.delitem(sys.modules, "cssc_plugin_pager", raising=False)
    for name, value in (("CSSC_ALLOW_PLUGINS", allow), ("CSSC_BLOCK_PLUGINS", block)):
        if value is not None:
            monkeypatch.setenv(name, value)
    assert main(["plugins", "--json"]) == 0
    assert "cssc_plugin_pager" not in sys.modules

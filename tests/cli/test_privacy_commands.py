"""``cssc erase`` and ``cssc purge``: personal data erased from the store and the outbox; retention."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from cssc_core.cli import main
from cssc_core.cli.privacy_commands import PERSONAL_FIELDS
from cssc_core.formats.network import dumps_network_json
from cssc_core.plugins.manager import PluginHost, get_plugin_manager
from cssc_core.plugins.markers import hookimpl
from cssc_core.storage.records import DeliveryStatus, DeliveryUpdate
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import (
    T0,
    RecordingPlugin,
    sample_cascade,
    sample_delivery,
    sample_message,
    sample_network,
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    source = tmp_path / "network.json"
    source.write_text(dumps_network_json(sample_network()), "utf-8")
    db = tmp_path / "cssc.db"
    assert main(["import", str(source), "--db", str(db)]) == 0
    return db


def test_erase_leaves_a_tombstone_and_an_audit_entry(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["erase", "--contact", "c-0001", "--db", str(db), "--at", "2026-01-01T10:00:00Z"]) == 0
    assert "erased contact c-0001" in capsys.readouterr().out
    store = SqliteStore(db)
    network = store.load_network()
    assert network is not None
    tombstone = network.contact("c-0001")
    assert (tombstone.name, tombstone.email, tombstone.phone, tombstone.channels) == (
        "erased contact",
        None,
        None,
        (),
    )
    assert not [role for role in network.roles if role.contact == "c-0001"]
    assert [(entry.event, entry.contact) for entry in store.audit_log()] == [("contact-erased", "c-0001")]
    store.close()


def test_erasing_again_changes_nothing_more(db: Path) -> None:
    assert main(["erase", "--contact", "c-0001", "--db", str(db)]) == 0
    store = SqliteStore(db)
    before = store.load_network()
    store.close()
    assert main(["erase", "--contact", "c-0001", "--db", str(db)]) == 0
    store = SqliteStore(db)
    assert store.load_network() == before
    store.close()


def test_an_unknown_contact_is_bad_input(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["erase", "--contact", "nobody", "--db", str(db)]) == 2
    assert "--contact: unknown contact 'nobody'" in capsys.readouterr().err


def _outbox_line(delivery: str, contact: str) -> dict[str, object]:
    return {
        "delivery": delivery,
        "message": "msg-1",
        "contact": contact,
        "channel": "email",
        "address": f"{contact}@example.org",
        "kind": "message",
        "idempotency_key": f"key-{delivery}",
        "subject": "TLP:GREEN Suspicious item",
        "body": f"Dear {contact}, a suspicious item.",
        "payload": {"to": f"{contact}@example.org"},
    }


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    folder = tmp_path / "outbox"
    folder.mkdir()
    lines = [_outbox_line("d-1", "c-0001"), _outbox_line("d-2", "c-0002"), _outbox_line("d-3", "c-0001")]
    text = "".join(json.dumps(line) + "\n" for line in lines) + '{"delivery": "d-4", "cut sh'
    (folder / "email.jsonl").write_text(text, "utf-8")
    return folder


def _lines(outbox: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (outbox / "email.jsonl").read_text("utf-8").splitlines()[:3]]


def test_erase_scrubs_the_contacts_copies_in_the_outbox(db: Path, outbox: Path) -> None:
    assert main(["erase", "--contact", "c-0001", "--db", str(db), "--outbox", str(outbox)]) == 0
    first, second, third = _lines(outbox)
    for line in (first, third):
        assert {field: line[field] for field in PERSONAL_FIELDS} == dict.fromkeys(PERSONAL_FIELDS)
        assert (line["delivery"], line["contact"]) in {("d-1", "c-0001"), ("d-3", "c-0001")}
    assert second == _outbox_line("d-2", "c-0002")
    assert b"c-0001@example.org" not in (outbox / "email.jsonl").read_bytes()
    assert (outbox / "email.jsonl").read_text("utf-8").endswith('{"delivery": "d-4", "cut sh')


def test_purge_scrubs_copies_whose_delivery_ended_before_the_retention_period(db: Path, outbox: Path) -> None:
    store = SqliteStore(db)
    store.start_cascade(
        sample_cascade(), sample_message(), [sample_delivery(d) for d in ("d-1", "d-2", "d-3")]
    )
    store.update_deliveries([DeliveryUpdate("d-1", DeliveryStatus.CANCELLED, T0)])
    store.update_deliveries([DeliveryUpdate("d-2", DeliveryStatus.CANCELLED, T0 + timedelta(days=20))])
    store.close()
    at = (T0 + timedelta(days=31)).isoformat()
    argv = ["purge", "--older-than", "30", "--db", str(db), "--outbox", str(outbox), "--at", at]
    assert main(argv) == 0
    first, second, third = _lines(outbox)
    assert first["address"] is None
    assert first["body"] is None
    assert (first["delivery"], first["contact"], first["channel"]) == ("d-1", "c-0001", "email")
    assert second == _outbox_line("d-2", "c-0002")  # ended 11 days ago: kept
    assert third == _outbox_line("d-3", "c-0001")  # not ended: kept


def test_purge_needs_a_number_of_days(db: Path) -> None:
    assert main(["purge", "--older-than", "-1", "--db", str(db)]) == 2


def test_erase_tells_the_plugins_after_the_store_has_erased(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = RecordingPlugin()
    seen: list[str | None] = []

    class Checking:
        @hookimpl
        def cssc_contact_erased(self, contact_id: str) -> None:
            store = SqliteStore(db)
            network = store.load_network()
            store.close()
            assert network is not None
            seen.append(network.contact(contact_id).email)

    def load(cls: type[PluginHost], *args: object, **kwargs: object) -> PluginHost:
        host = PluginHost(get_plugin_manager(entry_points=False))
        host.register(recorder, "recorder")
        host.register(Checking(), "checking")
        return host

    monkeypatch.setattr(PluginHost, "load", classmethod(load))
    assert main(["erase", "--contact", "c-0001", "--db", str(db), "--at", "2026-01-01T10:00:00Z"]) == 0
    assert [(e.hook, e.arguments["contact_id"]) for e in recorder.events] == [
        ("cssc_contact_erased", "c-0001")
    ]
    assert seen == [None]  # the plugins hear of it once the tombstone is committed


def test_erase_finds_the_outbox_and_file_channels_of_a_channel_file(db: Path, tmp_path: Path) -> None:
    box, elsewhere = tmp_path / "conf" / "box", tmp_path / "conf" / "logs"
    box.mkdir(parents=True)
    elsewhere.mkdir()
    (tmp_path / "conf" / "channels.toml").write_text(
        'format = "cssc-channels/1"\noutbox = "box"\n\n[channels.email]\ntype = "file"\naddress = "email"\n\n'
        f'[channels.pager]\ntype = "file"\naddress = "phone"\npath = "{elsewhere / "pager.log"}"\n',
        "utf-8",
    )
    for path in (box / "email.jsonl", elsewhere / "pager.log"):
        path.write_text(json.dumps(_outbox_line("d-1", "c-0001")) + "\n", "utf-8")
    channels = str(tmp_path / "conf" / "channels.toml")
    assert main(["erase", "--contact", "c-0001", "--db", str(db), "--channels", channels]) == 0
    for path in (box / "email.jsonl", elsewhere / "pager.log"):
        assert b"c-0001@example.org" not in path.read_bytes()

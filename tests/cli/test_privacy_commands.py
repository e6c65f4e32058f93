"""``cssc erase``: a contact's personal data erased from the store, its id kept as a tombstone."""

from __future__ import annotations

from pathlib import Path

import pytest

from cssc_core.cli import main
from cssc_core.formats.network import dumps_network_json
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import sample_network


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

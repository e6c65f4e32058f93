"""Erasure (UK GDPR): an erased contact's personal data is found nowhere in the SQLite files.

Each scenario builds a network whose contacts carry distinctive personal data, churns the store so that
older copies of their rows sit in freed pages and in the WAL, sends a message to them all (so that
deliveries, timers, audit entries and outbox copies exist), erases some of them through ``cssc
erase``, and scans the raw bytes of the database, ``-wal`` and ``-shm`` files and of the file
channels' outbox for every value of each erased contact (the others must still be there, which shows
the scan can see). Every byte found is
counted in the reliability table.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from cssc_core import Contact, Network, Organisation, dumps_network_json, parse_network_json
from cssc_core.cli import main
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.testing import T0
from tests.cascade.conftest import Harness, message
from tests.reliability.tally import SCALE, TALLY

PHONES = ("+442079460{:03}", "+441314960{:03}", "+441614960{:03}")


def _person(rng: random.Random, index: int) -> Contact:
    tag = f"{rng.getrandbits(40):010x}"
    return Contact(
        id=f"c-{index:03}",
        name=f"Person {tag}",
        email=f"p{tag}@example.org",
        phone=rng.choice(PHONES).format(index),
        webhook=f"https://hooks.example.org/{tag}",
        channels=("email", "sms", "webhook"),
    )


def _network(rng: random.Random, organisations: int = 4, contacts: int = 3) -> Network:
    document = parse_network_json('{"format": "cssc-network/1"}')
    members = [
        Organisation(
            id=f"org-{o}",
            name=f"Member {o}",
            region="EAST",
            sectors=("retail",),
            contacts=tuple(_person(rng, o * contacts + c) for c in range(contacts)),
        )
        for o in range(organisations)
    ]
    return attrs.evolve(document, organisations=tuple(members))


def _values(contact: Contact) -> list[bytes]:
    values = [contact.name, contact.email, contact.phone, contact.webhook]
    return [value.encode("utf-8") for value in values if value]


def _cli(*argv: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(argv))


def _raw(db: Path) -> bytes:
    return b"".join(
        path.read_bytes()
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
        if path.exists()
    )


@contextlib.contextmanager
def _reader(db: Path, hold: bool) -> Iterator[None]:
    """Optionally, another connection in the middle of a read while the erasure happens."""
    if not hold:
        yield
        return
    connection = sqlite3.connect(db)
    connection.execute("BEGIN")
    connection.execute("SELECT count(*) FROM contacts").fetchone()
    try:
        yield
    finally:
        connection.close()


MESSAGE = {
    "format": "cssc-message/1",
    "id": "msg-1",
    "sender": "NCTPHQ",
    "sent": "2026-01-01T09:00:00+00:00",
    "status": "actual",
    "type": "alert",
    "marking": "TLP:GREEN",
    "category": "security",
    "urgency": "immediate",
    "severity": "severe",
    "certainty": "observed",
    "headline": "Suspicious item",
    "body": "Keep away from the cordon.",
    "audience": {"regions": ["EAST"]},
}


@pytest.mark.parametrize("reader_open", [False, True], ids=["alone", "with-a-reader"])
@pytest.mark.parametrize("seed", range(3 * SCALE))
def test_erased_contacts_leave_no_bytes_on_disk(
    tmp_path: Path, seed: int, reader_open: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    network = _network(rng)
    db = tmp_path / "cssc.db"
    source = tmp_path / "network.json"
    source.write_text(dumps_network_json(network), "utf-8")
    # Imports churn the rows: older copies end up in freed pages and WAL frames.
    for _ in range(rng.randint(1, 4)):
        assert _cli("import", str(source), "--db", str(db)) == 0
    # A cascade: deliveries, timers and audit entries in the store, copies in the file outbox.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "message.json").write_text(json.dumps(MESSAGE), "utf-8")
    assert _cli("send", "message.json", "--db", str(db), "--at", "2026-01-01T09:00:00Z") == 0
    outbox = tmp_path / "cssc-outbox"
    assert list(outbox.glob("*.jsonl"))
    # The store stays open in this process too, as a long-running dispatcher's would.
    keeper = SqliteStore(db)
    contacts = [contact for _, contact in network.contacts()]
    erased = rng.sample(contacts, k=rng.randint(1, 3))
    with _reader(db, reader_open):
        for contact in erased:
            argv = ["erase", "--contact", contact.id, "--db", str(db), "--at", "2026-01-02T00:00Z"]
            assert _cli(*argv, "--outbox", str(outbox)) == 0
    if reader_open:
        # The reader's snapshot kept the old pages in the WAL; the next command on the file scrubs it.
        assert _cli("export", "--db", str(db)) == 0
    raw = _raw(db) + b"".join(path.read_bytes() for path in sorted(outbox.glob("*.jsonl")))
    keeper.close()
    TALLY.erased_contacts += len(erased)
    found = sum(raw.count(value) * len(value) for contact in erased for value in _values(contact))
    TALLY.erased_bytes_found += found
    assert found == 0
    kept = [contact for contact in contacts if contact not in erased]
    assert all(value in raw for contact in kept for value in _values(contact))
    stored = SqliteStore(db)
    try:
        after = stored.load_network()
    finally:
        stored.close()
    assert after is not None
    for contact in erased:
        assert after.contact(contact.id).name == "erased contact"


@pytest.mark.parametrize("erased", ["shop-a", "isl-r2"])
def test_a_contact_erased_mid_cascade_is_sent_nothing_more(erased: str) -> None:
    harness = Harness(MemoryStore())
    harness.engine.send(message(audience={"organisations": ["retail-isls", "shop"]}))
    harness.store.erase_contact(erased, T0)
    TALLY.erased_contacts += 1
    for minutes in (30, 120, 24 * 60):
        harness.at(minutes)
        harness.make_engine().tick()
    assert not [copy for copy in harness.channels.sent if copy.contact == erased and copy.message == "msg-1"]
    for delivery in harness.store.deliveries_of("msg-1"):
        assert delivery.status.is_final

"""Loading a national-scale network: ``parse_network_json`` against plain ``json.load`` of the same file,
and reading it back from a SQLite store against plain ``json.loads`` of the stored documents.

The first reference only parses JSON; we also validate every field (phones, emails, postcodes), check
every reference and build the indexes, so the ratio says what validation costs on top of parsing. The
store validated the network when it was written and does not again: the second ratio says what
building the models and the indexes costs on top of reading and parsing the rows.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks._harness import Result, best_time
from cssc_core import read_network_file
from cssc_core.storage.sqlite import SqliteStore
from cssc_core.synthetic import synthetic_document


def run(quick: bool = False) -> list[Result]:
    """Writes a synthetic network to a file and times loading it both ways."""
    organisations = 2_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "network.json"
        path.write_text(json.dumps(synthetic_document(organisations, seed=1)), "utf-8")
        size_mb = path.stat().st_size / 1e6

        def plain() -> object:
            with path.open("rb") as file:
                return json.load(file)

        reference = best_time(plain, repeat=3)
        ours = best_time(lambda: read_network_file(path), repeat=1 if not quick else 2)
        network = read_network_file(path)

        store = SqliteStore(Path(folder) / "cssc.db")
        store.replace_network(network)
        db = store.connection

        def documents() -> object:
            return [
                json.loads(document)
                for query in (
                    "SELECT document FROM organisations ORDER BY position",
                    "SELECT document FROM contacts ORDER BY organisation, position",
                    "SELECT document FROM roles ORDER BY position",
                )
                for (document,) in db.execute(query)
            ]

        read_reference = best_time(documents, repeat=3)
        read = best_time(store.load_network, repeat=3)
        if store.load_network() != network:
            raise AssertionError("the network read back from the store differs from the one written")
        store.close()
    return [
        Result(
            name=f"load {organisations:,} organisations (JSON)",
            seconds=ours,
            reference="json.load of the same file",
            reference_seconds=reference,
            detail=f"{size_mb:.0f} MB, {network.contact_count:,} contacts, {len(network.roles):,} roles",
        ),
        Result(
            name=f"read {organisations:,} organisations back from SQLite",
            seconds=read,
            reference="json.loads of each stored document",
            reference_seconds=read_reference,
            detail="SqliteStore.load_network, the network equal to the one written",
        ),
    ]

"""Loading a national-scale network: ``parse_network_json`` against plain ``json.load`` of the same file.

The reference only parses JSON; we also validate every field (phones, emails, postcodes), check every
reference and build the indexes, so the ratio says what validation costs on top of parsing.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks._harness import Result, best_time
from cssc_core import read_network_file
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
    return [
        Result(
            name=f"load {organisations:,} organisations (JSON)",
            seconds=ours,
            reference="json.load of the same file",
            reference_seconds=reference,
            detail=f"{size_mb:.0f} MB, {network.contact_count:,} contacts, {len(network.roles):,} roles",
        )
    ]

"""The ``cssc-network/1`` interchange format: JSON (canonical) and TOML with the same structure.

Reading is all-or-nothing: every problem in a document is collected, each with its path
(``$.organisations[3].contacts[0].phone: not a valid phone number``), and a :class:`ValidationError`
carries them all; a network is returned only when there are none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from cssc_core.domain.models import Contact, Organisation, Region, Role, Sector
from cssc_core.domain.network import Network, integrity_problems
from cssc_core.errors import Problem, ValidationError
from cssc_core.formats._converter import converter, structure
from cssc_core.formats._documents import MAX_NETWORK_BYTES, load_json, load_toml, read_limited, utf8_text
from cssc_core.reference import reference_regions, reference_sectors

__all__ = [
    "NETWORK_FORMAT",
    "dumps_network_json",
    "dumps_network_toml",
    "network_from_document",
    "network_to_document",
    "parse_network_json",
    "parse_network_toml",
    "read_network_file",
    "sort_problems",
]

NETWORK_FORMAT = "cssc-network/1"
_TOP_LEVEL = ("format", "regions", "sectors", "organisations", "roles")


def network_from_document(document: Any, *, source: str | None = None) -> Network:
    """Builds a network from a parsed ``cssc-network/1`` document (dicts and lists).

    Args:
        document: The document, as ``json.load`` or ``tomllib.load`` return it.
        source: The file name, used in the error's heading.

    Raises:
        ValidationError: listing every problem found, with its path.
    """
    problems: list[Problem] = []
    if not isinstance(document, dict):
        raise ValidationError.single("$", "a network document must be an object", source)
    if document.get("format") != NETWORK_FORMAT:
        found = document.get("format")
        message = f"expected {NETWORK_FORMAT!r}, found {found!r}" if found else f"must be {NETWORK_FORMAT!r}"
        problems.append(Problem("$.format", message))
    problems.extend(Problem(f"$.{key}", "unknown field") for key in document if key not in _TOP_LEVEL)

    regions = _read_list(document, "regions", Region, problems, default=reference_regions)
    sectors = _read_list(document, "sectors", Sector, problems, default=reference_sectors)
    organisations = _read_list(document, "organisations", Organisation, problems, default=tuple)
    roles = _read_list(document, "roles", Role, problems, default=tuple)

    if not problems:
        try:
            return Network(
                regions=tuple(_present(regions)),
                sectors=tuple(_present(sectors)),
                organisations=tuple(_present(organisations)),
                roles=tuple(_present(roles)),
            )
        except ValidationError as error:
            raise ValidationError(error.problems, source) from None

    # Unreadable organisations still take part in the integrity check through what can be read of
    # them (ids, region, sectors), so that one run reports every problem of the document.
    raw = document.get("organisations", [])
    if not isinstance(raw, list):
        raise ValidationError(problems, source)  # without the member list, references cannot be checked
    skeletons = [
        organisation if organisation is not None else _skeleton(item)
        for item, organisation in zip(raw, organisations, strict=True)
    ]
    problems.extend(integrity_problems(tuple(_present(regions)), tuple(_present(sectors)), skeletons, roles))
    raise ValidationError(sort_problems(problems), source)


def _read_list(
    document: dict[str, Any],
    key: str,
    item_type: Any,
    problems: list[Problem],
    *,
    default: Callable[[], Sequence[Any]],
) -> list[Any]:
    """Structures each item of ``document[key]`` on its own, so one bad item hides no other."""
    if key not in document:
        return list(default())
    items = document[key]
    if not isinstance(items, list):
        problems.append(Problem(f"$.{key}", "expected a list"))
        return []
    result: list[Any] = []
    for index, item in enumerate(items):
        value, found = structure(converter(), item, item_type, f"$.{key}[{index}]")
        problems.extend(found)
        result.append(value)
    return result


def _present(items: list[Any]) -> list[Any]:
    return [item for item in items if item is not None]


def _skeleton(item: Any) -> Organisation | None:
    """What can be read of an unreadable organisation entry: ids, region, sectors, readable contacts.

    Values that cannot be read become empty strings, which the integrity check passes over (their own
    problems are already reported).
    """
    if not isinstance(item, dict):
        return None

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    def contact(value: Any) -> Contact:
        readable, _ = structure(converter(), value, Contact, "")
        return readable or Contact(id=text(value.get("id")) if isinstance(value, dict) else "", name="")

    sectors, contacts = item.get("sectors"), item.get("contacts")
    return Organisation(
        id=text(item.get("id")),
        name="",
        region=text(item.get("region")),
        sectors=tuple(text(sector) for sector in sectors) if isinstance(sectors, list) else ("",),
        contacts=tuple(contact(value) for value in contacts) if isinstance(contacts, list) else (),
    )


def sort_problems(problems: Sequence[Problem]) -> list[Problem]:
    """Orders problems as their places appear in the document (``[10]`` after ``[9]``)."""

    def key(problem: Problem) -> list[tuple[int, int, str]]:
        # Indexes compare as numbers (by length, then digits) without converting them: an unknown
        # key may be thousands of digits long, or digits that int() does not read ("²").
        return [
            (0, len(part), part) if part.isascii() and part.isdigit() else (1, 0, part)
            for part in re.split(r"[\[\].]+", problem.path)
        ]

    return sorted(problems, key=key)


def network_to_document(network: Network) -> dict[str, Any]:
    """The network as a ``cssc-network/1`` document of plain JSON values."""
    unstructure = converter().unstructure
    return {
        "format": NETWORK_FORMAT,
        "regions": unstructure(network.regions, tuple[Region, ...]),
        "sectors": unstructure(network.sectors, tuple[Sector, ...]),
        "organisations": unstructure(network.organisations, tuple[Organisation, ...]),
        "roles": [unstructure(role, Role) for role in network.roles],
    }


def parse_network_json(text: str | bytes, *, source: str | None = None) -> Network:
    """Reads a network from ``cssc-network/1`` JSON text (or UTF-8 bytes)."""
    return network_from_document(load_json(text, source, limit=MAX_NETWORK_BYTES), source=source)


def parse_network_toml(text: str | bytes, *, source: str | None = None) -> Network:
    """Reads a network from ``cssc-network/1`` TOML text (a null is written by leaving the key out)."""
    return network_from_document(load_toml(text, source, limit=MAX_NETWORK_BYTES), source=source)


def dumps_network_json(network: Network) -> str:
    """The network as canonical ``cssc-network/1`` JSON text, ending with a newline."""
    return json.dumps(network_to_document(network), indent=2, ensure_ascii=False) + "\n"


def dumps_network_toml(network: Network) -> str:
    """The network as ``cssc-network/1`` TOML text; null values are left out."""
    return tomli_w.dumps(_without_nulls(network_to_document(network)))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def read_network_file(path: Path) -> Network:
    """Reads a network file, choosing the format by its suffix (``.json``, ``.toml`` or ``.csv``)."""
    from cssc_core.formats.csv import parse_network_csv

    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml", ".csv"):
        raise ValidationError.single("$", f"unknown file type {suffix!r} (use .json, .toml or .csv)", source)
    raw = read_limited(path, MAX_NETWORK_BYTES)
    if suffix == ".json":
        return parse_network_json(raw, source=source)
    if suffix == ".toml":
        return parse_network_toml(raw, source=source)
    return parse_network_csv(utf8_text(raw, source), source=source)

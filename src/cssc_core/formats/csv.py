"""CSV import and export of member lists: organisations with their contacts, one row per contact.

An organisation without contacts is one row with empty contact columns; an organisation's own columns
repeat on each of its rows and must agree. Lists (sectors, tags, channels) are written with ``;``
between items. CSV carries no regions, sectors or roles: those come from the network it is read into.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR as a formula, so
export prefixes such a cell with ``'`` and import removes the prefix again; a cell that already starts
with ``'`` before such a character gets one more, so every value round-trips exactly.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from cssc_core.domain.models import Organisation, Region, Role, Sector
from cssc_core.domain.network import Network
from cssc_core.errors import Problem, ValidationError
from cssc_core.formats._converter import converter, structure
from cssc_core.formats._documents import MAX_NETWORK_BYTES, check_size
from cssc_core.formats.network import network_from_document, sort_problems
from cssc_core.reference import reference_regions, reference_sectors

__all__ = ["CSV_COLUMNS", "dumps_network_csv", "parse_network_csv"]

# (column, where the value sits in an organisation document, whether it is a ';'-separated list)
_Column = tuple[str, tuple[str, ...], bool]
_ORGANISATION_COLUMNS: tuple[_Column, ...] = (
    ("organisation_id", ("id",), False),
    ("organisation_name", ("name",), False),
    ("region", ("region",), False),
    ("sectors", ("sectors",), True),
    ("lat", ("location", "lat"), False),
    ("lon", ("location", "lon"), False),
    ("postcode", ("location", "postcode"), False),
    ("county", ("location", "county"), False),
    ("tags", ("tags",), True),
    ("membership_status", ("membership", "status"), False),
    ("joined", ("membership", "joined"), False),
)
_CONTACT_COLUMNS: tuple[_Column, ...] = (
    ("contact_id", ("id",), False),
    ("contact_name", ("name",), False),
    ("email", ("email",), False),
    ("phone", ("phone",), False),
    ("webhook", ("webhook",), False),
    ("channels", ("channels",), True),
    ("language", ("language",), False),
    ("quiet_start", ("quiet_hours", "start"), False),
    ("quiet_end", ("quiet_hours", "end"), False),
    ("quiet_tz", ("quiet_hours", "tz"), False),
    ("verified", ("verified",), False),
    ("test", ("test",), False),
)
CSV_COLUMNS: tuple[str, ...] = tuple(column for column, _, _ in _ORGANISATION_COLUMNS + _CONTACT_COLUMNS)
"""The header row, in order."""

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_COLUMNS = frozenset({"lat", "lon"})
_LIST_SEPARATOR = ";"


def _guard(cell: str) -> str:
    if cell.lstrip("'").startswith(_FORMULA_TRIGGERS):
        return "'" + cell
    return cell


def _unguard(cell: str) -> str:
    if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_TRIGGERS):
        return cell[1:]
    return cell


def dumps_network_csv(network: Network) -> str:
    """The network's organisations and contacts as CSV text with a header row."""
    document = converter().unstructure(network.organisations, tuple[Organisation, ...])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for organisation in document:
        organisation_cells = [
            _cell(organisation, where, is_list) for _, where, is_list in _ORGANISATION_COLUMNS
        ]
        for contact in organisation["contacts"] or [None]:
            contact_cells = [_cell(contact, where, is_list) for _, where, is_list in _CONTACT_COLUMNS]
            writer.writerow([_guard(cell) for cell in organisation_cells + contact_cells])
    return out.getvalue()


def _cell(document: dict[str, Any] | None, where: tuple[str, ...], is_list: bool) -> str:
    value: Any = document
    for key in where:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return ""
    if is_list:
        return _LIST_SEPARATOR.join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_network_csv(
    text: str,
    *,
    regions: Iterable[Region] | None = None,
    sectors: Iterable[Sector] | None = None,
    roles: Iterable[Role] = (),
    source: str | None = None,
) -> Network:
    """Reads organisations and contacts from CSV into a network.

    Args:
        text: The CSV text, with the header row of :data:`CSV_COLUMNS` (any column order).
        regions: The regions to check against; the shipped reference data when None.
        sectors: The sectors to check against; the shipped reference data when None.
        roles: Roles to keep; each must still resolve in the new member list.
        source: The file name, used in the error's heading.

    Raises:
        ValidationError: every problem, each located as ``row N, column``.
    """
    check_size(len(text), MAX_NETWORK_BYTES, source)
    regions = tuple(reference_regions() if regions is None else regions)
    sectors = tuple(reference_sectors() if sectors is None else sectors)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    try:
        header = reader.fieldnames or []
        problems.extend(_header_problems(header))
        if problems:
            raise ValidationError(problems, source)
        organisations, first_rows = _group_rows(reader, problems)
    except csv.Error as error:
        raise ValidationError.single(f"row {reader.line_num}", f"not valid CSV ({error})", source) from None

    for index, organisation in enumerate(organisations):
        _, found = structure(converter(), organisation, Organisation, f"$.organisations[{index}]")
        problems.extend(_locate(problem, first_rows) for problem in found)
    if problems:
        raise ValidationError(sort_problems(problems), source)

    document = {
        "format": "cssc-network/1",
        "regions": converter().unstructure(regions, tuple[Region, ...]),
        "sectors": converter().unstructure(sectors, tuple[Sector, ...]),
        "organisations": organisations,
        "roles": [converter().unstructure(role, Role) for role in roles],
    }
    try:
        return network_from_document(document, source=source)
    except ValidationError as error:
        located = [_locate(problem, first_rows) for problem in error.problems]
        raise ValidationError(located, source) from None


def _header_problems(header: Sequence[str]) -> list[Problem]:
    problems = [
        Problem("header", f"missing column {column!r}") for column in CSV_COLUMNS if column not in header
    ]
    problems.extend(
        Problem("header", f"unknown column {column!r}") for column in header if column not in CSV_COLUMNS
    )
    return problems


@attrs.define
class _Rows:
    """Where an organisation came from: its first row and the row of each of its contacts."""

    first: int
    contacts: list[int] = attrs.Factory(list)


def _group_rows(
    reader: csv.DictReader[str], problems: list[Problem]
) -> tuple[list[dict[str, Any]], list[_Rows]]:
    """Gathers rows into organisation documents; returns them and, for each, where its rows were."""
    organisations: dict[str, dict[str, Any]] = {}
    rows_of: dict[str, _Rows] = {}
    for row in reader:
        row_number = reader.line_num
        if None in row:
            problems.append(Problem(f"row {row_number}", "more cells than columns"))
            continue
        cells = {column: _unguard(value or "") for column, value in row.items()}
        organisation = _document(cells, _ORGANISATION_COLUMNS)
        key = cells["organisation_id"]
        known = organisations.setdefault(key, {**organisation, "contacts": []})
        rows = rows_of.setdefault(key, _Rows(row_number))
        if rows.first != row_number and {k: v for k, v in known.items() if k != "contacts"} != organisation:
            problems.append(
                Problem(
                    f"row {row_number}", f"organisation {key!r} differs from its first row ({rows.first})"
                )
            )
        if any(cells[column] for column, _, _ in _CONTACT_COLUMNS):
            known["contacts"].append(_document(cells, _CONTACT_COLUMNS))
            rows.contacts.append(row_number)
        elif rows.first != row_number:
            problems.append(Problem(f"row {row_number}", "a second row of an organisation needs a contact"))
    return list(organisations.values()), list(rows_of.values())


def _document(cells: dict[str, str], columns: tuple[_Column, ...]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for column, where, is_list in columns:
        cell = cells[column]
        if is_list:
            value: Any = [item.strip() for item in cell.split(_LIST_SEPARATOR)] if cell else []
        elif not cell:
            continue
        elif column in _NUMBER_COLUMNS:
            value = _number(cell)
        elif column == "test":
            value = {"true": True, "false": False}.get(cell.lower(), cell)
        else:
            value = cell
        target = document
        for key in where[:-1]:
            target = target.setdefault(key, {})
        target[where[-1]] = value
    return document


def _number(cell: str) -> float | str:
    try:
        return float(cell)
    except ValueError:
        return cell  # left as text, so that structuring reports it with its column


_COLUMN_OF_PATH = {".".join(where): column for column, where, _ in _ORGANISATION_COLUMNS}
_CONTACT_COLUMN_OF_PATH = {".".join(where): column for column, where, _ in _CONTACT_COLUMNS}


_DOCUMENT_PATH = re.compile(r"\$\.organisations\[(\d+)\](?:\.contacts\[(\d+)\])?")


def _locate(problem: Problem, rows: list[_Rows]) -> Problem:
    """Turns ``$.organisations[i].contacts[j].phone`` into ``row N, phone``, in the message too."""

    def row_of(match: re.Match[str]) -> str:
        where = rows[int(match[1])]
        return f"row {where.first if match[2] is None else where.contacts[int(match[2])]}"

    match = _DOCUMENT_PATH.match(problem.path)
    message = _DOCUMENT_PATH.sub(row_of, problem.message)
    if match is None:
        return Problem(problem.path, message)
    field = problem.path[match.end() :].lstrip(".").split("[")[0]
    columns = _COLUMN_OF_PATH if match[2] is None else _CONTACT_COLUMN_OF_PATH
    column = columns.get(field, field)
    return Problem(f"{row_of(match)}, {column}" if column else row_of(match), message)

"""Printing results: aligned text tables for people, JSON for programs (``--json``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import click

__all__ = ["echo_json", "echo_table", "format_table"]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Lays rows out in columns under their headers; numbers are right-aligned."""
    cells = [[_text(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) and bool(rows) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * width for width in widths]), *(line(row) for row in cells)])


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    return str(value)


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Prints a table to standard output."""
    click.echo(format_table(headers, rows))


def echo_json(value: Mapping[str, Any] | Sequence[Any]) -> None:
    """Prints a JSON document to standard output, indented, with a trailing newline."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))

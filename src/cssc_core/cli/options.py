"""Options every command shares, and the one place where ``--db`` and ``--store`` become a store.

``--db PATH`` selects a SQLite file (default ``./cssc.db``); ``--store URL`` selects any installed
backend by its URL scheme; both at once is bad input (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cssc_core.domain.clock import Clock, FakeClock, SystemClock
from cssc_core.domain.fields import parse_instant
from cssc_core.errors import ValidationError
from cssc_core.plugins.manager import PluginHost
from cssc_core.storage.protocol import Store
from cssc_core.storage.sqlite import sqlite_url

__all__ = [
    "DEFAULT_DB",
    "FilePath",
    "at_option",
    "clock_from_option",
    "db_option",
    "json_option",
    "open_store_from_options",
    "store_option",
    "store_options",
]

F = TypeVar("F", bound=Callable[..., object])

DEFAULT_DB = Path("cssc.db")
"""The SQLite file used when neither ``--db`` nor ``--store`` is given (in the current folder)."""


class FilePath(click.Path):
    """``click.Path`` that refuses a name with a NUL character, or one the file system cannot encode.

    ``click.Path`` looks the name up with ``os.stat``, which raises ``ValueError`` for those; every
    command takes its file names through this type instead, so such a name exits 2 like other bad input.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Refuses a name holding NUL, then converts as ``click.Path`` does."""
        if "\x00" in str(value):
            self.fail("a file name cannot hold a NUL character", param, ctx)
        try:
            os.fsencode(value)
        except UnicodeEncodeError:
            self.fail(f"{value!r} cannot be a file name here", param, ctx)
        return super().convert(value, param, ctx)


def db_option(function: F) -> F:
    """Adds ``--db PATH`` (parameter ``db``)."""
    return click.option(
        "--db",
        "db",
        metavar="PATH",
        type=FilePath(dir_okay=False, path_type=Path),
        default=None,
        help=f"The SQLite store file (default: ./{DEFAULT_DB}).",
    )(function)


def store_option(function: F) -> F:
    """Adds ``--store URL`` (parameter ``store``)."""
    return click.option(
        "--store",
        "store",
        metavar="URL",
        default=None,
        help="A store of any installed backend, by URL (sqlite:///PATH, memory://, ...); not with --db.",
    )(function)


def store_options(function: F) -> F:
    """Adds both ``--db`` and ``--store``; pass their values to :func:`open_store_from_options`."""
    return db_option(store_option(function))


def json_option(function: F) -> F:
    """Adds ``--json`` (parameter ``as_json``): print JSON instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(function)


def at_option(function: F) -> F:
    """Adds ``--at TIME`` (parameter ``at``): act as if the clock read TIME (ISO 8601 with an offset)."""
    return click.option(
        "--at",
        "at",
        metavar="TIME",
        default=None,
        help="Act as if it were TIME (ISO 8601 with an offset, e.g. 2019-06-12T09:15:00+01:00).",
    )(function)


def clock_from_option(at: str | None) -> Clock:
    """The clock a command reads: fixed at ``--at TIME`` when given, else the system clock.

    Raises:
        ValidationError: when TIME is not an ISO 8601 date and time with an offset (exit 2).
    """
    if at is None:
        return SystemClock()
    try:
        return FakeClock(parse_instant(at))
    except ValueError as error:
        raise ValidationError.single("--at", str(error)) from None


def open_store_from_options(db: Path | None, store: str | None, *, host: PluginHost | None = None) -> Store:
    """Opens the store that ``--db`` and ``--store`` select.

    Args:
        db: The ``--db`` value, or None.
        store: The ``--store`` value, or None.
        host: The plugin host (default: built-ins and the allowed external plugins).

    Raises:
        ValidationError: when both are given, or the URL names no installed backend (exit 2).
    """
    if db is not None and store is not None:
        raise ValidationError.single("--db/--store", "give --db or --store, not both")
    url = store if store is not None else sqlite_url(db if db is not None else DEFAULT_DB)
    return (host or PluginHost.load()).open_store(url)

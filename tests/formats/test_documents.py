"""Hostile document text: every reader refuses it with a ValidationError naming the problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cssc_core import (
    ValidationError,
    parse_cap_xml,
    parse_message_json,
    parse_message_toml,
    parse_network_json,
    parse_network_toml,
    parse_policy_toml,
    read_message_file,
    read_network_file,
    read_policy_files,
)
from cssc_core.formats._documents import MAX_DOCUMENT_BYTES, load_json, load_toml

JSON_READERS: list[Callable[..., Any]] = [parse_network_json, parse_message_json]
TOML_READERS: list[Callable[..., Any]] = [parse_network_toml, parse_message_toml, parse_policy_toml]


def _problem(error: pytest.ExceptionInfo[ValidationError]) -> str:
    assert len(error.value.problems) == 1
    return str(error.value.problems[0])


@pytest.mark.parametrize("read", JSON_READERS)
def test_a_number_too_long_to_convert_is_refused(read: Callable[..., Any]) -> None:
    # Regression: Python's int_max_str_digits ValueError escaped the JSON readers.
    with pytest.raises(ValidationError) as error:
        read('{"format": ' + "9" * 5000 + "}")
    assert _problem(error) == "$: a number is too long"


@pytest.mark.parametrize("read", TOML_READERS)
@pytest.mark.parametrize(
    "text", ["a = " + "[" * 50_000 + "]" * 50_000, "a = " + "{b = " * 5000 + "1" + "}" * 5000]
)
def test_toml_nested_too_deeply_is_refused(read: Callable[..., Any], text: str) -> None:
    # Regression: tomllib's RecursionError escaped the TOML readers.
    with pytest.raises(ValidationError) as error:
        read(text)
    assert _problem(error) == "$: nested too deeply"


@pytest.mark.parametrize("read", TOML_READERS)
def test_a_toml_number_too_long_is_refused(read: Callable[..., Any]) -> None:
    with pytest.raises(ValidationError) as error:
        read("a = " + "9" * 5000)
    assert _problem(error) == "$: a number is too long"


@pytest.mark.parametrize("read", JSON_READERS)
def test_a_repeated_key_is_refused(read: Callable[..., Any]) -> None:
    with pytest.raises(ValidationError) as error:
        read('{"format": "cssc-network/1", "id": "a", "id": "b"}')
    assert _problem(error) == "$: the key 'id' appears twice in one object"


@pytest.mark.parametrize("read", [parse_message_json, parse_message_toml, parse_policy_toml, parse_cap_xml])
def test_text_over_the_limit_is_refused_before_parsing(read: Callable[..., Any]) -> None:
    with pytest.raises(ValidationError) as error:
        read(" " * (MAX_DOCUMENT_BYTES + 1))
    assert "at most 4,194,304 are read" in _problem(error)


def test_invalid_utf8_names_the_byte() -> None:
    with pytest.raises(ValidationError) as error:
        load_json(b'{"a": "\xff"}', "f.json")
    assert _problem(error) == "$: not valid UTF-8 text (byte 7 cannot be decoded)"


@pytest.mark.parametrize("load", [load_json, load_toml])
def test_a_byte_order_mark_is_dropped(load: Callable[..., Any]) -> None:
    assert load(b"\xef\xbb\xbf" + (b"{}" if load is load_json else b""), None) == {}
    assert load("\ufeff" + ("{}" if load is load_json else ""), None) == {}


def test_files_over_the_limit_are_refused(tmp_path: Path) -> None:
    for name, read in [("m.json", read_message_file), ("p.toml", lambda p: read_policy_files([p]))]:
        path = tmp_path / name
        path.write_bytes(b" " * (MAX_DOCUMENT_BYTES + 1))
        with pytest.raises(ValidationError, match="longer than 4,194,304 bytes"):
            read(path)


def test_unreadable_files_are_bad_input(tmp_path: Path) -> None:
    for read in (read_network_file, read_message_file):
        with pytest.raises(ValidationError, match="cannot read the file"):
            read(tmp_path / "missing.json")
        with pytest.raises(ValidationError, match="cannot read the file"):
            read(tmp_path / "nul\x00.json")

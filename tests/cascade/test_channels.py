"""Channel files that are not text, nest too deeply or hold numbers too long are bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from cssc_core.channels.config import read_channel_file
from cssc_core.errors import ValidationError


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        # Regressions: each of these escaped read_channel_file as a builtin exception.
        (b'format = "cssc-channels/1\xff"', "not valid UTF-8 text"),
        (b"a = " + b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b"a = " + b"9" * 5000, "a number is too long"),
    ],
)
def test_unreadable_channel_files_are_bad_input(tmp_path: Path, raw: bytes, problem: str) -> None:
    path = tmp_path / "channels.toml"
    path.write_bytes(raw)
    with pytest.raises(ValidationError, match=problem):
        read_channel_file(path)

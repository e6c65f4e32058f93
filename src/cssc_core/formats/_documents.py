"""Reading document text safely: size limits, JSON and TOML syntax errors, nesting, duplicate keys.

Every reader in :mod:`cssc_core.formats` goes through these functions, so that no input, however
hostile, gets past them as anything but a :class:`~cssc_core.errors.ValidationError`:

- a file or text longer than the format's limit is refused before it is parsed, so memory stays
  bounded (:data:`MAX_DOCUMENT_BYTES` for messages, policies and channel files, which are small;
  :data:`MAX_NETWORK_BYTES` for networks, which may hold every member of the country);
- nesting deep enough to exhaust the parser's recursion is refused (``RecursionError``);
- a number too long for Python to convert (``int_max_str_digits``) is refused;
- a JSON object that repeats a key is refused: readers would disagree on which value counts;
- text that is not UTF-8 is refused; a UTF-8 byte order mark is accepted and dropped.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from cssc_core.errors import ValidationError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_NETWORK_BYTES",
    "check_size",
    "load_json",
    "load_toml",
    "read_limited",
    "utf8_text",
]

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
"""The largest message, policy or channel file read (4 MiB)."""

MAX_NETWORK_BYTES = 512 * 1024 * 1024
"""The largest network file read (512 MiB, several times a national network of 100,000 members)."""


def check_size(size: int, limit: int, source: str | None) -> None:
    """Refuses a document of more than ``limit`` bytes (or characters) before it is parsed.

    Raises:
        ValidationError: naming the size and the limit.
    """
    # Text is measured in characters, bytes in bytes: either way, memory stays within a small factor.
    if size > limit:
        raise ValidationError.single(
            "$", f"the document is {size:,} bytes long; at most {limit:,} are read", source
        )


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of a file of at most ``limit`` bytes.

    Raises:
        ValidationError: when the file cannot be read or is longer than ``limit``.
    """
    source = str(path)
    try:
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValidationError.single("$", f"cannot read the file ({reason})", source) from None
    except ValueError as error:  # a NUL character in the name, say
        raise ValidationError.single("$", f"cannot read the file ({error})", source) from None
    if len(raw) > limit:
        raise ValidationError.single("$", f"the file is longer than {limit:,} bytes", source)
    return raw


def utf8_text(raw: str | bytes, source: str | None) -> str:
    """The text of ``raw``, decoded as UTF-8 (a byte order mark dropped) when it is bytes."""
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError.single(
            "$", f"not valid UTF-8 text (byte {error.start} cannot be decoded)", source
        ) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return document


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def load_json(raw: str | bytes, source: str | None, *, limit: int = MAX_DOCUMENT_BYTES) -> Any:
    """Parses JSON text (or UTF-8 bytes) of at most ``limit`` bytes.

    Raises:
        ValidationError: for anything that is not one well-formed JSON document within the limits.
    """
    check_size(len(raw), limit, source)
    text = utf8_text(raw, source)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise ValidationError.single("$", f"not valid JSON: {error.msg} ({where})", source) from None
    except _DuplicateKey as error:
        raise ValidationError.single(
            "$", f"the key {_clip(error.key)} appears twice in one object", source
        ) from None
    except RecursionError:
        raise ValidationError.single("$", "nested too deeply", source) from None
    except ValueError:
        # Python refuses to convert integers of more than int_max_str_digits digits.
        raise ValidationError.single("$", "a number is too long", source) from None


def load_toml(raw: str | bytes, source: str | None, *, limit: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """Parses TOML text (or UTF-8 bytes) of at most ``limit`` bytes.

    Raises:
        ValidationError: for anything that is not a well-formed TOML document within the limits.
    """
    check_size(len(raw), limit, source)
    text = utf8_text(raw, source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValidationError.single("$", f"not valid TOML: {error}", source) from None
    except RecursionError:
        raise ValidationError.single("$", "nested too deeply", source) from None
    except ValueError:
        raise ValidationError.single("$", "a number is too long", source) from None


def _clip(value: str, width: int = 60) -> str:
    """``repr`` of a value, cut to ``width`` characters, for error messages about hostile input."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"

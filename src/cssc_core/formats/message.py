"""The ``cssc-message/1`` format: JSON (canonical) and TOML with the same structure (SPEC.md section 4).

Reading collects every problem, each with its path (``$.audience.areas[1].circle.radius_km``), and
raises one :class:`ValidationError` carrying them all. Messages are read through a private converter
built on the network documents' one, so ids, text and enums are checked the same way everywhere.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import cattrs
import tomli_w
from cattrs.errors import AttributeValidationNote, ClassValidationError
from cattrs.gen import override

from cssc_core.domain import fields
from cssc_core.domain.message import (
    Area,
    Audience,
    Circle,
    County,
    LanguageBlock,
    Message,
    MessageType,
    Polygon,
    PostcodeDistrict,
)
from cssc_core.errors import Problem, ValidationError
from cssc_core.formats._converter import make_converter, object_structure_fn, problems_from
from cssc_core.formats._documents import MAX_DOCUMENT_BYTES, load_json, load_toml, read_limited
from cssc_core.formats.network import sort_problems

__all__ = [
    "MESSAGE_FORMAT",
    "dumps_message_json",
    "dumps_message_toml",
    "message_from_document",
    "message_problems",
    "message_to_document",
    "parse_message_json",
    "parse_message_toml",
    "read_message_file",
]

MESSAGE_FORMAT = "cssc-message/1"
_LANGUAGES = ("cy",)
_AREA_KINDS = ("circle", "polygon", "county", "postcode_district")


def _fail(key: str, error: Exception) -> ClassValidationError:
    error.__notes__ = [AttributeValidationNote(key, key, object)]
    return ClassValidationError("invalid value", [error], object)


def _aware_datetime(value: Any, _: Any) -> datetime:
    # TOML carries date-times natively; JSON carries ISO 8601 strings.
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{fields.clip(value)} is not a date-time written ISO 8601 with an offset"
            ) from None
    if not isinstance(value, datetime):
        raise TypeError("expected a date-time written ISO 8601 with an offset")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a date-time needs its offset (+01:00 or Z)")
    return fields.check_instant(value)


def _coordinate(check: Callable[[float], float]) -> Callable[[Any], float]:
    def read(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("expected a number")
        return check(float(value))

    return read


_latitude = _coordinate(fields.check_latitude)
_longitude = _coordinate(fields.check_longitude)


def _radius(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"radius {value} must be a number of kilometres, 0 or more")
    return value


def _structure_area(converter: cattrs.Converter) -> Callable[[Any, Any], Area]:
    circle = object_structure_fn(
        Circle,
        converter,
        lat=override(struct_hook=lambda v, _: _latitude(v)),
        lon=override(struct_hook=lambda v, _: _longitude(v)),
        radius_km=override(struct_hook=lambda v, _: _coordinate(_radius)(v)),
    )

    def polygon(value: Any) -> Polygon:
        if not isinstance(value, list):
            raise TypeError("expected a list of [lat, lon] points")
        errors: list[Exception] = []
        points: list[tuple[float, float]] = []
        for index, point in enumerate(value):
            try:
                if not isinstance(point, list | tuple) or len(point) != 2:
                    raise TypeError("expected a [lat, lon] pair")
                points.append((_latitude(point[0]), _longitude(point[1])))
            except (TypeError, ValueError) as error:
                error.__notes__ = [cattrs.errors.IterableValidationNote(f"item {index}", index, list)]
                errors.append(error)
        if errors:
            raise cattrs.errors.IterableValidationError("invalid points", errors, list)
        if len(points) < 3:
            raise ValueError("a polygon needs at least three points")
        return Polygon(tuple(points))

    def hook(value: Any, _: Any) -> Area:
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in _AREA_KINDS:
            raise ValueError(f"an area is an object with one key: {', '.join(_AREA_KINDS)}")
        ((kind, inner),) = value.items()
        try:
            if kind == "circle":
                return circle(inner, Circle)
            if kind == "polygon":
                return polygon(inner)
            if kind == "county":
                return County(fields.check_text(converter.structure(inner, str)))
            return PostcodeDistrict(fields.normalise_postcode_district(converter.structure(inner, str)))
        except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as error:
            raise _fail(kind, error) from None

    return hook


def _structure_languages(converter: cattrs.Converter) -> Callable[[Any, Any], dict[str, LanguageBlock]]:
    def hook(value: Any, _: Any) -> dict[str, LanguageBlock]:
        if not isinstance(value, dict):
            raise TypeError("expected an object keyed by language code")
        blocks: dict[str, LanguageBlock] = {}
        errors: list[Exception] = []
        for key, block in value.items():
            try:
                if key not in _LANGUAGES:
                    raise ValueError(
                        f"{key!r} is not a language a message can carry ({', '.join(_LANGUAGES)})"
                    )
                blocks[key] = converter.structure(block, LanguageBlock)
            except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as error:
                errors.append(_fail(str(key), error))
        if errors:
            raise ClassValidationError("invalid languages", errors, dict)
        return blocks

    return hook


@functools.cache
def _converter() -> cattrs.Converter:
    converter = make_converter()
    identifier = override(struct_hook=lambda v, _: fields.check_identifier(converter.structure(v, str)))
    text = override(struct_hook=lambda v, _: fields.check_text(converter.structure(v, str)))
    optional_text = override(
        struct_hook=lambda v, _: None if v is None else fields.check_text(converter.structure(v, str))
    )
    converter.register_structure_hook(datetime, _aware_datetime)
    converter.register_structure_hook_func(lambda t: t == Area, _structure_area(converter))
    converter.register_structure_hook(
        LanguageBlock,
        object_structure_fn(
            LanguageBlock, converter, headline=text, body=optional_text, instruction=optional_text
        ),
    )
    converter.register_structure_hook(
        Audience,
        object_structure_fn(
            Audience,
            converter,
            regions=_identifier_list(converter),
            sectors=_identifier_list(converter),
            organisations=_identifier_list(converter),
            contacts=_identifier_list(converter),
        ),
    )
    converter.register_structure_hook(
        Message,
        object_structure_fn(
            Message,
            converter,
            id=identifier,
            sender=text,
            headline=text,
            body=optional_text,
            instruction=optional_text,
            references=_identifier_list(converter),
            languages=override(struct_hook=_structure_languages(converter)),
        ),
    )
    return converter


def _identifier_list(converter: cattrs.Converter) -> Any:
    hook = converter.get_structure_hook(tuple[str, ...])

    def identifiers(value: Any, type_: Any) -> tuple[str, ...]:
        values: tuple[str, ...] = hook(value, type_)
        errors: list[Exception] = []
        for index, item in enumerate(values):
            try:
                fields.check_identifier(item)
            except ValueError as error:
                error.__notes__ = [cattrs.errors.IterableValidationNote(f"item {index}", index, str)]
                errors.append(error)
        if errors:
            raise cattrs.errors.IterableValidationError("invalid ids", errors, tuple)
        return values

    return override(struct_hook=identifiers)


def message_problems(message: Message) -> list[Problem]:
    """The problems of a message that no single field shows: references, expiry."""
    problems = []
    if message.type is MessageType.ALERT and message.references:
        problems.append(
            Problem("$.references", "an alert replaces nothing; references are for updates and cancels")
        )
    if message.type is not MessageType.ALERT and not message.references:
        problems.append(Problem("$.references", f"an {message.type} must name the messages it replaces"))
    if message.expires is not None and message.expires <= message.sent:
        problems.append(Problem("$.expires", "a message must expire after it is sent"))
    return problems


def message_from_document(document: Any, *, source: str | None = None) -> Message:
    """Builds a message from a parsed ``cssc-message/1`` document.

    Raises:
        ValidationError: listing every problem found, with its path.
    """
    if not isinstance(document, dict):
        raise ValidationError.single("$", "a message document must be an object", source)
    problems: list[Problem] = []
    body = dict(document)
    found = body.pop("format", None)
    if found != MESSAGE_FORMAT:
        text = f"expected {MESSAGE_FORMAT!r}, found {found!r}" if found else f"must be {MESSAGE_FORMAT!r}"
        problems.append(Problem("$.format", text))
    message: Message | None = None
    try:
        message = _converter().structure(body, Message)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as error:
        problems.extend(problems_from(error, "$"))
    if message is not None:
        problems.extend(message_problems(message))
    if problems:
        raise ValidationError(sort_problems(problems), source)
    assert message is not None
    return message


def _area_document(area: Area) -> dict[str, Any]:
    if isinstance(area, Circle):
        return {"circle": {"lat": area.lat, "lon": area.lon, "radius_km": area.radius_km}}
    if isinstance(area, Polygon):
        return {"polygon": [list(point) for point in area.points]}
    if isinstance(area, County):
        return {"county": area.name}
    return {"postcode_district": area.code}


def message_to_document(message: Message) -> dict[str, Any]:
    """The message as a ``cssc-message/1`` document of plain JSON values."""
    audience = message.audience
    return {
        "format": MESSAGE_FORMAT,
        "id": message.id,
        "sender": message.sender,
        "sent": message.sent.isoformat(),
        "status": str(message.status),
        "type": str(message.type),
        "references": list(message.references),
        "marking": str(message.marking),
        "category": str(message.category),
        "urgency": str(message.urgency),
        "severity": str(message.severity),
        "certainty": str(message.certainty),
        "headline": message.headline,
        "body": message.body,
        "instruction": message.instruction,
        "expires": None if message.expires is None else message.expires.isoformat(),
        "languages": {
            code: {"headline": block.headline, "body": block.body, "instruction": block.instruction}
            for code, block in message.languages.items()
        },
        "audience": {
            "regions": list(audience.regions),
            "sectors": list(audience.sectors),
            "tags": list(audience.tags),
            "areas": [_area_document(area) for area in audience.areas],
            "organisations": list(audience.organisations),
            "contacts": list(audience.contacts),
        },
    }


def parse_message_json(text: str | bytes, *, source: str | None = None) -> Message:
    """Reads a message from ``cssc-message/1`` JSON text (or UTF-8 bytes)."""
    return message_from_document(load_json(text, source), source=source)


def parse_message_toml(text: str | bytes, *, source: str | None = None) -> Message:
    """Reads a message from ``cssc-message/1`` TOML text (a null is written by leaving the key out)."""
    return message_from_document(load_toml(text, source), source=source)


def dumps_message_json(message: Message) -> str:
    """The message as ``cssc-message/1`` JSON text, ending with a newline."""
    return json.dumps(message_to_document(message), indent=2, ensure_ascii=False) + "\n"


def dumps_message_toml(message: Message) -> str:
    """The message as ``cssc-message/1`` TOML text; null values are left out."""
    document = message_to_document(message)
    document["languages"] = {
        code: {key: value for key, value in block.items() if value is not None}
        for code, block in document["languages"].items()
    }
    return tomli_w.dumps({key: value for key, value in document.items() if value is not None})


def read_message_file(path: Path) -> Message:
    """Reads a message file by its suffix: ``.json``, ``.toml`` or CAP 1.2 ``.xml``."""
    from cssc_core.formats.cap import parse_cap_xml

    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml", ".xml", ".cap"):
        raise ValidationError.single("$", f"unknown file type {suffix!r} (use .json, .toml or .xml)", source)
    raw = read_limited(path, MAX_DOCUMENT_BYTES)
    if suffix == ".json":
        return parse_message_json(raw, source=source)
    if suffix == ".toml":
        return parse_message_toml(raw, source=source)
    return parse_cap_xml(raw, source=source)

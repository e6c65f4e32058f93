"""The one private cattrs converter that reads and writes the network's documents.

Structuring is strict: no extra keys, no strings where lists belong, no numbers where text belongs,
and every field value checked and normalised by :mod:`cssc_core.domain.fields`. Failures come back as
cattrs exception groups; :func:`problems_from` turns them into :class:`~cssc_core.errors.Problem`
records with document paths.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from cssc_core.domain import fields
from cssc_core.domain.models import (
    BoardRole,
    Contact,
    HubRole,
    IslRole,
    LiaisonRole,
    Location,
    Organisation,
    QuietHours,
    Region,
    Role,
    Sector,
)
from cssc_core.errors import Problem

__all__ = [
    "ROLE_CLASSES",
    "converter",
    "make_converter",
    "object_structure_fn",
    "problems_from",
    "structure",
]

T = TypeVar("T")

ROLE_CLASSES: dict[str, type[Role]] = {
    "isl": IslRole,
    "hub": HubRole,
    "liaison": LiaisonRole,
    "board": BoardRole,
}


def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _text(value: Any, _: Any = None) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {_type_name(value)}")
    return value


def _checked(check: Callable[[str], T]) -> Callable[[Any, Any], T]:
    """A structure hook that requires a string and then applies ``check`` to it."""

    def hook(value: Any, _: Any) -> T:
        return check(_text(value))

    return hook


def _optional(hook: Callable[[Any, Any], T]) -> Callable[[Any, Any], T | None]:
    def optional_hook(value: Any, type_: Any) -> T | None:
        return None if value is None else hook(value, type_)

    return optional_hook


def _text_list(check: Callable[[str], str] = fields.check_text) -> Callable[[Any, Any], tuple[str, ...]]:
    def hook(value: Any, _: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list, got {_type_name(value)}")
        errors: list[Exception] = []
        items: list[str] = []
        for index, item in enumerate(value):
            try:
                items.append(check(_text(item)))
            except (TypeError, ValueError) as error:
                error.__notes__ = [cattrs.errors.IterableValidationNote(f"item {index}", index, str)]
                errors.append(error)
        if errors:
            raise IterableValidationError("invalid items", errors, tuple)
        return tuple(items)

    return hook


def _bool(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {_type_name(value)}")
    return value


def _int(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {_type_name(value)}")
    return value


def _number(check: Callable[[float], float]) -> Callable[[Any, Any], float]:
    def hook(value: Any, _: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {_type_name(value)}")
        return check(float(value))

    return hook


def _date(value: Any, _: Any) -> date:
    # TOML documents carry dates natively; JSON and CSV carry ISO 8601 strings.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(_text(value))
    except ValueError:
        raise ValueError(f"{fields.clip(value)} is not a date written YYYY-MM-DD") from None


def _time(value: Any, _: Any) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    return fields.parse_clock_time(_text(value))


def _enum(value: Any, type_: type[enum.Enum]) -> enum.Enum:
    text = _text(value)
    try:
        return type_(text)
    except ValueError:
        allowed = ", ".join(member.value for member in type_)
        raise ValueError(f"{fields.clip(text)} is not one of {allowed}") from None


def _structure_location(converter: cattrs.Converter) -> Callable[[Any, Any], Location]:
    base = object_structure_fn(
        Location,
        converter,
        lat=override(struct_hook=_optional(_number(fields.check_latitude))),
        lon=override(struct_hook=_optional(_number(fields.check_longitude))),
        postcode=override(struct_hook=_optional(_checked(fields.normalise_postcode))),
        county=override(struct_hook=_optional(_checked(fields.check_text))),
    )

    def hook(value: Any, type_: Any) -> Location:
        location = base(value, type_)
        if (location.lat is None) != (location.lon is None):
            raise ValueError("lat and lon must be given together")
        return location

    return hook


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {_type_name(value)}")
    return value


def object_structure_fn(
    cls: type[T], converter: cattrs.Converter, **overrides: Any
) -> Callable[[Any, Any], T]:
    """``make_dict_structure_fn`` for a document object: anything but an object (a list, a number,
    null) is refused with a :class:`TypeError` naming what was found, instead of failing inside
    the generated code with an ``AttributeError``."""
    structure_fn = make_dict_structure_fn(cls, converter, **overrides)

    def hook(value: Any, type_: Any) -> T:
        return structure_fn(_mapping(value), type_)

    return hook


def _structure_role(converter: cattrs.Converter) -> Callable[[Any, Any], Role]:
    def hook(value: Any, _: Any) -> Role:
        data = dict(_mapping(value))
        kind = data.pop("role", None)
        if kind not in ROLE_CLASSES:
            allowed = ", ".join(ROLE_CLASSES)
            error = ValueError(f"{kind!r} is not one of {allowed}" if kind else "required field missing")
            error.__notes__ = [cattrs.errors.AttributeValidationNote("role", "role", str)]
            raise ClassValidationError("invalid role", [error], dict)
        return converter.structure(data, ROLE_CLASSES[kind])

    return hook


def _unstructure_role(converter: cattrs.Converter) -> Callable[[Role], dict[str, Any]]:
    def hook(role: Role) -> dict[str, Any]:
        data: dict[str, Any] = {"role": role.kind}
        data.update(converter.unstructure(role, unstructure_as=type(role)))
        del data["kind"]
        return data

    return hook


def make_converter() -> cattrs.Converter:
    """Builds the converter for ``cssc-network/1`` documents (JSON-ready Python values)."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    identifier = override(struct_hook=_checked(fields.check_identifier))
    text = override(struct_hook=_checked(fields.check_text))

    # Records without a hook of their own (Membership, say) are read as document objects too.
    converter.register_structure_hook_factory(attrs.has, lambda cls: object_structure_fn(cls, converter))
    converter.register_structure_hook(str, _text)
    converter.register_structure_hook(bool, _bool)
    converter.register_structure_hook(int, _int)
    converter.register_structure_hook(date, _date)
    converter.register_structure_hook(time, _time)
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _text_list())
    # Every enum through its base class; StrEnum too, or its str base would win the dispatch.
    converter.register_structure_hook(enum.Enum, _enum)
    converter.register_structure_hook(enum.StrEnum, _enum)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_unstructure_hook(time, lambda t: t.strftime("%H:%M"))

    for code_class in (Region, Sector):
        converter.register_structure_hook(
            code_class,
            object_structure_fn(code_class, converter, code=identifier, name=text),
        )
    converter.register_structure_hook(Location, _structure_location(converter))
    converter.register_structure_hook(
        QuietHours,
        object_structure_fn(QuietHours, converter, tz=override(struct_hook=_checked(fields.check_time_zone))),
    )
    converter.register_structure_hook(
        Contact,
        object_structure_fn(
            Contact,
            converter,
            id=identifier,
            name=text,
            email=override(struct_hook=_optional(_checked(fields.normalise_email))),
            phone=override(struct_hook=_optional(_checked(fields.normalise_phone))),
            webhook=override(struct_hook=_optional(_checked(fields.check_webhook_url))),
            channels=override(struct_hook=_text_list(fields.check_channel_name)),
        ),
    )
    converter.register_structure_hook(
        Organisation,
        object_structure_fn(
            Organisation,
            converter,
            id=identifier,
            name=text,
            sectors=override(struct_hook=_text_list(fields.check_identifier)),
        ),
    )
    for role_class in ROLE_CLASSES.values():
        converter.register_structure_hook(
            role_class,
            object_structure_fn(role_class, converter, contact=identifier),
        )
        converter.register_unstructure_hook(
            role_class,
            make_dict_unstructure_fn(role_class, converter, _cattrs_include_init_false=True),
        )
    converter.register_structure_hook(Role, _structure_role(converter))
    converter.register_unstructure_hook(Role, _unstructure_role(converter))
    return converter


@functools.cache
def converter() -> cattrs.Converter:
    """The converter, built once per process on first use."""
    return make_converter()


def problems_from(error: BaseException, path: str) -> Iterator[Problem]:
    """Flattens a structuring failure into problems, each with its path below ``path``."""
    if isinstance(error, ClassValidationError):
        noted, others = error.group_exceptions()
        for sub, attribute in noted:
            yield from problems_from(sub, f"{path}.{attribute.name}")
        for sub in others:
            yield from problems_from(sub, path)
    elif isinstance(error, IterableValidationError):
        indexed, others = error.group_exceptions()
        for sub, item in indexed:
            yield from problems_from(sub, f"{path}[{item.index}]")
        for sub in others:
            yield from problems_from(sub, path)
    elif isinstance(error, ForbiddenExtraKeysError):
        for key in sorted(error.extra_fields):
            yield Problem(f"{path}.{key}", "unknown field")
    elif isinstance(error, KeyError):
        yield Problem(path, "required field missing")
    elif isinstance(error, ExceptionGroup):
        for sub in error.exceptions:
            yield from problems_from(sub, path)
    else:
        yield Problem(path, str(error))


def structure(
    converter: cattrs.Converter, value: Any, type_: type[T], path: str
) -> tuple[T | None, list[Problem]]:
    """Structures one value, returning it or the problems found in it (never both)."""
    try:
        return converter.structure(value, type_), []
    except (cattrs.BaseValidationError, ForbiddenExtraKeysError, TypeError, ValueError, KeyError) as error:
        return None, list(problems_from(error, path))

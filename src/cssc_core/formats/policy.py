"""The ``cssc-policy/1`` routing policy files (TOML; SPEC.md section 5).

A national file holds ``[defaults]``, ``[[routes]]`` and any region's routes under
``[[regions.CODE.routes]]``. A region may keep its routes in a file of its own, which names the region
(``region = "CODE"``) and holds only ``[[routes]]``. Reading collects every problem of a file, each with
its path (``$.routes[2].match.severity[0]``), and raises one :class:`ValidationError`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs
import tomli_w
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import override

from cssc_core.domain import fields
from cssc_core.domain.marking import Marking
from cssc_core.domain.message import Category, Certainty, MessageType, Severity, Status, Urgency
from cssc_core.errors import Problem, ValidationError
from cssc_core.formats._converter import make_converter, object_structure_fn, structure
from cssc_core.formats._documents import MAX_DOCUMENT_BYTES, load_toml, read_limited
from cssc_core.formats.network import sort_problems
from cssc_core.routing.policy import (
    MATCH_FIELDS,
    SELECT_FIELDS,
    Match,
    Route,
    RoutingPolicy,
    Select,
    Settings,
)

__all__ = [
    "POLICY_FORMAT",
    "dumps_policy_toml",
    "parse_policy_toml",
    "policy_from_document",
    "policy_to_document",
    "read_policy_files",
    "region_routes_from_document",
]

POLICY_FORMAT = "cssc-policy/1"
_NATIONAL_KEYS = ("format", "defaults", "routes", "regions")
_REGION_KEYS = ("format", "region", "routes")
_MATCH_VALUES: dict[str, tuple[str, ...] | None] = {
    "status": tuple(Status),
    "type": tuple(MessageType),
    "category": tuple(Category),
    "urgency": tuple(Urgency),
    "severity": tuple(Severity),
    "certainty": tuple(Certainty),
    "marking": tuple(Marking),
    "sender": None,
}


def _checked_list(check: Callable[[str], str]) -> Callable[[Any, Any], tuple[str, ...]]:
    def hook(value: Any, _: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise TypeError("expected a list")
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                if not isinstance(item, str):
                    raise TypeError("expected a string")
                check(item)
            except (TypeError, ValueError) as error:
                error.__notes__ = [IterableValidationNote(f"item {index}", index, str)]
                errors.append(error)
        if errors:
            raise IterableValidationError("invalid items", errors, tuple)
        return tuple(value)

    return hook


def _one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{fields.clip(value)} is not one of {', '.join(allowed)}")
        return value

    return check


def _channels(value: Any, type_: Any) -> tuple[str, ...]:
    channels = _checked_list(fields.check_channel_name)(value, type_)
    if not channels:
        raise ValueError("name at least one channel")
    if len(set(channels)) != len(channels):
        raise ValueError("a channel is listed twice")
    return channels


def _duration(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError("expected a duration such as 90s, 15m, 1h, 1h30m or whole seconds")
    return fields.parse_duration(value)


def _optional(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda value, type_: None if value is None else hook(value, type_)


@functools.cache
def _converter() -> cattrs.Converter:
    converter = make_converter()
    match_hooks: dict[str, Any] = {
        name: override(struct_hook=_checked_list(_one_of(allowed) if allowed else fields.check_text))
        for name, allowed in _MATCH_VALUES.items()
    }
    converter.register_structure_hook(Match, object_structure_fn(Match, converter, **match_hooks))
    converter.register_structure_hook(
        Select,
        object_structure_fn(
            Select,
            converter,
            sectors=override(struct_hook=_checked_list(fields.check_identifier)),
            tags=override(struct_hook=_checked_list(fields.check_text)),
            counties=override(struct_hook=_checked_list(fields.check_text)),
        ),
    )
    converter.register_structure_hook(
        Settings,
        object_structure_fn(
            Settings,
            converter,
            channels=override(struct_hook=_channels),
            relay_deadline=override(struct_hook=_duration),
            ack_timeout=override(struct_hook=_duration),
        ),
    )
    converter.register_structure_hook(
        Route,
        object_structure_fn(
            Route,
            converter,
            name=override(struct_hook=lambda v, _: fields.check_identifier(converter.structure(v, str))),
            continue_=override(rename="continue"),
            channels=override(struct_hook=_optional(_channels)),
            relay_deadline=override(struct_hook=_optional(_duration)),
            ack_timeout=override(struct_hook=_optional(_duration)),
        ),
    )
    return converter


def _routes(value: Any, path: str, problems: list[Problem], *, national: bool) -> tuple[Route, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(Problem(path, "expected a list of routes"))
        return ()
    routes = []
    for index, item in enumerate(value):
        route, found = structure(_converter(), item, Route, f"{path}[{index}]")
        # The attribute is ``continue_`` because ``continue`` is a keyword; files say ``continue``.
        problems.extend(Problem(p.path.replace(".continue_", ".continue"), p.message) for p in found)
        if not national and isinstance(item, dict) and item.get("locked") is True:
            problems.append(Problem(f"{path}[{index}].locked", "only national routes can be locked"))
        if route is not None:
            routes.append(attrs.evolve(route, locked=False) if not national else route)
    return tuple(routes)


def _header(
    document: Any, keys: tuple[str, ...], problems: list[Problem], source: str | None
) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ValidationError.single("$", "a policy document must be a table", source)
    found = document.get("format")
    if found != POLICY_FORMAT:
        text = f"expected {POLICY_FORMAT!r}, found {found!r}" if found else f"must be {POLICY_FORMAT!r}"
        problems.append(Problem("$.format", text))
    problems.extend(Problem(f"$.{key}", "unknown field") for key in document if key not in keys)
    return document


def policy_from_document(document: Any, *, source: str | None = None) -> RoutingPolicy:
    """Builds a policy from a parsed national ``cssc-policy/1`` document.

    Raises:
        ValidationError: listing every problem found, with its path.
    """
    problems: list[Problem] = []
    document = _header(document, _NATIONAL_KEYS, problems, source)
    defaults, found = structure(_converter(), document.get("defaults", {}), Settings, "$.defaults")
    problems.extend(found)
    routes = _routes(document.get("routes"), "$.routes", problems, national=True)
    regions: dict[str, tuple[Route, ...]] = {}
    raw_regions = document.get("regions", {})
    if not isinstance(raw_regions, dict):
        problems.append(Problem("$.regions", "expected a table of regions"))
        raw_regions = {}
    for code, table in raw_regions.items():
        path = f"$.regions.{code}"
        try:
            fields.check_identifier(code)
        except ValueError as error:
            problems.append(Problem(path, str(error)))
        if not isinstance(table, dict):
            problems.append(Problem(path, "expected a table with routes"))
            continue
        problems.extend(Problem(f"{path}.{key}", "unknown field") for key in table if key != "routes")
        regions[code] = _routes(table.get("routes"), f"{path}.routes", problems, national=False)
    try:
        policy = RoutingPolicy(defaults=defaults or Settings(), routes=routes, regions=regions)
    except ValidationError as error:
        # Readable routes are still checked together (unique names), so one run lists everything.
        problems.extend(p for p in error.problems if p not in problems)
    if problems:
        raise ValidationError(sort_problems(problems), source)
    return policy


def region_routes_from_document(document: Any, *, source: str | None = None) -> tuple[str, tuple[Route, ...]]:
    """Reads a region's own policy file: the region code and its routes.

    Raises:
        ValidationError: listing every problem found, with its path.
    """
    problems: list[Problem] = []
    document = _header(document, _REGION_KEYS, problems, source)
    region = document.get("region")
    if not isinstance(region, str):
        problems.append(Problem("$.region", "name the region these routes belong to"))
    routes = _routes(document.get("routes"), "$.routes", problems, national=False)
    if problems:
        raise ValidationError(sort_problems(problems), source)
    assert isinstance(region, str)
    return region, routes


def parse_policy_toml(text: str | bytes, *, source: str | None = None) -> RoutingPolicy:
    """Reads a national ``cssc-policy/1`` TOML policy."""
    return policy_from_document(_load(text, source), source=source)


def _load(text: str | bytes, source: str | None) -> dict[str, Any]:
    return load_toml(text, source)


def read_policy_files(paths: Sequence[Path]) -> RoutingPolicy:
    """Reads a policy from its files: at most one national file, and any number of region files.

    A file that names a ``region`` holds that region's routes; the others is the national file.
    Without a national file, the built-in ``[defaults]`` apply. Every file is read before any problem
    is reported, so that all of them are listed at once.
    """
    national: RoutingPolicy | None = None
    national_source: str | None = None
    regional: list[tuple[str, tuple[Route, ...]]] = []
    problems: list[Problem] = []
    for path in paths:
        source = str(path)
        try:
            document = _load(read_limited(path, MAX_DOCUMENT_BYTES), source)
            if isinstance(document, dict) and "region" in document:
                regional.append(region_routes_from_document(document, source=source))
            elif national_source is not None:
                problems.append(
                    Problem(f"{source}: $", f"a second national policy ({national_source} is one)")
                )
            else:
                national, national_source = policy_from_document(document, source=source), source
        except ValidationError as error:
            problems.extend(Problem(f"{source}: {p.path}", p.message) for p in error.problems)
    if problems:
        raise ValidationError(problems)
    policy = national or RoutingPolicy()
    for region, routes in regional:
        policy = policy.with_region(region, routes)
    return policy


def _route_document(route: Route) -> dict[str, Any]:
    document: dict[str, Any] = {"name": route.name}
    if route.locked:
        document["locked"] = True
    match = {name: list(getattr(route.match, name)) for name in MATCH_FIELDS if getattr(route.match, name)}
    if match:
        document["match"] = match
    select = {
        name: list(getattr(route.select, name)) for name in SELECT_FIELDS if getattr(route.select, name)
    }
    if select:
        document["select"] = select
    settings = {
        "via": None if route.via is None else str(route.via),
        "channels": None if route.channels is None else list(route.channels),
        "relay_deadline": route.relay_deadline,
        "ack": None if route.ack is None else str(route.ack),
        "ack_timeout": route.ack_timeout,
    }
    document.update((name, value) for name, value in settings.items() if value is not None)
    if route.continue_:
        document["continue"] = True
    return document


def policy_to_document(policy: RoutingPolicy) -> dict[str, Any]:
    """The policy as a national ``cssc-policy/1`` document; durations are written in seconds."""
    defaults = policy.defaults
    document: dict[str, Any] = {
        "format": POLICY_FORMAT,
        "defaults": {
            "via": str(defaults.via),
            "channels": list(defaults.channels),
            "relay_deadline": defaults.relay_deadline,
            "ack": str(defaults.ack),
            "ack_timeout": defaults.ack_timeout,
        },
        "routes": [_route_document(route) for route in policy.routes],
    }
    if policy.regions:
        document["regions"] = {
            code: {"routes": [_route_document(route) for route in routes]}
            for code, routes in policy.regions.items()
        }
    return document


def dumps_policy_toml(policy: RoutingPolicy) -> str:
    """The policy as national ``cssc-policy/1`` TOML text."""
    return tomli_w.dumps(policy_to_document(policy))

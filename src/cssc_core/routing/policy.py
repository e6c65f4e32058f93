"""The routing policy (``cssc-policy/1``, SPEC.md section 5) as immutable values.

A policy has ``[defaults]``, a national list of routes and each region's own routes. For an
organisation in region R the routes tried are, in order: the national ``locked`` routes, R's routes,
the other national routes. Every route whose ``match`` (on the message) and ``select`` (on the
organisation) both hold applies, until the first applying route that does not ``continue``. Applied
routes are completed from the defaults and merged; with none applied, the defaults alone apply.
Files are read by :mod:`cssc_core.formats.policy`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence

import attrs

from cssc_core.domain.message import Message
from cssc_core.domain.models import Organisation
from cssc_core.errors import Problem, ValidationError

__all__ = [
    "MATCH_FIELDS",
    "SELECT_FIELDS",
    "Ack",
    "Match",
    "Route",
    "RoutingPolicy",
    "Select",
    "Settings",
    "Via",
    "complete",
    "merge",
]

MATCH_FIELDS = ("status", "type", "category", "urgency", "severity", "certainty", "marking", "sender")
"""The message fields a route's ``match`` can test, in the order explanations name them."""

SELECT_FIELDS = ("sectors", "tags", "counties")
"""The organisation fields a route's ``select`` can test."""


class Via(enum.StrEnum):
    """How recipients get a message: relayed through their sector's ISLs, or direct."""

    ISL = "isl"
    DIRECT = "direct"


class Ack(enum.StrEnum):
    """Whether recipients must acknowledge; ``required`` sends one channel at a time."""

    NONE = "none"
    REQUIRED = "required"


@attrs.frozen
class Match:
    """Tests on the message; each non-empty list must contain the message's value."""

    status: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    urgency: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    certainty: tuple[str, ...] = ()
    marking: tuple[str, ...] = ()
    sender: tuple[str, ...] = ()

    def failures(self, message: Message) -> Iterator[str]:
        """Says, for each test that fails, what the message has and what the route wants."""
        for name in MATCH_FIELDS:
            wanted: tuple[str, ...] = getattr(self, name)
            value = str(getattr(message, name))
            if wanted and value not in wanted:
                yield f"{name} is {value}, the route wants {' or '.join(wanted)}"

    def holds(self, message: Message) -> bool:
        """Tells whether every test holds for the message."""
        return next(self.failures(message), None) is None


@attrs.frozen
class Select:
    """Tests on the recipient organisation; each non-empty list must meet the organisation's values.

    Counties compare case-insensitively.
    """

    sectors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    counties: tuple[str, ...] = ()

    def failures(self, organisation: Organisation) -> Iterator[str]:
        """Says, for each test that fails, what the organisation has and what the route wants."""
        if self.sectors and set(self.sectors).isdisjoint(organisation.sectors):
            yield f"sectors are {_listed(organisation.sectors)}, the route wants {' or '.join(self.sectors)}"
        if self.tags and set(self.tags).isdisjoint(organisation.tags):
            yield f"tags are {_listed(organisation.tags)}, the route wants {' or '.join(self.tags)}"
        county = organisation.location.county
        if self.counties and (
            county is None or county.casefold() not in {c.casefold() for c in self.counties}
        ):
            yield f"county is {county or 'not given'}, the route wants {' or '.join(self.counties)}"

    def holds(self, organisation: Organisation) -> bool:
        """Tells whether every test holds for the organisation."""
        return next(self.failures(organisation), None) is None


def _listed(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "none"


@attrs.frozen
class Settings:
    """What a route decides, every field set: the shape of ``[defaults]`` and of a merged route.

    Attributes:
        via: Through the ISLs of the recipient's sector, or direct.
        channels: Channel names, in order.
        relay_deadline: Seconds an ISL has to release the message before the next deputy is asked.
        ack: Whether acknowledgement is required.
        ack_timeout: Seconds to wait for an acknowledgement before the next channel.
    """

    via: Via = Via.ISL
    channels: tuple[str, ...] = ("email",)
    relay_deadline: int = 900
    ack: Ack = Ack.NONE
    ack_timeout: int = 1800


@attrs.frozen
class Route:
    """One route of a policy; unset settings (None) are taken from ``[defaults]``.

    Attributes:
        name: Unique in the policy; plans name the routes that applied.
        match: Tests on the message.
        select: Tests on the recipient organisation.
        locked: National routes only: tried before any region's routes.
        continue_: Written ``continue``; when true, later routes are tried after this one applies.
        via: Overrides the default ``via``.
        channels: Overrides the default channels.
        relay_deadline: Overrides the default relay deadline (seconds).
        ack: Overrides the default ``ack``.
        ack_timeout: Overrides the default acknowledgement timeout (seconds).
    """

    name: str
    match: Match = Match()
    select: Select = Select()
    locked: bool = False
    continue_: bool = False
    via: Via | None = None
    channels: tuple[str, ...] | None = None
    relay_deadline: int | None = None
    ack: Ack | None = None
    ack_timeout: int | None = None


def complete(route: Route, defaults: Settings) -> Settings:
    """The route's settings, each unset one taken from the defaults."""
    return Settings(
        via=defaults.via if route.via is None else route.via,
        channels=defaults.channels if route.channels is None else route.channels,
        relay_deadline=defaults.relay_deadline if route.relay_deadline is None else route.relay_deadline,
        ack=defaults.ack if route.ack is None else route.ack,
        ack_timeout=defaults.ack_timeout if route.ack_timeout is None else route.ack_timeout,
    )


def merge(settings: Sequence[Settings]) -> Settings:
    """Merges completed routes: channels in first-appearance order, direct and required win, minimum times.

    Raises:
        ValueError: when ``settings`` is empty (the defaults apply then, unmerged).
    """
    if not settings:
        raise ValueError("nothing to merge")
    return Settings(
        via=Via.DIRECT if any(s.via is Via.DIRECT for s in settings) else Via.ISL,
        channels=tuple(dict.fromkeys(channel for s in settings for channel in s.channels)),
        relay_deadline=min(s.relay_deadline for s in settings),
        ack=Ack.REQUIRED if any(s.ack is Ack.REQUIRED for s in settings) else Ack.NONE,
        ack_timeout=min(s.ack_timeout for s in settings),
    )


@attrs.frozen
class RoutingPolicy:
    """A national policy with each region's own routes.

    Attributes:
        defaults: What applies when no route does, and what completes each route.
        routes: The national routes, in file order.
        regions: Each region's routes, by region code, in file order; none of them is ``locked``.
    """

    defaults: Settings = Settings()
    routes: tuple[Route, ...] = ()
    regions: Mapping[str, tuple[Route, ...]] = attrs.field(factory=dict, hash=False)

    def __attrs_post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValidationError(problems)

    def _problems(self) -> Iterator[Problem]:
        seen: dict[str, str] = {}
        lists = [("$.routes", self.routes)] + [
            (f"$.regions.{code}.routes", routes) for code, routes in self.regions.items()
        ]
        for path, routes in lists:
            for i, route in enumerate(routes):
                first = seen.setdefault(route.name, f"{path}[{i}]")
                if first != f"{path}[{i}]":
                    yield Problem(
                        f"{path}[{i}].name", f"route name {route.name!r} is already used at {first}"
                    )
                if route.locked and path != "$.routes":
                    yield Problem(f"{path}[{i}].locked", "only national routes can be locked")

    def routes_tried(self, region: str) -> tuple[Route, ...]:
        """The routes tried for an organisation of a region, in order: locked, the region's, the rest."""
        locked = tuple(route for route in self.routes if route.locked)
        others = tuple(route for route in self.routes if not route.locked)
        return locked + self.regions.get(region, ()) + others

    def with_region(self, region: str, routes: Sequence[Route]) -> RoutingPolicy:
        """This policy with a region's routes added after any it already has (from a region's own file)."""
        regions = dict(self.regions)
        regions[region] = regions.get(region, ()) + tuple(routes)
        return attrs.evolve(self, regions=regions)

"""The routing engine: plans a message over a network under a policy (SPEC.md sections 4 to 6).

A :class:`Router` holds one network and one policy. What depends only on them is worked out once
and kept: the audience indexes of the network (:mod:`~cssc_core.routing.indexes`, shared by every
router of that network), each region's routes as bit sets (:mod:`~cssc_core.routing.selection`), and,
per kind of organisation (region, sectors, tags, county), the routes whose ``select`` holds. Planning a
message then costs one ``match`` test per route, plus a few look-ups and bit operations per audience
organisation and per recipient, whatever the number of routes.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any, Generic, TypeVar

from cssc_core.domain.marking import MARKING_RULES, ChannelFlags, Marking, channel_allowed, flags_for
from cssc_core.domain.message import Message, MessageType
from cssc_core.domain.models import Contact, Organisation
from cssc_core.domain.network import Cell, Network
from cssc_core.errors import Problem, ValidationError
from cssc_core.routing.indexes import AudienceIndex
from cssc_core.routing.plan import Exclusion, Gap, Reach, Recipient, Relay, RoutingPlan
from cssc_core.routing.policy import Ack, Route, RoutingPolicy, Settings, Via, complete, merge
from cssc_core.routing.selection import RegionRoutes

__all__ = ["Router", "allowed_channels", "exclusion_reason", "plan_message"]

T = TypeVar("T")
K = TypeVar("K")

RED_REASON = "TLP:RED goes only to contacts named in the audience"
_BUILTIN_POLICY = RoutingPolicy()


class _IdentityCache(Generic[K, T]):
    """Remembers a value per object, by identity, for as long as the object lives."""

    def __init__(self) -> None:
        self._values: dict[int, tuple[weakref.ref[Any], T]] = {}

    def get(self, key: K, make: Any) -> T:
        entry = self._values.get(id(key))
        if entry is not None and entry[0]() is key:
            return entry[1]
        value: T = make(key)
        ident = id(key)
        self._values[ident] = (weakref.ref(key, lambda _: self._values.pop(ident, None)), value)
        return value


_AUDIENCE_INDEXES: _IdentityCache[Network, AudienceIndex] = _IdentityCache()
# The routers plan_message made last. A router holds its network, so an identity cache keyed on the
# network would keep it alive for ever; a few recent ones are plenty for callers that reuse objects.
_RECENT_ROUTERS: deque[Router] = deque(maxlen=4)


def allowed_channels(
    contact: Contact, marking: Marking, channels: Mapping[str, ChannelFlags] | None
) -> tuple[str, ...]:
    """The contact's channels, in its order, that exist and that the marking allows."""
    allowed = []
    for name in contact.channels:
        flags = flags_for(name, channels)
        if flags is not None and channel_allowed(marking, flags):
            allowed.append(name)
    return tuple(allowed)


def exclusion_reason(contact: Contact, marking: Marking, channels: Mapping[str, ChannelFlags] | None) -> str:
    """Why a contact whose channels are all refused gets nothing, in an operator's words."""
    if not contact.channels:
        return "this contact has no channel"
    if all(flags_for(name, channels) is None for name in contact.channels):
        return "the channel file defines no channel of this contact"
    return f"{marking} allows no channel of this contact"


class Router:
    """Plans messages over one network under one policy.

    Args:
        network: The network.
        policy: The routing policy; the built-in one (``[defaults]`` alone) when not given.
        channels: The channels of a channel file with their flags, or None without a channel file
            (``email`` and ``webhook`` are then secure, every other name not; none is public).

    Raises:
        ValidationError: when the policy has routes for a region the network lacks.
    """

    def __init__(
        self,
        network: Network,
        policy: RoutingPolicy | None = None,
        channels: Mapping[str, ChannelFlags] | None = None,
    ) -> None:
        self.network = network
        self.policy = policy if policy is not None else RoutingPolicy()
        self.channels = channels
        unknown = [code for code in self.policy.regions if not _has_region(network, code)]
        if unknown:
            raise ValidationError(
                Problem(f"$.regions.{code}", f"the network has no region {code!r}") for code in unknown
            )
        self._audience = _AUDIENCE_INDEXES.get(network, AudienceIndex)
        self._regions = {
            region.code: RegionRoutes(self.policy.routes_tried(region.code)) for region in network.regions
        }
        self._selected: dict[tuple[Any, ...], int] = {}

    # --- route selection ------------------------------------------------------------------------

    def warm(self) -> None:
        """Works out the route selection of every active organisation now, rather than on first use.

        Planning fills the same cache as it goes; warming suits a server that wants its first
        message planned as fast as its later ones.
        """
        for organisation in self._audience.organisations:
            self._selected_routes(organisation)

    def _selected_routes(self, organisation: Organisation) -> int:
        """The routes tried for the organisation whose ``select`` holds, as a bit set of its region."""
        key = (organisation.region, organisation.sectors, organisation.tags, organisation.location.county)
        selected = self._selected.get(key)
        if selected is None:
            selected = self._selected[key] = self._regions[organisation.region].selected(organisation)
        return selected

    # --- planning -------------------------------------------------------------------------------

    def plan(self, message: Message, *, reached: Mapping[str, Sequence[Reach]] | None = None) -> RoutingPlan:
        """Plans a message.

        Args:
            message: The message.
            reached: For updates and cancels: the contacts each earlier message reached, by
                message id, with the channels that reached them.

        Raises:
            ValidationError: when the audience names a region, sector, organisation or contact the
                network lacks, or an update or cancel references a message not in ``reached``.
        """
        problems = audience_problems(message, self.network)
        if message.type is not MessageType.ALERT:
            known = reached or {}
            problems += [
                Problem(f"$.references[{i}]", f"unknown message {reference!r}: no record of whom it reached")
                for i, reference in enumerate(message.references)
                if reference not in known
            ]
        if problems:
            raise ValidationError(problems)
        if message.type is not MessageType.ALERT:
            return self._plan_followup(message, reached or {})
        return _Planning(self, message).run()

    def _plan_followup(self, message: Message, reached: Mapping[str, Sequence[Reach]]) -> RoutingPlan:
        channels_reached: dict[str, list[str]] = {}
        for reference in message.references:
            for reach in reached[reference]:
                listed = channels_reached.setdefault(reach.contact, [])
                listed.extend(c for c in reach.channels if c not in listed)
        recipients: list[Recipient] = []
        excluded: list[Exclusion] = []
        named = set(message.audience.contacts)
        defaults = self.policy.defaults
        for contact_id in sorted(channels_reached):
            if not self.network.has_contact(contact_id):
                continue
            organisation = self.network.organisation_of(contact_id)
            contact = self.network.contact(contact_id)
            if MARKING_RULES[message.marking].named_contacts_only and contact_id not in named:
                excluded.append(Exclusion(organisation.id, contact_id, RED_REASON))
                continue
            allowed = set(allowed_channels(contact, message.marking, self.channels))
            kept = tuple(c for c in channels_reached[contact_id] if c in allowed)
            if not kept:
                reason = f"{message.marking} allows none of the channels that reached this contact"
                excluded.append(Exclusion(organisation.id, contact_id, reason))
                continue
            recipients.append(
                Recipient(
                    contact=contact_id,
                    organisation=organisation.id,
                    region=organisation.region,
                    via=Via.DIRECT,
                    relay=(),
                    channels=kept,
                    ack=False,
                    routes=(),
                    ack_timeout_s=defaults.ack_timeout,
                    relay_deadline_s=defaults.relay_deadline,
                )
            )
        return RoutingPlan(message.id, message.marking, tuple(recipients), (), tuple(excluded), ())

    # --- pieces the planning and the explanations share ----------------------------------------

    def audience(self, message: Message) -> list[Organisation]:
        """The organisations of the message's audience, in document order."""
        organisations = self._audience.organisations
        return [organisations[p] for p in self._audience.select(message.audience)]

    def matching(self, message: Message) -> dict[str, int]:
        """For each region, the routes tried there whose ``match`` holds for the message."""
        policy = self.policy
        names = [
            route.name
            for routes in (policy.routes, *policy.regions.values())
            for route in routes
            if route.match.holds(message)
        ]
        return {code: table.matching(names) for code, table in self._regions.items()}

    def applied_routes(self, organisation: Organisation, matching: dict[str, int]) -> tuple[Route, ...]:
        """The routes that apply to an organisation, in the order tried, given :meth:`matching`."""
        table = self._regions[organisation.region]
        return table.routes_of(
            table.applied(self._selected_routes(organisation), matching[organisation.region])
        )

    def settings_for(self, routes: Sequence[Route]) -> Settings:
        """The merged settings of the applied routes, or the defaults when none applied."""
        if not routes:
            return self.policy.defaults
        return merge([complete(route, self.policy.defaults) for route in routes])

    def isls(self, cell: Cell, marking: Marking) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The ISLs of a cell that count under a marking, lead first, each with its relay channels."""
        counted = []
        for role in self.network.isls(*cell):
            if not self.network.organisation_of(role.contact).is_active:
                continue
            channels = allowed_channels(self.network.contact(role.contact), marking, self.channels)
            if channels:
                counted.append((role.contact, channels))
        return tuple(counted)


def _has_region(network: Network, code: str) -> bool:
    return any(region.code == code for region in network.regions)


def audience_problems(message: Message, network: Network) -> list[Problem]:
    """The audience's references to regions, sectors, organisations and contacts the network lacks."""
    audience = message.audience
    regions = {region.code for region in network.regions}
    sectors = {sector.code for sector in network.sectors}
    checks = (
        ("regions", audience.regions, lambda code: code in regions, "region"),
        ("sectors", audience.sectors, lambda code: code in sectors, "sector"),
        ("organisations", audience.organisations, network.has_organisation, "organisation"),
        ("contacts", audience.contacts, network.has_contact, "contact"),
    )
    return [
        Problem(f"$.audience.{field}[{i}]", f"unknown {what} {value!r}")
        for field, values, known, what in checks
        for i, value in enumerate(values)
        if not known(value)
    ]


class _Planning:
    """The state of planning one message: per-message memos and the plan being built."""

    def __init__(self, router: Router, message: Message) -> None:
        self.router = router
        self.message = message
        self.rule = MARKING_RULES[message.marking]
        self.matching = router.matching(message)
        self.named = frozenset(message.audience.contacts)
        self.audience_sectors = frozenset(message.audience.sectors)
        self._settings: dict[tuple[str, int], tuple[Settings, tuple[str, ...]]] = {}
        self._contact_channels: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...] | None] = {}
        self._cells: dict[Cell, tuple[tuple[str, tuple[str, ...]], ...]] = {}
        self._org_cells: dict[tuple[str, tuple[str, ...]], tuple[tuple[Cell, ...], tuple[Cell, ...]]] = {}
        self.recipients: list[Recipient] = []
        self.excluded: list[Exclusion] = []
        self.deadlines: dict[Cell, int] = {}
        self.gaps: set[Cell] = set()

    def run(self) -> RoutingPlan:
        for organisation in self.router.audience(self.message):
            self._organisation(organisation)
        relays = []
        for cell in sorted(self.deadlines):
            isls = self._cells[cell]
            relays.append(
                Relay(
                    region=cell[0],
                    sector=cell[1],
                    isl=tuple(isl for isl, _ in isls),
                    isl_channels=tuple(channels for _, channels in isls),
                    deadline_s=self.deadlines[cell],
                )
            )
        self.recipients.sort(key=attrgetter("contact"))
        self.excluded.sort(key=attrgetter("contact"))
        return RoutingPlan(
            message=self.message.id,
            marking=self.message.marking,
            recipients=tuple(self.recipients),
            relays=tuple(relays),
            excluded=tuple(self.excluded),
            gaps=tuple(Gap(region, sector) for region, sector in sorted(self.gaps)),
        )

    def _organisation(self, organisation: Organisation) -> None:
        router, region = self.router, organisation.region
        table = router._regions[region]
        applied = table.applied(router._selected_routes(organisation), self.matching[region])
        memo = self._settings.get((region, applied))
        if memo is None:
            routes = table.routes_of(applied)
            memo = (router.settings_for(routes), tuple(route.name for route in routes))
            self._settings[region, applied] = memo
        settings, names = memo

        reached: list[tuple[Contact, tuple[str, ...]]] = []
        for contact in organisation.contacts:
            if self.named and contact.id not in self.named:
                continue
            if self.rule.named_contacts_only and contact.id not in self.named:
                self.excluded.append(Exclusion(organisation.id, contact.id, RED_REASON))
                continue
            channels = self._channels(contact, settings.channels)
            if channels is None:
                reason = exclusion_reason(contact, self.message.marking, self.router.channels)
                self.excluded.append(Exclusion(organisation.id, contact.id, reason))
                continue
            reached.append((contact, channels))
        if not reached:
            return

        via = Via.DIRECT
        relay: tuple[Cell, ...] = ()
        if settings.via is Via.ISL and self.rule.relays:
            relay = self._relay(organisation, settings.relay_deadline)
            if relay:
                via = Via.ISL
        ack = settings.ack is Ack.REQUIRED
        add = self.recipients.append
        for contact, channels in reached:
            # Positional arguments: this runs once per recipient, a hundred thousand times and more.
            add(
                Recipient(
                    contact.id,
                    organisation.id,
                    region,
                    via,
                    relay,
                    channels,
                    ack,
                    names,
                    settings.ack_timeout,
                    settings.relay_deadline,
                )
            )

    def _channels(self, contact: Contact, route_channels: tuple[str, ...]) -> tuple[str, ...] | None:
        key = (contact.channels, route_channels)
        if key in self._contact_channels:
            return self._contact_channels[key]
        allowed = allowed_channels(contact, self.message.marking, self.router.channels)
        chosen: tuple[str, ...] | None = None
        if allowed:
            chosen = tuple(c for c in route_channels if c in allowed) or allowed[:1]
        self._contact_channels[key] = chosen
        return chosen

    def _relay(self, organisation: Organisation, deadline: int) -> tuple[Cell, ...]:
        key = (organisation.region, organisation.sectors)
        cells = self._org_cells.get(key)
        if cells is None:
            cells = self._org_cells[key] = self._cells_of(*key)
        relay, gaps = cells
        deadlines = self.deadlines
        for cell in relay:
            deadlines[cell] = min(deadline, deadlines.get(cell, deadline))
        self.gaps.update(gaps)
        return relay

    def _cells_of(self, region: str, sectors: tuple[str, ...]) -> tuple[tuple[Cell, ...], tuple[Cell, ...]]:
        """An organisation's cells with counting ISLs, and those without, sorted by sector."""
        relay: list[Cell] = []
        gaps: list[Cell] = []
        for sector in sorted({s for s in sectors if not self.audience_sectors or s in self.audience_sectors}):
            cell = (region, sector)
            isls = self._cells.get(cell)
            if isls is None:
                isls = self._cells[cell] = self.router.isls(cell, self.message.marking)
            (relay if isls else gaps).append(cell)
        return tuple(relay), tuple(gaps)


def plan_message(
    network: Network,
    message: Message,
    policy: RoutingPolicy | None = None,
    *,
    channels: Mapping[str, ChannelFlags] | None = None,
    reached: Mapping[str, Sequence[Reach]] | None = None,
) -> RoutingPlan:
    """Plans a message, reusing the router made earlier for the same network and policy objects.

    Args:
        network: The network.
        message: The message.
        policy: The policy; the built-in one (``[defaults]`` alone) when not given.
        channels: The channel file's channels with their flags, or None without a channel file.
        reached: For updates and cancels: whom each referenced message reached (see :meth:`Router.plan`).
    """
    policy = _BUILTIN_POLICY if policy is None else policy
    router = next(
        (
            r
            for r in _RECENT_ROUTERS
            if r.network is network and r.policy is policy and r.channels == channels
        ),
        None,
    )
    if router is None:
        router = Router(network, policy, channels)
        _RECENT_ROUTERS.append(router)
    return router.plan(message, reached=reached)

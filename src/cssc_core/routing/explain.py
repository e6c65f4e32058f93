"""Explanations for ``cssc route --explain ID``: every decision routing made for one contact or
organisation, in words an operator understands.

The explanation re-walks the rules for that one organisation, slowly and aloud, and reports the
outcome from the plan itself, so that what it says is what the plan does.
"""

from __future__ import annotations

from collections.abc import Iterator

from cssc_core.domain.audience import audience_failures
from cssc_core.domain.marking import MARKING_RULES, channel_allowed, flags_for
from cssc_core.domain.message import Message, MessageType
from cssc_core.domain.models import Contact, IslRole, Organisation
from cssc_core.errors import ValidationError
from cssc_core.routing.engine import Router
from cssc_core.routing.plan import RoutingPlan
from cssc_core.routing.policy import Route, Settings

__all__ = ["explain"]


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"


def _settings(settings: Settings) -> str:
    ack = (
        f"required (next channel after {_duration(settings.ack_timeout)})"
        if settings.ack == "required"
        else "none"
    )
    return (
        f"via {settings.via}, channels {', '.join(settings.channels)}, ack {ack}, "
        f"relay deadline {_duration(settings.relay_deadline)}"
    )


def explain(
    router: Router, message: Message, subject: str, plan: RoutingPlan | None = None
) -> tuple[str, ...]:
    """Explains how a message is routed to a contact or an organisation.

    Args:
        router: The router the message is planned with.
        message: The message.
        subject: A contact id or an organisation id.
        plan: The message's plan, when already made.

    Raises:
        ValidationError: when the network has no contact or organisation with that id.
    """
    network = router.network
    if network.has_contact(subject):
        organisation = network.organisation_of(subject)
        contacts: tuple[Contact, ...] = (network.contact(subject),)
    elif network.has_organisation(subject):
        organisation = network.organisation(subject)
        contacts = organisation.contacts
    else:
        raise ValidationError.single("--explain", f"no contact or organisation {subject!r} in the network")
    plan = plan if plan is not None else router.plan(message)
    return tuple(_lines(router, message, organisation, contacts, plan))


def _lines(
    router: Router,
    message: Message,
    organisation: Organisation,
    contacts: tuple[Contact, ...],
    plan: RoutingPlan,
) -> Iterator[str]:
    yield (
        f"Message {message.id} ({message.type}, {message.marking}, {message.category}, "
        f"urgency {message.urgency}, severity {message.severity})."
    )
    yield (
        f"Organisation {organisation.id} ({organisation.name}): region {organisation.region}, "
        f"sectors {', '.join(organisation.sectors)}, tags {', '.join(organisation.tags) or 'none'}."
    )
    if message.type is not MessageType.ALERT:
        yield (
            f"This {message.type} is not routed: it goes to the contacts that "
            f"{', '.join(message.references)} reached, on the channels that reached them, "
            f"with {message.marking} applied again."
        )
        yield from _outcomes(contacts, plan)
        return
    reasons = audience_failures(message.audience, organisation)
    if reasons:
        yield f"Not in the audience: {'; '.join(reasons)}. Nobody here gets the message as a recipient."
        yield from _isl_roles(router, message, contacts, plan)
        return
    yield "In the audience."
    yield from _routes(router, message, organisation)
    yield from _marking(router, message, organisation, contacts)
    yield from _outcomes(contacts, plan, organisation)
    yield from _isl_roles(router, message, contacts, plan)


def _routes(router: Router, message: Message, organisation: Organisation) -> Iterator[str]:
    policy = router.policy
    tried = policy.routes_tried(organisation.region)
    if not tried:
        yield "The policy has no route for this region."
    applied: list[Route] = []
    stopped: Route | None = None
    for route in tried:
        where = (
            "national, locked"
            if route.locked
            else "national"
            if route in policy.routes
            else organisation.region
        )
        label = f"Route {route.name} ({where})"
        if stopped is not None:
            yield f"{label}: not tried, because {stopped.name} applied and does not continue."
            continue
        failures = [*route.match.failures(message), *route.select.failures(organisation)]
        if failures:
            yield f"{label}: does not apply: {'; '.join(failures)}."
            continue
        applied.append(route)
        if route.continue_:
            yield f"{label}: applies, and continues to the next route."
        else:
            yield f"{label}: applies; it does not continue, so no further route is tried."
            stopped = route
    if not applied:
        yield f"No route applies, so [defaults] alone apply: {_settings(policy.defaults)}."
    else:
        names = ", ".join(route.name for route in applied)
        merged = _settings(router.settings_for(applied))
        yield f"Applied {names}, each completed from [defaults] and merged: {merged}."


def _marking(
    router: Router, message: Message, organisation: Organisation, contacts: tuple[Contact, ...]
) -> Iterator[str]:
    rule = MARKING_RULES[message.marking]
    if not rule.relays:
        yield f"{message.marking} allows no relay through ISLs: everyone here is sent it direct."
    if rule.named_contacts_only:
        yield f"{message.marking} goes only to the contacts the audience names."
    named = set(message.audience.contacts)
    for contact in contacts:
        if named and contact.id not in named:
            yield f"Contact {contact.id}: the audience names other contacts, so it gets nothing."
            continue
        decisions = []
        for channel in contact.channels:
            flags = flags_for(channel, router.channels)
            if flags is None:
                decisions.append(f"{channel} is not a channel of the channel file")
                continue
            traits = f"{'secure' if flags.secure else 'not secure'}{', public' if flags.public else ''}"
            verdict = "allows" if channel_allowed(message.marking, flags) else "refuses"
            decisions.append(f"{message.marking} {verdict} {channel} ({traits})")
        yield (
            f"Contact {contact.id} ({contact.name}) uses {', '.join(contact.channels) or 'no channel'}: "
            + ("; ".join(decisions) or "nothing to decide")
            + "."
        )


def _outcomes(
    contacts: tuple[Contact, ...], plan: RoutingPlan, organisation: Organisation | None = None
) -> Iterator[str]:
    for contact in contacts:
        recipient = plan.recipient(contact.id)
        exclusion = next((e for e in plan.excluded if e.contact == contact.id), None)
        if recipient is not None:
            if recipient.relay:
                cells = ", ".join(f"({region}, {sector})" for region, sector in recipient.relay)
                how = f"relayed through {cells}, released by an ISL or at the deadline"
            else:
                how = "sent direct"
            order = "one at a time until acknowledged" if recipient.ack else "all at once"
            yield f"Contact {contact.id} gets it {how}, on {', '.join(recipient.channels)} ({order})."
        elif exclusion is not None:
            yield f"Contact {contact.id} is excluded: {exclusion.reason}."
    gaps = {(gap.region, gap.sector) for gap in plan.gaps}
    relays = {(relay.region, relay.sector): relay for relay in plan.relays}
    shown = {cell for contact in contacts if (r := plan.recipient(contact.id)) for cell in r.relay}
    for cell in sorted(shown):
        relay = relays[cell]
        yield (
            f"Cell ({cell[0]}, {cell[1]}): relay request to {relay.isl[0]}, then deputies "
            f"{', '.join(relay.isl[1:]) or 'none'}, each with {_duration(relay.deadline_s)} to release it."
        )
    if organisation is not None:
        missing = sorted(s for s in set(organisation.sectors) if (organisation.region, s) in gaps)
        if missing:
            yield (
                f"Cells of this organisation without an ISL, listed as coverage gaps: "
                f"{', '.join(f'({organisation.region}, {s})' for s in missing)}."
            )


def _isl_roles(
    router: Router, message: Message, contacts: tuple[Contact, ...], plan: RoutingPlan
) -> Iterator[str]:
    relays = {(relay.region, relay.sector): relay for relay in plan.relays}
    for contact in contacts:
        for role in router.network.roles_of(contact.id):
            if not isinstance(role, IslRole):
                continue
            cell = (role.region, role.sector)
            relay = relays.get(cell)
            title = "lead" if relay and relay.isl and relay.isl[0] == contact.id else f"rank {role.rank}"
            if relay is None:
                yield (
                    f"Contact {contact.id} is an ISL ({title}) of ({role.region}, {role.sector}), "
                    "which relays nothing of this message."
                )
            elif contact.id in relay.isl:
                channels = relay.isl_channels[relay.isl.index(contact.id)]
                yield (
                    f"Contact {contact.id} is the {title} ISL of ({role.region}, {role.sector}): "
                    f"relay requests go to it on {', '.join(channels)}."
                )
            else:
                yield (
                    f"Contact {contact.id} is an ISL of ({role.region}, {role.sector}) but does not count: "
                    f"its organisation is not active or {message.marking} allows none of its channels."
                )

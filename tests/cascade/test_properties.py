"""Properties of whole cascades over random networks, policies, markings and failures.

Each example sends a random message over a random network and runs every timer and retry to the end;
then what the channels were given is compared with what the store recorded.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cssc_core.cascade import CascadeEngine, RetryPolicy
from cssc_core.channels import ChannelConfig, ChannelFile
from cssc_core.domain.clock import FakeClock
from cssc_core.domain.marking import ChannelFlags, channel_allowed
from cssc_core.domain.message import Status
from cssc_core.domain.models import builtin_channel_address
from cssc_core.domain.network import Network
from cssc_core.plugins.manager import PluginHost
from cssc_core.routing.policy import RoutingPolicy
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import DeliveryKind, DeliveryStatus
from tests.cascade.conftest import ScriptedChannels
from tests.strategies import ROUTING_CHANNELS, messages, routing_networks, routing_policies

_flags = st.builds(ChannelFlags, secure=st.booleans(), public=st.booleans())
_setups = st.fixed_dictionaries(dict.fromkeys(ROUTING_CHANNELS, _flags))
_failures = st.sampled_from(
    [DeliveryStatus.TEMPORARY_FAILURE, DeliveryStatus.TEMPORARY_FAILURE, DeliveryStatus.PERMANENT_FAILURE]
)


def _setup(plugin: ScriptedChannels, flags: dict[str, ChannelFlags]) -> ChannelFile:
    return ChannelFile(
        channels={
            name: ChannelConfig(
                name, plugin.name, builtin_channel_address(name) or "email", secure=f.secure, public=f.public
            )
            for name, f in flags.items()
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), network=routing_networks(), policy=routing_policies(), flags=_setups)
def test_every_copy_sent_is_one_delivered_delivery_within_the_marking(
    data: st.DataObject, network: Network, policy: RoutingPolicy, flags: dict[str, ChannelFlags]
) -> None:
    message = data.draw(messages(network, alerts_only=True))
    store = MemoryStore()
    store.replace_network(network)
    channels = ScriptedChannels()
    contacts = [contact.id for _, contact in network.contacts()]
    if contacts:
        for _ in range(data.draw(st.integers(0, 4))):
            contact = data.draw(st.sampled_from(contacts))
            channel = data.draw(st.sampled_from(ROUTING_CHANNELS))
            channels.fail(contact, channel, *data.draw(st.lists(_failures, min_size=1, max_size=4)))
    host = PluginHost.load(entry_points=False)
    host.register(channels, "scripted")
    clock = FakeClock(message.sent)
    engine = CascadeEngine(
        store,
        host=host,
        clock=clock,
        rng=random.Random(0),
        retry=RetryPolicy(max_attempts=3),
        channels=_setup(channels, flags),
    )
    report = engine.send(message, policy=policy)
    # Somebody who may acknowledge (a recipient, or an ISL of a relayed cell) does so, some time.
    acknowledging = [r.contact for r in report.plan.recipients] + [
        i for r in report.plan.relays for i in r.isl
    ]
    if acknowledging and data.draw(st.booleans()):
        clock.advance(data.draw(st.integers(0, 3600)))
        engine.acknowledge(message.id, data.draw(st.sampled_from(acknowledging)))
    clock.advance(timedelta(days=3))
    engine.tick()

    deliveries = store.deliveries_of(message.id)
    delivered = {d.id for d in deliveries if d.status is DeliveryStatus.DELIVERED}
    sent = Counter(copy.delivery for copy in channels.sent)
    # Each copy the channels accepted is one delivery recorded delivered, and each only once.
    assert set(sent) == delivered
    assert all(count == 1 for count in sent.values())
    # Nothing goes on a channel the marking refuses, whatever its kind.
    for copy in channels.sent:
        assert channel_allowed(message.marking, flags[copy.channel])
        assert copy.body.startswith(str(message.marking))
    # A test message goes only to test contacts; the random networks have none.
    if message.status is Status.TEST:
        assert not channels.sent
    # An organisation's contact gets each copy once, from one cell at most.
    copies = Counter((d.contact, d.channel) for d in deliveries if d.kind is DeliveryKind.MESSAGE)
    assert all(count == 1 for count in copies.values())
    # Everything ends: no timer left, nothing open, the cascade finished.
    assert store.timers_of(message.id) == []
    assert store.undelivered(message.id) == []
    cascade = store.get_cascade(message.id)
    assert cascade is not None
    assert cascade.is_finished

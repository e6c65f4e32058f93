"""The cascade's parts on their own: its copies, the retry policy, status figures, stored channels."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cssc_core.cascade import RetryPolicy
from cssc_core.cascade.context import plan_from_document, plan_to_document, plan_to_json, stored_channels
from cssc_core.cascade.status import percentile
from cssc_core.cascade.work import Work
from cssc_core.channels import MessageCopy, Recipient, Renderer, read_channel_file
from cssc_core.domain.marking import ChannelFlags, Marking
from cssc_core.domain.message import LanguageBlock, Message
from cssc_core.domain.models import Contact, Language
from cssc_core.errors import ValidationError
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.plugins.manager import PluginHost
from cssc_core.plugins.types import Outgoing
from cssc_core.routing import plan as routing
from cssc_core.routing.engine import plan_message
from cssc_core.routing.policy import Via
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import Delivery, DeliveryKind, Timer, make_idempotency_key
from cssc_core.testing import T0
from tests.cascade.conftest import Harness, incident_network, message, person


def delivery(kind: DeliveryKind = DeliveryKind.MESSAGE, **fields: object) -> Delivery:
    key = make_idempotency_key("msg-1", "c-1", "email", kind)
    return Delivery("d-1", "msg-1", "c-1", "email", "email", key, kind=kind, **fields)  # type: ignore[arg-type]


def render(delivery: Delivery, alert: Message, contact: Contact, *unacknowledged: str) -> Outgoing:
    prepared = Renderer(delivery.channel).prepare(MessageCopy.from_message(alert))
    return prepared.copy(Recipient.for_delivery(delivery, contact, unacknowledged))


def test_a_copy_has_the_marking_first_and_the_welsh_text_first_for_welsh_speakers() -> None:
    welsh = message(
        languages={"cy": {"headline": "Pennawd", "body": "Testun.", "instruction": "Byddwch yn effro."}}
    )
    assert welsh.languages["cy"] == LanguageBlock("Pennawd", "Testun.", "Byddwch yn effro.")
    english = render(delivery(), welsh, person("c-1"))
    cymraeg = render(delivery(), welsh, person("c-1", language=Language.CY))
    assert english.body.splitlines()[0] == "TLP:GREEN"
    assert english.subject == "TLP:GREEN Headline of msg-1"
    assert english.address == "c-1@example.org"
    assert "Pennawd" not in english.body
    assert cymraeg.body.splitlines()[0] == "TLP:GREEN"
    assert cymraeg.subject == "TLP:GREEN Pennawd"
    assert (
        cymraeg.body.index("Pennawd") < cymraeg.body.index("----") < cymraeg.body.index("Headline of msg-1")
    )
    assert cymraeg.language == "cy"
    assert cymraeg.idempotency_key == english.idempotency_key


def test_a_relay_request_carries_the_message_and_an_escalation_only_names() -> None:
    alert = message()
    request = render(delivery(DeliveryKind.RELAY_REQUEST, cell=("EAST", "retail")), alert, person("c-1"))
    assert request.subject == "TLP:GREEN Relay request: Headline of msg-1"
    assert "release this message" in request.body
    assert "Body text." in request.body
    notice = render(delivery(DeliveryKind.ESCALATION, subject_contact="c-2"), alert, person("c-1"), "Sam")
    assert notice.body == "TLP:GREEN\n\nMessage msg-1 (TLP:GREEN) has not been acknowledged by: Sam.\n"
    assert notice.subject == "TLP:GREEN Not acknowledged: msg-1"


def test_backoff_grows_within_its_jitter_and_respects_retry_after() -> None:
    policy = RetryPolicy(base_s=10, factor=3, max_delay_s=100, jitter=0.5)
    rng = random.Random(3)
    delays = [policy.delay_s(attempt, rng) for attempt in (1, 2, 3, 4)]
    assert 5 <= delays[0] <= 10
    assert 15 <= delays[1] <= 30
    assert 45 <= delays[2] <= 90
    assert 50 <= delays[3] <= 100
    assert policy.delay_s(1, rng, retry_after_s=500) == 500
    assert not policy.exhausted(4)
    assert RetryPolicy(max_attempts=4).exhausted(4)


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1), st.floats(min_value=0.01, max_value=1))
def test_nearest_rank_percentiles_are_values_of_the_sample(values: list[float], share: float) -> None:
    ordered = sorted(values)
    found = percentile(ordered, share)
    assert found in ordered
    assert sum(1 for v in ordered if v <= found) >= share * len(ordered)


def test_a_plan_survives_being_stored_with_its_cascade() -> None:
    policy = parse_policy_toml(
        'format = "cssc-policy/1"\n[defaults]\nrelay_deadline = "7m"\nack = "required"\nack_timeout = "3m"\n'
    )
    plan = plan_message(incident_network(), message(), policy)
    assert plan.relays
    assert plan_from_document(json.loads(json.dumps(plan_to_document(plan)))) == plan
    assert plan_to_json(plan) == json.dumps(plan_to_document(plan), sort_keys=True)


_TEXT = st.text(max_size=6)
# Recipients draw their shared parts from small pools, so that entries alike but for one part meet.
_PART = st.sampled_from(["webhook", "EAST", 'say "now"', "back\\slash", "é"])
_NAMES = st.lists(_PART, max_size=2).map(tuple)
_CELLS = st.lists(st.tuples(_PART, _PART), max_size=2).map(tuple)
_SECONDS = st.sampled_from([0, 60])
_RECIPIENTS = st.builds(
    routing.Recipient, _TEXT, _TEXT, _PART, st.sampled_from(list(Via)), _CELLS, _NAMES, st.booleans(), _NAMES,
    _SECONDS, _SECONDS,
)  # fmt: skip
_RELAYS = st.builds(routing.Relay, _TEXT, _TEXT, _NAMES, st.lists(_NAMES, max_size=2).map(tuple), _SECONDS)
_PLANS = st.builds(
    routing.RoutingPlan,
    _TEXT,
    st.sampled_from(list(Marking)),
    st.lists(_RECIPIENTS, max_size=12).map(tuple),
    st.lists(_RELAYS, max_size=3).map(tuple),
    st.lists(st.builds(routing.Exclusion, _TEXT, _TEXT, _TEXT), max_size=2).map(tuple),
    st.lists(st.builds(routing.Gap, _TEXT, _TEXT), max_size=2).map(tuple),
)


@given(_PLANS)
def test_a_plan_is_stored_as_json_dumps_writes_it(plan: routing.RoutingPlan) -> None:
    # Recipients share parts, as a national plan's do, and their text has quotes, backslashes and
    # letters beyond ASCII to escape.
    assert plan_to_json(plan) == json.dumps(plan_to_document(plan), sort_keys=True)


def test_stored_channels_round_trip_and_default_to_file_channels(tmp_path: Path) -> None:
    default = stored_channels("{}")
    assert default.is_default
    assert default.flags() is None
    pager = default.channel("pager")
    assert pager is not None
    assert pager.type == "file"
    assert pager.options["path"] == str(Path(default.outbox) / "pager.jsonl")
    assert Path(default.outbox).is_absolute()
    (tmp_path / "channels.toml").write_text(
        'format = "cssc-channels/1"\n[channels.email]\ntype = "file"\naddress = "email"\nsecure = true\n'
        "concurrency = 4\nrate_per_s = 2.5\n",
        "utf-8",
    )
    channels = read_channel_file(tmp_path / "channels.toml", host=PluginHost.load(entry_points=False))
    assert channels.channel("sms") is None
    assert stored_channels(json.dumps(channels.to_document())) == channels
    assert channels.flags() == {"email": ChannelFlags(secure=True, public=False)}
    email = channels.channel("email")
    assert email is not None
    assert (email.concurrency, email.rate_per_s, email.secure) == (4, 2.5, True)


def test_a_channel_file_with_a_secret_written_in_it_is_refused(tmp_path: Path) -> None:
    (tmp_path / "channels.toml").write_text(
        'format = "cssc-channels/1"\n[channels.email]\ntype = "file"\naddress = "email"\n'
        'password = "hunter2"\n',
        "utf-8",
    )
    with pytest.raises(
        ValidationError, match=r"\$\.channels\.email\.password: secrets are not written in a channel file"
    ) as caught:
        read_channel_file(tmp_path / "channels.toml", host=PluginHost.load(entry_points=False))
    assert "hunter2" not in str(caught.value)


def test_status_percentiles_follow_deliveries(memory_harness: Harness) -> None:
    memory_harness.engine.send(message(audience={"organisations": ["school", "church"]}), policy=None)
    memory_harness.at(60)
    memory_harness.engine.tick()
    report = memory_harness.engine.status("msg-1")
    assert report.by_hop["direct"]["delivered"] == 2
    assert report.reach["direct"].max_s == timedelta(minutes=15).total_seconds()
    assert report.reach["direct"].p50_s == 0
    assert report.started_at == T0


class TimerCountingStore(MemoryStore):
    """A memory store that counts its calls to ``add_timers``."""

    def __init__(self) -> None:
        super().__init__()
        self.adds: list[int] = []

    def add_timers(self, timers: object) -> None:
        self.adds.append(len(timers))  # type: ignore[arg-type]
        super().add_timers(timers)  # type: ignore[arg-type]


def timer(name: str, minutes: int = 5) -> Timer:
    return Timer(name, "msg-1", "ack-timeout", T0 + timedelta(minutes=minutes))


def test_timers_set_together_are_written_in_one_call_when_the_block_ends() -> None:
    store = TimerCountingStore()
    work = Work(store, T0)
    with work.timers_together():
        for name in ("t-1", "t-2", "t-3"):
            work.set_timers([timer(name)])
        assert store.timers_of("msg-1") == []  # not yet written
    assert store.adds == [3]
    assert [t.id for t in store.timers_of("msg-1")] == ["t-1", "t-2", "t-3"]
    work.set_timers([timer("t-4")])  # outside a block: at once
    assert store.adds == [3, 1]


def test_a_timer_removed_inside_the_block_is_gone_and_a_later_one_stays() -> None:
    store = TimerCountingStore()
    work = Work(store, T0)
    with work.timers_together():
        work.set_timers([timer("t-1"), timer("t-2")])
        work.remove_timers("msg-1", ["t-1"])
        work.set_timers([timer("t-1", minutes=9)])  # set again after the removal: kept
    assert {(t.id, t.due_at) for t in store.timers_of("msg-1")} == {
        ("t-1", T0 + timedelta(minutes=9)),
        ("t-2", T0 + timedelta(minutes=5)),
    }


def test_timers_of_a_block_that_raises_are_not_written() -> None:
    store = TimerCountingStore()
    work = Work(store, T0)

    def fail() -> None:
        with work.timers_together():
            work.set_timers([timer("t-1")])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert store.adds == []
    work.set_timers([timer("t-2")])
    assert store.adds == [1]  # the block is over: timers are written at once again


def test_a_block_inside_another_leaves_the_timers_to_the_outer_one() -> None:
    store = TimerCountingStore()
    work = Work(store, T0)
    with work.timers_together():
        work.set_timers([timer("t-1")])
        with work.timers_together():
            work.set_timers([timer("t-2")])
        assert store.adds == []  # the inner block's end writes nothing, and loses nothing
    assert store.adds == [2]
    assert [t.id for t in store.timers_of("msg-1")] == ["t-1", "t-2"]

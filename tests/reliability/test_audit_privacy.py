"""The audit log keeps no address and no message content: whatever text a detail is built from, a
contact's email, phone or webhook does not survive :func:`~cssc_core.storage.records.redact`; and over
random cascades (relays, acknowledgements from anywhere, escalations), no entry holds the message's
headline, body or instruction, or any contact's address."""

from __future__ import annotations

import contextlib

import attrs
from hypothesis import given
from hypothesis import strategies as st

from cssc_core import CsscError, Network
from cssc_core.formats.policy import parse_policy_toml
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import AuditEntry
from cssc_core.testing import T0
from tests.cascade.conftest import Harness, message
from tests.reliability.tally import fuzz_settings
from tests.strategies import networks

CONTACTS = ("isl-r1", "isl-f1", "shop-a", "shop-b", "school-a", "both-a", "nobody")
VIAS = (
    "portal",
    "sms from +447400123456",
    "mail from shop-a@example.org",
    "https://portal.example.org/a?t=x",
)

_around = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


def _addresses(network: Network) -> list[str]:
    return [
        value
        for _, contact in network.contacts()
        for value in (contact.email, contact.phone, contact.webhook)
        if value is not None
    ]


@fuzz_settings(60)
@given(networks(max_organisations=3), st.data())
def test_no_address_survives_into_an_audit_entry(network: Network, data: st.DataObject) -> None:
    addresses = _addresses(network)
    if not addresses:
        return
    address = data.draw(st.sampled_from(addresses))
    spelled = data.draw(st.sampled_from([address, address.upper(), f"<{address}>", f"'{address}'"]))
    detail = data.draw(_around) + spelled + data.draw(_around)
    store = MemoryStore()
    store.append_audit([AuditEntry(at=T0, event="delivery-failed", detail=detail)])
    (entry,) = store.audit_log()
    assert address.lower() not in entry.detail.lower()


_words = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=6, max_size=10)


@fuzz_settings(15)
@given(
    headline=_words,
    body=_words,
    instruction=_words,
    acks=st.lists(
        st.tuples(st.integers(0, 120), st.sampled_from(CONTACTS), st.sampled_from(VIAS)), max_size=4
    ),
    urgent=st.booleans(),
    ack_required=st.booleans(),
)
def test_random_cascades_audit_no_body_and_no_address(
    headline: str,
    body: str,
    instruction: str,
    acks: list[tuple[int, str, str]],
    urgent: bool,
    ack_required: bool,
) -> None:
    harness = Harness(MemoryStore())
    fields: dict[str, object] = {
        "headline": f"H-{headline}",
        "body": f"B-{body}",
        "instruction": f"I-{instruction}",
    }
    if urgent:
        fields.update(urgency="immediate", severity="severe")
    policy = parse_policy_toml(
        'format = "cssc-policy/1"\n[defaults]\nchannels = ["email", "sms"]\n'
        f'ack = "{"required" if ack_required else "none"}"\nack_timeout = "10m"\nrelay_deadline = "15m"\n'
    )
    harness.engine.send(message(**fields), policy=policy)
    for minutes, contact, via in sorted(acks):
        harness.at(minutes)
        with contextlib.suppress(CsscError):  # not every contact is a recipient
            harness.engine.acknowledge("msg-1", contact, via=via)
    harness.at(24 * 60)
    harness.engine.tick()
    secrets = {f"H-{headline}", f"B-{body}", f"I-{instruction}"}
    network = harness.store.load_network()
    assert network is not None
    secrets.update(_addresses(network))
    entries = harness.store.audit_log()
    assert entries
    for entry in entries:
        text = " ".join(str(value) for value in attrs.astuple(entry))
        assert not [secret for secret in secrets if secret in text], entry

"""The audit log keeps no address: whatever text a detail is built from, a contact's email, phone or
webhook does not survive :func:`~cssc_core.storage.records.redact`, in either of the stores."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cssc_core import Network
from cssc_core.storage.memory import MemoryStore
from cssc_core.storage.records import AuditEntry
from cssc_core.testing import T0
from tests.reliability.tally import fuzz_settings
from tests.strategies import networks

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

"""The plan's JSON document has SPEC.md section 9's shape."""

from __future__ import annotations

import json
from typing import Any

from cssc_core.domain.marking import Marking
from cssc_core.routing.plan import Exclusion, Gap, Recipient, Relay, RoutingPlan
from cssc_core.routing.policy import Via

# The example of SPEC.md section 9, which `cssc route --json` must print exactly.
SECTION_9_EXAMPLE: dict[str, Any] = {
    "message": "msg-2019-0612-01",
    "recipients": [
        {
            "contact": "c-0001",
            "organisation": "org-0001",
            "region": "EAST",
            "via": "isl",
            "relay": [["EAST", "retail"]],
            "channels": ["email"],
            "ack": False,
            "routes": ["bulletins"],
        }
    ],
    "relays": [{"region": "EAST", "sector": "retail", "isl": ["c-0009", "c-0010"], "deadline_s": 900}],
    "excluded": [
        {
            "organisation": "org-0002",
            "contact": "c-0002",
            "reason": "TLP:AMBER allows no channel of this contact",
        }
    ],
    "gaps": [{"region": "EAST", "sector": "faith"}],
}


def test_document_shape() -> None:
    plan = RoutingPlan(
        message="msg-1",
        marking=Marking.AMBER,
        recipients=(
            Recipient(
                "c-0001",
                "org-0001",
                "EAST",
                Via.ISL,
                (("EAST", "retail"),),
                ("email",),
                False,
                ("bulletins",),
                1800,
                900,
            ),
        ),
        relays=(Relay("EAST", "retail", ("c-0009", "c-0010"), (("email",), ("email", "sms")), 900),),
        excluded=(Exclusion("org-0002", "c-0002", "TLP:AMBER allows no channel of this contact"),),
        gaps=(Gap("EAST", "faith"),),
    )
    assert json.loads(json.dumps(plan.to_document())) == {**SECTION_9_EXAMPLE, "message": "msg-1"}
    assert plan.recipient("c-0001") is plan.recipients[0]
    assert plan.recipient("c-0002") is None


def test_repr_counts_entries_rather_than_listing_them() -> None:
    recipient = Recipient("c-0001", "org-0001", "EAST", Via.DIRECT, (), ("email",), False, (), 1800, 900)
    plan = RoutingPlan(message="msg-1", marking=Marking.AMBER, recipients=(recipient,) * 100_000)
    text = repr(plan)
    assert text == (
        "RoutingPlan(message='msg-1', marking=TLP:AMBER, 100000 recipients, 0 relays, 0 excluded, 0 gaps)"
    )

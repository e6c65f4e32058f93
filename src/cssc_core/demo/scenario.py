"""The story ``cssc demo`` tells, as data: which message goes out when, who releases, who acknowledges.

A day in the life of the network on 12 June 2019, the day of the annual meeting whose report the
example network is modelled on:

- 09:00 NCTPHQ's UK Protect bulletin (TLP:CLEAR, CAP XML) goes to every region through the ISLs. Most
  leads release it within minutes; some deputies step in; the rest of the cells go direct at their
  last deadline.
- 10:30 Police Scotland report a major incident at the School of Art in Glasgow with a cordon: every
  member within 1.5 km gets it straight away by SMS and email and must acknowledge (the locked
  life-safety route). An update widens the cordon at 10:38; at 10:46 a cancel stands the incident down,
  which stops the escalations still waiting.
- 11:30 NCTPHQ warn of suspicious packages posted to businesses (TLP:AMBER) in the sectors with
  mailrooms, everywhere. The London finance lead stays silent, so the cell's deputy releases it.
- 14:00 CSSC Wales invites its members to the region's first test bridge call, in English and Welsh
  (status ``exercise``).
- 16:00 CSSC East Midlands sends its quarterly newsletter, straight to every member.

Every choice that would be random in real life (who releases when, who acknowledges) comes from a
random source seeded with the message id, so the story replays identically.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from cssc_core.domain.network import Cell

__all__ = [
    "ACKNOWLEDGEMENTS",
    "CONDUCT",
    "END",
    "POLICY",
    "SEED",
    "START",
    "STEPS",
    "AckPattern",
    "IslConduct",
    "Step",
]

START = datetime.fromisoformat("2019-06-12T09:00:00+01:00")
"""When the story starts (the simulated clock's first reading)."""

END = datetime.fromisoformat("2019-06-12T18:00:00+01:00")
"""When the story ends: the last tick processes everything due by then."""

SEED = 20190612
"""Seeds the retry jitter and, with each message id, who releases and who acknowledges."""

POLICY = "policy.toml"
"""The routing policy file, in the package's ``data/demo`` folder."""


@attrs.frozen
class Step:
    """One step of the timeline.

    Attributes:
        at: When it happens.
        title: What the progress line says.
        send: The message file to send (in ``data/demo``), or None for a tick to ``at``.
    """

    at: datetime
    title: str
    send: str | None = None


@attrs.frozen
class IslConduct:
    """How the ISLs of a message's relayed cells behave.

    Each relayed cell's lead releases the message with chance ``lead_share``, a number of minutes
    after the send drawn from ``lead_minutes``. Otherwise, when the cell has a deputy, the first
    deputy releases it with chance ``deputy_share``, a few minutes (``deputy_minutes``) after the lead's
    deadline passed and the request reached them; the rest of the cells go direct at their last
    deadline. The ``silent`` cells' leads never answer and their first deputy always does.
    """

    lead_share: float
    lead_minutes: tuple[int, int]
    deputy_share: float
    deputy_minutes: tuple[int, int] = (1, 8)
    silent: tuple[Cell, ...] = ()


@attrs.frozen
class AckPattern:
    """Which recipients of a message acknowledge it, and when.

    Attributes:
        waves: For each wave, the share of the recipients not yet acknowledged who do, and the range
            of minutes after the send in which they do.
    """

    waves: tuple[tuple[float, tuple[int, int]], ...]


STEPS: tuple[Step, ...] = (
    Step(
        START,
        "NCTPHQ send the UK Protect bulletin to every region, through the ISLs",
        "uk-protect-bulletin.xml",
    ),
    Step(START + timedelta(minutes=15), "first relay deadlines pass: deputies are asked"),
    Step(START + timedelta(minutes=30), "second deadlines: more deputies, and cells with none go direct"),
    Step(START + timedelta(hours=1), "the bulletin's last cells go direct"),
    Step(
        datetime.fromisoformat("2019-06-12T10:30:00+01:00"),
        "Police Scotland: major incident at the School of Art, cordon in place",
        "glasgow-incident.json",
    ),
    Step(
        datetime.fromisoformat("2019-06-12T10:38:00+01:00"),
        "Police Scotland widen the cordon (update)",
        "glasgow-update.json",
    ),
    Step(
        datetime.fromisoformat("2019-06-12T10:41:00+01:00"),
        "members who have not acknowledged get the incident on their next channel or are escalated",
    ),
    Step(
        datetime.fromisoformat("2019-06-12T10:46:00+01:00"),
        "Police Scotland stand the incident down (cancel)",
        "glasgow-cancel.json",
    ),
    Step(
        datetime.fromisoformat("2019-06-12T11:30:00+01:00"),
        "NCTPHQ warn of suspicious packages posted to businesses (TLP:AMBER)",
        "suspicious-packages.json",
    ),
    Step(datetime.fromisoformat("2019-06-12T12:30:00+01:00"), "the packages warning's deadlines have passed"),
    Step(
        datetime.fromisoformat("2019-06-12T14:00:00+01:00"),
        "CSSC Wales invite members to a test bridge call, in English and Welsh (exercise)",
        "wales-bridge-call.json",
    ),
    Step(
        datetime.fromisoformat("2019-06-12T16:00:00+01:00"),
        "CSSC East Midlands send the quarterly newsletter",
        "emid-newsletter.json",
    ),
    Step(END, "the end of the day: everything due is processed"),
)
"""The timeline, in time order."""

CONDUCT: dict[str, IslConduct] = {
    "demo-nat-0612-01": IslConduct(lead_share=0.7, lead_minutes=(2, 14), deputy_share=0.5),
    "demo-nat-0612-02": IslConduct(
        lead_share=0.85, lead_minutes=(1, 10), deputy_share=0.6, silent=(("LDN", "finance"),)
    ),
    "demo-wales-0612-01": IslConduct(lead_share=0.8, lead_minutes=(5, 14), deputy_share=1.0),
}
"""How the ISLs behave, for each message sent through them."""

ACKNOWLEDGEMENTS: dict[str, AckPattern] = {
    # Half the members near the cordon answer the first text within minutes; some more after the
    # reminder on their next channel; the rest not at all, and the hub hears of them.
    "demo-scot-0612-01": AckPattern(waves=((0.55, (1, 9)), (0.4, (11, 15)))),
}
"""Who acknowledges which message."""

"""Cascades: a message's run through the network, from ``send`` to the last delivery.

- :mod:`~cssc_core.cascade.engine`: :class:`CascadeEngine`, what embedders and the command line drive;
- :mod:`~cssc_core.cascade.sender`: planning and persisting a cascade in one transaction;
- :mod:`~cssc_core.cascade.dispatcher`: leases, concurrent sending, results, retries;
- :mod:`~cssc_core.cascade.relays`, :mod:`~cssc_core.cascade.acks`, :mod:`~cssc_core.cascade.timers`:
  releases, deadlines, acknowledgements, escalation, expiry;
- :mod:`~cssc_core.cascade.replies`: SMS reply codes matched to the message and contact they acknowledge;
- :mod:`~cssc_core.cascade.context`: one cascade's message, plan, channels and network;
- :mod:`~cssc_core.cascade.status`: counts and time-to-reach for ``cssc status``.

The channels a cascade delivers through, and how its copies are rendered, are
:mod:`cssc_core.channels`.
"""

from cssc_core.cascade.engine import CascadeEngine, Progress, RunReport, SendReport
from cssc_core.cascade.replies import ReplyClaim
from cssc_core.cascade.retry import RetryPolicy
from cssc_core.cascade.status import CascadeStatus, ReachTimes

__all__ = [
    "CascadeEngine",
    "CascadeStatus",
    "Progress",
    "ReachTimes",
    "ReplyClaim",
    "RetryPolicy",
    "RunReport",
    "SendReport",
]

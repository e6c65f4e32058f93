"""Messages (``cssc-message/1``), shaped like OASIS CAP 1.2 and carrying a TLP 2.0 marking.

The value sets of ``status``, ``type``, ``category``, ``urgency``, ``severity`` and ``certainty`` are
CAP's, written in lower case; ``status`` and ``type`` keep only the values the network uses. An
audience says which organisations and contacts a message is for (see
:mod:`cssc_core.domain.audience` for what each selector means).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TypeAlias

import attrs

from cssc_core.domain.marking import Marking

__all__ = [
    "Area",
    "Audience",
    "Category",
    "Certainty",
    "Circle",
    "County",
    "LanguageBlock",
    "Message",
    "MessageType",
    "Polygon",
    "PostcodeDistrict",
    "Severity",
    "Status",
    "Urgency",
]


class Status(enum.StrEnum):
    """How to handle the message: for real, as an exercise, or as a test to test contacts only."""

    ACTUAL = "actual"
    EXERCISE = "exercise"
    TEST = "test"


class MessageType(enum.StrEnum):
    """A new alert, or an update or cancel of earlier messages named in ``references``."""

    ALERT = "alert"
    UPDATE = "update"
    CANCEL = "cancel"


class Category(enum.StrEnum):
    """The CAP 1.2 event categories."""

    GEO = "geo"
    MET = "met"
    SAFETY = "safety"
    SECURITY = "security"
    RESCUE = "rescue"
    FIRE = "fire"
    HEALTH = "health"
    ENV = "env"
    TRANSPORT = "transport"
    INFRA = "infra"
    CBRNE = "cbrne"
    OTHER = "other"


class Urgency(enum.StrEnum):
    """The CAP 1.2 urgency values."""

    IMMEDIATE = "immediate"
    EXPECTED = "expected"
    FUTURE = "future"
    PAST = "past"
    UNKNOWN = "unknown"


class Severity(enum.StrEnum):
    """The CAP 1.2 severity values."""

    EXTREME = "extreme"
    SEVERE = "severe"
    MODERATE = "moderate"
    MINOR = "minor"
    UNKNOWN = "unknown"


class Certainty(enum.StrEnum):
    """The CAP 1.2 certainty values."""

    OBSERVED = "observed"
    LIKELY = "likely"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"
    UNKNOWN = "unknown"


@attrs.frozen
class Circle:
    """Every point within ``radius_km`` of a centre (haversine distance)."""

    lat: float
    lon: float
    radius_km: float


@attrs.frozen
class Polygon:
    """A polygon of (lat, lon) vertices, implicitly closed, at least three of them."""

    points: tuple[tuple[float, float], ...]


@attrs.frozen
class County:
    """The organisations whose county has this name (compared case-insensitively)."""

    name: str


@attrs.frozen
class PostcodeDistrict:
    """The organisations whose postcode's outward code is this one (``G3``; case-insensitive)."""

    code: str


Area: TypeAlias = Circle | Polygon | County | PostcodeDistrict
"""One area of an audience; written ``{"circle": ...}``, ``{"polygon": ...}``, ``{"county": ...}`` or
``{"postcode_district": ...}`` in documents."""


@attrs.frozen
class Audience:
    """Who a message is for. Selectors are ANDed, values in one selector ORed; empty imposes nothing.

    Attributes:
        regions: Region codes; the organisation's region must be one of them.
        sectors: Sector codes; the organisation must have one of them.
        tags: Tags; the organisation must have one of them.
        areas: Areas; one of them must contain the organisation's location.
        organisations: Organisation ids; the organisation must be one of them.
        contacts: Contact ids; when given, only these contacts of audience organisations receive it.
    """

    regions: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    areas: tuple[Area, ...] = ()
    organisations: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()


@attrs.frozen
class LanguageBlock:
    """The message's text in another language (Welsh)."""

    headline: str
    body: str | None = None
    instruction: str | None = None


@attrs.frozen
class Message:
    """An alert, update or cancel.

    Attributes:
        id: The message's identifier, unique in the store.
        sender: Who issued it (``NCTPHQ``).
        sent: When it was issued (timezone-aware).
        status: ``actual``, ``exercise`` or ``test``.
        type: ``alert``, ``update`` or ``cancel``.
        references: The ids of the messages an update or cancel replaces.
        marking: The TLP 2.0 handling marking.
        category: The CAP category.
        urgency: The CAP urgency.
        severity: The CAP severity.
        certainty: The CAP certainty.
        headline: A short summary.
        body: The full text.
        instruction: What recipients should do.
        expires: After this, copies not yet sent are never sent (timezone-aware).
        languages: The text in other languages, by language code (``cy``).
        audience: Who it is for.
    """

    id: str
    sender: str
    sent: datetime
    status: Status
    type: MessageType
    marking: Marking
    category: Category
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    headline: str
    body: str | None = None
    instruction: str | None = None
    expires: datetime | None = None
    references: tuple[str, ...] = ()
    languages: dict[str, LanguageBlock] = attrs.field(factory=dict, hash=False)
    audience: Audience = Audience()

"""Checks and normal forms for the values members give us: phones, emails, postcodes, ids, URLs.

Each function takes what a document holds and returns the stored form, or raises :class:`ValueError`
with a message fit for an operator (the loaders add the path). Nothing here touches the network:
email domains are not looked up, URLs are not resolved.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import email_validator
import phonenumbers

__all__ = [
    "MAX_DURATION_S",
    "check_channel_name",
    "check_identifier",
    "check_instant",
    "check_latitude",
    "check_longitude",
    "check_text",
    "check_time_zone",
    "check_webhook_url",
    "clip",
    "normalise_email",
    "normalise_phone",
    "normalise_postcode",
    "normalise_postcode_district",
    "parse_clock_time",
    "parse_duration",
    "parse_instant",
]

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
_CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# The postcode pattern published for GOV.UK data standards, without the British Forces exceptions.
_POSTCODE = re.compile(
    r"GIR0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPS-UW]|[A-HK-Y][0-9][ABEHMNPRV-Y])"
    r"[0-9][ABD-HJLNP-UW-Z]{2}"
)
_OUTWARD_CODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?|GIR")
_DURATION = re.compile(r"(?:([0-9]{1,9})h)?(?:([0-9]{1,9})m)?(?:([0-9]{1,9})s)?")
_SECONDS = re.compile(r"[0-9]{1,12}")
MAX_DURATION_S = 366 * 24 * 3600
"""The longest duration a policy or channel file may name: a (leap) year."""
# Instants are kept as microseconds from 1970 and have durations added to them: stay well inside
# what datetime can hold, whatever the offset.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_MAX_TEXT = 10_000
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# RFC 5322 dot-atom local parts and LDH domain names: the common case, validated without the
# general (and much slower) path; anything else goes through email-validator whole.
_PLAIN_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_PLAIN_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


def check_identifier(value: str) -> str:
    """An id: 1 to 128 letters, digits and ``._:@-``, starting with a letter or digit."""
    if not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"{clip(value)} is not a valid id (letters, digits and . _ : @ -, at most 128)")
    return value


def check_channel_name(value: str) -> str:
    """A channel name: lower-case letters, digits, ``_`` and ``-``, starting with a letter."""
    if not _CHANNEL_NAME.fullmatch(value):
        raise ValueError(f"{clip(value)} is not a valid channel name (lower-case letters, digits, _ and -)")
    return value


def check_text(value: str) -> str:
    """A name or label: not blank, no control characters, at most 10,000 characters."""
    if not value.strip():
        raise ValueError("must not be blank")
    if len(value) > _MAX_TEXT:
        raise ValueError(f"is longer than {_MAX_TEXT} characters")
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("contains control characters")
    return value


def normalise_phone(value: str) -> str:
    """A UK or international phone number, returned in E.164 form (``+447400123456``)."""
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        raise ValueError("not a valid phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str:
    """An email address checked for syntax only (no DNS), returned normalised."""
    # Most addresses are plain ASCII dot-atoms at a domain that many contacts share; for those the
    # domain is checked once by email-validator and the local part by the dot-atom rule it applies.
    local, at, domain = value.rpartition("@")
    plain = len(local) <= 64 and len(value) <= 254 and _PLAIN_LOCAL_PART.fullmatch(local)
    if at and plain and _PLAIN_DOMAIN.fullmatch(domain):
        return f"{local}@{_normalise_email_domain(domain)}"
    return _validate_email(value)


def _validate_email(value: str) -> str:
    try:
        checked = email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise ValueError(f"not a valid email address ({error})") from None
    return str(checked.normalized)


@functools.lru_cache(maxsize=4096)
def _normalise_email_domain(domain: str) -> str:
    return _validate_email(f"postmaster@{domain}").rpartition("@")[2]


def normalise_postcode_district(value: str) -> str:
    """A postcode district (the outward code, such as ``G3``), returned upper-case."""
    district = value.strip().upper()
    if not _OUTWARD_CODE.fullmatch(district):
        raise ValueError(f"{clip(value)} is not a postcode district (the outward code, such as G3)")
    return district


def normalise_postcode(value: str) -> str:
    """A UK postcode, returned upper-case with one space before the inward code (``NR1 1AA``)."""
    compact = "".join(value.split()).upper()
    if not _POSTCODE.fullmatch(compact):
        raise ValueError(f"{clip(value)} is not a valid UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


def check_latitude(value: float) -> float:
    """A latitude in degrees, -90 to 90."""
    if not math.isfinite(value) or not -90.0 <= value <= 90.0:
        raise ValueError(f"latitude {value} is outside -90..90")
    return value


def check_longitude(value: float) -> float:
    """A longitude in degrees, -180 to 180."""
    if not math.isfinite(value) or not -180.0 <= value <= 180.0:
        raise ValueError(f"longitude {value} is outside -180..180")
    return value


_URL_BREAKS = re.compile(r"[\s\x00-\x1f]")
"""What a URL never holds: whitespace (any Unicode space) and control characters."""


def check_webhook_url(value: str) -> str:
    """An absolute ``http`` or ``https`` URL with a host and no credentials in it.

    Whether the host may be reached (not private, HTTPS only) is the webhook channel's decision at
    send time; here only the form is checked, without resolving anything.
    """
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it raises ValueError for a malformed port
    except ValueError:
        raise ValueError(f"{clip(value)} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{clip(value)} is not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a webhook URL must not carry credentials")
    if len(value) > 2048 or _URL_BREAKS.search(value):
        raise ValueError(f"{clip(value)} is not a valid URL")
    return value


@functools.cache
def check_time_zone(value: str) -> str:
    """An IANA time zone name such as ``Europe/London``."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {clip(value)}") from None
    return value


def parse_instant(value: str) -> datetime:
    """An ISO 8601 date and time with an offset (``2019-06-12T09:15:00+01:00``), returned aware."""
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{clip(value)} is not a date and time written YYYY-MM-DDTHH:MM:SS+HH:MM") from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{clip(value)} has no offset (write it like 2019-06-12T09:15:00+01:00)")
    return check_instant(instant)


def check_instant(instant: datetime) -> datetime:
    """An aware date and time between the years 1900 and 9000 (UTC), returned as given."""
    try:
        in_range = _EARLIEST <= instant <= _LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValueError(f"{instant.isoformat()} is not between the years 1900 and 9000")
    return instant


def parse_clock_time(value: str) -> time:
    """A 24-hour clock time written ``HH:MM``."""
    match = _CLOCK_TIME.fullmatch(value)
    if not match:
        raise ValueError(f"{clip(value)} is not a time of day written HH:MM")
    return time(int(match[1]), int(match[2]))


def parse_duration(value: str | int) -> int:
    """A duration in whole seconds, from ``90s``, ``15m``, ``1h``, ``1h30m`` or a whole number."""
    if isinstance(value, bool):
        raise ValueError(f"{clip(value)} is not a duration")
    if isinstance(value, int):
        seconds = value
    else:
        text = value.strip()
        match = _DURATION.fullmatch(text)
        if _SECONDS.fullmatch(text):
            seconds = int(text)
        elif text and match:
            hours, minutes, secs = (int(part or 0) for part in match.groups())
            seconds = hours * 3600 + minutes * 60 + secs
        else:
            raise ValueError(f"{clip(value)} is not a duration (write 90s, 15m, 1h, 1h30m or seconds)")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"{clip(str(value))} is longer than a year")
    return seconds


def clip(value: object, width: int = 60) -> str:
    """``repr`` of a value cut to ``width`` characters, for messages about what may be hostile input."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"

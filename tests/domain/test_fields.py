"""Field checks: the normal forms stored, and clear refusals."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cssc_core.domain import fields


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("07400 123456", "+447400123456"),
        ("020 7946 0123", "+442079460123"),
        ("0131 496 0123", "+441314960123"),
        ("+44 29 2018 0123", "+442920180123"),
    ],
)
def test_phone_numbers_are_stored_in_e164(given: str, stored: str) -> None:
    assert fields.normalise_phone(given) == stored


@pytest.mark.parametrize("given", ["07700 900123", "01632 960123", "12", "not a number", ""])
def test_invalid_phone_numbers_are_refused(given: str) -> None:
    with pytest.raises(ValueError, match="not a valid phone number"):
        fields.normalise_phone(given)


def test_email_is_normalised_without_looking_up_the_domain() -> None:
    # The domain part is lower-cased; no DNS lookup happens (this domain cannot resolve anyway).
    assert fields.normalise_email("Sam@Hub.Example.ORG") == "Sam@hub.example.org"


@pytest.mark.parametrize("given", ["nope", "a@b", "two@@example.org", "x@test"])
def test_invalid_email_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="not a valid email address"):
        fields.normalise_email(given)


@pytest.mark.parametrize(
    ("given", "stored"),
    [("nr11aa", "NR1 1AA"), ("G3  8AG", "G3 8AG"), ("ec1a1bb", "EC1A 1BB"), ("CF10 1AA", "CF10 1AA")],
)
def test_postcodes_are_upper_case_with_one_space(given: str, stored: str) -> None:
    assert fields.normalise_postcode(given) == stored


@pytest.mark.parametrize("given", ["NR1", "QQ1 1AA", "12345", "NR1 1A", "NR1 1AAA"])
def test_invalid_postcodes_are_refused(given: str) -> None:
    with pytest.raises(ValueError, match="not a valid UK postcode"):
        fields.normalise_postcode(given)


@pytest.mark.parametrize(
    ("given", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("600", 600), (45, 45)]
)
def test_durations(given: str | int, seconds: int) -> None:
    assert fields.parse_duration(given) == seconds


@pytest.mark.parametrize("given", ["", "m", "15 minutes", "1.5h", -3, True, "١٢", "9" * 5000])
def test_invalid_durations_are_refused(given: str | int) -> None:
    with pytest.raises(ValueError, match=r"duration|negative") as error:
        fields.parse_duration(given)
    assert len(str(error.value)) < 200


@pytest.mark.parametrize("given", ["367d", 366 * 86400 + 1, "8785h", "99999999999999999999", 10**30])
def test_durations_longer_than_a_year_are_refused(given: str | int) -> None:
    # Regression: a huge relay deadline was accepted and overflowed datetime arithmetic later.
    with pytest.raises(ValueError, match=r"longer than a year|not a duration"):
        fields.parse_duration(given)


def test_a_year_is_the_longest_duration() -> None:
    assert fields.parse_duration("8784h") == fields.MAX_DURATION_S


@pytest.mark.parametrize(
    "given",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "1899-12-31T23:59:59+00:00",
        "9001-01-01T00:00Z",
    ],
)
def test_instants_far_from_now_are_refused(given: str) -> None:
    # Regression: 0001-01-01T00:00+01:00 parsed, then overflowed when converted to UTC.
    with pytest.raises(ValueError, match="between the years 1900 and 9000"):
        fields.parse_instant(given)


def test_error_messages_clip_hostile_values() -> None:
    with pytest.raises(ValueError, match="is not a valid id") as error:
        fields.check_identifier("x" * 100_000 + " ")
    assert len(str(error.value)) < 200


@pytest.mark.parametrize(
    "given", ["ftp://example.org/x", "https://", "https://user:pw@example.org/", "https://exa mple.org/", "x"]
)
def test_webhook_urls_must_be_http_with_a_host_and_no_credentials(given: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        fields.check_webhook_url(given)


def test_coordinates_and_time_zones() -> None:
    assert fields.check_latitude(55.866) == 55.866
    with pytest.raises(ValueError, match="latitude"):
        fields.check_latitude(91.0)
    with pytest.raises(ValueError, match="longitude"):
        fields.check_longitude(float("nan"))
    assert fields.check_time_zone("Europe/London") == "Europe/London"
    with pytest.raises(ValueError, match="unknown time zone"):
        fields.check_time_zone("Mars/Olympus")
    with pytest.raises(ValueError, match="unknown time zone"):
        fields.check_time_zone("../../etc/passwd")


_EMAIL_PARTS = st.sampled_from(
    ["a", "Z", "0", ".", "-", "_", "+", "'", "@", "é", " ", '"', "example", "org", "test"]
)


@settings(max_examples=500)
@given(st.emails() | st.lists(_EMAIL_PARTS, max_size=12).map("".join))
def test_the_plain_email_path_agrees_with_email_validator(address: str) -> None:
    def outcome(check: Callable[[str], str]) -> str:
        try:
            return check(address)
        except ValueError:
            return "refused"

    assert outcome(fields.normalise_email) == outcome(fields._validate_email)

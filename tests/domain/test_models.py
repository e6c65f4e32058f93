"""Behaviour that lives on the models themselves: quiet hours, staleness, postcode districts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from cssc_core import Contact, Location, QuietHours


def test_quiet_hours_wrapping_midnight_are_half_open() -> None:
    quiet = QuietHours(time(22, 0), time(7, 0), "Europe/London")
    # 12 June is summer time: 22:00 in London is 21:00 UTC.
    assert not quiet.contains(datetime(2019, 6, 12, 20, 59, tzinfo=UTC))
    assert quiet.contains(datetime(2019, 6, 12, 21, 0, tzinfo=UTC))
    assert quiet.contains(datetime(2019, 6, 13, 5, 59, tzinfo=UTC))
    assert not quiet.contains(datetime(2019, 6, 13, 6, 0, tzinfo=UTC))


def test_quiet_hours_end_after_gives_the_end_of_the_window() -> None:
    quiet = QuietHours(time(22, 0), time(7, 0), "Europe/London")
    late = datetime(2019, 6, 12, 23, 30, tzinfo=UTC)
    assert quiet.end_after(late) == datetime(2019, 6, 13, 6, 0, tzinfo=UTC)
    early = datetime(2019, 6, 13, 1, 0, tzinfo=UTC)
    assert quiet.end_after(early) == datetime(2019, 6, 13, 6, 0, tzinfo=UTC)
    midday = datetime(2019, 6, 13, 12, 0, tzinfo=UTC)
    assert quiet.end_after(midday) == midday


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    quiet = QuietHours(time(7, 0), time(7, 0), "UTC")
    assert not quiet.contains(datetime(2019, 6, 12, 7, 0, tzinfo=UTC))


def test_a_contact_is_stale_without_a_verification_in_twelve_months() -> None:
    today = date(2019, 6, 12)
    assert Contact("c-1", "A").is_stale(today)
    assert Contact("c-1", "A", verified=date(2018, 6, 11)).is_stale(today)
    assert not Contact("c-1", "A", verified=date(2018, 6, 12)).is_stale(today)
    assert not Contact("c-1", "A", verified=date(2019, 2, 28)).is_stale(date(2020, 2, 29))


def test_postcode_district_is_the_outward_code() -> None:
    assert Location(postcode="G3 8AG").postcode_district == "G3"
    assert Location(postcode="EC1A 1BB").postcode_district == "EC1A"
    assert Location().postcode_district is None

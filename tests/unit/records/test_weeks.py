"""ISO weeks and their bounds in a zone: what the weekly summary reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from headwater.records.weeks import IsoWeek, parse_week, previous_week, weeks_in_year, zone


def hours(week: IsoWeek, tz: str) -> float:
    start, end = week.bounds(ZoneInfo(tz))
    return (end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1)


def test_parse_and_format_round_trip() -> None:
    week = parse_week("2026-W48")
    assert (week.year, week.week) == (2026, 48)
    assert str(week) == "2026-W48"
    assert week.monday == date(2026, 11, 23)
    assert week.days()[-1] == date(2026, 11, 29)


@pytest.mark.parametrize(
    "text", ["2026-W1", "2026W48", "2026-w48", "26-W48", "2026-W00", "2026-W54", " 2026-W48", ""]
)
def test_malformed_weeks_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_week(text)


def test_week_53_only_in_years_that_have_one() -> None:
    # 2026 starts on a Thursday: 53 ISO weeks; 2027 and 2025 have 52.
    assert weeks_in_year(2026) == 53 and weeks_in_year(2020) == 53
    assert weeks_in_year(2025) == 52 and weeks_in_year(2027) == 52
    assert parse_week("2026-W53").monday == date(2026, 12, 28)
    assert parse_week("2020-W53").monday == date(2020, 12, 28)
    with pytest.raises(ValueError, match="1 to 52"):
        parse_week("2027-W53")
    with pytest.raises(ValueError, match="1 to 52"):
        parse_week("2025-W53")


def test_week_one_may_start_in_the_previous_year() -> None:
    assert parse_week("2026-W01").monday == date(2025, 12, 29)
    assert parse_week("2027-W01").previous() == parse_week("2026-W53")


def test_bounds_are_local_midnights() -> None:
    start, end = parse_week("2026-W48").bounds(ZoneInfo("Europe/Berlin"))
    assert start.astimezone(UTC) == datetime(2026, 11, 22, 23, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 11, 29, 23, tzinfo=UTC)
    assert hours(parse_week("2026-W48"), "UTC") == 168


@pytest.mark.parametrize(
    ("week", "tz", "expected"),
    [
        # EU summer time starts Sunday 2026-03-29 (W13) and ends Sunday 2026-10-25 (W43).
        ("2026-W13", "Europe/Berlin", 167),
        ("2026-W43", "Europe/Berlin", 169),
        ("2026-W14", "Europe/Berlin", 168),
        # US DST starts Sunday 2026-03-08 (W10) and ends Sunday 2026-11-01 (W44).
        ("2026-W10", "America/New_York", 167),
        ("2026-W44", "America/New_York", 169),
        ("2026-W13", "America/New_York", 168),
    ],
)
def test_dst_weeks_last_167_or_169_hours(week: str, tz: str, expected: int) -> None:
    assert hours(parse_week(week), tz) == expected


def test_previous_week_of_an_instant_depends_on_the_zone() -> None:
    # Monday 2026-11-30 00:30 in Berlin is still Sunday 23:30 UTC: in UTC the current week is
    # W48 (previous W47); in Berlin it is already W49 (previous W48).
    instant = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert str(previous_week(instant, ZoneInfo("Europe/Berlin"))) == "2026-W48"
    assert str(previous_week(instant, ZoneInfo("UTC"))) == "2026-W47"
    # Sunday 2026-11-29 21:00 in New York is Monday 02:00 UTC.
    late = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert str(previous_week(late, ZoneInfo("America/New_York"))) == "2026-W47"
    assert str(previous_week(late, ZoneInfo("UTC"))) == "2026-W48"


def test_previous_week_at_the_first_instant_of_a_week() -> None:
    tz = ZoneInfo("Europe/Berlin")
    start, _ = parse_week("2026-W49").bounds(tz)
    assert str(previous_week(start, tz)) == "2026-W48"
    assert str(previous_week(start - timedelta(microseconds=1), tz)) == "2026-W47"


def test_previous_week_across_a_year_with_53_weeks() -> None:
    instant = datetime(2027, 1, 4, 6, tzinfo=UTC)  # Monday of 2027-W01
    assert str(previous_week(instant, ZoneInfo("UTC"))) == "2026-W53"


def test_naive_instants_and_unknown_zones_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        previous_week(datetime(2026, 11, 30), ZoneInfo("UTC"))
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus")
    assert zone("Europe/Berlin").key == "Europe/Berlin"

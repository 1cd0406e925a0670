"""ISO weeks in a time zone: what the weekly summary covers.

A week is ISO 8601's (Monday first; week 1 holds the year's first Thursday), named
``YYYY-Www``. Its bounds are Monday 00:00 local time to the next Monday 00:00 local time in an
IANA zone, as aware datetimes: a week with a DST change lasts 167 or 169 hours, and its 7 days
are the zone's calendar days, not UTC's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WEEK = re.compile(r"(\d{4})-W(\d{2})\Z")


def weeks_in_year(year: int) -> int:
    """52 or 53: December 28th always falls in the year's last ISO week."""
    return date(year, 12, 28).isocalendar().week


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError (not a KeyError subclass) with the name otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9998:
            raise ValueError(f"year {self.year} out of range")
        last = weeks_in_year(self.year)
        if not 1 <= self.week <= last:
            raise ValueError(f"{self.year} has ISO weeks 1 to {last}, not {self.week}")

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def days(self) -> list[date]:
        """The week's 7 calendar dates, Monday first."""
        return [self.monday + timedelta(days=i) for i in range(7)]

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[Monday 00:00, next Monday 00:00) local time in ``tz``, as aware datetimes.

        Subtract them after ``astimezone(UTC)``: Python subtracts two datetimes sharing one
        tzinfo as wall-clock times, which would hide a DST week's extra or missing hour.
        """
        start = datetime.combine(self.monday, time(0), tzinfo=tz)
        end = datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=tz)
        return start, end

    def previous(self) -> IsoWeek:
        return week_of(self.monday - timedelta(days=7))


def parse_week(text: str) -> IsoWeek:
    """``"2026-W48"`` -> IsoWeek(2026, 48); ValueError for any other shape or a week the year
    does not have (week 53 exists only in years whose December 28th falls in it)."""
    match = _WEEK.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not an ISO week such as 2026-W48")
    return IsoWeek(int(match.group(1)), int(match.group(2)))


def week_of(day: date) -> IsoWeek:
    iso = day.isocalendar()
    return IsoWeek(iso.year, iso.week)


def previous_week(instant: datetime, tz: ZoneInfo) -> IsoWeek:
    """The ISO week before the one ``instant`` falls in, seen in ``tz``: a schedule firing on
    Monday 06:00 in that zone summarises the week that ended six hours earlier."""
    if instant.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return week_of(instant.astimezone(tz).date()).previous()


def utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)

"""headwater.schedule_expressions against AWS's documentation: its examples with their next fire
times worked out by hand from the calendar (2026-12-02 is a Wednesday, 2027-01-01 a Friday),
its DST rule in two zones, and its syntax rules, each broken once.

Doc pages cited below:
  CRON = https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
  TYPES = https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
  DST = https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.schedule_expressions import (
    ScheduleExpressionError,
    minimum_interval,
    next_fire_times,
    parse,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


WEDNESDAY = utc(2026, 12, 2, 1, 0)

# (expression, after, expected next fires): the example table and wildcard texts of CRON.
AWS_EXAMPLES = [
    # "Run at 10:00 am (UTC+0) every day"
    ("cron(0 10 * * ? *)", WEDNESDAY, [utc(2026, 12, 2, 10, 0), utc(2026, 12, 3, 10, 0)]),
    # "Run at 12:15 pm (UTC+0) every day"
    ("cron(15 12 * * ? *)", WEDNESDAY, [utc(2026, 12, 2, 12, 15), utc(2026, 12, 3, 12, 15)]),
    # "Run at 6:00 pm (UTC+0) every Monday through Friday": from Friday evening to Monday.
    (
        "cron(0 18 ? * MON-FRI *)",
        utc(2026, 12, 4, 19, 0),
        [utc(2026, 12, 7, 18, 0), utc(2026, 12, 8, 18, 0)],
    ),
    # "Run at 8:00 am (UTC+0) every 1st day of the month"
    ("cron(0 8 1 * ? *)", WEDNESDAY, [utc(2027, 1, 1, 8, 0), utc(2027, 2, 1, 8, 0)]),
    # "Run every 15 minutes"
    (
        "cron(0/15 * * * ? *)",
        utc(2026, 12, 2, 1, 7),
        [utc(2026, 12, 2, 1, 15), utc(2026, 12, 2, 1, 30), utc(2026, 12, 2, 1, 45)],
    ),
    # "Run every 10 minutes Monday through Friday": Friday's last, then Monday's first.
    (
        "cron(0/10 * ? * MON-FRI *)",
        utc(2026, 12, 4, 23, 45),
        [utc(2026, 12, 4, 23, 50), utc(2026, 12, 7, 0, 0)],
    ),
    # "Run every 5 minutes Monday through Friday between 8:00 am and 5:55 pm (UTC+0)"
    (
        "cron(0/5 8-17 ? * MON-FRI *)",
        utc(2026, 12, 2, 17, 50),
        [utc(2026, 12, 2, 17, 55), utc(2026, 12, 3, 8, 0)],
    ),
    # "Run at 9:00 a.m. (UTC) the first Monday of each month" (2#1: day 2 is Monday, 1 = SUN)
    ("cron(0 9 ? * 2#1 *)", WEDNESDAY, [utc(2026, 12, 7, 9, 0), utc(2027, 1, 4, 9, 0)]),
    # "you could enter 1/10 to specify every tenth minute, starting from the first minute"
    (
        "cron(1/10 * * * ? *)",
        WEDNESDAY,
        [utc(2026, 12, 2, 1, 1), utc(2026, 12, 2, 1, 11), utc(2026, 12, 2, 1, 21)],
    ),
    # "3#2 refers to the second Tuesday of the month": December 1st is a Tuesday.
    ("cron(0 0 ? * 3#2 *)", WEDNESDAY, [utc(2026, 12, 8, 0, 0), utc(2027, 1, 12, 0, 0)]),
    # "3W specifies the weekday closest to the third day of the month": 2027-01-03 is a Sunday.
    ("cron(0 8 3W * ? *)", WEDNESDAY, [utc(2026, 12, 3, 8, 0), utc(2027, 1, 4, 8, 0)]),
    # W never leaves the month: 2027-05-01 is a Saturday (-> Monday 3rd), 2027-01-31 a Sunday
    # (-> Friday 29th).
    ("cron(0 0 1W * ? *)", utc(2027, 4, 15), [utc(2027, 5, 3), utc(2027, 6, 1)]),
    ("cron(0 0 31W * ? *)", WEDNESDAY, [utc(2026, 12, 31), utc(2027, 1, 29), utc(2027, 3, 31)]),
    # "The L wildcard in the Day-of-month or Day-of-week fields specifies the last day of the
    # month or week": February 2028 has 29 days; the week's last day is Saturday (7).
    ("cron(0 0 L * ? *)", utc(2028, 1, 31, 1), [utc(2028, 2, 29), utc(2028, 3, 31)]),
    ("cron(0 0 ? * L *)", WEDNESDAY, [utc(2026, 12, 5), utc(2026, 12, 12)]),
    # 6L: the last Friday of the month.
    ("cron(0 12 ? * 6L *)", WEDNESDAY, [utc(2026, 12, 25, 12), utc(2027, 1, 29, 12)]),
    # Day-of-week "1-7 or SUN-SAT": 1 is Sunday.
    ("cron(0 12 ? * 1 *)", WEDNESDAY, [utc(2026, 12, 6, 12), utc(2026, 12, 13, 12)]),
    # Year 1970-2199: the schedule ends with its last year.
    ("cron(0 0 1 1 ? 2028-2029)", WEDNESDAY, [utc(2028, 1, 1), utc(2029, 1, 1)]),
]


@pytest.mark.parametrize(("expression", "after", "expected"), AWS_EXAMPLES)
def test_aws_documented_examples_fire_when_the_docs_say(expression, after, expected):
    assert next_fire_times(expression, after, count=3)[: len(expected)] == expected
    if expression.endswith("2028-2029)"):
        assert next_fire_times(expression, after, count=3) == expected


def test_a_range_past_the_end_of_the_field_wraps_around():
    # Quartz's rule, which AWS's cron follows (not spelled out in CRON): hours 22-1.
    fires = next_fire_times("cron(0 22-1 * * ? *)", WEDNESDAY, count=4)
    assert fires == [
        utc(2026, 12, 2, 22),
        utc(2026, 12, 2, 23),
        utc(2026, 12, 3, 0),
        utc(2026, 12, 3, 1),
    ]


# DST: "When the time shifts forward in Spring, your schedule invocation gets skipped if the cron
# expression falls on a non-existent date and time. When the time shifts back in the Fall, your
# schedule runs only once and doesn't repeat its invocation." New York springs forward on
# 2027-03-14 02:00 -> 03:00 and falls back on 2027-11-07 02:00 -> 01:00; Berlin springs forward
# on 2027-03-28 02:00 -> 03:00.


def test_a_cron_time_in_the_spring_gap_is_skipped_new_york():
    fires = next_fire_times(
        "cron(30 2 * * ? *)", utc(2027, 3, 13), timezone="America/New_York", count=2
    )
    # 02:30 EST on the 13th, none on the 14th, 02:30 EDT on the 15th.
    assert fires == [utc(2027, 3, 13, 7, 30), utc(2027, 3, 15, 6, 30)]


def test_a_cron_time_in_the_spring_gap_is_skipped_berlin():
    fires = next_fire_times(
        "cron(30 2 * * ? *)", utc(2027, 3, 27), timezone="Europe/Berlin", count=2
    )
    assert fires == [utc(2027, 3, 27, 1, 30), utc(2027, 3, 29, 0, 30)]


def test_a_cron_time_in_the_fall_overlap_fires_once():
    fires = next_fire_times(
        "cron(30 1 * * ? *)", utc(2027, 11, 6), timezone="America/New_York", count=3
    )
    # 01:30 EDT on the 6th, 01:30 once on the 7th (the first, EDT), 01:30 EST on the 8th.
    assert fires == [utc(2027, 11, 6, 5, 30), utc(2027, 11, 7, 5, 30), utc(2027, 11, 8, 6, 30)]
    hourly = next_fire_times(
        "cron(30 * * * ? *)", utc(2027, 11, 7, 4), timezone="America/New_York", count=3
    )
    # 00:30 EDT, 01:30 EDT, then 02:30 EST: the repeated 01:30 EST is not fired again.
    assert hourly == [utc(2027, 11, 7, 4, 30), utc(2027, 11, 7, 5, 30), utc(2027, 11, 7, 7, 30)]


def test_a_daily_rate_is_24_hours_across_dst():
    # DST: "days represents a 24-hour duration on the clock ... evaluates the rate expression
    # 24 hours after the schedule's last invocation": 12:00 EST then 13:00 EDT.
    start = utc(2027, 3, 13, 17)
    fires = next_fire_times(
        "rate(1 day)", start - timedelta(seconds=1), "America/New_York", start=start, count=2
    )
    assert fires == [start, utc(2027, 3, 14, 17)]


def test_cron_is_evaluated_in_the_schedule_time_zone():
    # TYPES: a cron schedule runs "in the time zone you specify when you create the schedule".
    fires = next_fire_times("cron(0 9 * * ? *)", WEDNESDAY, "Asia/Tokyo", count=1)
    # 09:00 JST on the 2nd is 00:00 UTC, before WEDNESDAY (01:00 UTC): the next is the 3rd's.
    assert fires == [utc(2026, 12, 3, 0)]


def test_start_and_end_bound_the_fires():
    start, end = utc(2027, 1, 1), utc(2027, 1, 1, 3)
    # A rate schedule fires at its start, then every interval, "before" the end date.
    assert next_fire_times("rate(1 hour)", WEDNESDAY, start=start, end=end, count=10) == [
        start,
        utc(2027, 1, 1, 1),
        utc(2027, 1, 1, 2),
    ]
    # A rate schedule whose start is past continues its series from the start.
    assert next_fire_times("rate(2 hours)", utc(2027, 1, 1, 3), start=start, count=1) == [
        utc(2027, 1, 1, 4)
    ]
    # A cron schedule fires on or after its start only.
    assert next_fire_times("cron(0 10 * * ? *)", WEDNESDAY, start=utc(2026, 12, 5, 10)) == [
        utc(2026, 12, 5, 10)
    ]
    assert next_fire_times("cron(0 10 * * ? *)", WEDNESDAY, end=utc(2026, 12, 2, 10)) == []


def test_a_one_time_schedule_fires_once_in_its_time_zone():
    # TYPES: at(yyyy-mm-ddThh:mm:ss) "at the time and in the time zone, that you specify".
    fires = next_fire_times("at(2027-06-01T09:00:00)", WEDNESDAY, "Europe/Berlin", count=5)
    assert fires == [utc(2027, 6, 1, 7)]
    assert next_fire_times("at(2027-06-01T09:00:00)", utc(2027, 6, 1, 7), "Europe/Berlin") == []


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("every(5 minutes)", "must be rate(value unit), cron(fields) or at("),
        # rate: "If the value is equal to 1, then the unit must be singular. If the value is
        # greater than 1, the unit must be plural."
        ("rate(1 minutes)", "a value of 1 takes the singular unit: rate(1 minute)"),
        ("rate(5 hour)", "a value greater than 1 takes the plural unit: rate(5 hours)"),
        ("rate(0 minutes)", "value must be a positive integer"),
        ("rate(-5 minutes)", "value a positive integer"),
        ("rate(2 weeks)", "unit must be minute(s), hour(s) or day(s), not 'weeks'"),
        # cron: "Cron expressions have six required fields"
        ("cron(0 10 * * ?)", "expected six fields"),
        # "You can't specify the Day-of-month and Day-of-week fields in the same cron expression"
        ("cron(0 10 * * MON *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 10 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(60 10 * * ? *)", "minutes: 60 is out of range 0-59"),
        ("cron(0 24 * * ? *)", "hours: 24 is out of range 0-23"),
        ("cron(0 0 32 * ? *)", "day-of-month: 32 is out of range 1-31"),
        ("cron(0 0 1 13 ? *)", "month: 13 is out of range 1-12"),
        ("cron(0 0 1 FOO ? *)", "month: 'FOO' is not a valid value"),
        ("cron(0 0 ? * 0 *)", "day-of-week: 0 is out of range 1-7"),
        ("cron(0 0 1 1 ? 1969)", "year: 1969 is out of range 1970-2199"),
        ("cron(0 0 1 1 ? 2030-2029)", "year: range '2030-2029' must go from low to high"),
        ("cron(0/0 * * * ? *)", "minutes: step in '0/0' must be a positive integer"),
        # Day-of-week wildcards are ", - * ? L #": no "/".
        ("cron(0 0 ? * 2/2 *)", "day-of-week: '/' is not allowed in this field"),
        # "If you use the '#' character, you can define only one expression in the day-of-week
        # field. For example, "3#1,6#3" is not valid"
        ("cron(0 0 ? * 3#1,6#3 *)", "with '#' the field holds one expression only"),
        ("cron(0 0 ? * 3#6 *)", "the instance after '#' must be 1-5"),
        ("cron(0 0 L,15 * ? *)", "day-of-month: L and W stand alone"),
        ("cron(0 0 W * ? *)", "day-of-month: W follows a single day 1-31"),
        ("cron(0 0 ? * 1W *)", "day-of-week: '1W' is not a valid value"),
        ("cron(0 0 ? * L,2 *)", "day-of-week: L stands alone or after one day"),
        ("at(2027-02-30T00:00:00)", "at(2027-02-30T00:00:00): not a valid date and time"),
        ("at(2027-01-01 00:00:00)", "expected at(yyyy-mm-ddThh:mm:ss)"),
    ],
)
def test_invalid_expressions_are_rejected_naming_the_rule(expression, message):
    with pytest.raises(ScheduleExpressionError) as error:
        parse(expression)
    assert message in str(error.value)


def test_unknown_time_zones_and_naive_times_are_rejected():
    with pytest.raises(ScheduleExpressionError, match="'Mars/Olympus' is not an IANA time zone"):
        next_fire_times("rate(1 hour)", WEDNESDAY, "Mars/Olympus")
    with pytest.raises(ScheduleExpressionError, match="after must be timezone-aware"):
        next_fire_times("rate(1 hour)", datetime(2026, 12, 2))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(2 days)", timedelta(days=2)),
        ("cron(0/15 * * * ? *)", timedelta(minutes=15)),
        ("cron(7,9 * * * ? *)", timedelta(minutes=2)),
        # 09:00 and 17:00 on weekdays: 8 hours inside a day, 16 from one day to the next.
        ("cron(0 9,17 ? * MON-FRI *)", timedelta(hours=8)),
        # 00:00 and 23:00: the smallest gap is across midnight.
        ("cron(0 0,23 * * ? *)", timedelta(hours=1)),
        ("cron(0 0 1 * ? *)", timedelta(days=28)),  # February
        ("cron(0 0 29 2 ? *)", timedelta(days=4 * 365 + 1)),  # leap years
        ("cron(0 12 ? * 6L *)", timedelta(days=28)),
        ("at(2027-06-01T09:00:00)", None),
        ("cron(0 10 1 1 ? 2030)", None),  # fires once
    ],
)
def test_minimum_interval(expression, expected):
    assert minimum_interval(expression) == expected


# The day fields against a per-day oracle written from the docs' words, over whole years (2028
# is a leap year): every day is checked, not only the examples above.
SUN_FIRST = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def aws_weekday(day: date) -> int:
    return SUN_FIRST.index(day.strftime("%a").upper()) + 1


def month_days(day: date) -> list[date]:
    first = day.replace(day=1)
    return [
        first + timedelta(days=i)
        for i in range(31)
        if (first + timedelta(days=i)).month == day.month
    ]


def oracle(dom: str, dow: str, day: date) -> bool:
    days = month_days(day)
    if dom == "L":
        return day == days[-1]
    if dom.endswith("W"):
        wanted = int(dom[:-1])
        if wanted > len(days):
            return False
        # "the weekday closest to" day `wanted`, within the month
        weekdays = [d for d in days if aws_weekday(d) not in (1, 7)]
        return day == min(weekdays, key=lambda d: abs(d.day - wanted))
    if dom != "?":
        return day.day in {int(x) for x in dom.split(",")}
    if dow.endswith("L"):
        return aws_weekday(day) == int(dow[:-1]) and (day + timedelta(days=7)).month != day.month
    if "#" in dow:
        weekday, nth = (int(x) for x in dow.split("#"))
        same = [d for d in days if aws_weekday(d) == weekday]
        return len(same) >= nth and day == same[nth - 1]
    return aws_weekday(day) in {int(x) for x in dow.split(",")}


day_of_month_specs = st.one_of(
    st.just("L"),
    st.integers(1, 31).map(lambda n: f"{n}W"),
    st.sets(st.integers(1, 31), min_size=1, max_size=4).map(lambda s: ",".join(map(str, s))),
)
day_of_week_specs = st.one_of(
    st.integers(1, 7).map(lambda n: f"{n}L"),
    st.tuples(st.integers(1, 7), st.integers(1, 5)).map(lambda t: f"{t[0]}#{t[1]}"),
    st.sets(st.integers(1, 7), min_size=1, max_size=3).map(lambda s: ",".join(map(str, s))),
)


@settings(max_examples=60, deadline=None)
@given(
    spec=st.one_of(
        day_of_month_specs.map(lambda d: (d, "?")), day_of_week_specs.map(lambda w: ("?", w))
    ),
    year=st.sampled_from([2027, 2028]),
)
def test_day_fields_match_a_per_day_oracle(spec, year):
    dom, dow = spec
    fires = next_fire_times(f"cron(0 0 {dom} * {dow} {year})", utc(year - 1, 12, 31), count=400)
    every_day = [date(year, 1, 1) + timedelta(days=i) for i in range(366)]
    expected = [d for d in every_day if d.year == year and oracle(dom, dow, d)]
    assert [f.date() for f in fires] == expected

"""Schedule expressions in AWS's dialect: ``rate()``, ``cron()`` and ``at()``, parsed, validated and
evaluated to fire times, for the local runner (EventBridge Scheduler schedules and scheduled rules)
and for the collect API, which validates expressions inside a Lambda handler.

Pure core domain: no AWS SDK, no local mode; time zones come from the standard ``zoneinfo``.

The dialect (EventBridge user guide, "Cron expressions reference",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html, and the
Scheduler user guide, "Schedule types",
https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):

* cron has "six required fields": minutes 0-59, hours 0-23, day-of-month 1-31 (``, - * ? / L W``),
  month 1-12 or JAN-DEC, day-of-week "1-7 or SUN-SAT" (``, - * ? L #``, so 1 = SUN), year
  1970-2199;
* "If you specify a value or a * (asterisk) in one of the fields, you must use a ? (question mark)
  in the other" (day-of-month / day-of-week);
* "If you use the '#' character, you can define only one expression in the day-of-week field";
* rate ("Rate expressions reference", .../eventbridge/latest/userguide/eb-rate-expressions.html):
  "If the value is equal to 1, then the unit must be singular. If the value is greater than 1,
  the unit must be plural";
* at: ``at(yyyy-mm-ddThh:mm:ss)`` in the schedule's time zone.

Why not croniter / cronsim (tried, croniter 7.0.0 and cronsim 2.8, on AWS's examples): both
speak Vixie cron (0 = SUN) in five fields, so a six-field AWS expression's year is rejected
(croniter reads a sixth field as seconds); croniter rejects ``5L``; cronsim rejected every
example with ``?`` ("Bad day-of-month"). Both also break AWS's DST rule: in America/New_York,
``30 2 * * *`` fires at 03:00 on the spring-forward day (AWS skips it) and ``30 * * * *`` fires
twice in the fall-back hour (AWS once). Translating fields and then patching those gaps would be
more code than evaluating the six fields directly over per-field value sets, as this module does.

Daylight saving time (AWS knowledge center, "How can I adjust my Amazon EventBridge schedule for
daylight saving?", https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst):
"When the time shifts forward in Spring, your schedule invocation gets skipped if the cron
expression falls on a non-existent date and time. When the time shifts back in the Fall, your
schedule runs only once and doesn't repeat its invocation." and "days represents a 24-hour
duration on the clock ... the EventBridge Scheduler evaluates the rate expression 24 hours after
the schedule's last invocation": rates are absolute durations, independent of the time zone.
Which of the two repeated instants AWS keeps in an overlap is not documented; we keep the first
(``fold=0``), the one that happens first.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_YEAR, MAX_YEAR = 1970, 2199
MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
# AWS numbers the days of the week 1 = SUN .. 7 = SAT.
DAYS = {name: i + 1 for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


class ScheduleExpressionError(ValueError):
    """An expression AWS would reject; the message names the field and the rule it breaks."""


@dataclass(frozen=True)
class Rate:
    interval: timedelta


@dataclass(frozen=True)
class At:
    local: datetime  # naive: wall-clock time in the schedule's time zone


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    # Exactly one of the two day fields is None (AWS's "?").
    days_of_month: DayOfMonth | None
    days_of_week: DayOfWeek | None

    def days_in(self, year: int, month: int) -> list[int]:
        """The days of ``month`` this expression fires on, ascending (months and years aside)."""
        length = calendar.monthrange(year, month)[1]
        if self.days_of_month is not None:
            return self.days_of_month.days_in(year, month, length)
        assert self.days_of_week is not None
        return self.days_of_week.days_in(year, month, length)

    def matching_days(self, first: date) -> Iterator[date]:
        """Every day from ``first`` on (through 2199) that this expression fires on."""
        for year in sorted(y for y in self.years if y >= first.year):
            for month in sorted(self.months):
                if (year, month) < (first.year, first.month):
                    continue
                for day in self.days_in(year, month):
                    if date(year, month, day) >= first:
                        yield date(year, month, day)

    def times(self) -> list[tuple[int, int]]:
        return sorted((h, m) for h in self.hours for m in self.minutes)


@dataclass(frozen=True)
class DayOfMonth:
    days: frozenset[int] = frozenset()
    last: bool = False  # L: the last day of the month
    weekday_nearest: int | None = None  # nW: the weekday nearest day n, within the month

    def days_in(self, year: int, month: int, length: int) -> list[int]:
        if self.last:
            return [length]
        if self.weekday_nearest is not None:
            nearest = nearest_weekday(year, month, self.weekday_nearest)
            return [] if nearest is None else [nearest]
        return sorted(d for d in self.days if d <= length)


@dataclass(frozen=True)
class DayOfWeek:
    days: frozenset[int] = frozenset()  # AWS numbering, 1 = SUN
    last_of_month: int | None = None  # nL: the last day n of the month
    nth: tuple[int, int] | None = None  # d#k: the k-th day d of the month

    def days_in(self, year: int, month: int, length: int) -> list[int]:
        first = date(year, month, 1).isoweekday() % 7 + 1  # MON=1..SUN=7 -> AWS SUN=1..SAT=7

        def weekday(day: int) -> int:
            return (first - 1 + day - 1) % 7 + 1

        if self.last_of_month is not None:
            return [length - (weekday(length) - self.last_of_month) % 7]
        if self.nth is not None:
            wanted, k = self.nth
            day = 1 + (wanted - first) % 7 + 7 * (k - 1)
            return [day] if day <= length else []
        return [d for d in range(1, length + 1) if weekday(d) in self.days]


def nearest_weekday(year: int, month: int, day: int) -> int | None:
    """The day of the month that ``dayW`` means: "the weekday closest to" ``day``, never leaving
    the month (Quartz's rule, which AWS's W follows): a Saturday moves to Friday unless that is
    in the previous month (then Monday), a Sunday to Monday unless that is in the next month
    (then Friday)."""
    length = calendar.monthrange(year, month)[1]
    if day > length:
        return None
    weekday = date(year, month, day).weekday()  # MON=0 .. SUN=6
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < length else day - 2
    return day


Expression = Rate | Cron | At


def parse(expression: str) -> Expression:
    """Parse and validate an AWS schedule expression, or raise ScheduleExpressionError."""
    if not isinstance(expression, str):
        raise ScheduleExpressionError("schedule expression must be a string")
    match = re.fullmatch(r"\s*(rate|cron|at)\((.*)\)\s*", expression)
    if not match:
        raise ScheduleExpressionError(
            f"schedule expression {expression!r} must be rate(value unit), cron(fields) or "
            "at(yyyy-mm-ddThh:mm:ss)"
        )
    kind, body = match.groups()
    if kind == "rate":
        return _parse_rate(body)
    if kind == "at":
        return _parse_at(body)
    return _parse_cron(body)


def _parse_rate(body: str) -> Rate:
    match = re.fullmatch(r"\s*(\d+)\s+([a-z]+)\s*", body)
    if not match:
        raise ScheduleExpressionError(
            f"rate({body}): expected rate(value unit), value a positive integer"
        )
    value, unit = int(match.group(1)), match.group(2)
    singular = unit.removesuffix("s")
    if singular not in UNITS:
        raise ScheduleExpressionError(
            f"rate({body}): unit must be minute(s), hour(s) or day(s), not {unit!r}"
        )
    if value < 1:
        raise ScheduleExpressionError(f"rate({body}): value must be a positive integer")
    if value == 1 and unit != singular:
        raise ScheduleExpressionError(
            f"rate({body}): a value of 1 takes the singular unit: rate(1 {singular})"
        )
    if value > 1 and unit == singular:
        raise ScheduleExpressionError(
            f"rate({body}): a value greater than 1 takes the plural unit: rate({value} {singular}s)"
        )
    return Rate(UNITS[singular] * value)


def _parse_at(body: str) -> At:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", body):
        raise ScheduleExpressionError(f"at({body}): expected at(yyyy-mm-ddThh:mm:ss)")
    try:
        return At(datetime.fromisoformat(body))
    except ValueError as error:
        raise ScheduleExpressionError(f"at({body}): not a valid date and time ({error})") from None


def _parse_cron(body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleExpressionError(
            f"cron({body}): expected six fields (minutes hours day-of-month month day-of-week "
            f"year), got {len(fields)}"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleExpressionError(
            f"cron({body}): exactly one of day-of-month and day-of-week must be '?' "
            "(a value or * in one of them requires ? in the other)"
        )
    return Cron(
        minutes=_values("minutes", minute, 0, 59),
        hours=_values("hours", hour, 0, 23),
        months=_values("month", month, 1, 12, MONTHS),
        years=_values("year", year, MIN_YEAR, MAX_YEAR),
        days_of_month=None if dom == "?" else _day_of_month(dom),
        days_of_week=None if dow == "?" else _day_of_week(dow),
    )


def _number(field: str, text: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleExpressionError(f"{field}: {text!r} is not a valid value")
    value = int(text)
    if not low <= value <= high:
        raise ScheduleExpressionError(f"{field}: {value} is out of range {low}-{high}")
    return value


def _values(
    field: str,
    text: str,
    low: int,
    high: int,
    names: dict[str, int] | None = None,
    steps: bool = True,
) -> frozenset[int]:
    """``,`` lists of ``*``, ``n``, ``a-b`` and (where ``steps``) ``x/step``, x one of those."""
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        if slash and not steps:
            raise ScheduleExpressionError(f"{field}: '/' is not allowed in this field")
        if base == "*":
            start, stop = low, high
        elif "-" in base:
            first, _dash, last = base.partition("-")
            start = _number(field, first, low, high, names)
            stop = _number(field, last, low, high, names)
            if start > stop and field == "year":
                raise ScheduleExpressionError(f"{field}: range {base!r} must go from low to high")
        else:
            start = _number(field, base, low, high, names)
            # "1/10" in minutes means 1, 11, 21, ...: a single start with a step runs to the end.
            stop = high if step_text else start
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleExpressionError(
                    f"{field}: step in {part!r} must be a positive integer"
                )
            step = int(step_text)
        # A range that runs past the field's end wraps around (Quartz's rule: hours 22-2 are
        # 22, 23, 0, 1, 2; FRI-MON is FRI, SAT, SUN, MON); the step counts across the wrap.
        span = (
            range(start, stop + 1)
            if start <= stop
            else [*range(start, high + 1), *range(low, stop + 1)]
        )
        values.update(list(span)[::step])
    return frozenset(values)


def _day_of_month(text: str) -> DayOfMonth:
    if text == "L":
        return DayOfMonth(last=True)
    if text.endswith("W"):
        day = text[:-1]
        if not day.isdigit() or not 1 <= int(day) <= 31:
            raise ScheduleExpressionError(
                f"day-of-month: W follows a single day 1-31 ('15W'), not {text!r}"
            )
        return DayOfMonth(weekday_nearest=int(day))
    if "L" in text or "W" in text:
        raise ScheduleExpressionError(
            f"day-of-month: L and W stand alone ('L', '15W'), not in {text!r}"
        )
    return DayOfMonth(days=_values("day-of-month", text, 1, 31))


def _day_of_week(text: str) -> DayOfWeek:
    if "#" in text:
        day, _, nth = text.partition("#")
        if "," in text or "-" in text:
            raise ScheduleExpressionError(
                f"day-of-week: with '#' the field holds one expression only, not {text!r}"
            )
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise ScheduleExpressionError(
                f"day-of-week: the instance after '#' must be 1-5, not {nth!r}"
            )
        return DayOfWeek(nth=(_number("day-of-week", day, 1, 7, DAYS), int(nth)))
    if text == "L":
        # "the last day of the ... week": Saturday, day 7.
        return DayOfWeek(days=frozenset({7}))
    if text.endswith("L") and "," not in text and "-" not in text:
        return DayOfWeek(last_of_month=_number("day-of-week", text[:-1], 1, 7, DAYS))
    if "L" in text.upper():  # no day name contains an L
        raise ScheduleExpressionError(
            f"day-of-week: L stands alone or after one day ('L', '6L'), not in {text!r}"
        )
    return DayOfWeek(days=_values("day-of-week", text, 1, 7, DAYS, steps=False))


def zone(timezone: str) -> ZoneInfo:
    """The IANA time zone ``timezone`` (ScheduleExpressionTimezone), or a clear error."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleExpressionError(
            f"time zone {timezone!r} is not an IANA time zone name (e.g. 'Europe/Berlin')"
        ) from None


def _resolve(local: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of the wall-clock time ``local`` in ``tz``; None in a DST gap (AWS skips
    it); in an overlap the first of the two instants (AWS "runs only once")."""
    aware = local.replace(tzinfo=tz, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local:
        return None  # the wall-clock time does not exist that day
    return instant


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ScheduleExpressionError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def next_fire_times(
    expression: str | Expression,
    after: datetime,
    timezone: str = "UTC",
    start: datetime | None = None,
    end: datetime | None = None,
    count: int = 1,
) -> list[datetime]:
    """The next ``count`` fire times (aware, UTC) strictly after ``after``, at or after ``start``
    and before ``end``, fewer if the schedule ends. AWS's CreateSchedule reference: StartDate is
    "The date, in UTC, after which the schedule can begin invoking its target. Depending on the
    schedule's recurrence expression, invocations might occur on, or after, the StartDate you
    specify."; EndDate is "The date, in UTC, before which the schedule can invoke its target".

    A rate schedule fires at ``start`` and every interval after it; without ``start`` it is
    anchored at ``after`` (the caller passes the creation time: AWS "starts invoking
    immediately", which is the caller's first fire, not a future one).
    """
    parsed = parse(expression) if isinstance(expression, str) else expression
    tz = zone(timezone)
    after = _utc(after, "after")
    start = _utc(start, "start") if start is not None else None
    end = _utc(end, "end") if end is not None else None
    found: list[datetime] = []
    for moment in _fires(parsed, after, tz, start):
        if end is not None and moment >= end:
            break
        if moment > after and (start is None or moment >= start):
            found.append(moment)
            if len(found) >= count:
                break
    return found


def _fires(
    parsed: Expression, after: datetime, tz: ZoneInfo, start: datetime | None
) -> Iterator[datetime]:
    if isinstance(parsed, At):
        instant = _resolve(parsed.local, tz)
        if instant is not None:
            yield instant
        return
    if isinstance(parsed, Rate):
        anchor = start if start is not None else after
        if anchor <= after:
            # Jump straight to the first fire after `after`; rates are absolute durations.
            skipped = (after - anchor) // parsed.interval
            anchor += parsed.interval * skipped
        while True:
            yield anchor
            anchor += parsed.interval
    # A fire exactly at `start` counts ("on, or after, the StartDate"): search from just before it.
    lower = after if start is None or start <= after else start - timedelta(microseconds=1)
    yield from _cron_fires(parsed, lower, tz)


def _cron_fires(cron: Cron, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    # Start a day early in local time: the first candidate day's wall clock may lie before `after`.
    times = cron.times()
    for day in cron.matching_days(after.astimezone(tz).date() - timedelta(days=1)):
        for hour, minute in times:
            instant = _resolve(datetime(day.year, day.month, day.day, hour, minute), tz)
            if instant is not None and instant > after:
                yield instant


def minimum_interval(expression: str | Expression) -> timedelta | None:
    """The smallest gap between two consecutive fires, on the wall clock (DST shifts aside);
    None for a one-time ``at()`` schedule, and for a cron schedule that fires at most once."""
    parsed = parse(expression) if isinstance(expression, str) else expression
    if isinstance(parsed, At):
        return None
    if isinstance(parsed, Rate):
        return parsed.interval
    minutes = [h * 60 + m for h, m in parsed.times()]
    smallest = min((b - a for a, b in itertools.pairwise(minutes)), default=None)
    # Across days: from the last fire of a matching day to the first of the next matching day,
    # over every matching day in 1970-2199, stopping early at two consecutive days (no cross-day
    # gap can be smaller).
    previous: date | None = None
    for day in parsed.matching_days(date(MIN_YEAR, 1, 1)):
        if previous is not None:
            gap = (day - previous).days * 1440 - minutes[-1] + minutes[0]
            smallest = gap if smallest is None else min(smallest, gap)
            if (day - previous).days == 1:
                break
        previous = day
    return None if smallest is None else timedelta(minutes=smallest)

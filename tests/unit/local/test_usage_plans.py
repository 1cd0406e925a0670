"""Token bucket, calendar quota windows and the per-key meter, on fake clocks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.local.apigateway.usage_plans import (
    Decision,
    PlanLimits,
    Quota,
    QuotaSettings,
    Throttle,
    TokenBucket,
    UsageMeter,
    period_bounds,
)


class FakeClock:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ts(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def test_bucket_allows_the_burst_then_throttles():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=2, now=clock)
    assert [bucket.try_take() for _ in range(5)] == [True, True, False, False, False]


def test_bucket_refills_at_the_rate_up_to_capacity():
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=3, now=clock)
    assert all(bucket.try_take() for _ in range(3))
    assert not bucket.try_take()
    clock.advance(0.5)  # one token at 2/s
    assert bucket.try_take()
    assert not bucket.try_take()
    clock.advance(100)  # long idle: capped at the burst, not 200 tokens
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]


def test_bucket_partial_tokens_do_not_admit():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=1, now=clock)
    assert bucket.try_take()
    clock.advance(0.9)
    assert not bucket.try_take()
    clock.advance(0.1)
    assert bucket.try_take()


def test_day_window_is_the_utc_calendar_day():
    start, end = period_bounds("DAY", datetime(2024, 3, 5, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2024, 3, 5, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC))


def test_week_window_starts_on_sunday_and_honours_offset():
    wednesday = datetime(2024, 3, 6, 12, tzinfo=UTC)
    assert period_bounds("WEEK", wednesday)[0] == datetime(2024, 3, 3, tzinfo=UTC)  # Sunday
    assert period_bounds("WEEK", wednesday, offset=1)[0] == datetime(2024, 3, 4, tzinfo=UTC)
    sunday = datetime(2024, 3, 3, 0, 0, tzinfo=UTC)
    assert period_bounds("WEEK", sunday) == (sunday, datetime(2024, 3, 10, tzinfo=UTC))


def test_month_window_handles_year_end_and_short_months():
    assert period_bounds("MONTH", datetime(2024, 12, 31, 23, tzinfo=UTC)) == (
        datetime(2024, 12, 1, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert period_bounds("MONTH", datetime(2024, 2, 29, tzinfo=UTC))[1] == datetime(
        2024, 3, 1, tzinfo=UTC
    )


def test_unknown_period_is_refused():
    with pytest.raises(ValueError, match="HOUR"):
        period_bounds("HOUR", datetime(2024, 1, 1, tzinfo=UTC))


def test_quota_counts_within_the_day_and_resets_at_midnight_utc():
    clock = FakeClock(ts(2024, 3, 5, 23, 58))
    quota = Quota(limit=3, period="DAY", now=clock)
    assert [quota.try_consume() for _ in range(4)] == [True, True, True, False]
    assert quota.remaining() == 0
    clock.now = ts(2024, 3, 5, 23, 59, 59)
    assert not quota.try_consume()
    clock.now = ts(2024, 3, 6, 0, 0, 0)
    assert quota.remaining() == 3
    assert quota.try_consume()


def test_quota_month_resets_on_the_first():
    clock = FakeClock(ts(2024, 1, 31, 12))
    quota = Quota(limit=1, period="MONTH", now=clock)
    assert quota.try_consume() and not quota.try_consume()
    clock.now = ts(2024, 2, 1, 0, 0, 1)
    assert quota.try_consume()


def test_meter_checks_quota_before_throttle_and_refusals_cost_nothing():
    mono, wall = FakeClock(), FakeClock(ts(2024, 3, 5, 10))
    meter = UsageMeter(monotonic=mono, wall=wall)
    limits = PlanLimits("plan", Throttle(rate_limit=1, burst_limit=2), QuotaSettings(3, "DAY"))
    first = [meter.check(limits, "key") for _ in range(3)]
    assert first == [Decision.ALLOWED, Decision.ALLOWED, Decision.THROTTLED]
    assert meter.remaining_quota(limits, "key") == 1  # the throttled request used no quota
    mono.advance(1)
    assert meter.check(limits, "key") is Decision.ALLOWED
    mono.advance(10)
    assert meter.check(limits, "key") is Decision.QUOTA_EXCEEDED
    wall.now = ts(2024, 3, 6, 0, 0, 1)
    assert meter.check(limits, "key") is Decision.ALLOWED


def test_meter_keeps_keys_apart_and_resets_when_the_plan_changes():
    mono = FakeClock()
    meter = UsageMeter(monotonic=mono, wall=FakeClock(ts(2024, 3, 5)))
    limits = PlanLimits("plan", Throttle(1, 1), None)
    assert meter.check(limits, "a") is Decision.ALLOWED
    assert meter.check(limits, "a") is Decision.THROTTLED
    assert meter.check(limits, "b") is Decision.ALLOWED  # its own bucket
    raised = PlanLimits("plan", Throttle(1, 5), None)
    assert [meter.check(raised, "a") for _ in range(6)].count(Decision.ALLOWED) == 5


def test_plan_limits_from_api_shape():
    limits = PlanLimits.from_api(
        {
            "id": "p1",
            "throttle": {"burstLimit": 2, "rateLimit": 1.5},
            "quota": {"limit": 3, "offset": 0, "period": "DAY"},
        }
    )
    assert limits == PlanLimits("p1", Throttle(1.5, 2), QuotaSettings(3, "DAY", 0))
    assert PlanLimits.from_api({"id": "p2"}) == PlanLimits("p2", None, None)

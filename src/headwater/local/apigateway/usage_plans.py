"""Usage-plan enforcement for the local API front: per-key throttle and quota, as API Gateway does.

Plain code with injectable clocks so it is unit-tested without sleeping:

- ``TokenBucket``: ``rate`` tokens per second refill a bucket of ``burst`` capacity; a request
  takes one token or is throttled (429 "Too Many Requests").
- ``Quota``: at most ``limit`` requests per calendar period (DAY, WEEK, MONTH) in UTC; the
  counter starts afresh when a new period begins (429 "Limit Exceeded").
- ``UsageMeter``: one bucket and one quota per (usage plan, API key), kept while the plan's
  settings stay the same, replaced when Terraform changes them. ``quota_counts`` and
  ``restore_quota_counts`` carry the quota counts over a restart of the local mode
  (``usage_store.py``); throttle buckets start full again, as they refill within seconds anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

Clock = Callable[[], float]

PERIODS = ("DAY", "WEEK", "MONTH")


class TokenBucket:
    """``burst`` tokens at most, refilled continuously at ``rate`` tokens per second."""

    def __init__(self, rate: float, burst: int, now: Clock = time.monotonic) -> None:
        if rate < 0 or burst < 0:
            raise ValueError("rate and burst must not be negative")
        self.rate = float(rate)
        # API Gateway admits at least one request per refill even with burst 0; a bucket that
        # can never hold a token would refuse everything, which no plan means.
        self.capacity = float(max(burst, 1))
        self._now = now
        self._tokens = self.capacity  # a new key may spend its burst at once
        self._updated = now()
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            now = self._now()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def period_bounds(period: str, instant: datetime, offset: int = 0) -> tuple[datetime, datetime]:
    """The calendar period (UTC) containing ``instant``: [start, end).

    DAY starts at midnight; WEEK starts on Sunday plus ``offset`` days (API Gateway's offset for
    WEEK: 0 = Sunday, 1 = Monday, ...); MONTH starts on the first plus ``offset`` days.
    """
    period = period.upper()
    instant = instant.astimezone(UTC)
    midnight = instant.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "DAY":
        return midnight, midnight + timedelta(days=1)
    if period == "WEEK":
        days_since_sunday = (midnight.weekday() + 1) % 7  # weekday(): Monday 0 .. Sunday 6
        start = midnight - timedelta(days=(days_since_sunday - offset) % 7)
        return start, start + timedelta(days=7)
    if period == "MONTH":
        start = midnight.replace(day=1) + timedelta(days=offset)
        if start > instant:  # before this month's offset day: the period began last month
            start = _add_months(midnight.replace(day=1), -1) + timedelta(days=offset)
        return start, _add_months(start, 1)
    raise ValueError(f"unknown quota period {period!r}; expected one of {', '.join(PERIODS)}")


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    return moment.replace(year=year, month=month + 1)


class Quota:
    """At most ``limit`` requests per calendar period; ``now`` returns epoch seconds."""

    def __init__(self, limit: int, period: str, offset: int = 0, now: Clock = time.time) -> None:
        if limit < 0:
            raise ValueError("quota limit must not be negative")
        period_bounds(period, datetime.now(UTC), offset)  # validates the period early
        self.limit = int(limit)
        self.period = period.upper()
        self.offset = int(offset)
        self._now = now
        self._used = 0
        self._period_end: datetime | None = None
        self._lock = threading.Lock()

    def _roll(self) -> None:
        instant = datetime.fromtimestamp(self._now(), UTC)
        if self._period_end is None or instant >= self._period_end:
            _, self._period_end = period_bounds(self.period, instant, self.offset)
            self._used = 0

    def carry_over(self, previous: Quota) -> None:
        """Take over ``previous``'s count when it counts the same period (same bounds)."""
        with previous._lock:
            previous._roll()
            used, end = previous._used, previous._period_end
        with self._lock:
            self._roll()
            if end == self._period_end:
                self._used = used

    def count(self) -> tuple[int, datetime]:
        """Requests counted in the current period, and when that period ends."""
        with self._lock:
            self._roll()
            assert self._period_end is not None
            return self._used, self._period_end

    def restore(self, used: int, period_end: datetime) -> None:
        """Take over a count saved earlier if it was for the current period."""
        with self._lock:
            self._roll()
            if period_end == self._period_end:
                self._used = max(self._used, int(used))

    def remaining(self) -> int:
        with self._lock:
            self._roll()
            return max(0, self.limit - self._used)

    def try_consume(self) -> bool:
        with self._lock:
            self._roll()
            if self._used >= self.limit:
                return False
            self._used += 1
            return True


@dataclass(frozen=True)
class Throttle:
    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class QuotaSettings:
    limit: int
    period: str
    offset: int = 0


@dataclass(frozen=True)
class PlanLimits:
    """A usage plan's limits as read from API Gateway (either may be absent)."""

    plan_id: str
    throttle: Throttle | None = None
    quota: QuotaSettings | None = None

    @classmethod
    def from_api(cls, plan: dict) -> PlanLimits:
        throttle = plan.get("throttle") or {}
        quota = plan.get("quota") or {}
        return cls(
            plan_id=plan["id"],
            throttle=Throttle(float(throttle.get("rateLimit", 0.0)), int(throttle["burstLimit"]))
            if "burstLimit" in throttle or "rateLimit" in throttle
            else None,
            quota=QuotaSettings(
                int(quota["limit"]), quota.get("period", "DAY"), quota.get("offset", 0)
            )
            if "limit" in quota
            else None,
        )


class Decision(Enum):
    ALLOWED = "allowed"
    THROTTLED = "throttled"  # 429 Too Many Requests
    QUOTA_EXCEEDED = "quota"  # 429 Limit Exceeded


class UsageMeter:
    """Throttle and quota state per (plan, key); thread-safe."""

    def __init__(self, monotonic: Clock = time.monotonic, wall: Clock = time.time) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self._state: dict[tuple[str, str], tuple[PlanLimits, TokenBucket | None, Quota | None]] = {}
        self._saved: dict[tuple[str, str], tuple[int, datetime]] = {}

    def _entry(self, limits: PlanLimits, key_id: str):
        with self._lock:
            slot = (limits.plan_id, key_id)
            entry = self._state.get(slot)
            if entry is None or entry[0] != limits:  # new key, or the plan was changed
                bucket = (
                    TokenBucket(
                        limits.throttle.rate_limit, limits.throttle.burst_limit, self._monotonic
                    )
                    if limits.throttle
                    else None
                )
                quota = (
                    Quota(limits.quota.limit, limits.quota.period, limits.quota.offset, self._wall)
                    if limits.quota
                    else None
                )
                if entry is not None and entry[2] is not None and quota is not None:
                    # AWS keeps the requests already counted in this period when a plan's
                    # quota changes: raising 2 to 4 after 2 requests leaves 2, not 4.
                    quota.carry_over(entry[2])
                elif quota is not None and slot in self._saved:
                    quota.restore(*self._saved.pop(slot))  # counted before a restart
                entry = (limits, bucket, quota)
                self._state[slot] = entry
            return entry

    def check(self, limits: PlanLimits, key_id: str) -> Decision:
        """Admit one request or say why not. A refused request uses neither token nor quota."""
        _, bucket, quota = self._entry(limits, key_id)
        if quota is not None and quota.remaining() <= 0:
            return Decision.QUOTA_EXCEEDED
        if bucket is not None and not bucket.try_take():
            return Decision.THROTTLED
        if quota is not None and not quota.try_consume():  # lost a race for the last request
            return Decision.QUOTA_EXCEEDED
        return Decision.ALLOWED

    def quota_counts(self) -> dict[tuple[str, str], tuple[int, datetime]]:
        """(plan id, key id) -> (requests counted this period, end of the period)."""
        with self._lock:
            quotas = {slot: entry[2] for slot, entry in self._state.items() if entry[2]}
            saved = dict(self._saved)
        return {**saved, **{slot: quota.count() for slot, quota in quotas.items()}}

    def restore_quota_counts(self, counts: dict[tuple[str, str], tuple[int, datetime]]) -> None:
        """Counts from ``quota_counts`` of an earlier run, applied when each key is next seen."""
        with self._lock:
            self._saved.update(counts)

    def remaining_quota(self, limits: PlanLimits, key_id: str) -> int | None:
        _, _, quota = self._entry(limits, key_id)
        return quota.remaining() if quota else None

"""Quota counts carried over a restart of the local mode (usage_store.py, UsageMeter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from headwater.local.apigateway import usage_store
from headwater.local.apigateway.usage_plans import Decision, PlanLimits, QuotaSettings, UsageMeter

pytestmark = pytest.mark.unit

LIMITS = PlanLimits("plan", None, QuotaSettings(3, "DAY"))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ts(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def test_counts_saved_by_one_meter_are_taken_over_by_the_next(tmp_path):
    wall = Clock(ts(2024, 3, 5, 10))
    before = UsageMeter(wall=wall)
    assert [before.check(LIMITS, "key") for _ in range(2)] == [Decision.ALLOWED] * 2
    before.check(LIMITS, "other")
    path = tmp_path / "usage.json"
    saved = usage_store.save(before, path)
    assert {(q["key"], q["used"]) for q in saved["quotas"]} == {("key", 2), ("other", 1)}

    after = UsageMeter(wall=wall)  # the restarted front
    assert usage_store.load(after, path) == 2
    assert after.check(LIMITS, "key") is Decision.ALLOWED
    assert after.check(LIMITS, "key") is Decision.QUOTA_EXCEEDED  # 3 in the day, not 3 more
    assert after.remaining_quota(LIMITS, "other") == 2
    # Counts of keys not seen since the restart are still saved again.
    assert ("other", 1) in {(q["key"], q["used"]) for q in usage_store.save(after, path)["quotas"]}


def test_a_count_from_an_earlier_period_is_not_taken_over(tmp_path):
    wall = Clock(ts(2024, 3, 5, 23))
    before = UsageMeter(wall=wall)
    for _ in range(3):
        before.check(LIMITS, "key")
    path = tmp_path / "usage.json"
    usage_store.save(before, path)
    wall.now = ts(2024, 3, 6, 1)  # the next day
    after = UsageMeter(wall=wall)
    usage_store.load(after, path)
    assert after.remaining_quota(LIMITS, "key") == 3


def test_an_unreadable_file_starts_afresh(tmp_path):
    path = tmp_path / "usage.json"
    path.write_text(json.dumps({"quotas": [{"plan": "plan"}]}))
    meter = UsageMeter()
    assert usage_store.load(meter, path) == 0
    assert usage_store.load(meter, tmp_path / "missing.json") == 0
    assert meter.remaining_quota(LIMITS, "key") == 3


def test_the_store_saves_changes_and_at_stop(tmp_path):
    path = tmp_path / "usage.json"
    meter = UsageMeter()
    store = usage_store.UsageStore(meter, path, interval=3600)  # only the stop saves here
    store.start()
    meter.check(LIMITS, "key")
    assert not path.exists()
    store.stop()
    assert json.loads(path.read_text())["quotas"][0]["used"] == 1

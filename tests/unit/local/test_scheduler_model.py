"""When the local Scheduler fires a schedule: first fire on discovery, next fires, payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.local.scheduler.model import (
    DEFAULT_EVENT,
    DISCOVERY_GRACE,
    RetryPolicy,
    Schedule,
    backoff,
)

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"
T0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)


def schedule(expression: str, **conf: Any) -> Schedule:
    target = {"Arn": conf.pop("TargetArn", FUNCTION), "RoleArn": "arn:aws:iam::1:role/r"}
    if "Input" in conf:
        target["Input"] = conf.pop("Input")
    return Schedule.from_api(
        {
            "Name": "s",
            "GroupName": "g",
            "ScheduleExpression": expression,
            "State": "ENABLED",
            "CreationDate": T0,
            "LastModificationDate": T0,
            "Target": target,
            **conf,
        }
    )


def test_a_new_rate_schedule_fires_at_creation_then_every_interval() -> None:
    s = schedule("rate(1 minute)")
    first = s.first_fire(T0 + timedelta(seconds=2))
    assert first == T0
    assert s.next_fire(first, T0 + timedelta(seconds=2)) == T0 + timedelta(minutes=1)


def test_missed_fires_are_skipped_not_replayed() -> None:
    s = schedule("rate(5 minutes)")
    late = T0 + timedelta(minutes=17)
    # Fired at T0; the clock jumped 17 minutes: the next fire keeps the phase, after now.
    assert s.next_fire(T0, late) == T0 + timedelta(minutes=20)


def test_a_schedule_found_long_after_its_creation_does_not_fire_for_the_past() -> None:
    s = schedule("rate(1 hour)")
    now = T0 + DISCOVERY_GRACE + timedelta(minutes=30)
    first = s.first_fire(now)
    assert first is not None and first > now
    assert first == T0 + timedelta(hours=1)


def test_cron_in_the_schedule_time_zone_with_start_and_end() -> None:
    s = schedule(
        "cron(0 9 * * ? *)",
        ScheduleExpressionTimezone="Europe/Berlin",
        StartDate=datetime(2026, 3, 3, tzinfo=UTC),
        EndDate=datetime(2026, 3, 4, 12, tzinfo=UTC),
    )
    first = s.first_fire(T0)
    assert first == datetime(2026, 3, 3, 8, tzinfo=UTC)  # 09:00 CET
    second = s.next_fire(first, first)
    assert second == datetime(2026, 3, 4, 8, tzinfo=UTC)
    assert s.next_fire(second, second) is None  # the end date stops it


def test_a_one_time_schedule_fires_once_in_its_zone_and_ignores_start_date() -> None:
    s = schedule(
        "at(2026-03-01T14:00:00)",
        ScheduleExpressionTimezone="America/New_York",
        StartDate=datetime(2027, 1, 1, tzinfo=UTC),
        ActionAfterCompletion="DELETE",
    )
    first = s.first_fire(T0)
    assert first == datetime(2026, 3, 1, 19, tzinfo=UTC)
    assert s.next_fire(first, first) is None
    assert s.one_time and s.delete_after_completion


def test_disabled_and_non_lambda_schedules() -> None:
    assert schedule("rate(1 minute)", State="DISABLED").first_fire(T0) is None
    assert not schedule("rate(1 minute)", TargetArn="arn:aws:sqs:us-east-1:1:q").lambda_target
    assert schedule("rate(1 minute)").lambda_target


@pytest.mark.parametrize(
    ("conf", "event"),
    [({"Input": '{"a": 1}'}, {"a": 1}), ({"Input": "[1, 2]"}, [1, 2]), ({}, DEFAULT_EVENT)],
)
def test_the_event_is_the_target_input(conf: dict, event: Any) -> None:
    assert schedule("rate(1 minute)", **conf).event() == event


# --- context attributes, retry policy, dead-letter configuration ------------------------------


def test_context_attributes_are_replaced_in_the_input() -> None:
    s = schedule(
        "rate(1 minute)",
        Arn="arn:aws:scheduler:us-east-1:123456789012:schedule/g/s",
        Input='{"at": "<aws.scheduler.scheduled-time>", "arn": "<aws.scheduler.schedule-arn>",'
        ' "id": "<aws.scheduler.execution-id>", "n": <aws.scheduler.attempt-number>}',
    )
    fired = datetime(2026, 3, 22, 18, 59, 43, 120000, tzinfo=UTC)
    assert s.event(fired, "d32c5kddcf5bb8c3", 3) == {
        "at": "2026-03-22T18:59:43Z",
        "arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/g/s",
        "id": "d32c5kddcf5bb8c3",
        "n": 3,
    }


def test_an_input_that_is_not_json_after_substitution_raises() -> None:
    with pytest.raises(ValueError):
        schedule("rate(1 minute)", Input="hello <aws.scheduler.attempt-number>").event(T0, "x", 1)


def test_retry_policy_and_dead_letter_come_from_the_target() -> None:
    s = Schedule.from_api(
        {
            "Name": "s",
            "ScheduleExpression": "rate(1 minute)",
            "CreationDate": T0,
            "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            "Target": {
                "Arn": FUNCTION,
                "RoleArn": "arn:aws:iam::1:role/r",
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 120},
                "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:1:dlq"},
            },
        }
    )
    assert s.retry_policy == RetryPolicy(2, timedelta(seconds=120))
    assert s.dead_letter_arn == "arn:aws:sqs:us-east-1:1:dlq"
    assert s.role_arn == "arn:aws:iam::1:role/r"
    assert s.flexible_window == timedelta(minutes=15)
    # Without them: AWS's maxima, no DLQ, Mode OFF.
    plain = schedule("rate(1 minute)")
    assert plain.retry_policy == RetryPolicy(185, timedelta(days=1))
    assert plain.dead_letter_arn is None and plain.flexible_window is None


@pytest.mark.parametrize(
    ("retries_done", "age", "condition"),
    [
        (0, timedelta(seconds=10), None),
        (1, timedelta(seconds=119), None),
        (2, timedelta(seconds=10), "MaximumRetryAttempts"),
        (1, timedelta(seconds=120), "MaximumEventAgeInSeconds"),
    ],
)
def test_retry_policy_says_which_limit_ran_out(
    retries_done: int, age: timedelta, condition: str | None
) -> None:
    policy = RetryPolicy(2, timedelta(seconds=120))
    assert policy.exhausted(retries_done, T0, T0 + age) == condition


def test_zero_retries_means_the_first_failure_is_final() -> None:
    assert RetryPolicy(0).exhausted(0, T0, T0) == "MaximumRetryAttempts"


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 1.0, 10.0) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]

"""EventBridge rules with a schedule expression: fire times in UTC and AWS's scheduled event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.local.scheduler.rules import ScheduledRule
from headwater.schedule_expressions import ScheduleExpressionError

ARN = "arn:aws:events:eu-west-1:123456789012:rule/nightly"
FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:f"
T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # Europe's spring-forward night: rules ignore it


def rule(expression: str, state: str = "ENABLED", **target: str) -> ScheduledRule:
    return ScheduledRule.from_api(
        {"Name": "nightly", "Arn": ARN, "ScheduleExpression": expression, "State": state},
        [{"Id": "t", "Arn": FUNCTION, **target}],
    )


def test_the_scheduled_event_has_aws_shape() -> None:
    fired = datetime(2015, 10, 8, 16, 53, 6, 250000, tzinfo=UTC)
    event = rule("cron(0 2 * * ? *)").event(fired, "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa")
    assert event == {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2015-10-08T16:53:06Z",
        "region": "eu-west-1",
        "resources": [ARN],
        "detail": {},
    }


def test_cron_rules_fire_in_utc() -> None:
    assert rule("cron(30 2 * * ? *)").upcoming(T0, T0) == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)


def test_rate_rules_count_intervals_from_when_they_were_seen() -> None:
    r = rule("rate(5 minutes)")
    assert r.upcoming(T0, T0) == T0 + timedelta(minutes=5)
    assert r.upcoming(T0 + timedelta(minutes=12), T0) == T0 + timedelta(minutes=15)


def test_disabled_rules_never_fire_and_at_is_refused() -> None:
    assert rule("rate(1 minute)", state="DISABLED").upcoming(T0, T0) is None
    with pytest.raises(ScheduleExpressionError):
        rule("at(2026-04-01T00:00:00)").upcoming(T0, T0)


@pytest.mark.parametrize(
    ("target", "payload"),
    [
        ({}, None),  # the whole event
        ({"Input": '{"job": "compact"}'}, {"job": "compact"}),
        ({"InputPath": "$.resources"}, [ARN]),
        (
            {
                "InputTransformer": {
                    "InputPathsMap": {"when": "$.time"},
                    "InputTemplate": '{"at": "<when>"}',
                }
            },
            {"at": "2026-03-29T00:30:00Z"},
        ),
    ],
)
def test_a_target_receives_its_input_or_the_event(target: dict, payload: object) -> None:
    r = rule("rate(1 hour)", **target)
    event = r.event(T0, "id")
    assert r.payload(r.targets[0], event) == (event if payload is None else payload)

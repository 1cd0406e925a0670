"""The local Scheduler against a real moto server and runner: schedules fire their Lambda target.

Time is a fake clock handed to the runner's scheduler: a test advances it instead of sleeping for
minutes. The handler (``flaky`` with ``succeed_on`` 1) records every event it receives.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from headwater import cli
from tests.integration.local import test_runner as runner_tests

# The runner tests' moto server, clean emulator per test, clients, functions and runners.
moto_endpoint = runner_tests.moto_endpoint
endpoint = runner_tests.endpoint
aws = runner_tests.aws
make_runner = runner_tests.make_runner
create_function = runner_tests.create_function
recorded, wait_for = runner_tests.recorded, runner_tests.wait_for

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/scheduler"


class FakeClock:
    def __init__(self) -> None:
        self._now = datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


def test_rate_schedule_fires_at_creation_then_when_the_clock_advances(
    aws, create_function, make_runner, tmp_path
):
    arn = create_function("flaky", "flaky", env={"RECORD_DIR": str(tmp_path)})
    clock = FakeClock()
    runner = make_runner(schedules=True, clock=clock)
    scheduler = aws("scheduler")
    scheduler.create_schedule(
        Name="every-minute",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"succeed_on": 1, "tag": "tick"}'},
    )
    created = scheduler.get_schedule(Name="every-minute")["CreationDate"]
    # A rate schedule without StartDate starts at its creation, which the frozen clock has not
    # reached yet: planned, not fired.
    planned = wait_for(
        lambda: runner.scheduler.planned().get(("default", "every-minute")), 15, "the plan"
    )
    assert planned.due == created
    assert recorded(tmp_path, "call") == []
    # To just past the creation (on a loaded machine creating the function and runner can take
    # longer than any fixed step).
    clock.advance(created - clock() + timedelta(seconds=1))
    wait_for(lambda: recorded(tmp_path, "call"), 15, "the fire at creation")
    assert recorded(tmp_path, "call")[0]["event"] == {"succeed_on": 1, "tag": "tick"}
    planned = runner.scheduler.planned()[("default", "every-minute")]
    assert planned.due is not None and planned.due > clock()
    time.sleep(2.5)  # several ticks: nothing is due until the clock reaches the next minute
    assert len(recorded(tmp_path, "call")) == 1
    clock.advance(timedelta(seconds=61))
    wait_for(lambda: len(recorded(tmp_path, "call")) == 2, 15, "the second fire")


def test_one_time_schedule_fires_once_in_its_zone_and_is_deleted(
    aws, create_function, make_runner, tmp_path
):
    arn = create_function("flaky", "flaky", env={"RECORD_DIR": str(tmp_path)})
    clock = FakeClock()
    runner = make_runner(schedules=True, clock=clock)
    scheduler = aws("scheduler")
    scheduler.create_schedule_group(Name="jobs")
    at = (clock() + timedelta(minutes=10)).astimezone(ZoneInfo("Asia/Tokyo"))
    scheduler.create_schedule(
        Name="once",
        GroupName="jobs",
        ScheduleExpression=f"at({at:%Y-%m-%dT%H:%M:%S})",
        ScheduleExpressionTimezone="Asia/Tokyo",
        ActionAfterCompletion="DELETE",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"succeed_on": 1, "tag": "once"}'},
    )
    planned = wait_for(
        lambda: runner.scheduler.planned().get(("jobs", "once")), 15, "the schedule planned"
    )
    assert planned.due == at.replace(microsecond=0).astimezone(UTC)
    time.sleep(1.5)
    assert recorded(tmp_path, "call") == []
    clock.advance(timedelta(minutes=11))
    wait_for(lambda: recorded(tmp_path, "call"), 15, "the one fire")
    assert recorded(tmp_path, "call")[0]["event"]["tag"] == "once"
    wait_for(
        lambda: not scheduler.list_schedules(GroupName="jobs")["Schedules"], 15, "the deletion"
    )
    clock.advance(timedelta(days=1))
    time.sleep(1.5)
    assert len(recorded(tmp_path, "call")) == 1


def test_disabled_schedule_does_not_fire(aws, create_function, make_runner, tmp_path):
    arn = create_function("flaky", "flaky", env={"RECORD_DIR": str(tmp_path)})
    clock = FakeClock()
    runner = make_runner(schedules=True, clock=clock)
    aws("scheduler").create_schedule(
        Name="off",
        State="DISABLED",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"succeed_on": 1}'},
    )
    wait_for(lambda: ("default", "off") in runner.scheduler.planned(), 15, "the schedule read")
    clock.advance(timedelta(minutes=5))
    time.sleep(2.0)
    assert recorded(tmp_path, "call") == []


# --- headwater schedules list|fire ---------------------------------------------------------------


@pytest.fixture
def cli_env(endpoint, monkeypatch):
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_schedules_list_shows_next_fire_in_utc_and_the_zone(aws, cli_env, capsys):
    scheduler = aws("scheduler")
    scheduler.create_schedule_group(Name="reports")
    scheduler.create_schedule(
        Name="nightly",
        GroupName="reports",
        ScheduleExpression="cron(30 2 * * ? 2199)",
        ScheduleExpressionTimezone="Europe/Berlin",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f", "RoleArn": ROLE},
    )
    scheduler.create_schedule(
        Name="paused",
        State="DISABLED",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": ROLE},
    )
    assert cli.main(["schedules", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["NAME", "GROUP"]
    # Sorted by group: default before reports.
    assert lines[1].split()[:5] == ["paused", "default", "rate(1", "hour)", "UTC"]
    assert "DISABLED (not a Lambda target" in lines[1] and lines[1].split()[-2:] == ["-", "-"]
    assert lines[2].split() == [
        "nightly",
        "reports",
        "cron(30",
        "2",
        "*",
        "*",
        "?",
        "2199)",
        "Europe/Berlin",
        "ENABLED",
        "2199-01-01",
        "01:30:00Z",
        "2199-01-01",
        "02:30:00",
        "CET",
    ]


def test_schedules_fire_invokes_the_target_with_the_input_now(
    aws, create_function, cli_env, tmp_path, capsys
):
    arn = create_function("flaky", "flaky", env={"RECORD_DIR": str(tmp_path)})
    aws("scheduler").create_schedule(
        Name="later",
        ScheduleExpression="cron(0 0 1 1 ? 2199)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"succeed_on": 1, "tag": "now"}'},
    )
    assert cli.main(["schedules", "fire", "later"]) == 0
    assert json.loads(capsys.readouterr().out) == {"calls": 1}
    assert [call["event"] for call in recorded(tmp_path, "call")] == [
        {"succeed_on": 1, "tag": "now"}
    ]


def test_schedules_fire_unknown_schedule_is_a_clear_error(cli_env, capsys):
    assert cli.main(["schedules", "fire", "nope", "--group", "jobs"]) == 1
    assert "schedule jobs/nope not found" in capsys.readouterr().err

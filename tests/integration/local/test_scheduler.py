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

ROLE = "arn:aws:iam::123456789012:role/scheduler"  # for schedules the runner never delivers
SCHEDULER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def scheduler_role(iam, name: str, statements: list[dict]) -> str:
    """An execution role as the platform module creates one: its statements inline."""
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(SCHEDULER_TRUST))[
        "Role"
    ]["Arn"]
    if statements:
        iam.put_role_policy(
            RoleName=name,
            PolicyName="targets",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    return arn


def invoke_role(aws, function_arn: str, *extra: dict) -> str:
    statement = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}
    return scheduler_role(aws("iam"), "scheduler-invoke", [statement, *extra])


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
        Target={
            "Arn": arn,
            "RoleArn": invoke_role(aws, arn),
            "Input": '{"succeed_on": 1, "tag": "tick"}',
        },
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
        Target={
            "Arn": arn,
            "RoleArn": invoke_role(aws, arn),
            "Input": '{"succeed_on": 1, "tag": "once"}',
        },
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
        Target={"Arn": arn, "RoleArn": invoke_role(aws, arn), "Input": '{"succeed_on": 1}'},
    )
    wait_for(lambda: ("default", "off") in runner.scheduler.planned(), 15, "the schedule read")
    clock.advance(timedelta(minutes=5))
    time.sleep(2.0)
    assert recorded(tmp_path, "call") == []


# --- delivery: the execution role, retries, the dead-letter queue ------------------------------


def dead_letters(sqs, url: str) -> list[dict]:
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
    ).get("Messages", [])
    for message in messages:  # visible again for the next reader (the replay)
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return messages


def attribute_values(message: dict) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}


def test_a_schedule_whose_role_may_not_invoke_ends_in_the_dlq_with_aws_attributes(
    aws, create_function, make_runner, tmp_path
):
    arn = create_function("flaky", "flaky", env={"RECORD_DIR": str(tmp_path)})
    sqs = aws("sqs")
    dlq_url, dlq_arn = runner_tests.make_queue(sqs, "scheduler-dlq")
    # The platform's execution role before a capability grants it its target: the DLQ only.
    role = scheduler_role(
        aws("iam"),
        "scheduler-dlq-only",
        [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq_arn}],
    )
    clock = FakeClock()
    runner = make_runner(schedules=True, clock=clock)
    scheduler = aws("scheduler")
    scheduler.create_schedule(
        Name="denied",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": arn,
            "RoleArn": role,
            "Input": '{"succeed_on": 1, "at": "<aws.scheduler.scheduled-time>"}',
            "DeadLetterConfig": {"Arn": dlq_arn},
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
        },
    )
    conf = scheduler.get_schedule(Name="denied")
    wait_for(lambda: runner.scheduler.planned().get(("default", "denied")), 15, "the plan")
    clock.advance(conf["CreationDate"] - clock() + timedelta(seconds=1))
    messages = wait_for(lambda: dead_letters(sqs, dlq_url), 15, "the dead-letter event")
    assert recorded(tmp_path, "call") == []  # never invoked
    assert runner.scheduler.retries() == []  # an AccessDenied is not retried
    [message] = messages
    scheduled = conf["CreationDate"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert json.loads(message["Body"]) == {"succeed_on": 1, "at": scheduled}
    values = attribute_values(message)
    execution_id = values.pop("EXECUTION_ID")
    assert len(execution_id) == 16 and int(execution_id, 16) >= 0
    error = values.pop("ERROR_MESSAGE")
    assert "is not authorized to perform: lambda:InvokeFunction" in error and arn in error
    assert values == {
        "ERROR_CODE": "AccessDeniedException",
        "IS_PAYLOAD_TRUNCATED": "false",
        "RETRY_ATTEMPTS": "0",
        "SCHEDULED_TIME": scheduled,
        "SCHEDULE_ARN": conf["Arn"],
        "TARGET_ARN": arn,
    }  # no EXHAUSTED_RETRY_CONDITION: a permanent error


def test_failed_deliveries_are_retried_then_dead_lettered_with_the_condition(aws, tmp_path):
    # Lambda throttling or a 5xx cannot be produced locally: the invoker the runner would give
    # fails here, everything else (the emulator, IAM checks, the DLQ) is real.
    from headwater.local.iam.service_roles import ServiceRoles
    from headwater.local.scheduler.service import Scheduler

    function = "arn:aws:lambda:us-east-1:123456789012:function:busy"
    sqs = aws("sqs")
    dlq_url, dlq_arn = runner_tests.make_queue(sqs, "scheduler-dlq")
    role = invoke_role(
        aws, function, {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq_arn}
    )
    attempts: list[dict] = []

    def throttled(arn: str, event: dict) -> None:
        attempts.append(event)
        raise RuntimeError("Rate exceeded")

    clock = FakeClock()
    scheduler = Scheduler(
        aws("scheduler"),
        throttled,
        roles=ServiceRoles(aws("iam"), "us-east-1", on=True),
        sqs=sqs,
        clock=clock,
        retry_base=10.0,
        retry_cap=15.0,
    )
    aws("scheduler").create_schedule(
        Name="busy",
        ScheduleExpression="cron(0 0 1 1 ? 2199)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": function,
            "RoleArn": role,
            "Input": '{"attempt": <aws.scheduler.attempt-number>}',
            "DeadLetterConfig": {"Arn": dlq_arn},
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        },
    )
    scheduler.refresh()
    clock.advance(scheduler.planned()[("default", "busy")].due - clock())
    assert [s.name for s in scheduler.fire_due()] == ["busy"]
    assert [d.due - clock() for d in scheduler.retries()] == [timedelta(seconds=10)]
    scheduler.fire_due()  # the retry is not due yet
    assert len(attempts) == 1
    clock.advance(timedelta(seconds=10))
    scheduler.fire_due()
    assert [d.due - clock() for d in scheduler.retries()] == [timedelta(seconds=15)]  # capped
    clock.advance(timedelta(seconds=15))
    scheduler.fire_due()
    assert attempts == [{"attempt": 1}, {"attempt": 2}, {"attempt": 3}]
    assert scheduler.retries() == []
    [message] = dead_letters(sqs, dlq_url)
    values = attribute_values(message)
    assert values["ERROR_CODE"] == "AWS.Scheduler.InternalServerError"
    assert values["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert values["RETRY_ATTEMPTS"] == "2"
    assert json.loads(message["Body"]) == {"attempt": 3}


def test_a_missing_function_is_dead_lettered_at_once(aws, make_runner):
    sqs = aws("sqs")
    dlq_url, dlq_arn = runner_tests.make_queue(sqs, "scheduler-dlq")
    function = "arn:aws:lambda:us-east-1:123456789012:function:gone"
    role = invoke_role(
        aws, function, {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq_arn}
    )
    clock = FakeClock()
    runner = make_runner(schedules=True, clock=clock)
    aws("scheduler").create_schedule(
        Name="orphan",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": function, "RoleArn": role, "DeadLetterConfig": {"Arn": dlq_arn}},
    )
    created = aws("scheduler").get_schedule(Name="orphan")["CreationDate"]
    wait_for(lambda: runner.scheduler.planned().get(("default", "orphan")), 15, "the plan")
    clock.advance(created - clock() + timedelta(seconds=1))
    [message] = wait_for(lambda: dead_letters(sqs, dlq_url), 15, "the dead-letter event")
    values = attribute_values(message)
    assert values["ERROR_CODE"] == "ResourceNotFoundException"
    assert "EXHAUSTED_RETRY_CONDITION" not in values
    assert message["Body"] == "{}"  # the default notification


# --- EventBridge rules with a schedule expression -----------------------------------------------


def test_a_scheduled_rule_fires_its_function_with_the_scheduled_event(
    aws, create_function, make_runner, tmp_path
):
    arn = create_function("record", "record", env={"RECORD_DIR": str(tmp_path)})
    clock = FakeClock()
    runner = make_runner(schedules=True, clock=clock)
    events = aws("events")
    rule_arn = events.put_rule(Name="every-5", ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.put_targets(Rule="every-5", Targets=[{"Id": "f", "Arn": arn, "InputPath": "$"}])
    events.put_rule(Name="off", ScheduleExpression="rate(1 minute)", State="DISABLED")
    events.put_targets(Rule="off", Targets=[{"Id": "f", "Arn": arn}])
    # Both rules read, with their targets (a refresh may fall between the calls above).
    wait_for(
        lambda: (
            {name: p.rule.targets != () for name, p in runner.scheduler.planned_rules().items()}
            == {"every-5": True, "off": True}
        ),
        15,
        "the rules planned",
    )
    planned = runner.scheduler.planned_rules()["every-5"]
    due = planned.due  # (the plan moves on after the fire)
    assert due == planned.anchor + timedelta(minutes=5)
    assert runner.scheduler.planned_rules()["off"].due is None
    time.sleep(1.5)
    assert recorded(tmp_path, "call") == []
    clock.advance(due - clock() + timedelta(seconds=1))
    [call] = wait_for(lambda: recorded(tmp_path, "call"), 15, "the rule's fire")
    event = call["event"]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [rule_arn] and event["detail"] == {}
    assert event["time"] == due.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert event["account"] == "123456789012" and event["region"] == "us-east-1"
    assert event["version"] == "0" and len(event["id"]) == 36
    # The disabled rule stayed silent; the next fire is one interval later.
    clock.advance(timedelta(minutes=5))
    wait_for(lambda: len(recorded(tmp_path, "call")) == 2, 15, "the second fire")
    time.sleep(1.5)
    assert len(recorded(tmp_path, "call")) == 2


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


def test_schedules_fire_rule_invokes_its_lambda_targets_now(
    aws, create_function, cli_env, tmp_path, capsys
):
    arn = create_function("flaky", "flaky", env={"RECORD_DIR": str(tmp_path)})
    events = aws("events")
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 2 * * ? *)")
    events.put_targets(
        Rule="nightly", Targets=[{"Id": "f", "Arn": arn, "Input": '{"succeed_on": 1}'}]
    )
    events.put_rule(Name="pattern", EventPattern='{"source": ["x"]}')
    assert cli.main(["schedules", "fire", "--rule", "nightly"]) == 0
    assert [c["event"] for c in recorded(tmp_path, "call")] == [{"succeed_on": 1}]
    assert cli.main(["schedules", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("nightly"))
    assert row.split()[1:9] == ["(rule)", "cron(0", "2", "*", "*", "?", "*)", "UTC"]
    assert not any(line.startswith("pattern") for line in lines)
    assert cli.main(["schedules", "fire", "--rule", "pattern"]) == 1
    assert "has no schedule expression" in capsys.readouterr().err
    assert cli.main(["schedules", "fire"]) == 2


def test_schedules_fire_unknown_schedule_is_a_clear_error(cli_env, capsys):
    assert cli.main(["schedules", "fire", "nope", "--group", "jobs"]) == 1
    assert "schedule jobs/nope not found" in capsys.readouterr().err


# --- headwater schedules replay -----------------------------------------------------------------


def dead_letter(sqs, url: str, target: str, body: dict) -> None:
    from headwater import schedule_dlq

    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(body),
        MessageAttributes=schedule_dlq.attributes(
            error_code="AccessDeniedException",
            error_message="denied",
            execution_id="ad06616e51cdf74a",
            retry_attempts=0,
            scheduled_time="2026-01-01T00:00:00Z",
            schedule_arn="arn:aws:scheduler:us-east-1:123456789012:schedule/default/s",
            target_arn=target,
        ),
    )


def test_schedules_replay_reinvokes_and_deletes_what_succeeded(
    aws, create_function, cli_env, tmp_path, capsys
):
    good = create_function("collector", "flaky", env={"RECORD_DIR": str(tmp_path / "good")})
    bad = create_function("broken", "fail")
    sqs = aws("sqs")
    url, _ = runner_tests.make_queue(sqs, "scheduler-dlq")
    dead_letter(sqs, url, good, {"succeed_on": 1, "tag": "again"})
    dead_letter(sqs, url, bad, {"why": "still broken"})
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"scheduler_dlq_url": {"value": url, "type": "string"}}))

    assert cli.main(["schedules", "replay", "--dry-run", "--outputs", str(outputs)]) == 0
    assert "would replay 2, failed 0, skipped 0" in capsys.readouterr().out
    assert recorded(tmp_path / "good", "call") == []

    assert cli.main(["schedules", "replay", "--group-dlq", "--outputs", str(outputs)]) == 1
    out = capsys.readouterr().out
    assert "replayed 1, failed 1, skipped 0" in out
    assert "boom: still broken" in out
    assert [c["event"] for c in recorded(tmp_path / "good", "call")] == [
        {"succeed_on": 1, "tag": "again"}
    ]
    # Only the failure is left, visible for the next run.
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    assert [attribute_values(m)["TARGET_ARN"] for m in left["Messages"]] == [bad]


def test_schedules_replay_needs_a_queue(cli_env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HEADWATER_STATE_DIR", str(tmp_path))  # no local deployment there
    assert cli.main(["schedules", "replay"]) == 1
    assert "give --queue or --outputs with a 'scheduler_dlq_url' output" in capsys.readouterr().err

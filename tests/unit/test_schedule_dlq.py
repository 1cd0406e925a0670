"""Dead-letter events of EventBridge Scheduler: their attributes, and replaying them.

The queue is moto's in-process SQS (a real queue implementation); the invoker is the port the
caller gives ``replay`` (Lambda itself is the part that cannot run here), recording its calls.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from headwater import schedule_dlq

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:collector"


def test_attributes_have_aws_names_and_string_type() -> None:
    attrs = schedule_dlq.attributes(
        error_code="AccessDeniedException",
        error_message="no",
        execution_id="ad06616e51cdf74a",
        retry_attempts=0,
        scheduled_time="2022-05-14T01:12:00Z",
        schedule_arn="arn:aws:scheduler:us-east-1:1:schedule/g/s",
        target_arn=FUNCTION,
    )
    assert set(attrs) == {
        "ERROR_CODE",
        "ERROR_MESSAGE",
        "EXECUTION_ID",
        "IS_PAYLOAD_TRUNCATED",
        "RETRY_ATTEMPTS",
        "SCHEDULED_TIME",
        "SCHEDULE_ARN",
        "TARGET_ARN",
    }  # no EXHAUSTED_RETRY_CONDITION: a permanent error
    assert all(v["DataType"] == "String" for v in attrs.values())
    assert attrs["RETRY_ATTEMPTS"]["StringValue"] == "0"
    exhausted = schedule_dlq.attributes(
        error_code="x",
        error_message="y",
        execution_id="z",
        retry_attempts=2,
        scheduled_time="t",
        schedule_arn="s",
        target_arn=FUNCTION,
        exhausted_retry_condition="MaximumRetryAttempts",
    )
    assert exhausted["EXHAUSTED_RETRY_CONDITION"]["StringValue"] == "MaximumRetryAttempts"


@pytest.fixture
def sqs() -> Any:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def send(sqs: Any, url: str, body: str, target: str = FUNCTION) -> None:
    sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageAttributes=schedule_dlq.attributes(
            error_code="AccessDeniedException",
            error_message="denied",
            execution_id="e",
            retry_attempts=0,
            scheduled_time="2026-01-01T00:00:00Z",
            schedule_arn="arn:aws:scheduler:us-east-1:1:schedule/g/s",
            target_arn=target,
        ),
    )


def depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def visible(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ]
    return int(attrs["ApproximateNumberOfMessages"])


def test_replay_invokes_each_target_and_deletes_only_the_successes(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    for n in range(12):  # more than one ReceiveMessage batch
        send(sqs, url, json.dumps({"n": n, "ok": n % 4 != 0}))
    calls: list[tuple[str, Any]] = []

    def invoke(arn: str, event: Any) -> schedule_dlq.Outcome:
        calls.append((arn, event))
        return schedule_dlq.Outcome(event["ok"], "" if event["ok"] else "function error")

    report = schedule_dlq.replay(sqs, url, invoke)
    assert sorted(event["n"] for _, event in calls) == list(range(12))
    assert {arn for arn, _ in calls} == {FUNCTION}
    assert (report.replayed, report.failed, report.skipped) == (9, 3, 0)
    assert not report.ok
    # The three failures stay, visible again for the next run.
    assert depth(sqs, url) == 3 and visible(sqs, url) == 3


def test_replay_max_and_dry_run(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    for n in range(5):
        send(sqs, url, json.dumps({"n": n}))

    def invoke(arn: str, event: Any) -> schedule_dlq.Outcome:
        raise AssertionError("a dry run invokes nothing")

    report = schedule_dlq.replay(sqs, url, invoke, dry_run=True)
    assert report.replayed == 5 and all(line.startswith("would replay") for line in report.lines)
    assert visible(sqs, url) == 5
    done: list[Any] = []
    report = schedule_dlq.replay(
        sqs,
        url,
        lambda arn, event: done.append(event) or schedule_dlq.Outcome(True),
        max_messages=2,
    )
    assert report.replayed == 2 and len(done) == 2
    assert depth(sqs, url) == 3


def test_replay_leaves_what_it_cannot_replay(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    send(sqs, url, "not json")
    send(sqs, url, "{}", target="arn:aws:sqs:us-east-1:1:q")
    report = schedule_dlq.replay(sqs, url, lambda arn, event: schedule_dlq.Outcome(True))
    assert (report.replayed, report.failed, report.skipped) == (0, 0, 2)
    assert not report.ok
    assert visible(sqs, url) == 2


def test_lambda_invoke_reads_the_function_error_header() -> None:
    # moto runs Lambda functions only in Docker: botocore's Stubber answers as Lambda does.
    import io

    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    client = boto3.client(
        "lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    invoke = schedule_dlq.lambda_invoke(client)

    def body(text: str) -> StreamingBody:
        return StreamingBody(io.BytesIO(text.encode()), len(text))

    expected = {
        "FunctionName": FUNCTION,
        "InvocationType": "RequestResponse",
        "Payload": json.dumps({"a": 1}),
    }
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 200, "Payload": body('{"ok": true}')}, expected)
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": body('{"errorType": "E"}'),
            },
            expected,
        )
        stub.add_client_error("invoke", "ResourceNotFoundException", "Function not found")
        assert invoke(FUNCTION, {"a": 1}) == schedule_dlq.Outcome(True, '{"ok": true}')
        failed = invoke(FUNCTION, {"a": 1})
        assert not failed.ok and failed.detail.startswith("function error (Unhandled)")
        missing = invoke(FUNCTION, {"a": 1})
        assert not missing.ok and "Function not found" in missing.detail


def test_replay_takes_lambda_on_failure_destination_records(sqs: Any) -> None:
    """A record Lambda sent to an asynchronous invocation's on-failure destination (the shape
    of the Lambda developer guide's example) replays its requestPayload to its function."""
    url = sqs.create_queue(QueueName="collector-failures")["QueueUrl"]
    job = {"subscriber": "acme", "schedule": "daily", "scheduled_time": "2026-12-01T06:00:00Z"}
    record = {
        "version": "1.0",
        "timestamp": "2026-12-01T06:00:03.141Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": f"{FUNCTION}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": job,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "source down", "errorType": "CollectError"},
    }  # fmt: skip
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"requestPayload": job}))  # no context
    calls: list[tuple[str, Any]] = []

    def invoke(arn: str, event: Any) -> schedule_dlq.Outcome:
        calls.append((arn, event))
        return schedule_dlq.Outcome(True)

    report = schedule_dlq.replay(sqs, url, invoke)
    assert calls == [(FUNCTION, job)]
    assert (report.replayed, report.failed, report.skipped) == (1, 0, 1)
    assert any(line.startswith("replayed") and FUNCTION in line for line in report.lines)
    assert depth(sqs, url) == 1  # the unreadable one stays

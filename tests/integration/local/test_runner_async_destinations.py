"""Asynchronous invocations served as Lambda serves them: the function's event invoke
configuration (MaximumRetryAttempts, MaximumEventAgeInSeconds) and its destinations, which
receive AWS's invocation record sent with the function's execution role (local IAM checks on).

Against a real moto server and the runner's worker processes; the ``flaky`` fixture handler
records each attempt into RECORD_DIR, so attempts are counted, not assumed.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.local.moto_patches.lambda_invoker import set_lambda_invoker
from tests.integration.local.test_runner import (  # noqa: F401 - fixtures
    HANDLERS,
    aws,
    endpoint,
    make_queue,
    make_runner,
    moto_endpoint,
    recorded,
    wait_for,
)
from tests.support.emulator import code_zip, lambda_role

pytestmark = pytest.mark.integration

ASYNC_LOG = "headwater.local.lambda_service.async"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ALWAYS_FAIL = {"succeed_on": 99, "order": "o-1"}  # flaky fails until its 99th call


def _send_to(arn: str, action: str = "sqs:SendMessage") -> list[dict]:
    return [{"Effect": "Allow", "Action": action, "Resource": arn}]


@pytest.fixture
def function(aws, tmp_path) -> Callable[..., str]:  # noqa: F811
    """Creates ``name`` (handler ``flaky`` by default) with a role holding ``statements`` and
    the event invoke configuration given (as Terraform's PutFunctionEventInvokeConfig)."""

    def create(
        name: str,
        statements: list[dict] | None,
        handler: str = "flaky",
        **invoke_config: Any,
    ) -> str:
        role = lambda_role(aws("iam"), f"role-{name}", statements)
        arn = aws("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=f"{HANDLERS}.{handler}",
            Timeout=5,
            Environment={"Variables": {"RECORD_DIR": str(tmp_path)}},
            Code={"ZipFile": code_zip()},
        )["FunctionArn"]
        if invoke_config:
            aws("lambda").put_function_event_invoke_config(FunctionName=name, **invoke_config)
        return arn

    return create


def messages(aws, url: str, expected: int, timeout: float = 20) -> list[dict]:  # noqa: F811
    """Wait for ``expected`` messages, then make sure no more arrive; returns the bodies."""
    sqs = aws("sqs")
    bodies: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < expected and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert len(bodies) == expected, f"{len(bodies)} messages, expected {expected}"
    late = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert late.get("Messages", []) == []
    return bodies


def attempts(directory: Path) -> list[dict]:
    return [call["event"] for call in recorded(directory, "call")]


def test_retries_exhausted_sends_one_record_to_the_failure_queue(
    aws,  # noqa: F811
    function,
    make_runner,  # noqa: F811
    tmp_path,
):
    url, queue_arn = make_queue(aws("sqs"), "failures")
    function_arn = function(
        "collector",
        _send_to(queue_arn),
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    runner = make_runner()
    runner.invoke_async("collector", ALWAYS_FAIL)

    [record] = messages(aws, url, expected=1)
    assert attempts(tmp_path) == [ALWAYS_FAIL, ALWAYS_FAIL]  # the first and one retry
    context = record["requestContext"]
    assert uuid.UUID(context["requestId"])
    # Both attempts ran under the invocation's request id, as Lambda's retries do.
    seen = [call["request_id"] for call in recorded(tmp_path, "call")]
    assert seen == [context["requestId"]] * 2
    assert TIMESTAMP.match(record["timestamp"])
    assert record == {
        "version": "1.0",
        "timestamp": record["timestamp"],
        "requestContext": {
            "requestId": context["requestId"],
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 2,
        },
        "requestPayload": ALWAYS_FAIL,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": record["responsePayload"],
    }
    # The last attempt's error, in Lambda's error shape.
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "transient failure 2"
    time.sleep(1.0)  # retry delays are 0.2 s: a third attempt would have happened by now
    assert len(attempts(tmp_path)) == 2


def test_zero_retries_means_one_attempt(aws, function, make_runner, tmp_path):  # noqa: F811
    url, queue_arn = make_queue(aws("sqs"), "failures-once")
    function(
        "once",
        _send_to(queue_arn),
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    make_runner().invoke_async("once", ALWAYS_FAIL)

    [record] = messages(aws, url, expected=1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    time.sleep(1.0)
    assert len(attempts(tmp_path)) == 1


def test_without_configuration_lambda_retries_twice_and_sends_nothing(
    aws,  # noqa: F811
    function,
    make_runner,  # noqa: F811
    tmp_path,
):
    function("plain", None)
    make_runner().invoke_async("plain", ALWAYS_FAIL)
    wait_for(lambda: len(attempts(tmp_path)) >= 3, 15, "three attempts")
    time.sleep(1.0)
    assert len(attempts(tmp_path)) == 3


def test_success_goes_to_the_on_success_topic(aws, function, make_runner, tmp_path):  # noqa: F811
    sns, sqs = aws("sns"), aws("sqs")
    topic_arn = sns.create_topic(Name="successes")["TopicArn"]
    url, queue_arn = make_queue(sqs, "successes-fanout")
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    failures_url, failures_arn = make_queue(sqs, "failures-unused")
    function_arn = function(
        "recorder",
        _send_to(topic_arn, "sns:Publish") + _send_to(failures_arn),
        handler="record",
        DestinationConfig={
            "OnSuccess": {"Destination": topic_arn},
            "OnFailure": {"Destination": failures_arn},
        },
    )
    event = {"order": "o-2"}
    make_runner().invoke_async("recorder", event)

    [record] = messages(aws, url, expected=1)
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestContext"]["functionArn"] == f"{function_arn}:$LATEST"
    assert record["requestPayload"] == event
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"recorded": True}
    assert sqs.receive_message(QueueUrl=failures_url, WaitTimeSeconds=0).get("Messages") is None


def test_event_older_than_its_maximum_age_is_not_retried(
    aws,  # noqa: F811
    function,
    make_runner,  # noqa: F811
    tmp_path,
):
    url, queue_arn = make_queue(aws("sqs"), "failures-aged")
    function(
        "aged",
        _send_to(queue_arn),
        MaximumRetryAttempts=2,
        MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    start = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)

    def clock() -> datetime:
        # 61 s pass during the first attempt: its retry finds the event too old.
        return start + timedelta(seconds=61 if attempts(tmp_path) else 0)

    make_runner(clock=clock).invoke_async("aged", ALWAYS_FAIL)

    [record] = messages(aws, url, expected=1)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["timestamp"] == "2026-12-02T06:01:01.000Z"  # the runner's clock
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert len(attempts(tmp_path)) == 1


def test_role_without_send_message_drops_the_record_and_says_why(
    aws,  # noqa: F811
    function,
    make_runner,  # noqa: F811
    tmp_path,
    caplog,
):
    url, queue_arn = make_queue(aws("sqs"), "failures-denied")
    other_url, other_arn = make_queue(aws("sqs"), "failures-other")
    function(
        "denied",
        _send_to(other_arn),  # a grant, on the wrong queue
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    with caplog.at_level(logging.ERROR, logger=ASYNC_LOG):
        make_runner().invoke_async("denied", ALWAYS_FAIL)
        wait_for(
            lambda: [r for r in caplog.records if "record dropped" in r.getMessage()],
            20,
            "the logged denial",
        )
    [line] = [r.getMessage() for r in caplog.records if "record dropped" in r.getMessage()]
    assert (
        "User: arn:aws:sts::123456789012:assumed-role/role-denied/denied is not authorized to "
        f"perform: sqs:SendMessage on resource: {queue_arn}"
    ) in line
    assert messages(aws, url, expected=0, timeout=1) == []
    assert messages(aws, other_url, expected=0, timeout=1) == []


def test_encrypted_queue_needs_the_key_through_sqs(
    aws,  # noqa: F811
    function,
    make_runner,  # noqa: F811
    tmp_path,
    caplog,
):
    key_arn = aws("kms").create_key()["KeyMetadata"]["Arn"]
    url, queue_arn = make_queue(aws("sqs"), "failures-kms", KmsMasterKeyId=key_arn)
    function(
        "encrypted",
        _send_to(queue_arn),
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    runner = make_runner()
    with caplog.at_level(logging.ERROR, logger=ASYNC_LOG):
        runner.invoke_async("encrypted", ALWAYS_FAIL)
        wait_for(
            lambda: [r for r in caplog.records if "kms:GenerateDataKey" in r.getMessage()],
            20,
            "the KMS denial",
        )
    assert messages(aws, url, expected=0, timeout=1) == []

    # The grant the lookup module gives its loader for its encrypted DLQ.
    lambda_role(
        aws("iam"),
        "role-encrypted",
        [
            *_send_to(queue_arn),
            {
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}},
            },
        ],
    )
    runner.invoke_async("encrypted", ALWAYS_FAIL)
    [record] = messages(aws, url, expected=1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"


def test_lambda_destination_is_invoked_with_the_record(
    aws,  # noqa: F811
    function,
    make_runner,  # noqa: F811
    tmp_path,
):
    handler_arn = function("failure-handler", None, handler="record")
    function(
        "source",
        _send_to(handler_arn, "lambda:InvokeFunction"),
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": handler_arn}},
    )
    make_runner().invoke_async("source", ALWAYS_FAIL)
    # flaky records its attempt as a call too: the record is the call whose event is a record.
    wait_for(lambda: len(attempts(tmp_path)) >= 2, 20, "the failure handler's call")
    [record] = [event for event in attempts(tmp_path) if "requestContext" in event]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == ALWAYS_FAIL


def test_eventbridge_destination_gets_the_record_as_detail(
    aws,  # noqa: F811
    function,
    make_runner,  # noqa: F811
    tmp_path,
):
    url, queue_arn = make_queue(aws("sqs"), "bus-results")
    events = aws("events")
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    events.put_rule(Name="lambda-results", EventPattern=json.dumps({"source": ["lambda"]}))
    events.put_targets(Rule="lambda-results", Targets=[{"Id": "q", "Arn": queue_arn}])
    function(
        "to-bus",
        _send_to(bus_arn, "events:PutEvents"),
        handler="record",
        DestinationConfig={"OnSuccess": {"Destination": bus_arn}},
    )
    make_runner().invoke_async("to-bus", {"order": "o-3"})

    [event] = messages(aws, url, expected=1)
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Success"
    assert event["detail"]["requestContext"]["condition"] == "Success"
    assert event["detail"]["requestPayload"] == {"order": "o-3"}


def test_invoke_api_event_reaches_the_failure_queue(aws, function, make_runner, tmp_path):  # noqa: F811
    # What collect's run-now does: Invoke with InvocationType Event through the Lambda API.
    url, queue_arn = make_queue(aws("sqs"), "failures-api")
    function(
        "run-now",
        _send_to(queue_arn),
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    runner = make_runner()
    set_lambda_invoker(runner.invoke_async)
    try:
        response = aws("lambda").invoke(
            FunctionName="run-now", InvocationType="Event", Payload=json.dumps(ALWAYS_FAIL)
        )
        assert response["StatusCode"] == 202
        [record] = messages(aws, url, expected=1)
    finally:
        set_lambda_invoker(None)
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == ALWAYS_FAIL
    assert len(attempts(tmp_path)) == 2

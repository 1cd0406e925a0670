"""The pieces of the runner's asynchronous invocations that need no emulator: settings read from
GetFunctionEventInvokeConfig with AWS's defaults, the record's timestamp, unserved destinations.
The retries, ages and sends themselves are in tests/integration/local/
test_runner_async_destinations.py."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from headwater.local.lambda_service.async_invocations import (
    AsyncInvocation,
    Destinations,
    EventInvokeConfig,
    invocation_record,
    iso_millis,
)

QUEUE = "arn:aws:sqs:us-east-1:123456789012:failures"


def test_settings_left_out_keep_aws_defaults():
    assert EventInvokeConfig.from_api({"FunctionArn": "arn"}) == EventInvokeConfig(
        maximum_retry_attempts=2, maximum_event_age_seconds=21600
    )
    # Zero is a setting, not an absence.
    read = EventInvokeConfig.from_api(
        {"MaximumRetryAttempts": 0, "DestinationConfig": {"OnFailure": {"Destination": QUEUE}}}
    )
    assert read.maximum_retry_attempts == 0
    assert read.on_failure == QUEUE
    assert read.on_success is None
    # AWS answers an unset destination as an empty object.
    assert EventInvokeConfig.from_api({"DestinationConfig": {"OnSuccess": {}}}).on_success is None


def test_timestamp_has_milliseconds_and_z():
    moment = datetime(2019, 11, 14, 18, 16, 5, 568999, tzinfo=UTC)
    assert iso_millis(moment) == "2019-11-14T18:16:05.568Z"


def test_success_record_has_no_function_error():
    invocation = AsyncInvocation("f", {"a": 1}, "rid", datetime(2026, 1, 1, tzinfo=UTC), 1)
    record = invocation_record(
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        invocation=invocation,
        condition="Success",
        payload={"ok": True},
        function_error=None,
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["requestContext"]["functionArn"].endswith("function:f:$LATEST")


def test_unserved_destination_is_logged_and_dropped(caplog):
    def no_client(service):
        raise AssertionError(f"no {service} call expected")

    destinations = Destinations(no_client, None, lambda arn, event: None, "us-east-1")
    record = {"requestContext": {"requestId": "rid", "functionArn": "fn", "condition": "x"}}
    with caplog.at_level(logging.ERROR):
        reason = destinations.send("arn:aws:s3:::bucket", record, "role", "f")
    assert reason == "destination arn:aws:s3:::bucket is not served"
    assert "destination arn:aws:s3:::bucket is not served" in caplog.text

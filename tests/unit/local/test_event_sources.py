"""Which source type serves a mapping, and how `headwater local status` shows each mapping."""

from __future__ import annotations

import pytest

from headwater.local.event_sources.base import UnsupportedMapping
from headwater.local.event_sources.dynamodb_streams import (
    StreamMapping,
    dynamodb_record,
    failure_checkpoint,
)
from headwater.local.event_sources.registry import NOT_SERVED, resolve
from headwater.local.event_sources.sqs import SqsMapping
from headwater.local.event_sources.status import status_lines
from headwater.local.lambda_service.workers import InvokeResult

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:consumer"


def mapping(source_arn: str | None, **extra) -> dict:
    conf = {"UUID": "u-1", "FunctionArn": FUNCTION, "State": "Enabled", **extra}
    if source_arn is not None:
        conf["EventSourceArn"] = source_arn
    return conf


def test_sqs_mappings_are_served_with_their_settings():
    resolved = resolve(mapping("arn:aws:sqs:us-east-1:123456789012:orders", BatchSize=5))
    assert isinstance(resolved, SqsMapping)
    assert (resolved.queue_name, resolved.batch_size, resolved.enabled) == ("orders", 5, True)


def test_kinesis_mappings_are_unsupported_with_the_reason():
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
    assert resolve(mapping(arn)) == UnsupportedMapping("u-1", FUNCTION, arn, NOT_SERVED["kinesis"])


def test_sources_without_an_arn_are_unsupported_not_dropped():
    # Self-managed Kafka has no EventSourceArn, only SelfManagedEventSource.
    resolved = resolve(mapping(None))
    assert isinstance(resolved, UnsupportedMapping)
    assert resolved.reason.startswith("no local event source for this source")


def test_status_lines_show_polling_disabled_and_unsupported_mappings():
    lines = status_lines(
        [
            {
                "uuid": "u-1",
                "function": "consumer",
                "source_arn": "arn:aws:sqs:us-east-1:123456789012:orders",
                "status": "polling",
                "batch_size": 10,
                "concurrency": 2,
            },
            {"uuid": "u-2", "function": "consumer", "source_arn": "q2", "status": "disabled"},
            {
                "uuid": "u-3",
                "function": "reader",
                "source_arn": "s3",
                "status": "unsupported",
                "reason": "why not",
            },
        ]
    )
    assert lines == [
        "mapping:  arn:aws:sqs:us-east-1:123456789012:orders -> consumer (u-1): "
        "polling (batch 10, concurrency 2)",
        "mapping:  q2 -> consumer (u-2): disabled",
        "mapping:  s3 -> reader (u-3): unsupported: why not",
    ]


# --- DynamoDB streams -------------------------------------------------------------------------

STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/facts/stream/2026-12-02T06:00:00.000"


def test_dynamodb_stream_mappings_are_served_with_lambdas_defaults():
    resolved = resolve(mapping(STREAM, StartingPosition="LATEST"))
    assert resolved == StreamMapping(
        uuid="u-1",
        function_arn=FUNCTION,
        stream_arn=STREAM,
        enabled=True,
        starting_position="LATEST",
        batch_size=100,  # Lambda's default for streams
        batching_window=0.0,
        report_batch_item_failures=False,
        bisect=False,
        maximum_retry_attempts=-1,  # infinite
        maximum_record_age=-1,  # infinite
        on_failure=None,
        parallelization_factor=1,
    )
    assert resolved.region == "eu-west-1"
    assert resolve(mapping(STREAM, State="Disabled")).enabled is False


def result(payload, error=None):
    return InvokeResult(function_name="f", request_id="r", payload=payload, function_error=error)


SEQUENCES = ["100", "101", "102"]


@pytest.mark.parametrize(
    "payload",
    [None, "", {}, {"batchItemFailures": []}, {"batchItemFailures": None}, {"other": 1}],
)
def test_stream_empty_responses_mean_the_whole_batch_succeeded(payload):
    assert failure_checkpoint(result(payload), SEQUENCES) is None


def test_stream_partial_failure_checkpoints_at_the_lowest_reported_sequence_number():
    payload = {"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "101"}]}
    assert failure_checkpoint(result(payload), SEQUENCES) == "101"


@pytest.mark.parametrize(
    "payload",
    [
        "not a dict",
        {"batchItemFailures": "101"},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifier": "999"}]},  # not in the batch
        {"batchItemFailures": [{"itemIdentifier": 101}]},  # a number, not the string
    ],
)
def test_stream_malformed_responses_fail_the_whole_batch(payload):
    assert failure_checkpoint(result(payload), SEQUENCES) == "100"


def test_stream_function_error_fails_the_whole_batch():
    error = result({"errorType": "ValueError", "errorMessage": "x"}, error="Unhandled")
    assert failure_checkpoint(error, SEQUENCES) == "100"


def test_stream_records_are_reshaped_for_lambda():
    from datetime import UTC, datetime

    raw = {
        "eventID": "e1",
        "eventName": "REMOVE",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 12, 2, 6, 0, 1, 900000, tzinfo=UTC),
            "Keys": {"pk": {"S": "a"}},
            "OldImage": {"pk": {"S": "a"}},
            "SequenceNumber": "100",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "userIdentity": {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"},
    }
    shaped = dynamodb_record(raw, STREAM, "eu-west-1")
    assert shaped["eventVersion"] == "1.1" and shaped["awsRegion"] == "eu-west-1"
    assert shaped["eventSourceARN"] == STREAM
    assert shaped["dynamodb"]["ApproximateCreationDateTime"] == 1796191201.0  # rounded down
    assert shaped["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    del raw["userIdentity"]
    assert "userIdentity" not in dynamodb_record(raw, STREAM, "eu-west-1")


def test_status_lines_carry_a_sources_note():
    (line,) = status_lines(
        [
            {
                "uuid": "u-9",
                "function": "sink",
                "source_arn": STREAM,
                "status": "polling",
                "batch_size": 100,
                "concurrency": 1,
                "note": "ParallelizationFactor 4 is served as 1 locally",
            }
        ]
    )
    assert line == (
        f"mapping:  {STREAM} -> sink (u-9): polling (batch 100, concurrency 1): "
        "ParallelizationFactor 4 is served as 1 locally"
    )

"""Which source type serves a mapping, and how `headwater local status` shows each mapping."""

from __future__ import annotations

from headwater.local.event_sources.base import UnsupportedMapping
from headwater.local.event_sources.registry import NOT_SERVED, resolve
from headwater.local.event_sources.sqs import SqsMapping
from headwater.local.event_sources.status import status_lines

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

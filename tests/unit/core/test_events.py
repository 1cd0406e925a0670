"""The shared S3 event parser: bare EventBridge events, SQS bodies, SNS envelopes."""

from __future__ import annotations

import json

import pytest

from headwater.events import InvalidEvent, ObjectCreated, parse_event, parse_message

EVENT = {
    "source": "aws.s3",
    "detail-type": "Object Created",
    "time": "2026-01-02T03:04:05Z",
    "detail": {
        "bucket": {"name": "raw"},
        "object": {"key": "ingest/sales/a b.csv", "size": 12, "etag": "e1", "version-id": "v1"},
    },
}
CREATED = ObjectCreated("raw", "ingest/sales/a b.csv", "v1", "e1", 12, "2026-01-02T03:04:05Z")


def test_a_bare_event_and_its_json_give_the_same_object():
    assert parse_event(EVENT) == CREATED
    assert parse_message(json.dumps(EVENT)) == CREATED


def test_an_sns_envelope_without_raw_delivery_is_unwrapped():
    envelope = {"Type": "Notification", "Message": json.dumps(EVENT)}
    assert parse_message(json.dumps(envelope)) == CREATED
    assert parse_event(envelope) == CREATED


def test_other_s3_events_are_ignored_and_anything_else_is_invalid():
    assert parse_event({**EVENT, "detail-type": "Object Deleted"}) is None
    for bad in ("not json", json.dumps([1]), json.dumps({"source": "aws.ec2", "detail": {}})):
        with pytest.raises(InvalidEvent):
            parse_message(bad)
    with pytest.raises(InvalidEvent, match="without a string 'Message'"):
        parse_event({"Type": "Notification", "Message": 1})


def test_the_sequencer_is_read_from_the_object():
    event = json.loads(json.dumps(EVENT))
    event["detail"]["object"]["sequencer"] = "0062E99A88DC407460"
    assert parse_event(event).sequencer == "0062E99A88DC407460"
    assert CREATED.sequencer is None  # events without one (MiniStack, hand-made) still parse

"""Contract tests for ``moto_patches.s3``: S3 EventBridge events, notification config, policies."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.integration.local.moto_contract import (
    ISO_Z,
    make_queue,
    put_rule,
    receive_all,
    topic_to_raw_queue,
)

pytestmark = pytest.mark.integration


# --- 4. S3 -> EventBridge events in AWS's shape ------------------------------------------------


def raw_bucket_with_rule(aws, unique: str, *, versioned: bool, prefix: str = "ingest/"):
    """Bucket with EventBridge notifications and a prefix-filtered rule to a queue."""
    s3 = aws("s3")
    bucket = f"raw-{unique}"
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    url, queue_arn = make_queue(aws, f"s3q-{unique}")
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }
    put_rule(aws, f"s3-{unique}", pattern, [{"Id": "q", "Arn": queue_arn}])
    return bucket, url


def test_s3_object_created_event_has_the_aws_shape(aws, unique):
    bucket, url = raw_bucket_with_rule(aws, unique, versioned=True)
    key = "ingest/sales/2026-11-23/orders 001 é+x.csv"
    put = aws("s3").put_object(Bucket=bucket, Key=key, Body=b"a,b\n1,2\n")

    messages = receive_all(aws, url)
    assert len(messages) == 1
    event = json.loads(messages[0]["Body"])
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert event["version"] == "0"
    assert uuid.UUID(event["id"])
    assert event["detail-type"] == "Object Created"
    assert event["source"] == "aws.s3"
    assert event["account"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert ISO_Z.match(event["time"]), event["time"]
    assert event["resources"] == [f"arn:aws:s3:::{bucket}"]
    detail = event["detail"]
    assert set(detail) == {
        "version",
        "bucket",
        "object",
        "request-id",
        "requester",
        "source-ip-address",
        "reason",
    }
    assert detail["version"] == "0"
    assert detail["bucket"] == {"name": bucket}
    assert detail["reason"] == "PutObject"
    assert detail["requester"] == "123456789012"
    obj = detail["object"]
    assert set(obj) == {"key", "size", "etag", "version-id", "sequencer"}
    assert obj["key"] == key  # not URL-encoded in EventBridge events
    assert obj["size"] == 8
    assert obj["etag"] == put["ETag"].strip('"')
    assert obj["version-id"] == put["VersionId"]
    assert re.fullmatch(r"[0-9A-F]+", obj["sequencer"])


def test_s3_events_get_unique_ids_and_increasing_sequencers(aws, unique):
    bucket, url = raw_bucket_with_rule(aws, unique, versioned=True)
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="ingest/a.csv", Body=b"1")
    s3.put_object(Bucket=bucket, Key="ingest/a.csv", Body=b"22")

    events = [json.loads(m["Body"]) for m in receive_all(aws, url)]
    events.sort(key=lambda e: e["detail"]["object"]["size"])
    assert len(events) == 2
    assert events[0]["id"] != events[1]["id"]
    first, second = (e["detail"]["object"]["sequencer"] for e in events)
    assert (len(second), second) > (len(first), first)


def test_s3_events_outside_the_rule_prefix_are_not_delivered(aws, unique):
    bucket, url = raw_bucket_with_rule(aws, unique, versioned=False)
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="lookup/people.csv", Body=b"x")
    s3.put_object(Bucket=bucket, Key="ingest/kept.csv", Body=b"x")

    keys = [json.loads(m["Body"])["detail"]["object"]["key"] for m in receive_all(aws, url)]
    assert keys == ["ingest/kept.csv"]


def test_unversioned_bucket_events_have_no_version_id(aws, unique):
    bucket, url = raw_bucket_with_rule(aws, unique, versioned=False)
    aws("s3").put_object(Bucket=bucket, Key="ingest/x.csv", Body=b"x")

    (message,) = receive_all(aws, url)
    assert "version-id" not in json.loads(message["Body"])["detail"]["object"]


def test_copy_and_multipart_uploads_have_their_aws_reasons(aws, unique):
    bucket, url = raw_bucket_with_rule(aws, unique, versioned=True)
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="staging/source.csv", Body=b"x")
    s3.copy_object(
        Bucket=bucket,
        Key="ingest/copied.csv",
        CopySource={"Bucket": bucket, "Key": "staging/source.csv"},
    )
    upload = s3.create_multipart_upload(Bucket=bucket, Key="ingest/multi.csv")
    part = s3.upload_part(
        Bucket=bucket, Key="ingest/multi.csv", UploadId=upload["UploadId"], PartNumber=1, Body=b"y"
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="ingest/multi.csv",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )

    reasons = {
        e["detail"]["object"]["key"]: e["detail"]["reason"]
        for e in (json.loads(m["Body"]) for m in receive_all(aws, url))
    }
    assert reasons == {
        "ingest/copied.csv": "CopyObject",
        "ingest/multi.csv": "CompleteMultipartUpload",
    }


def test_buckets_without_eventbridge_configuration_send_nothing(aws, unique):
    url, queue_arn = make_queue(aws, f"q-{unique}")
    bucket = f"quiet-{unique}"
    aws("s3").create_bucket(Bucket=bucket)
    put_rule(
        aws,
        f"quiet-{unique}",
        {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}},
        [{"Id": "q", "Arn": queue_arn}],
    )
    aws("s3").put_object(Bucket=bucket, Key="ingest/x.csv", Body=b"x")

    assert receive_all(aws, url) == []


def test_s3_events_reach_sqs_through_the_ingest_fan_out(aws, unique):
    """The whole ingest path up to the queue: S3 -> rule -> SNS -> raw SQS subscription."""
    s3 = aws("s3")
    bucket = f"fan-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    topic_arn, url = topic_to_raw_queue(aws, unique)
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}
    put_rule(aws, f"fan-{unique}", pattern, [{"Id": "topic", "Arn": topic_arn}])

    s3.put_object(Bucket=bucket, Key="ingest/events/e.ndjson", Body=b"{}\n")

    (message,) = receive_all(aws, url)  # one event: no moto side-effect "Object Tags Added"
    event = json.loads(message["Body"])
    assert event["detail"]["object"]["key"] == "ingest/events/e.ndjson"
    assert event["detail"]["reason"] == "PutObject"


def test_s3_delete_in_unversioned_bucket_is_an_object_deleted_event(aws, unique):
    s3 = aws("s3")
    bucket = f"del-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    url, queue_arn = make_queue(aws, f"del-{unique}")
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Deleted"]}
    put_rule(aws, f"del-{unique}", pattern, [{"Id": "q", "Arn": queue_arn}])
    s3.put_object(Bucket=bucket, Key="ingest/gone.csv", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="ingest/gone.csv")

    (message,) = receive_all(aws, url)
    detail = json.loads(message["Body"])["detail"]
    assert detail["object"]["key"] == "ingest/gone.csv"
    assert detail["reason"] == "DeleteObject"
    assert detail["deletion-type"] == "Permanently Deleted"


def test_s3_delete_marker_creation_sends_no_event_in_pinned_moto(aws, unique):
    """Known gap, pinned: AWS sends "Object Deleted" with deletion-type "Delete Marker Created"
    for a DeleteObject without VersionId on a versioned bucket; moto sends nothing at all.

    If a moto upgrade starts emitting here, s3_eventbridge_event would label it "Permanently
    Deleted": this test failing is the cue to teach it the delete-marker case.
    """
    s3 = aws("s3")
    bucket = f"delv-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    url, queue_arn = make_queue(aws, f"delv-{unique}")
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Deleted"]}
    put_rule(aws, f"delv-{unique}", pattern, [{"Id": "q", "Arn": queue_arn}])
    s3.put_object(Bucket=bucket, Key="ingest/kept.csv", Body=b"x")

    marker = s3.delete_object(Bucket=bucket, Key="ingest/kept.csv")

    assert marker["DeleteMarker"] is True
    assert receive_all(aws, url) == []


# --- what the AWS provider reads back ----------------------------------------------------------


def test_bucket_notification_reads_back_eventbridge(aws, unique):
    s3 = aws("s3")
    bucket = f"notify-{unique}"
    s3.create_bucket(Bucket=bucket)
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert config["EventBridgeConfiguration"] == {}


def test_tls_only_bucket_policy_admits_emulator_requests_and_still_denies_others(aws, unique):
    s3 = aws("s3")
    bucket = f"tls-{unique}"
    s3.create_bucket(Bucket=bucket)
    arn = f"arn:aws:s3:::{bucket}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyPutsUnderLocked",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{arn}/locked/*",
            },
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    s3.put_object(Bucket=bucket, Key="open/file.csv", Body=b"a,b\n")
    with pytest.raises(Exception, match=r"AccessDenied|403"):
        s3.put_object(Bucket=bucket, Key="locked/file.csv", Body=b"a,b\n")


def test_a_multipart_upload_sends_one_object_created_event(aws, unique, tmp_path):
    # AWS sends one event (CompleteMultipartUpload); moto also sent its internal PutObject's.
    from boto3.s3.transfer import TransferConfig

    bucket, url = raw_bucket_with_rule(aws, unique, versioned=True)
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 1000)
    config = TransferConfig(multipart_threshold=1)  # multipart as upload_file does above 8 MB
    aws("s3").upload_file(str(path), bucket, "ingest/big.csv", Config=config)

    events = [json.loads(m["Body"]) for m in receive_all(aws, url)]
    assert [(e["detail"]["object"]["key"], e["detail"]["reason"]) for e in events] == [
        ("ingest/big.csv", "CompleteMultipartUpload")
    ]
    assert events[0]["detail"]["object"]["size"] == path.stat().st_size

"""Contract tests for headwater.local.moto_patches against a real moto server.

Each test pins one behaviour a patch provides; when moto is upgraded, a failure here names the
seam that moved. Resources get unique names because the server is shared by the session.
"""

from __future__ import annotations

import json
import re
import uuid

import moto
import pytest

from headwater.local import moto_patches
from headwater.local.moto_patches.lambda_invoker import set_lambda_invoker

pytestmark = pytest.mark.integration

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_moto_is_the_version_the_patches_were_written_for():
    assert moto.__version__ == moto_patches.PINNED_MOTO_VERSION, (
        f"moto {moto.__version__} is installed, patches target {moto_patches.PINNED_MOTO_VERSION}: "
        "re-read moto's events/models.py (Rule.send_to_targets), s3/notifications.py "
        "(_send_event_bridge_message), sqs/models.py + dynamodb/models/table.py + kinesis "
        "(lambda_event_source_mappings), sns/models.py (Subscription.publish), "
        "events/notifications.py (_invoke_lambda), then run this file and bump the pin"
    )


# --- helpers -----------------------------------------------------------------------------------


def make_queue(aws, name: str) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def receive_all(aws, url: str, wait: int = 1) -> list[dict]:
    sqs = aws("sqs")
    messages: list[dict] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        wait = 0


def topic_to_raw_queue(aws, unique: str) -> tuple[str, str]:
    """SNS topic with a raw-delivery SQS subscription (the ingest fan-out). Returns topic, url."""
    sns = aws("sns")
    topic_arn = sns.create_topic(Name=f"topic-{unique}")["TopicArn"]
    url, queue_arn = make_queue(aws, f"fanout-{unique}")
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return topic_arn, url


def put_rule(aws, name: str, pattern: dict, targets: list[dict]) -> None:
    events = aws("events")
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=name, Targets=targets)


def put_custom_event(aws, source: str, detail: dict) -> None:
    result = aws("events").put_events(
        Entries=[{"Source": source, "DetailType": "Test Event", "Detail": json.dumps(detail)}]
    )
    assert result["FailedEntryCount"] == 0


# --- 1. EventBridge targets --------------------------------------------------------------------


def test_sns_target_publishes_the_event_to_raw_sqs_subscribers(aws, unique):
    topic_arn, url = topic_to_raw_queue(aws, unique)
    source = f"test.{unique}"
    put_rule(aws, f"sns-{unique}", {"source": [source]}, [{"Id": "topic", "Arn": topic_arn}])

    put_custom_event(aws, source, {"n": 1})

    bodies = [json.loads(m["Body"]) for m in receive_all(aws, url)]
    assert len(bodies) == 1
    event = bodies[0]
    assert event["source"] == source
    assert event["detail-type"] == "Test Event"
    assert event["detail"] == {"n": 1}
    assert event["account"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert ISO_Z.match(event["time"]), event["time"]
    assert "ingestion-time" not in event


def test_lambda_target_hands_the_event_to_the_invoker(aws, unique, invocations, make_function):
    function_arn = make_function()
    source = f"test.{unique}"
    put_rule(aws, f"fn-{unique}", {"source": [source]}, [{"Id": "fn", "Arn": function_arn}])

    put_custom_event(aws, source, {"n": 2})

    events = invocations.for_function(function_arn)
    assert len(events) == 1
    assert events[0]["detail"] == {"n": 2}
    assert events[0]["source"] == source
    assert ISO_Z.match(events[0]["time"])


def test_lambda_target_without_invoker_is_dropped_without_error(aws, unique, make_function):
    set_lambda_invoker(None)
    function_arn = make_function()
    url, queue_arn = make_queue(aws, f"q-{unique}")
    source = f"test.{unique}"
    put_rule(
        aws,
        f"noinv-{unique}",
        {"source": [source]},
        [{"Id": "fn", "Arn": function_arn}, {"Id": "q", "Arn": queue_arn}],
    )

    put_custom_event(aws, source, {"n": 3})

    assert len(receive_all(aws, url)) == 1


def test_input_transformer_is_applied_to_sns_targets(aws, unique):
    topic_arn, url = topic_to_raw_queue(aws, unique)
    source = f"test.{unique}"
    transformer = {
        "InputPathsMap": {"n": "$.detail.n"},
        "InputTemplate": '{"number": <n>}',
    }
    put_rule(
        aws,
        f"xf-{unique}",
        {"source": [source]},
        [{"Id": "topic", "Arn": topic_arn, "InputTransformer": transformer}],
    )

    put_custom_event(aws, source, {"n": 7})

    assert [json.loads(m["Body"]) for m in receive_all(aws, url)] == [{"number": 7}]


# --- 2. one failing target does not block the others -------------------------------------------


def test_failing_targets_do_not_block_the_other_targets(aws, unique, invocations, make_function):
    broken_function = make_function(f"broken-{unique}")
    invocations.fail_for.add(broken_function)
    missing_topic = f"arn:aws:sns:us-east-1:123456789012:missing-{unique}"
    url, queue_arn = make_queue(aws, f"q-{unique}")
    source = f"test.{unique}"
    put_rule(
        aws,
        f"fail-{unique}",
        {"source": [source]},
        [
            {"Id": "missing-topic", "Arn": missing_topic},
            {"Id": "broken-fn", "Arn": broken_function},
            {"Id": "queue", "Arn": queue_arn},
        ],
    )

    put_custom_event(aws, source, {"n": 4})

    bodies = [json.loads(m["Body"]) for m in receive_all(aws, url)]
    assert [b["detail"] for b in bodies] == [{"n": 4}]


# --- 3. disabled rules -------------------------------------------------------------------------


def test_disabled_rules_do_not_deliver(aws, unique):
    url, queue_arn = make_queue(aws, f"q-{unique}")
    source = f"test.{unique}"
    rule = f"off-{unique}"
    put_rule(aws, rule, {"source": [source]}, [{"Id": "q", "Arn": queue_arn}])
    events = aws("events")

    events.disable_rule(Name=rule)
    put_custom_event(aws, source, {"phase": "disabled"})
    assert receive_all(aws, url) == []

    events.enable_rule(Name=rule)
    put_custom_event(aws, source, {"phase": "enabled"})
    assert [json.loads(m["Body"])["detail"] for m in receive_all(aws, url)] == [
        {"phase": "enabled"}
    ]


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


# --- 5. moto does not run event source mappings ------------------------------------------------


def test_moto_does_not_consume_sqs_for_event_source_mappings(
    aws, unique, invocations, make_function
):
    from moto.sqs.models import sqs_backends

    function_arn = make_function()
    url, queue_arn = make_queue(aws, f"esm-{unique}")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=function_arn, BatchSize=5
    )

    aws("sqs").send_message(QueueUrl=url, MessageBody="hello")

    (message,) = receive_all(aws, url)
    assert message["Body"] == "hello"
    # Received once: by us. moto would have received (and failed to invoke) it on send.
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    queue = sqs_backends["123456789012"]["us-east-1"].queues[f"esm-{unique}"]
    assert queue.lambda_event_source_mappings == {}
    assert invocations.calls == []


def test_moto_does_not_push_dynamodb_stream_records(aws, unique, invocations, make_function):
    function_arn = make_function()
    ddb = aws("dynamodb")
    table = f"t-{unique}"
    stream_arn = ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    aws("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function_arn, StartingPosition="TRIM_HORIZON"
    )

    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})

    streams = aws("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]
    assert invocations.calls == []


def test_event_source_mapping_configuration_round_trips(aws, unique, make_function):
    """The runner reads these fields; Terraform sets them (maximum concurrency, partial batches)."""
    function_arn = make_function()
    _, queue_arn = make_queue(aws, f"cfg-{unique}")
    lam = aws("lambda")
    created = lam.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=function_arn,
        BatchSize=7,
        MaximumBatchingWindowInSeconds=2,
        ScalingConfig={"MaximumConcurrency": 3},
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    fetched = lam.get_event_source_mapping(UUID=created["UUID"])
    for mapping in (created, fetched):
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": 3}
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BatchSize"] == 7
        assert mapping["MaximumBatchingWindowInSeconds"] == 2
        assert mapping["State"] == "Enabled"

    listed = lam.list_event_source_mappings(FunctionName=function_arn)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [created["UUID"]]


# --- 6. SNS -> Lambda subscriptions ------------------------------------------------------------


def test_sns_lambda_subscription_hands_an_sns_event_to_the_invoker(
    aws, unique, invocations, make_function
):
    function_arn = make_function()
    sns = aws("sns")
    topic_arn = sns.create_topic(Name=f"t-{unique}")["TopicArn"]
    subscription_arn = sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=function_arn)[
        "SubscriptionArn"
    ]

    message_id = sns.publish(
        TopicArn=topic_arn,
        Message="payload",
        Subject="subj",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
    )["MessageId"]

    (event,) = invocations.for_function(function_arn)
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"] == subscription_arn
    assert record["Sns"]["TopicArn"] == topic_arn
    assert record["Sns"]["MessageId"] == message_id
    assert record["Sns"]["Message"] == "payload"
    assert record["Sns"]["Subject"] == "subj"
    assert record["Sns"]["MessageAttributes"] == {"kind": {"Type": "String", "Value": "test"}}
    assert record["Sns"]["Type"] == "Notification"


def test_apply_is_idempotent():
    from moto.events.models import Rule

    before = Rule.send_to_targets
    moto_patches.apply()
    moto_patches.apply()
    assert Rule.send_to_targets is before


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


def test_sqs_redrive_policies_read_back_as_aws_returns_them(aws, unique):
    sqs = aws("sqs")
    dlq_url, dlq_arn = make_queue(aws, f"dlq-{unique}")
    allow = json.dumps({"redrivePermission": "allowAll"})
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": allow})
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    url = sqs.create_queue(
        QueueName=f"work-{unique}", Attributes={"RedrivePolicy": json.dumps(redrive)}
    )["QueueUrl"]

    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["RedriveAllowPolicy"])
    assert json.loads(dlq_attrs["Attributes"]["RedriveAllowPolicy"]) == {
        "redrivePermission": "allowAll"
    }
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["RedrivePolicy"] == json.dumps(redrive, separators=(",", ":"))


def test_sqs_set_attributes_without_policy_keeps_the_policy(aws, unique):
    sqs = aws("sqs")
    url, arn = make_queue(aws, f"policy-{unique}")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "Principal": "*", "Action": "sqs:*", "Resource": arn}]})  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attrs["Policy"]) == json.loads(policy)
    assert attrs["VisibilityTimeout"] == "45"


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

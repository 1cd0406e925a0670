"""Contract tests for ``moto_patches.event_source_mappings``: moto never runs a mapping itself."""

from __future__ import annotations

import pytest

from tests.integration.local.moto_contract import (
    make_queue,
    receive_all,
)

pytestmark = pytest.mark.integration


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


def test_stream_mapping_configuration_round_trips(aws, unique, make_function):
    """Every setting the stream poller reads, as Terraform's aws_lambda_event_source_mapping sets
    them on a DynamoDB stream, comes back from Get and ListEventSourceMappings."""
    from headwater.local.event_sources.dynamodb_streams import StreamMapping

    function_arn = make_function()
    stream_arn = aws("dynamodb").create_table(
        TableName=f"cfg-{unique}",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    _, queue_arn = make_queue(aws, f"cfg-fail-{unique}")
    lam = aws("lambda")
    created = lam.create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function_arn,
        StartingPosition="LATEST",
        BatchSize=7,
        MaximumBatchingWindowInSeconds=2,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=3,
        MaximumRecordAgeInSeconds=120,
        ParallelizationFactor=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    fetched = lam.get_event_source_mapping(UUID=created["UUID"])
    (listed,) = [
        m
        for m in lam.list_event_source_mappings(FunctionName=function_arn)["EventSourceMappings"]
        if m["UUID"] == created["UUID"]
    ]
    expected = StreamMapping(
        uuid=created["UUID"],
        function_arn=function_arn,
        stream_arn=stream_arn,
        enabled=True,
        starting_position="LATEST",
        batch_size=7,
        batching_window=2.0,
        report_batch_item_failures=True,
        bisect=True,
        maximum_retry_attempts=3,
        maximum_record_age=120,
        on_failure=queue_arn,
        parallelization_factor=1,
    )
    for mapping in (created, fetched, listed):
        assert StreamMapping.from_api(mapping) == expected

"""Contract tests for ``moto_patches.dynamodb_streams`` and the emulator's TTL expiry
(``headwater.local.dynamodb_ttl``): what GetRecords returns after each kind of write."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from headwater.local import dynamodb_ttl
from headwater.local.emulator import Emulator, EmulatorError
from headwater.local.moto_patches import dynamodb_streams as patch
from tests.support.emulator import make_client

pytestmark = pytest.mark.integration


def make_table(ddb, name: str, ttl_attribute: str | None = None) -> str:
    stream_arn = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    if ttl_attribute:
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
        )
    return stream_arn


def stream_records(streams, stream_arn: str) -> list[dict]:
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def test_writes_that_change_nothing_write_no_stream_record(aws, unique):
    ddb, table = aws("dynamodb"), f"same-{unique}"
    stream_arn = make_table(ddb, table)
    item = {"pk": {"S": "a"}, "v": {"N": "1"}, "s": {"S": "x"}}
    ddb.put_item(TableName=table, Item=item)
    ddb.put_item(TableName=table, Item=item)  # the same item again
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "1"}},  # the value it already has
    )
    ddb.put_item(TableName=table, Item={**item, "v": {"N": "2"}})  # a real change
    records = stream_records(aws("dynamodbstreams"), stream_arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    assert records[1]["dynamodb"]["NewImage"]["v"] == {"N": "2"}


def test_update_item_creating_an_item_writes_one_insert(aws, unique):
    ddb, table = aws("dynamodb"), f"upd-{unique}"
    stream_arn = make_table(ddb, table)
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "new"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "5"}},
    )
    (record,) = stream_records(aws("dynamodbstreams"), stream_arn)
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"] == {"pk": {"S": "new"}, "v": {"N": "5"}}


def test_ttl_sweep_deletes_expired_number_attributes_only_with_the_service_identity(aws, unique):
    ddb, table = aws("dynamodb"), f"ttl-{unique}"
    stream_arn = make_table(ddb, table, ttl_attribute="exp")
    now = 2_000_000_000.0
    for pk, exp in (("past", {"N": str(int(now) - 1)}), ("future", {"N": str(int(now) + 1)})):
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "exp": exp})
    ddb.put_item(TableName=table, Item={"pk": {"S": "text"}, "exp": {"S": "1"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "none"}})
    ddb.delete_item(TableName=table, Key={"pk": {"S": "none"}})  # a caller's delete

    # Counts are process-wide (other tests' tables): this table's items and stream say it.
    assert dynamodb_ttl.sweep(now) >= 1
    dynamodb_ttl.sweep(now)  # already gone: no second REMOVE

    left = sorted(i["pk"]["S"] for i in ddb.scan(TableName=table)["Items"])
    assert left == ["future", "text"]
    removes = [
        r for r in stream_records(aws("dynamodbstreams"), stream_arn) if r["eventName"] == "REMOVE"
    ]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in removes] == ["none", "past"]
    assert "userIdentity" not in removes[0]
    assert removes[1]["userIdentity"] == {
        "PrincipalId": "dynamodb.amazonaws.com",
        "Type": "Service",
    }


def test_ttl_expires_items_of_tables_with_a_sort_key(aws, unique):
    ddb, table = aws("dynamodb"), f"ttlsk-{unique}"
    ddb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    # Far in the future: the session emulator's own sweeper (real time) never takes them.
    for sk, exp in (("1", "1999999990"), ("2", "2000000010"), ("3", "1999999990")):
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": sk}, "exp": {"N": exp}})
    assert dynamodb_ttl.sweep(2_000_000_000.0) >= 2
    assert [i["sk"]["S"] for i in ddb.scan(TableName=table)["Items"]] == ["2"]


def test_tables_without_ttl_enabled_never_expire(aws, unique):
    ddb, table = aws("dynamodb"), f"nottl-{unique}"
    make_table(ddb, table)
    ddb.put_item(TableName=table, Item={"pk": {"S": "old"}, "exp": {"N": "1"}})
    ddb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"}
    )
    dynamodb_ttl.sweep(time.time())
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "old"}}).get("Item")


def test_the_sweep_request_refuses_a_body_without_now(emulator):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{emulator.endpoint_url}{dynamodb_ttl.SWEEP_PATH}", data=b"{}", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    assert "now" in json.loads(refused.value.read())["message"]


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf"])
def test_a_bad_sweep_interval_is_a_clear_error(value, monkeypatch):
    monkeypatch.setenv(dynamodb_ttl.INTERVAL_ENV, value)
    with pytest.raises(ValueError, match=dynamodb_ttl.INTERVAL_ENV):
        dynamodb_ttl.interval_from_env()
    with pytest.raises(EmulatorError, match=dynamodb_ttl.INTERVAL_ENV):
        Emulator(port=0).start()


def test_interval_defaults_and_zero_turns_sweeping_off():
    assert dynamodb_ttl.interval_from_env({}) == dynamodb_ttl.DEFAULT_INTERVAL
    assert dynamodb_ttl.interval_from_env({dynamodb_ttl.INTERVAL_ENV: "0"}) == 0
    assert dynamodb_ttl.interval_from_env({dynamodb_ttl.INTERVAL_ENV: "0.5"}) == 0.5


def test_expired_iterators_are_forgotten(aws, unique, monkeypatch):
    ddb, table = aws("dynamodb"), f"iter-{unique}"
    stream_arn = make_table(ddb, table)
    streams = aws("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    old = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert streams.get_records(ShardIterator=old)["Records"] == []
    monkeypatch.setattr(patch, "ITERATOR_LIFETIME_SECONDS", -1)
    streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    assert old not in dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators


def test_a_ttl_deletion_survives_a_restart_of_the_journaled_emulator(tmp_path: Path):
    directory = tmp_path / "emulator"
    emulator = Emulator(port=0, persist_dir=directory, ttl_sweep_interval=0.1)
    emulator.start()
    try:
        ddb = make_client("dynamodb", emulator.endpoint_url)
        stream_arn = make_table(ddb, "facts", ttl_attribute="exp")
        ddb.put_item(TableName="facts", Item={"pk": {"S": "gone"}, "exp": {"N": "1"}})
        ddb.put_item(TableName="facts", Item={"pk": {"S": "kept"}})
        deadline = time.monotonic() + 10
        while emulator.ttl_sweeper.deleted == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emulator.ttl_sweeper.deleted == 1
        before = stream_records(make_client("dynamodbstreams", emulator.endpoint_url), stream_arn)
    finally:
        emulator.stop()
    # Restarted with no sweeper: only the journal can delete the item again.
    restarted = Emulator(port=0, persist_dir=directory, ttl_sweep_interval=0)
    restarted.start()
    try:
        ddb = make_client("dynamodb", restarted.endpoint_url)
        assert [i["pk"]["S"] for i in ddb.scan(TableName="facts")["Items"]] == ["kept"]
        after = stream_records(make_client("dynamodbstreams", restarted.endpoint_url), stream_arn)
        assert after == before
        assert after[-1]["eventName"] == "REMOVE"
        assert after[-1]["userIdentity"]["PrincipalId"] == "dynamodb.amazonaws.com"
    finally:
        restarted.stop()

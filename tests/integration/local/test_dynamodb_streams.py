"""DynamoDB stream mappings served by the runner, one contract test per Lambda semantic.

A patched emulator (its TTL sweeper every 0.2 s) in this process, tables with streams created
through boto3, the runner polling them, and a fixture handler (``hw_runner_fixtures.handlers.
stream``) that records every batch into RECORD_DIR and fails as each item's ``action`` asks.
Semantics and their sources: ``headwater.local.event_sources.dynamodb_streams``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from headwater.local.emulator import Emulator
from headwater.local.lambda_service.runner import Runner
from tests.support import paths
from tests.support.emulator import code_zip, lambda_role

pytestmark = pytest.mark.integration

FIXTURES = paths.FIXTURES / "local"
REGION = "us-east-1"
LAMBDA_RECORD_KEYS = {
    "eventID",
    "eventName",
    "eventVersion",
    "eventSource",
    "awsRegion",
    "dynamodb",
    "eventSourceARN",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator(port=0, ttl_sweep_interval=0.2)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def endpoint(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    # A clean emulator per test: a runner discovers everything, including other tests' leftovers.
    request = urllib.request.Request(f"{emulator.endpoint_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    monkeypatch.syspath_prepend(str(FIXTURES))  # workers inherit the import path
    return emulator.endpoint_url


@pytest.fixture
def aws(endpoint: str) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    return lambda service: session.client(service, endpoint_url=endpoint)


@pytest.fixture
def runner(endpoint: str) -> Iterator[Runner]:
    runner = Runner(endpoint, REGION, refresh_interval=0.3)
    runner.start()
    yield runner
    runner.stop()


@pytest.fixture
def record_dir(tmp_path: Path) -> Path:
    return tmp_path / "records"


@pytest.fixture
def function(aws, record_dir) -> Callable[..., str]:
    def create(
        name: str = "consumer",
        statements: list[dict] | None = None,
        record_dir: Path = record_dir,
    ) -> str:
        role = lambda_role(aws("iam"), f"{name}-role", statements)
        return aws("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="hw_runner_fixtures.handlers.stream",
            Timeout=5,
            MemorySize=256,
            Environment={"Variables": {"RECORD_DIR": str(record_dir)}},
            Code={"ZipFile": code_zip()},
        )["FunctionArn"]

    return create


def make_table(ddb, name: str = "facts", ttl_attribute: str | None = None) -> str:
    created = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    if ttl_attribute:
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
        )
    return created["TableDescription"]["LatestStreamArn"]


def put(ddb, pk: str, action: str = "", table: str = "facts", **numbers: float) -> None:
    item = {"pk": {"S": pk}, "action": {"S": action}}
    item.update({k: {"N": str(v)} for k, v in numbers.items()})
    ddb.put_item(TableName=table, Item=item)


def make_queue(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def map_stream(aws, runner: Runner, function_arn: str, stream_arn: str, **settings: Any) -> str:
    """Create the mapping and wait until its poller holds an iterator on the shard."""
    settings.setdefault("StartingPosition", "TRIM_HORIZON")
    uuid = aws("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function_arn, **settings
    )["UUID"]
    wait_for(
        lambda: (
            uuid in runner.event_sources()
            and runner.event_sources()[uuid].describe()["checkpoints"]
        ),
        10,
        "the mapping's poller to hold a shard iterator",
    )
    return uuid


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def batches(directory: Path) -> list[list[dict]]:
    files = sorted(directory.glob("batch-*.json"))
    return [json.loads(p.read_text())["event"]["Records"] for p in files]


def keys(batch: list[dict]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in batch]


def delivered(directory: Path) -> list[str]:
    return [k for batch in batches(directory) for k in keys(batch)]


def received(sqs, url: str, count: int, timeout: float = 10) -> list[dict]:
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages.extend(json.loads(m["Body"]) for m in got.get("Messages") or [])
    return messages


# --- record shape ------------------------------------------------------------------------------


def test_records_arrive_in_lambdas_exact_shape(aws, runner, function, record_dir):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    map_stream(aws, runner, function(), stream_arn, BatchSize=10, MaximumBatchingWindowInSeconds=1)
    before = time.time()
    put(ddb, "a", value=1)
    ddb.update_item(
        TableName="facts",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET #v = :v",
        ExpressionAttributeNames={"#v": "value"},
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    ddb.delete_item(TableName="facts", Key={"pk": {"S": "a"}})
    wait_for(lambda: len(delivered(record_dir)) == 3, 10, "the three records")
    records = [r for batch in batches(record_dir) for r in batch]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for record in records:
        assert set(record) == LAMBDA_RECORD_KEYS  # no userIdentity on a delete by a caller
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"] == stream_arn
        assert record["awsRegion"] == REGION
        stream = record["dynamodb"]
        created = stream["ApproximateCreationDateTime"]
        assert isinstance(created, float) and created == int(created)  # epoch seconds
        assert before - 2 <= created <= time.time()
        assert stream["Keys"] == {"pk": {"S": "a"}}
        assert stream["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(stream["SequenceNumber"], str) and isinstance(stream["SizeBytes"], int)
    insert, modify, remove = (r["dynamodb"] for r in records)
    assert "OldImage" not in insert and insert["NewImage"]["value"] == {"N": "1"}
    assert modify["OldImage"]["value"] == {"N": "1"} and modify["NewImage"]["value"] == {"N": "2"}
    assert "NewImage" not in remove and remove["OldImage"]["value"] == {"N": "2"}
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence) and len(set(sequence)) == 3


# --- starting position, batch size, window -------------------------------------------------------


def test_trim_horizon_reads_from_the_oldest_record_and_latest_from_the_mapping_on(
    aws, runner, function, tmp_path
):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    put(ddb, "old-1")
    put(ddb, "old-2")
    oldest, newest = tmp_path / "oldest", tmp_path / "newest"
    map_stream(aws, runner, function("oldest", record_dir=oldest), stream_arn)
    map_stream(
        aws, runner, function("newest", record_dir=newest), stream_arn, StartingPosition="LATEST"
    )
    put(ddb, "new-1")
    wait_for(lambda: delivered(newest) == ["new-1"], 10, "new-1 at the LATEST mapping")
    wait_for(lambda: delivered(oldest)[-1:] == ["new-1"], 10, "new-1 at the TRIM_HORIZON one")
    assert delivered(oldest) == ["old-1", "old-2", "new-1"]
    assert delivered(newest) == ["new-1"]


def test_batch_size_caps_each_invocation(aws, runner, function, record_dir):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    for n in range(7):
        put(ddb, f"k{n}")
    map_stream(aws, runner, function(), stream_arn, BatchSize=3)
    wait_for(lambda: len(delivered(record_dir)) == 7, 10, "7 records")
    assert [keys(b) for b in batches(record_dir)] == [
        ["k0", "k1", "k2"],
        ["k3", "k4", "k5"],
        ["k6"],
    ]


def test_batching_window_gathers_records_written_apart_into_one_invocation(
    aws, runner, function, record_dir
):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    map_stream(aws, runner, function(), stream_arn, BatchSize=100, MaximumBatchingWindowInSeconds=3)
    for n in range(3):
        put(ddb, f"w{n}")
        time.sleep(0.4)  # longer than a poll (0.25 s): without the window, several batches
    wait_for(lambda: len(delivered(record_dir)) == 3, 10, "3 records")
    assert [keys(b) for b in batches(record_dir)] == [["w0", "w1", "w2"]]


# --- partial failures, bisect, retries, on-failure destination ------------------------------------


def test_partial_failure_resumes_at_the_reported_sequence_number(aws, runner, function, record_dir):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    for pk, action in (("a", ""), ("b", "fail-once"), ("c", ""), ("d", "")):
        put(ddb, pk, action)
    map_stream(
        aws,
        runner,
        function(),
        stream_arn,
        BatchSize=4,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    wait_for(lambda: len(batches(record_dir)) == 2, 10, "the retry after the partial failure")
    time.sleep(0.6)  # nothing else may follow
    assert [keys(b) for b in batches(record_dir)] == [["a", "b", "c", "d"], ["b", "c", "d"]]


def test_an_unknown_identifier_fails_the_whole_batch(aws, runner, function, record_dir):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    sqs = aws("sqs")
    url, queue_arn = make_queue(sqs, "failures")
    fn = function(statements=[{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}])
    put(ddb, "a")
    put(ddb, "b", "bad-response")
    map_stream(
        aws,
        runner,
        fn,
        stream_arn,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    (failure,) = received(sqs, url, 1)
    assert [keys(b) for b in batches(record_dir)] == [["a", "b"], ["a", "b"]]
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert "functionError" not in failure["responseContext"]  # answered, not raised


def test_bisect_halves_a_failing_batch_until_the_bad_record_is_alone(
    aws, runner, function, record_dir
):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    sqs = aws("sqs")
    url, queue_arn = make_queue(sqs, "failures")
    fn = function(
        statements=[{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}]
    )
    for pk, action in (("a", ""), ("b", ""), ("c", "poison"), ("d", "")):
        put(ddb, pk, action)
    map_stream(
        aws,
        runner,
        fn,
        stream_arn,
        BatchSize=4,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    (failure,) = received(sqs, url, 1)
    wait_for(lambda: "d" in delivered(record_dir)[-1:], 10, "d after the bad record")
    assert [keys(b) for b in batches(record_dir)] == [
        ["a", "b", "c", "d"],
        ["a", "b"],
        ["c", "d"],
        ["c"],
        ["d"],
    ]
    info = failure["DDBStreamBatchInfo"]
    c_sequence = batches(record_dir)[3][0]["dynamodb"]["SequenceNumber"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == c_sequence
    assert info["batchSize"] == 1


def test_retries_are_bounded_then_the_on_failure_destination_gets_lambdas_record(
    aws, runner, function, record_dir
):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    sqs = aws("sqs")
    url, queue_arn = make_queue(sqs, "failures")
    fn = function(
        statements=[{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}]
    )
    put(ddb, "p", "poison")
    put(ddb, "q", "poison")
    started = time.time()
    uuid = map_stream(
        aws,
        runner,
        fn,
        stream_arn,
        BatchSize=10,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    (failure,) = received(sqs, url, 1)
    put(ddb, "after")  # the shard moves on past what was given up
    wait_for(lambda: delivered(record_dir)[-1:] == ["after"], 10, "the next record")
    assert [keys(b) for b in batches(record_dir)] == [["p", "q"]] * 3 + [["after"]]
    first, second = batches(record_dir)[0]
    assert set(failure) == {
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "DDBStreamBatchInfo",
    }
    context = failure["requestContext"]
    assert set(context) == {"requestId", "functionArn", "condition", "approximateInvokeCount"}
    assert context["functionArn"] == fn
    assert context["condition"] == "RetryAttemptsExhausted"
    assert context["approximateInvokeCount"] == 3
    assert failure["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert failure["version"] == "1.0"
    assert failure["timestamp"].endswith("Z") and failure["timestamp"] >= time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime(started - 1)
    )
    info = failure["DDBStreamBatchInfo"]
    assert set(info) == {
        "shardId",
        "startSequenceNumber",
        "endSequenceNumber",
        "approximateArrivalOfFirstRecord",
        "approximateArrivalOfLastRecord",
        "batchSize",
        "streamArn",
    }
    assert info["startSequenceNumber"] == first["dynamodb"]["SequenceNumber"]
    assert info["endSequenceNumber"] == second["dynamodb"]["SequenceNumber"]
    assert info["batchSize"] == 2 and info["streamArn"] == stream_arn
    assert info["shardId"] in runner.event_sources()[uuid].describe()["checkpoints"]
    assert info["approximateArrivalOfFirstRecord"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(first["dynamodb"]["ApproximateCreationDateTime"])
    )


def test_the_on_failure_record_needs_the_functions_role_to_allow_sending(
    aws, runner, function, record_dir
):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    sqs = aws("sqs")
    url, queue_arn = make_queue(sqs, "failures")
    put(ddb, "p", "poison")
    uuid = map_stream(
        aws,
        runner,
        function(),  # a role with no policy at all
        stream_arn,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    source = runner.event_sources()[uuid]
    wait_for(lambda: source.last_error, 10, "the denial")
    assert "sqs:SendMessage" in source.last_error and queue_arn in source.last_error
    assert received(sqs, url, 1, timeout=1) == []
    assert source.failures_sent == 0


def test_an_encrypted_failure_queue_needs_the_roles_grant_on_its_key(
    aws, runner, function, record_dir
):
    # SQS uses the queue's key with the sender's permissions (SQS developer guide, key
    # management): a role that may send but not use the key gets its record dropped.
    key_arn = aws("kms").create_key()["KeyMetadata"]["Arn"]
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="sealed", Attributes={"KmsMasterKeyId": key_arn})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    put(ddb, "p", "poison")
    uuid = map_stream(
        aws,
        runner,
        function(
            statements=[{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}]
        ),
        stream_arn,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    source = runner.event_sources()[uuid]
    wait_for(lambda: source.last_error, 10, "the denial")
    assert "kms:GenerateDataKey" in source.last_error and key_arn in source.last_error
    assert received(sqs, url, 1, timeout=1) == []
    assert source.failures_sent == 0


def test_records_older_than_the_maximum_age_are_given_up_without_invoking(
    aws, runner, function, record_dir
):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    sqs = aws("sqs")
    url, queue_arn = make_queue(sqs, "failures")
    fn = function(
        statements=[{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}]
    )
    put(ddb, "stale")
    # Creation times are whole seconds, rounded down: 4.2 s later it is older than 3 s for sure,
    # and a fresh record (at most 1 s + a poll "old") is not.
    time.sleep(4.2)
    map_stream(
        aws,
        runner,
        fn,
        stream_arn,
        MaximumRecordAgeInSeconds=3,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    (failure,) = received(sqs, url, 1)
    put(ddb, "fresh")
    wait_for(lambda: delivered(record_dir) == ["fresh"], 10, "the fresh record alone")
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in failure  # given up before any invocation
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1


# --- what the emulator writes to the stream -------------------------------------------------------


def test_ttl_expiry_removes_the_item_with_the_service_user_identity(
    aws, runner, function, record_dir
):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb, ttl_attribute="expires_at")
    map_stream(aws, runner, function(), stream_arn)
    now = time.time()
    put(ddb, "expired", expires_at=int(now) - 10)
    put(ddb, "alive", expires_at=int(now) + 3600)
    put(ddb, "no-ttl")
    ddb.put_item(TableName="facts", Item={"pk": {"S": "text-ttl"}, "expires_at": {"S": "1"}})
    wait_for(lambda: "REMOVE" in [r["eventName"] for b in batches(record_dir) for r in b], 10, "")
    time.sleep(0.6)  # three more sweeps: nothing else expires
    records = [r for b in batches(record_dir) for r in b]
    removes = [r for r in records if r["eventName"] == "REMOVE"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in removes] == ["expired"]
    assert removes[0]["userIdentity"] == {
        "type": "Service",
        "principalId": "dynamodb.amazonaws.com",
    }
    assert all("userIdentity" not in r for r in records if r["eventName"] != "REMOVE")
    left = sorted(i["pk"]["S"] for i in ddb.scan(TableName="facts")["Items"])
    assert left == ["alive", "no-ttl", "text-ttl"]


def test_parallelization_factor_above_one_is_served_as_one_and_says_so(aws, runner, function):
    stream_arn = make_table(aws("dynamodb"))
    uuid = map_stream(aws, runner, function(), stream_arn, ParallelizationFactor=4)
    described = runner.event_sources()[uuid].describe()
    assert described["concurrency"] == 1
    assert "ParallelizationFactor 4 is served as 1" in described["note"]
    (status,) = [m for m in runner.mappings_status() if m["uuid"] == uuid]
    assert status["status"] == "polling"


def test_an_sns_on_failure_destination_gets_the_record_published(aws, runner, function, record_dir):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    sqs, sns = aws("sqs"), aws("sns")
    url, queue_arn = make_queue(sqs, "from-topic")
    topic_arn = sns.create_topic(Name="stream-failures")["TopicArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    fn = function(statements=[{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn}])
    put(ddb, "p", "poison")
    map_stream(
        aws,
        runner,
        fn,
        stream_arn,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": topic_arn}},
    )
    (failure,) = received(sqs, url, 1)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["DDBStreamBatchInfo"]["streamArn"] == stream_arn


def test_a_restarted_runner_resumes_where_each_shard_stood(
    aws, endpoint, function, record_dir, tmp_path
):
    ddb = aws("dynamodb")
    stream_arn = make_table(ddb)
    fn = function()
    put(ddb, "a")
    put(ddb, "b")
    checkpoints = tmp_path / "stream_checkpoints.json"
    first = Runner(endpoint, REGION, refresh_interval=0.3, stream_checkpoints=checkpoints)
    first.start()
    try:
        map_stream(aws, first, fn, stream_arn)
        wait_for(lambda: delivered(record_dir) == ["a", "b"], 10, "a and b")
    finally:
        first.stop()
    put(ddb, "c")  # while no runner runs
    second = Runner(endpoint, REGION, refresh_interval=0.3, stream_checkpoints=checkpoints)
    second.start()
    try:
        wait_for(lambda: delivered(record_dir)[-1:] == ["c"], 10, "c after the restart")
        time.sleep(0.6)
    finally:
        second.stop()
    assert delivered(record_dir) == ["a", "b", "c"]  # nothing read again from TRIM_HORIZON
    (position,) = json.loads(checkpoints.read_text()).values()
    assert position == batches(record_dir)[-1][-1]["dynamodb"]["SequenceNumber"]

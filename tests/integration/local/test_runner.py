"""The runner against a real moto server: workers, timeouts, crashes, SQS event source mappings.

Functions are created in moto with a throwaway zip; the runner imports their handlers from
tests/fixtures/local (put on sys.path here), which record what they receive into RECORD_DIR.
Every wait has an explicit deadline; every runner is stopped by its fixture.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from headwater.local import moto_patches
from headwater.local.event_sources.registry import NOT_SERVED
from headwater.local.event_sources.status import read_mappings, status_lines
from headwater.local.lambda_service.runner import FunctionNotFound, Runner
from tests.support import paths
from tests.support.emulator import code_zip, free_port, lambda_role

pytestmark = pytest.mark.integration

FIXTURES = paths.FIXTURES / "local"
HANDLERS = "hw_runner_fixtures.handlers"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    moto_patches.apply()  # moto must not run event source mappings itself
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def endpoint(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    # A clean emulator per test: a runner discovers everything, including other tests' leftovers.
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    monkeypatch.syspath_prepend(str(FIXTURES))  # workers inherit the import path
    return moto_endpoint


@pytest.fixture
def aws(endpoint: str) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    return lambda service: session.client(service, endpoint_url=endpoint)


@pytest.fixture
def make_runner(endpoint: str) -> Iterator[Callable[..., Runner]]:
    runners: list[Runner] = []

    def make(**options: Any) -> Runner:
        runner = Runner(
            endpoint, REGION, refresh_interval=0.5, async_retry_delays=(0.2, 0.2), **options
        )
        runners.append(runner)
        runner.start()
        return runner

    yield make
    for runner in runners:
        runner.stop()


@pytest.fixture
def create_function(aws) -> Callable[..., str]:
    def create(name: str, handler: str, *, timeout: int = 3, env: dict | None = None) -> str:
        role = lambda_role(aws("iam"), "runner-test")
        return aws("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=f"{HANDLERS}.{handler}",
            Timeout=timeout,
            MemorySize=256,
            Environment={"Variables": env or {}},
            Code={"ZipFile": code_zip()},
        )["FunctionArn"]

    return create


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def recorded(directory: Path, kind: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob(f"{kind}-*.json"))]


def batches(directory: Path) -> list[list[dict]]:
    return [b["event"]["Records"] for b in recorded(directory, "batch")]


def all_records(directory: Path) -> list[dict]:
    return [record for batch in batches(directory) for record in batch]


def queue_depth(sqs, url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def make_queue(sqs, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


# --- synchronous invocation and workers ------------------------------------------------------


def test_worker_gets_function_environment_and_lambda_context(
    aws, create_function, make_runner, endpoint, monkeypatch
):
    monkeypatch.setenv("HW_PARENT_SECRET", "do-not-leak-7f3a")
    arn = create_function("echo", "echo", timeout=7, env={"GREETING": "hello"})
    runner = make_runner()

    cold = runner.invoke("echo", {"n": 1})
    warm = runner.invoke(arn, {"n": 2})  # by ARN too

    assert cold.ok, cold.payload
    assert cold.cold_start and not warm.cold_start
    assert warm.payload["pid"] == cold.payload["pid"]  # imported once, reused
    assert warm.payload["event"] == {"n": 2}
    env = cold.payload["environ"]
    assert env["GREETING"] == "hello"
    assert env["AWS_ENDPOINT_URL"] == endpoint
    assert env["AWS_ACCESS_KEY_ID"] == "test" and env["AWS_SECRET_ACCESS_KEY"] == "test"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "echo"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "7"
    assert "HW_PARENT_SECRET" not in env
    assert "do-not-leak-7f3a" not in cold.payload["initial_environ"]  # not even at exec time
    context = cold.payload["context"]
    assert context["function_name"] == "echo"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == arn
    assert context["memory_limit_in_mb"] == "256"
    assert context["aws_request_id"] == cold.request_id
    assert context["log_group_name"] == "/aws/lambda/echo"
    assert (
        context["log_stream_name"].endswith("]" + context["log_stream_name"].split("]")[-1])
        and "[$LATEST]" in context["log_stream_name"]
    )
    assert 5000 < context["remaining_ms"] <= 7000


def test_handler_exception_comes_back_in_lambda_error_shape(create_function, make_runner):
    create_function("failing", "fail")
    result = make_runner().invoke("failing", {"why": "bad input"})

    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "ValueError"
    assert result.payload["errorMessage"] == "boom: bad input"
    trace = "".join(result.payload["stackTrace"])
    assert "handlers.py" in trace and "worker_main" not in trace


def test_timeout_kills_the_worker_and_the_next_invocation_gets_a_new_one(
    create_function, make_runner
):
    create_function("slow", "sleepy", timeout=1)
    runner = make_runner()
    first = runner.invoke("slow", {"seconds": 0})
    old_pid = first.payload["pid"]

    started = time.monotonic()
    timed_out = runner.invoke("slow", {"seconds": 30})
    elapsed = time.monotonic() - started

    assert timed_out.function_error == "Unhandled"
    assert timed_out.payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out.payload["errorMessage"]
    assert elapsed < 5
    with pytest.raises(ProcessLookupError):
        os.kill(old_pid, 0)
    after = runner.invoke("slow", {"seconds": 0})
    assert after.ok and after.cold_start and after.payload["pid"] != old_pid


def test_crash_is_reported_and_the_worker_restarted(create_function, make_runner):
    create_function("crashy", "crash")
    create_function("echo", "echo")
    runner = make_runner()

    result = runner.invoke("crashy", {"status": 3})
    assert result.payload["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in result.payload["errorMessage"]
    again = runner.invoke("crashy", {"status": 4})
    assert "exit status 4" in again.payload["errorMessage"]  # a fresh worker ran it
    assert runner.invoke("echo", {}).ok  # other functions are unaffected


def test_import_error_and_unknown_function(create_function, make_runner):
    create_function("broken", "does_not_exist")
    runner = make_runner()
    result = runner.invoke("broken", {})
    assert result.payload["errorType"] == "Runtime.HandlerNotFound"
    with pytest.raises(FunctionNotFound):
        runner.invoke("no-such-function", {})


def test_changed_function_configuration_reaches_new_workers(aws, create_function, make_runner):
    create_function("echo", "echo", env={"VERSION": "1"})
    runner = make_runner()
    assert runner.invoke("echo", {}).payload["environ"]["VERSION"] == "1"

    aws("lambda").update_function_configuration(
        FunctionName="echo", Environment={"Variables": {"VERSION": "2"}}
    )
    wait_for(
        lambda: runner.invoke("echo", {}).payload["environ"]["VERSION"] == "2",
        10,
        "the new environment",
    )


def test_redeployed_code_runs_in_a_new_worker(aws, create_function, make_runner):
    create_function("echo", "echo")
    runner = make_runner()
    old_pid = runner.invoke("echo", {}).payload["pid"]
    assert runner.invoke("echo", {}).payload["pid"] == old_pid  # warm: same worker

    new_code = code_zip({"placeholder.py": "VERSION = 2\n"})  # other bytes: a new CodeSha256
    aws("lambda").update_function_code(FunctionName="echo", ZipFile=new_code)

    # Nothing else changed (handler, environment, timeout): only the code identifies the deploy.
    result = wait_for(
        lambda: (r := runner.invoke("echo", {})).payload["pid"] != old_pid and r,
        10,
        "an invocation in a new worker",
    )
    assert result.ok and result.cold_start
    wait_for(lambda: _proc_state(old_pid) is None, 5, "the old worker to stop")


SLOW_EXIT_HANDLERS = """
import atexit
import os
import pathlib
import time


def _slow_exit():
    # Slow to shut down, like a handler flushing telemetry at exit: stopping takes ~1 s.
    pathlib.Path(os.environ["RECORD_DIR"], "exiting").touch()
    time.sleep(0.9)


atexit.register(_slow_exit)


def handler(event, context):
    return {"pid": os.getpid()}
"""


def test_retiring_a_slow_pool_does_not_stall_other_functions(
    aws, create_function, endpoint, tmp_path, monkeypatch
):
    modules, records = tmp_path / "modules", tmp_path / "records"
    modules.mkdir()
    records.mkdir()
    (modules / "hw_slow_exit.py").write_text(SLOW_EXIT_HANDLERS)
    monkeypatch.syspath_prepend(str(modules))
    create_function("echo", "echo")
    role = aws("lambda").get_function(FunctionName="echo")["Configuration"]["Role"]
    aws("lambda").create_function(
        FunctionName="slow-exit",
        Runtime="python3.12",
        Role=role,
        Handler="hw_slow_exit.handler",
        Environment={"Variables": {"RECORD_DIR": str(records)}},
        Code={"ZipFile": code_zip()},
    )
    # No periodic refresh: this test drives refresh() itself, so it knows when it runs.
    runner = Runner(endpoint, REGION, refresh_interval=3600)
    runner.start()
    try:
        slow_pid = runner.invoke("slow-exit", {}).payload["pid"]
        assert runner.invoke("echo", {}).ok  # both warm now
        aws("lambda").update_function_configuration(
            FunctionName="slow-exit",
            Environment={"Variables": {"RECORD_DIR": str(records), "CHANGED": "1"}},
        )

        refresher = threading.Thread(target=runner.refresh)
        refresher.start()
        # Wait until the refresh is shutting the old worker down (it is in its atexit sleep).
        wait_for(lambda: (records / "exiting").exists(), 5, "the old worker to start exiting")
        started = time.monotonic()
        assert runner.invoke("echo", {}).ok
        waited = time.monotonic() - started
        refresher.join(timeout=10)
        assert waited < 0.4, f"invoke waited {waited:.2f}s behind a pool being closed"
        assert runner.invoke("slow-exit", {}).payload["pid"] != slow_pid
    finally:
        runner.stop()


def _proc_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def test_async_invocation_is_retried_twice(create_function, make_runner, tmp_path):
    create_function("flaky", "flaky", env={"RECORD_DIR": str(tmp_path)})
    runner = make_runner()
    runner.invoke_async("flaky", {"succeed_on": 99})
    wait_for(lambda: len(recorded(tmp_path, "call")) >= 3, 15, "three attempts")
    time.sleep(1.0)  # retry delays are 0.2 s: a fourth attempt would have happened by now
    assert len(recorded(tmp_path, "call")) == 3


def test_async_invocation_succeeding_on_retry_stops_retrying(
    create_function, make_runner, tmp_path
):
    create_function("flaky", "flaky", env={"RECORD_DIR": str(tmp_path)})
    runner = make_runner()
    runner.invoke_async("flaky", {"succeed_on": 2})
    wait_for(lambda: len(recorded(tmp_path, "call")) >= 2, 15, "two attempts")
    time.sleep(1.0)
    assert len(recorded(tmp_path, "call")) == 2


# --- SQS event source mappings ----------------------------------------------------------------


@pytest.fixture
def sqs_function(create_function, tmp_path) -> str:
    return create_function("consumer", "sqs", timeout=5, env={"RECORD_DIR": str(tmp_path)})


def test_sqs_mapping_delivers_batches_in_aws_shape(aws, sqs_function, make_runner, tmp_path):
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "orders")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="consumer", BatchSize=10
    )
    sqs.send_message(
        QueueUrl=url,
        MessageBody="with attributes",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01raw"},
        },
    )
    sqs.send_message(QueueUrl=url, MessageBody="plain")
    make_runner()

    records = wait_for(
        lambda: all_records(tmp_path) if len(all_records(tmp_path)) >= 2 else None,
        15,
        "both records",
    )
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), 10, "the batch to be deleted")

    assert sorted(r["body"] for r in records) == ["plain", "with attributes"]
    base_keys = {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    for record in records:
        assert base_keys <= set(record) <= base_keys | {"md5OfMessageAttributes"}
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == arn
        assert record["awsRegion"] == REGION
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert set(record["attributes"]) == {
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
        }
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
    with_attributes = next(r for r in records if r["body"] == "with attributes")
    assert with_attributes["messageAttributes"] == {
        "kind": {
            "stringValue": "order",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\x01raw").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert "md5OfMessageAttributes" in with_attributes
    plain = next(r for r in records if r["body"] == "plain")
    assert plain["messageAttributes"] == {}


def test_report_batch_item_failures_leaves_exactly_the_failed_messages(
    aws, sqs_function, make_runner, tmp_path
):
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "partial", VisibilityTimeout="1")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="consumer",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    for body in ("ok-1", "fail-1", "ok-2", "fail-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    make_runner()

    def redelivered() -> set[str]:
        return {
            r["body"]
            for r in all_records(tmp_path)
            if r["attributes"]["ApproximateReceiveCount"] != "1"
        }

    wait_for(lambda: redelivered() == {"fail-1", "fail-2"}, 20, "the failed ones to come back")
    first_time = [
        r["body"]
        for r in all_records(tmp_path)
        if r["attributes"]["ApproximateReceiveCount"] == "1"
    ]
    assert sorted(first_time) == ["fail-1", "fail-2", "ok-1", "ok-2"]
    assert redelivered() == {"fail-1", "fail-2"}  # the successes were deleted


def test_invalid_partial_batch_response_fails_the_whole_batch(
    aws, sqs_function, make_runner, tmp_path
):
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "invalid", VisibilityTimeout="1")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="consumer",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "1", "MessageBody": "ok"}, {"Id": "2", "MessageBody": "bad-response"}],
    )
    make_runner()

    def redelivered() -> set[str]:
        return {
            r["body"]
            for r in all_records(tmp_path)
            if r["attributes"]["ApproximateReceiveCount"] != "1"
        }

    wait_for(lambda: redelivered() == {"ok", "bad-response"}, 20, "both to come back")


def test_poison_message_reaches_the_dlq_after_max_receive_count(
    aws, sqs_function, make_runner, tmp_path
):
    sqs = aws("sqs")
    dlq_url, dlq_arn = make_queue(sqs, "poison-dlq")
    url, arn = make_queue(
        sqs,
        "poison",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
    )
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="consumer", BatchSize=1
    )
    sqs.send_message(QueueUrl=url, MessageBody="poison pill")
    make_runner()

    wait_for(lambda: queue_depth(sqs, dlq_url)[0] == 1, 20, "the message in the DLQ")
    moved = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in moved] == ["poison pill"]
    attempts = [r["attributes"]["ApproximateReceiveCount"] for r in all_records(tmp_path)]
    assert attempts == ["1", "2"]  # invoked maxReceiveCount times, then redriven
    assert queue_depth(sqs, url) == (0, 0)


def test_batching_window_gathers_messages_into_one_invocation(
    aws, sqs_function, make_runner, tmp_path
):
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "windowed")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="consumer",
        BatchSize=10,
        MaximumBatchingWindowInSeconds=4,
    )
    runner = make_runner()
    wait_for(lambda: runner.event_sources(), 10, "the poller")
    time.sleep(0.5)  # the poller is inside a receive when the first message arrives
    for n in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
        time.sleep(0.3)

    wait_for(lambda: batches(tmp_path), 15, "a batch")
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), 10, "the batch to be deleted")
    assert [sorted(r["body"] for r in b) for b in batches(tmp_path)] == [["m0", "m1", "m2", "m3"]]


def test_batch_size_caps_each_invocation(aws, sqs_function, make_runner, tmp_path):
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "capped")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="consumer",
        BatchSize=2,
        MaximumBatchingWindowInSeconds=3,
    )
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(5)]
    )
    make_runner()

    # Two full batches close at once; the fifth message waits for its window.
    wait_for(lambda: len(batches(tmp_path)) >= 3, 20, "three batches")
    assert sorted(len(b) for b in batches(tmp_path)) == [1, 2, 2]


def test_disabled_mapping_does_not_poll_until_enabled(aws, sqs_function, make_runner, tmp_path):
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "dormant")
    uuid = aws("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="consumer", Enabled=False
    )["UUID"]
    sqs.send_message(QueueUrl=url, MessageBody="waiting")
    runner = make_runner()

    time.sleep(2.5)  # five refresh intervals
    assert runner.event_sources() == {}
    assert batches(tmp_path) == []
    assert queue_depth(sqs, url) == (1, 0)  # never received

    aws("lambda").update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(lambda: batches(tmp_path), 15, "the batch after enabling")
    assert [r["body"] for r in batches(tmp_path)[0]] == ["waiting"]


def test_mapping_created_after_start_is_discovered(aws, sqs_function, make_runner, tmp_path):
    runner = make_runner()
    assert runner.event_sources() == {}
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "late")
    aws("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer")
    sqs.send_message(QueueUrl=url, MessageBody="late arrival")

    wait_for(lambda: batches(tmp_path), 15, "the batch")
    assert [r["body"] for r in batches(tmp_path)[0]] == ["late arrival"]
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), 10, "the batch to be deleted")


def test_deleted_mapping_stops_its_poller(aws, sqs_function, make_runner):
    sqs = aws("sqs")
    _, arn = make_queue(sqs, "short-lived")
    uuid = aws("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer")[
        "UUID"
    ]
    runner = make_runner()
    poller = runner.event_sources()[uuid]
    aws("lambda").delete_event_source_mapping(UUID=uuid)
    wait_for(
        lambda: uuid not in runner.event_sources() and not poller.running, 10, "the poller to stop"
    )


def test_kinesis_stream_mapping_is_reported_unsupported_not_ignored(
    aws, sqs_function, make_runner, tmp_path, caplog
):
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    stream_uuid = aws("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName="consumer", StartingPosition="TRIM_HORIZON"
    )["UUID"]
    _, queue_arn = make_queue(aws("sqs"), "beside-the-stream")
    queue_uuid = aws("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName="consumer"
    )["UUID"]
    state_dir = tmp_path / "state"

    with caplog.at_level(logging.WARNING, logger="headwater.local.lambda_service.runner"):
        runner = make_runner(state_dir=state_dir)
        time.sleep(1.6)  # three more refreshes: the reason is logged once, not per refresh

    published = {m["uuid"]: m for m in read_mappings(state_dir)}
    reason = NOT_SERVED["kinesis"]
    assert published[stream_uuid] == {
        "uuid": stream_uuid,
        "function": "consumer",
        "source_arn": stream_arn,
        "status": "unsupported",
        "reason": reason,
    }
    assert published[queue_uuid]["status"] == "polling"
    assert set(runner.event_sources()) == {queue_uuid}
    logged = [r.getMessage() for r in caplog.records if stream_uuid in r.getMessage()]
    assert len(logged) == 1 and reason in logged[0]
    lines = status_lines(read_mappings(state_dir))
    assert f"mapping:  {stream_arn} -> consumer ({stream_uuid}): unsupported: {reason}" in lines

    runner.stop()
    assert read_mappings(state_dir) == []  # a stopped runner serves nothing


def test_dynamodb_stream_mapping_is_polled_and_published(aws, sqs_function, make_runner, tmp_path):
    ddb = aws("dynamodb")
    stream_arn = ddb.create_table(
        TableName="changes",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    stream_uuid = aws("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName="consumer",
        StartingPosition="TRIM_HORIZON",
        BatchSize=3,
    )["UUID"]
    state_dir = tmp_path / "state"
    runner = make_runner(state_dir=state_dir)
    wait_for(lambda: stream_uuid in runner.event_sources(), 10, "the stream poller")
    published = wait_for(
        lambda: {m["uuid"]: m for m in read_mappings(state_dir)}.get(stream_uuid), 10, "status"
    )
    assert published["status"] == "polling"
    assert published["batch_size"] == 3 and published["starting_position"] == "TRIM_HORIZON"
    lines = status_lines(read_mappings(state_dir))
    assert (
        f"mapping:  {stream_arn} -> consumer ({stream_uuid}): polling (batch 3, concurrency 1)"
        in lines
    )


def test_mapping_runs_batches_concurrently_up_to_the_cap(
    aws, create_function, make_runner, tmp_path
):
    create_function("slow-consumer", "sqs_slow", timeout=10, env={"RECORD_DIR": str(tmp_path)})
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "busy", VisibilityTimeout="30")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="slow-consumer",
        BatchSize=1,
        ScalingConfig={"MaximumConcurrency": 5},  # above the runner's cap of 2
    )
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": "1.0"} for n in range(4)]
    )
    make_runner()

    wait_for(lambda: len(recorded(tmp_path, "batch")) == 4, 20, "four batches")
    runs = recorded(tmp_path, "batch")
    events = sorted([(r["started"], 1) for r in runs] + [(r["ended"], -1) for r in runs])
    running, peak = 0, 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 2
    assert len({r["pid"] for r in runs}) == 2  # two warm workers shared the work


def test_stop_is_prompt_with_an_invocation_in_flight(aws, create_function, endpoint, tmp_path):
    create_function("slow-consumer", "sqs_slow", timeout=60, env={"RECORD_DIR": str(tmp_path)})
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "stuck", VisibilityTimeout="60")
    aws("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="slow-consumer")
    sqs.send_message(QueueUrl=url, MessageBody="50")
    runner = Runner(endpoint, REGION, refresh_interval=0.5)
    runner.start()
    try:
        wait_for(lambda: queue_depth(sqs, url) == (0, 1), 10, "the message to be in flight")
        time.sleep(0.5)
    finally:
        started = time.monotonic()
        runner.stop()
        elapsed = time.monotonic() - started
    assert elapsed < 8
    assert recorded(tmp_path, "batch") == []  # the handler never finished
    assert queue_depth(sqs, url) == (0, 1)  # not deleted: it will reappear, as on AWS


def test_poller_survives_an_emulator_restart(tmp_path, monkeypatch):
    moto_patches.apply()
    monkeypatch.syspath_prepend(str(FIXTURES))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    runner = Runner(endpoint, REGION, refresh_interval=0.5)
    try:
        urllib.request.urlopen(
            urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10
        ).close()
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
        )
        iam = session.client("iam", endpoint_url=endpoint)
        lam = session.client("lambda", endpoint_url=endpoint)
        sqs = session.client("sqs", endpoint_url=endpoint)
        lam.create_function(
            FunctionName="consumer",
            Runtime="python3.12",
            Role=lambda_role(iam, "r"),
            Handler=f"{HANDLERS}.sqs",
            Environment={"Variables": {"RECORD_DIR": str(tmp_path)}},
            Code={"ZipFile": code_zip()},
        )
        url, arn = make_queue(sqs, "resilient")
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer")
        runner.start()
        wait_for(lambda: runner.event_sources(), 10, "the poller")

        server.stop()  # moto's state lives in this process, so a restart keeps it
        time.sleep(2.0)  # pollers and refresh fail and back off meanwhile
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        sqs.send_message(QueueUrl=url, MessageBody="after the hiccup")

        wait_for(lambda: batches(tmp_path), 20, "the batch after the restart")
        assert [r["body"] for r in batches(tmp_path)[0]] == ["after the hiccup"]
        assert all(p.running for p in runner.event_sources().values())
    finally:
        runner.stop()
        server.stop()


def test_runner_used_only_to_invoke_does_not_poll(aws, sqs_function, endpoint, tmp_path):
    sqs = aws("sqs")
    url, arn = make_queue(sqs, "daemon-owned")
    aws("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer")
    sqs.send_message(QueueUrl=url, MessageBody="for the daemon")
    runner = Runner(endpoint, REGION)  # never started, like `headwater local invoke`
    try:
        result = runner.invoke("consumer", {"Records": []})
        assert result.ok, result.payload
        assert runner.event_sources() == {}
        assert queue_depth(sqs, url) == (1, 0)
    finally:
        runner.stop()

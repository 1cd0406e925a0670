"""The local mode survives `kill -9`: what the emulator acknowledged is there after `local up`.

Real processes and real ports, as a user runs them: the daemon is started by `headwater local up`
(its port from HEADWATER_LOCAL_PORT), killed with SIGKILL in the middle of a run (a function still
executing in its worker), started again at once, and every acknowledged write is read back with the
identifiers it was given.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.integration.local.test_local_daemon import Cli, create_function, process_ended, session
from tests.support.emulator import free_port

pytestmark = pytest.mark.integration

# Visibility timeout of the message in flight at the kill: longer than a restart on a busy machine.
IN_FLIGHT_SECONDS = 25

SLOW_HANDLER = textwrap.dedent(
    """
    import time


    def slow(event, context):
        time.sleep(30)  # still running when the daemon is killed
    """
)


@pytest.fixture
def cli(tmp_path: Path):
    handlers = tmp_path / "handlers"
    handlers.mkdir()
    (handlers / "sample_handlers.py").write_text(SLOW_HANDLER)
    runner = Cli(tmp_path / "state", handlers)
    runner.env["HEADWATER_LOCAL_PORT"] = str(free_port())
    yield runner
    runner("down")


def kill_daemon(cli: Cli) -> int:
    pid = int(cli.pid_file.read_text())
    os.kill(pid, signal.SIGKILL)
    assert process_ended(pid)
    return pid


def worker_pids(daemon_pid: int) -> list[int]:
    """The runner's worker processes (children of the daemon running worker_main)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == daemon_pid and b"worker_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_acknowledged_writes_survive_kill_9_and_up(cli: Cli):
    up = cli("up")  # no --port: HEADWATER_LOCAL_PORT decides
    assert up.returncode == 0, up.stderr + up.stdout
    port = int(cli.env["HEADWATER_LOCAL_PORT"])
    assert f"http://127.0.0.1:{port}" in up.stdout
    aws = session(port)
    s3, sqs, ddb = aws.client("s3"), aws.client("sqs"), aws.client("dynamodb")
    apigw, kms = aws.client("apigateway"), aws.client("kms")

    # S3: a versioned bucket with two versions, a completed and a pending multipart upload.
    s3.create_bucket(Bucket="raw-crash")
    s3.put_bucket_versioning(Bucket="raw-crash", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="raw-crash", Key="a.csv", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket="raw-crash", Key="a.csv", Body=b"two")["VersionId"]
    upload = s3.create_multipart_upload(Bucket="raw-crash", Key="big.bin")["UploadId"]
    part = b"x" * (5 * 1024 * 1024)
    etags = [
        s3.upload_part(
            Bucket="raw-crash", Key="big.bin", UploadId=upload, PartNumber=n, Body=part + bytes([n])
        )["ETag"]
        for n in (1, 2)
    ]
    big = s3.complete_multipart_upload(
        Bucket="raw-crash",
        Key="big.bin",
        UploadId=upload,
        MultipartUpload={
            "Parts": [{"ETag": e, "PartNumber": n} for n, e in zip((1, 2), etags, strict=True)]
        },
    )
    pending = s3.create_multipart_upload(Bucket="raw-crash", Key="pending.bin")["UploadId"]

    # DynamoDB: a table with items, one of them deleted again.
    ddb.create_table(
        TableName="crash-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.batch_write_item(
        RequestItems={
            "crash-table": [
                {"PutRequest": {"Item": {"pk": {"S": f"k{n}"}, "n": {"N": str(n)}}}}
                for n in range(5)
            ]
        }
    )
    ddb.delete_item(TableName="crash-table", Key={"pk": {"S": "k0"}})

    # SQS: three messages; one deleted, one in flight at the kill (below), one waiting.
    queue = sqs.create_queue(QueueName="crash-queue")["QueueUrl"]
    sent = [sqs.send_message(QueueUrl=queue, MessageBody=f"m{n}")["MessageId"] for n in range(3)]
    first = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, WaitTimeSeconds=1)
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=first["Messages"][0]["ReceiptHandle"])

    # API Gateway and KMS: identifiers Terraform state refers to.
    api_id = apigw.create_rest_api(name="crash-api")["id"]
    key = apigw.create_api_key(name="crash-key", enabled=True)
    plan_id = apigw.create_usage_plan(name="crash-plan", quota={"limit": 10, "period": "DAY"})["id"]
    apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=key["id"], keyType="API_KEY")
    kms_key = kms.create_key(Description="crash")["KeyMetadata"]["KeyId"]
    ciphertext = kms.encrypt(KeyId=kms_key, Plaintext=b"secret")["CiphertextBlob"]

    # A function mid-run at the kill: its worker outlives the daemon for a while.
    work = sqs.create_queue(QueueName="crash-work", Attributes={"VisibilityTimeout": "60"})
    work_arn = sqs.get_queue_attributes(QueueUrl=work["QueueUrl"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    create_function(aws, "slow", "sample_handlers.slow", {})
    aws.client("lambda").create_event_source_mapping(
        EventSourceArn=work_arn, FunctionName="slow", BatchSize=1
    )
    sqs.send_message(QueueUrl=work["QueueUrl"], MessageBody="work")
    daemon_pid = int(cli.pid_file.read_text())
    deadline = time.monotonic() + 30
    while not worker_pids(daemon_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker_pids(daemon_pid), "the slow function never started"
    in_flight = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=IN_FLIGHT_SECONDS
    )["Messages"][0]
    received_at = time.monotonic()

    kill_daemon(cli)
    again = cli("up")  # at once: no waiting for ports or orphaned workers
    assert again.returncode == 0, again.stderr + again.stdout
    aws = session(port)
    s3, sqs, ddb = aws.client("s3"), aws.client("sqs"), aws.client("dynamodb")
    apigw, kms = aws.client("apigateway"), aws.client("kms")

    versions = s3.list_object_versions(Bucket="raw-crash", Prefix="a.csv")["Versions"]
    assert {v["VersionId"] for v in versions} == {v1, v2}
    assert s3.get_object(Bucket="raw-crash", Key="a.csv")["Body"].read() == b"two"
    assert s3.get_object(Bucket="raw-crash", Key="a.csv", VersionId=v1)["Body"].read() == b"one"
    body = s3.get_object(Bucket="raw-crash", Key="big.bin")
    assert body["ETag"] == big["ETag"]
    assert body["Body"].read() == part + b"\x01" + part + b"\x02"
    uploads = s3.list_multipart_uploads(Bucket="raw-crash").get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [pending]

    items = ddb.scan(TableName="crash-table")["Items"]
    assert sorted(i["pk"]["S"] for i in items) == ["k1", "k2", "k3", "k4"]

    assert sqs.get_queue_url(QueueName="crash-queue")["QueueUrl"] == queue
    waiting = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    hidden_for = time.monotonic() - received_at
    assert hidden_for < IN_FLIGHT_SECONDS, "restart too slow to see the message still in flight"
    assert [m["MessageId"] for m in waiting] == [sent[2]]  # the in-flight one is still hidden
    visible_again = []
    deadline = time.monotonic() + IN_FLIGHT_SECONDS + 10
    while not visible_again and time.monotonic() < deadline:
        visible_again = sqs.receive_message(
            QueueUrl=queue, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
    assert [m["MessageId"] for m in visible_again] == [in_flight["MessageId"]]
    assert time.monotonic() - received_at >= IN_FLIGHT_SECONDS  # not before its timeout
    assert visible_again[0]["Attributes"]["ApproximateReceiveCount"] == "2"

    assert [a["id"] for a in apigw.get_rest_apis()["items"]] == [api_id]
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"] == key["value"]
    keys = apigw.get_usage_plan_keys(usagePlanId=plan_id)["items"]
    assert [k["id"] for k in keys] == [key["id"]]
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"secret"
    assert kms.describe_key(KeyId=kms_key)["KeyMetadata"]["Description"] == "crash"


def test_a_crash_during_a_write_loses_only_the_torn_record(cli: Cli):
    up = cli("up")
    assert up.returncode == 0, up.stderr
    s3 = session(int(cli.env["HEADWATER_LOCAL_PORT"])).client("s3")
    s3.create_bucket(Bucket="torn-bucket")
    s3.put_object(Bucket="torn-bucket", Key="kept", Body=b"kept")
    kill_daemon(cli)
    journal = cli.state_dir / "local" / "emulator" / "journal.bin"
    with journal.open("ab") as out:  # what a kill in the middle of os.write leaves behind
        out.write(b"\x00\x00\x01\x00\x00\x00")

    again = cli("up")
    assert again.returncode == 0, again.stderr
    s3 = session(int(cli.env["HEADWATER_LOCAL_PORT"])).client("s3")
    assert s3.get_object(Bucket="torn-bucket", Key="kept")["Body"].read() == b"kept"
    s3.put_object(Bucket="torn-bucket", Key="after", Body=b"after")  # appended after the cut
    kill_daemon(cli)
    assert cli("up").returncode == 0
    s3 = session(int(cli.env["HEADWATER_LOCAL_PORT"])).client("s3")
    listed = s3.list_objects_v2(Bucket="torn-bucket")["Contents"]
    assert sorted(o["Key"] for o in listed) == ["after", "kept"]
    assert list(journal.parent.glob("journal.bin.torn-*"))


def test_down_keeps_the_state_and_reset_drops_it(cli: Cli):
    assert cli("up").returncode == 0
    port = int(cli.env["HEADWATER_LOCAL_PORT"])
    session(port).client("sqs").create_queue(QueueName="kept-queue")
    status = cli("status").stdout
    assert "state:    persisted (HEADWATER_LOCAL_DURABILITY=os)" in status
    assert str(cli.state_dir / "local" / "emulator" / "journal.bin") in status
    assert cli("down").returncode == 0
    assert cli("up").returncode == 0
    sqs = session(port).client("sqs")
    assert sqs.get_queue_url(QueueName="kept-queue")["QueueUrl"].endswith("/kept-queue")

    reset = cli("reset")
    assert reset.returncode == 0, reset.stderr
    assert "stopped" in reset.stdout and "deleted" in reset.stdout
    assert cli("status").returncode == 3
    assert cli("up").returncode == 0
    with pytest.raises(ClientError) as missing:
        session(port).client("sqs").get_queue_url(QueueName="kept-queue")
    assert "NonExistentQueue" in str(missing.value) or "QueueDoesNotExist" in str(missing.value)


def test_memory_durability_keeps_nothing(cli: Cli):
    cli.env["HEADWATER_LOCAL_DURABILITY"] = "memory"
    assert cli("up").returncode == 0
    port = int(cli.env["HEADWATER_LOCAL_PORT"])
    session(port).client("s3").create_bucket(Bucket="gone-bucket")
    assert not (cli.state_dir / "local" / "emulator" / "journal.bin").exists()
    assert cli("down").returncode == 0
    assert cli("up").returncode == 0
    buckets = session(port).client("s3").list_buckets()["Buckets"]
    assert "gone-bucket" not in [b["Name"] for b in buckets]


def test_bad_port_and_durability_settings_are_one_clear_line(cli: Cli):
    cli.env["HEADWATER_LOCAL_PORT"] = "eighty"
    bad_port = cli("up")
    assert bad_port.returncode == 1
    assert "HEADWATER_LOCAL_PORT='eighty' is not a port number" in bad_port.stderr
    assert not cli.pid_file.exists()

    cli.env["HEADWATER_LOCAL_PORT"] = str(free_port())
    cli.env["HEADWATER_LOCAL_DURABILITY"] = "sometimes"
    bad_mode = cli("up")
    assert bad_mode.returncode == 1
    assert "HEADWATER_LOCAL_DURABILITY must be one of os, fsync, memory" in bad_mode.stderr
    assert not cli.pid_file.exists()


def test_journal_holds_writes_but_no_reads(cli: Cli):
    assert cli("up").returncode == 0
    aws = session(int(cli.env["HEADWATER_LOCAL_PORT"]))
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName="reads",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="reads", Item={"pk": {"S": "a"}})
    from headwater.local.persistence import journal

    path = cli.state_dir / "local" / "emulator" / "journal.bin"
    before = len(journal.read(path)[0])
    for _ in range(5):
        ddb.get_item(TableName="reads", Key={"pk": {"S": "a"}})
        ddb.query(
            TableName="reads",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
        )
        ddb.scan(TableName="reads")
        ddb.describe_table(TableName="reads")
        aws.client("s3").list_buckets()
    assert len(journal.read(path)[0]) == before
    targets = [r.meta["env"].get("HTTP_X_AMZ_TARGET") for r in journal.read(path)[0]]
    assert targets[-1] == "DynamoDB_20120810.PutItem"
    assert json.loads(journal.read(path)[0][-1].body)["Item"] == {"pk": {"S": "a"}}


RECORDS = 30000


def test_up_waits_for_a_long_replay(cli: Cli, monkeypatch: pytest.MonkeyPatch):
    """Start-up time grows with the journal: `up` waits as long as the replay makes progress,
    not a fixed time. Here a journal of RECORDS PutItem requests against a start timeout of 8 s
    (about 1.5-3.5 ms each to replay on a 2-core machine)."""
    from headwater.local import daemon, state
    from headwater.local.emulator import Emulator
    from headwater.local.persistence import journal
    from tests.support.emulator import make_client

    directory = cli.state_dir / "local" / "emulator"
    emulator = Emulator(port=0, persist_dir=directory)
    emulator.start()
    try:
        ddb = make_client("dynamodb", emulator.endpoint_url)
        ddb.create_table(
            TableName="long",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="long", Item={"pk": {"S": "k"}})
    finally:
        emulator.stop()
    records, _ = journal.read(directory / "journal.bin")
    put = records[-1]
    with (directory / "journal.bin").open("ab") as out:
        for n in range(RECORDS):
            body = json.dumps({"TableName": "long", "Item": {"pk": {"S": f"k{n}"}}}).encode()
            env = {**put.meta["env"], "CONTENT_LENGTH": str(len(body))}
            out.write(journal.encode({**put.meta, "env": env}, body))

    # daemon.start spawns the daemon with this process's environment: give it the CLI's.
    for name, value in cli.env.items():
        monkeypatch.setenv(name, value)
    paths = state.state_paths(str(cli.state_dir))
    current, _ = daemon.start(paths, port=int(cli.env["HEADWATER_LOCAL_PORT"]), timeout=8)
    assert current.running
    replayed = [ln for ln in paths.log_file.read_text().splitlines() if "replayed in" in ln]
    assert f"{RECORDS + 2} requests replayed" in replayed[-1]
    seconds = float(replayed[-1].split("replayed in ")[1].split("s")[0])
    assert seconds > 8, "the replay was quicker than the timeout: make the journal longer"
    count = (
        session(int(cli.env["HEADWATER_LOCAL_PORT"]))
        .client("dynamodb")
        .scan(TableName="long", Select="COUNT")["Count"]
    )
    assert count == RECORDS + 1

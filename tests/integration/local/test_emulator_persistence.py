"""The journaled emulator in this process: restart it on its journal and compare what it holds.

A restart here is ``stop`` and a new ``Emulator`` on the same directory (moto's backends are reset
and the journal replayed), which is what a new daemon process does after a crash; the daemon-level
``kill -9`` is in test_local_crash.py.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from headwater.local.emulator import Emulator
from tests.support.emulator import code_zip, lambda_role, make_client

pytestmark = pytest.mark.integration


@pytest.fixture
def journaled(tmp_path: Path):
    started: list[Emulator] = []

    def start() -> Emulator:
        for emulator in started:
            emulator.stop()
        emulator = Emulator(port=0, persist_dir=tmp_path / "emulator")
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def test_fan_out_and_control_plane_identifiers_come_back(journaled):
    endpoint = journaled().endpoint_url
    sqs, sns, events, iam = (make_client(s, endpoint) for s in ("sqs", "sns", "events", "iam"))
    scheduler = make_client("scheduler", endpoint)
    queue = sqs.create_queue(QueueName="fan-in")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name="fan-out")["TopicArn"]
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )["SubscriptionArn"]
    events.put_rule(Name="to-queue", EventPattern=json.dumps({"source": ["test.persist"]}))
    events.put_targets(Rule="to-queue", Targets=[{"Id": "q", "Arn": queue_arn}])
    sns.publish(TopicArn=topic, Message="via-sns")
    events.put_events(Entries=[{"Source": "test.persist", "DetailType": "t", "Detail": "{}"}])
    role = iam.create_role(RoleName="persisted", AssumeRolePolicyDocument="{}")["Role"]
    schedule = scheduler.create_schedule(
        Name="nightly",
        ScheduleExpression="cron(0 2 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue_arn, "RoleArn": role["Arn"]},
    )["ScheduleArn"]
    before = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert len(before["Messages"]) == 2

    endpoint = journaled().endpoint_url
    sqs, sns, iam = (make_client(s, endpoint) for s in ("sqs", "sns", "iam"))
    after = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert sorted((m["MessageId"], m["Body"]) for m in after["Messages"]) == sorted(
        (m["MessageId"], m["Body"]) for m in before["Messages"]
    )
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == [subscription]
    assert iam.get_role(RoleName="persisted")["Role"]["RoleId"] == role["RoleId"]
    got = make_client("scheduler", endpoint).get_schedule(Name="nightly")
    assert got["Arn"] == schedule


def test_concurrent_writes_replay_to_the_same_state(journaled):
    endpoint = journaled().endpoint_url
    setup = make_client("dynamodb", endpoint)
    setup.create_table(
        TableName="busy",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue = make_client("sqs", endpoint).create_queue(QueueName="busy")["QueueUrl"]
    local = threading.local()

    def write(i: int) -> str:
        if not hasattr(local, "ddb"):
            local.ddb, local.sqs = make_client("dynamodb", endpoint), make_client("sqs", endpoint)
        # Every thread overwrites the same counter item too: the last write must win after replay.
        local.ddb.put_item(TableName="busy", Item={"pk": {"S": "shared"}, "n": {"N": str(i)}})
        local.ddb.put_item(TableName="busy", Item={"pk": {"S": f"k{i}"}})
        return local.sqs.send_message(QueueUrl=queue, MessageBody=str(i))["MessageId"]

    with ThreadPoolExecutor(6) as pool:
        ids = list(pool.map(write, range(60)))
    shared = setup.get_item(TableName="busy", Key={"pk": {"S": "shared"}})["Item"]

    endpoint = journaled().endpoint_url
    ddb, sqs = make_client("dynamodb", endpoint), make_client("sqs", endpoint)
    assert ddb.get_item(TableName="busy", Key={"pk": {"S": "shared"}})["Item"] == shared
    assert ddb.scan(TableName="busy", Select="COUNT")["Count"] == 61
    received: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        received += [m["MessageId"] for m in batch]
    assert sorted(received) == sorted(ids)


def test_a_long_poll_does_not_hold_writes_back(journaled):
    endpoint = journaled().endpoint_url
    sqs = make_client("sqs", endpoint)
    queue = sqs.create_queue(QueueName="long-poll")["QueueUrl"]
    result: dict = {}

    def poll() -> None:
        result.update(
            make_client("sqs", endpoint).receive_message(QueueUrl=queue, WaitTimeSeconds=10)
        )

    poller = threading.Thread(target=poll)
    poller.start()
    # Sent while the poll waits: had the poll held the journal's lock for its whole wait, this
    # send would only run after the poll had ended empty-handed.
    sent = sqs.send_message(QueueUrl=queue, MessageBody="during the poll")["MessageId"]
    poller.join(30)
    assert [m["MessageId"] for m in result.get("Messages", [])] == [sent]

    # The receive was journaled as the attempt that found the message: after a restart the
    # message is in flight, not visible.
    endpoint = journaled().endpoint_url
    again = make_client("sqs", endpoint).receive_message(QueueUrl=queue)
    assert again.get("Messages", []) == []


def test_api_gateway_model_and_method_updates_come_back(journaled):
    # UpdateModel / UpdateMethod (moto_patches.apigateway) are PATCH requests: journaled as
    # writes and replayed in order, so a changed record schema survives a restart.
    gw = make_client("apigateway", journaled().endpoint_url)
    api = gw.create_rest_api(name="persisted-models")["id"]
    root = next(r["id"] for r in gw.get_resources(restApiId=api)["items"] if r["path"] == "/")
    resource = gw.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    gw.create_model(restApiId=api, name="Orders", contentType="application/json", schema="{}")
    gw.put_method(
        restApiId=api,
        resourceId=resource,
        httpMethod="POST",
        authorizationType="NONE",
        requestModels={"application/json": "Orders"},
    )
    schema = json.dumps({"type": "object", "required": ["id"]})
    gw.update_model(
        restApiId=api,
        modelName="Orders",
        patchOperations=[{"op": "replace", "path": "/schema", "value": schema}],
    )
    gw.update_method(
        restApiId=api,
        resourceId=resource,
        httpMethod="POST",
        patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "true"}],
    )

    gw = make_client("apigateway", journaled().endpoint_url)
    assert gw.get_model(restApiId=api, modelName="Orders")["schema"] == schema
    method = gw.get_method(restApiId=api, resourceId=resource, httpMethod="POST")
    assert method["apiKeyRequired"] is True
    assert method["requestModels"] == {"application/json": "Orders"}


def test_event_invoke_config_comes_back_as_last_put(journaled):
    # The patched Put replaces (moto's appends): replayed in order, the last one wins again.
    endpoint = journaled().endpoint_url
    lam = make_client("lambda", endpoint)
    lam.create_function(
        FunctionName="async-persisted",
        Runtime="python3.12",
        Role=lambda_role(make_client("iam", endpoint), "async-persisted"),
        Handler="handler.handler",
        Code={"ZipFile": code_zip()},
    )
    destination = {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:failures"}}
    lam.put_function_event_invoke_config(FunctionName="async-persisted", MaximumRetryAttempts=2)
    lam.put_function_event_invoke_config(
        FunctionName="async-persisted", MaximumRetryAttempts=0, DestinationConfig=destination
    )
    lam.update_function_event_invoke_config(
        FunctionName="async-persisted", MaximumEventAgeInSeconds=300
    )

    lam = make_client("lambda", journaled().endpoint_url)
    read = lam.get_function_event_invoke_config(FunctionName="async-persisted")
    assert read["MaximumRetryAttempts"] == 0
    assert read["MaximumEventAgeInSeconds"] == 300
    assert read["DestinationConfig"] == destination


def _captured_create_api_key(endpoint: str, name: str) -> tuple[dict, dict]:
    """Create an API key through botocore and return its answer and the request as sent."""
    client = make_client("apigateway", endpoint)
    sent: dict = {}

    def capture(request, **_):
        sent.update(url=request.url, headers=dict(request.headers), body=request.body)

    client.meta.events.register("before-send.api-gateway.CreateApiKey", capture)
    return client.create_api_key(name=name, enabled=True), sent


def _send_again(sent: dict, attempt: str) -> dict:
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in sent["headers"].items()}
    headers["amz-sdk-request"] = attempt
    body = sent["body"].encode() if isinstance(sent["body"], str) else sent["body"]
    request = urllib.request.Request(sent["url"], data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_a_retried_write_whose_first_attempt_was_applied_is_not_applied_twice(journaled):
    endpoint = journaled().endpoint_url
    first, sent = _captured_create_api_key(endpoint, "retried")
    assert "attempt=1" in str(sent["headers"].get("amz-sdk-request"))

    # The SDK's retry of that call: same invocation id, a later attempt.
    again = _send_again(sent, "attempt=2; max=5")

    assert again["id"] == first["id"]
    keys = make_client("apigateway", endpoint).get_api_keys()["items"]
    assert [k["id"] for k in keys] == [first["id"]]
    # Nothing was journaled for the retry: a restart holds the one key too.
    endpoint = journaled().endpoint_url
    keys = make_client("apigateway", endpoint).get_api_keys()["items"]
    assert [k["id"] for k in keys] == [first["id"]]


def test_the_same_request_as_a_new_call_or_a_first_attempt_runs_again(journaled):
    endpoint = journaled().endpoint_url
    first, sent = _captured_create_api_key(endpoint, "twice")
    # A new call (its own invocation id) and a first attempt are requests of their own.
    second, _ = _captured_create_api_key(endpoint, "twice")
    third = _send_again(sent, "attempt=1; max=5")

    assert len({first["id"], second["id"], third["id"]}) == 3
    keys = make_client("apigateway", endpoint).get_api_keys()["items"]
    assert len(keys) == 3

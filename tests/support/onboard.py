"""The onboard capability's test support: its state table, queues, bucket and bus in moto, a
source declaration, a context whose time drops per call, and a loop that drains the work queue
through the worker as the event source mapping would (failures come back with a higher
ApproximateReceiveCount)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from headwater import aws as hw_aws
from headwater.handlers.support import credentials
from headwater.onboard.declarations import parse_source_documents

STATE_TABLE = "hw-onboard-state"
BUCKET = "hw-onboard-landing"
BUS = "hw-onboard-bus"
PASSWORD = "s3cr3t-Pa55word-4-tests"


def create_state_table(dynamodb: Any, name: str = STATE_TABLE) -> Any:
    """As modules/onboard creates it: hash pk, range sk, TTL on expires_at."""
    dynamodb.create_table(
        TableName=name,
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
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    return boto3.resource("dynamodb").Table(name)


def source(toml: str) -> Any:
    (found,) = parse_source_documents([("test.toml", toml)]).values()
    return found


@dataclass
class DroppingContext:
    """A Lambda context whose remaining time drops by ``step_ms`` at every call after the first
    ``free`` ones: the worker asks once per batch, so the budget runs out after N batches."""

    start_ms: int = 900_000
    step_ms: int = 0
    free: int = 1
    calls: int = 0
    function_name: str = "hw-onboard-worker"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "f1e2d3c4-7b61-11e6-9a41-93e8deadbeef"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:hw-onboard-worker"

    def get_remaining_time_in_millis(self) -> int:
        self.calls += 1
        return self.start_ms - max(0, self.calls - self.free) * self.step_ms


@dataclass
class Cloud:
    """The onboard resources in moto."""

    state: Any
    s3: Any
    sqs: Any
    events: Any
    work_url: str
    dlq_url: str
    captured_events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls) -> Cloud:
        dynamodb = boto3.client("dynamodb")
        state = create_state_table(dynamodb)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs")
        dlq_url = sqs.create_queue(QueueName="hw-onboard-work-dlq")["QueueUrl"]
        work_url = sqs.create_queue(
            QueueName="hw-onboard-work", Attributes={"VisibilityTimeout": "0"}
        )["QueueUrl"]
        events = boto3.client("events")
        events.create_event_bus(Name=BUS)
        return cls(state, s3, sqs, events, work_url, dlq_url)

    def receive(self, url: str) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        )
        return answer.get("Messages", [])

    def drain(self, url: str) -> list[str]:
        bodies = []
        while messages := self.receive(url):
            for m in messages:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return bodies

    def objects(self, prefix: str = "") -> dict[str, int]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}

    def get_json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """An SQS event as the event source mapping delivers received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": m["Attributes"]["ApproximateReceiveCount"]
                },
                "eventSource": "aws:sqs",
            }
            for m in messages
        ]
    }


def pump(
    cloud: Cloud,
    invoke: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    max_invocations: int = 500,
) -> int:
    """Deliver the work queue one message per invocation (batch size 1) until it is empty, as
    the event source mapping does: a reported failure stays on the queue and comes back with a
    higher ApproximateReceiveCount. The number of invocations."""
    invocations = 0
    while True:
        answer = cloud.sqs.receive_message(
            QueueUrl=cloud.work_url, MaxNumberOfMessages=1, AttributeNames=["All"]
        )
        messages = answer.get("Messages", [])
        if not messages:
            return invocations
        invocations += 1
        if invocations > max_invocations:
            raise AssertionError(f"the queue is not drained after {max_invocations} invocations")
        response = invoke(sqs_event(messages))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                cloud.sqs.delete_message(QueueUrl=cloud.work_url, ReceiptHandle=m["ReceiptHandle"])


def now() -> datetime:
    return datetime.now(UTC)


# -- an in-memory source with the PostgreSQL stream's semantics ------------------------------


@dataclass
class FakePlan:
    key: tuple[str, ...]
    arrow_schema: Any
    table: Any
    cursor: str | None


class FakeExtractor:
    """A source of in-memory Arrow tables, read as the PostgreSQL stream reads: in key order,
    after a keyset position, within a key range, cursor above ``since``."""

    def __init__(
        self, tables: dict[str, tuple[Any, tuple[str, ...]]], fail_after: int | None = None
    ):
        self.tables = tables
        self.fail_after = fail_after
        self.batches = 0
        self.closed = 0

    def list_tables(self, schema: str) -> list[str]:
        return sorted(t for t in self.tables if t.startswith(schema + "."))

    def describe(self, decl: Any) -> FakePlan:
        table, key = self.tables[decl.qualified]
        return FakePlan(key, table.schema, table, decl.cursor)

    def key_bounds(self, plan: FakePlan) -> tuple[Any, Any]:
        values = plan.table.column(plan.key[0]).to_pylist()
        return (min(values), max(values)) if values else (None, None)

    def stream(self, plan, *, after, key_range, since, batch_rows):
        import pyarrow as pa

        rows = sorted(plan.table.to_pylist(), key=lambda r: tuple(r[k] for k in plan.key))
        if after is not None:
            rows = [r for r in rows if tuple(r[k] for k in plan.key) > tuple(after)]
        if key_range is not None:
            lo, hi = key_range
            rows = [
                r
                for r in rows
                if (lo is None or r[plan.key[0]] >= lo) and (hi is None or r[plan.key[0]] < hi)
            ]
        if since is not None:
            rows = [r for r in rows if r[plan.cursor] > since]
        for start in range(0, len(rows), batch_rows):
            if self.fail_after is not None and self.batches >= self.fail_after:
                raise ConnectionError("server closed the connection unexpectedly")
            self.batches += 1
            yield pa.RecordBatch.from_pylist(
                rows[start : start + batch_rows], schema=plan.arrow_schema
            )

    def close(self) -> None:
        self.closed += 1


@dataclass
class HandlerWorld:
    """What ``handler_world`` deployed: the resources, the queue the completion events reach,
    and the source's secret ARN."""

    cloud: Cloud
    events_url: str
    secret_arn: str


@contextlib.contextmanager
def handler_world(
    monkeypatch: pytest.MonkeyPatch,
    *,
    declarations: Any,
    service: str,
    source_name: str,
    secret: dict[str, Any],
    target_prefix: str | None = None,
    **settings: str,
) -> Iterator[HandlerWorld]:
    """Moto with the onboard resources, the source's secret, a queue catching the bus's
    ``Onboard Run Completed`` events, and every variable the two handlers read, as the module
    sets them (``target_prefix``: the source's, default "<source_name>/"; ``settings`` adds
    ONBOARD_* ones by name, e.g. ``ONBOARD_PART_BYTES="2048"``)."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "ONBOARD_DIR": str(declarations),
        # A service of its own per test: Powertools' logger keeps the stdout it was made with.
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": "headwater-test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        hw_aws.reset()
        credentials.forget()
        cloud = Cloud.create()
        arn = boto3.client("secretsmanager").create_secret(
            Name=f"hw/onboard/{source_name}", SecretString=json.dumps(secret)
        )["ARN"]
        events = cloud.sqs.create_queue(QueueName="hw-onboard-events")["QueueUrl"]
        events_arn = cloud.sqs.get_queue_attributes(QueueUrl=events, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        cloud.events.put_rule(
            Name="completed",
            EventBusName=BUS,
            EventPattern=json.dumps({"detail-type": ["Onboard Run Completed"]}),
        )
        cloud.events.put_targets(
            Rule="completed", EventBusName=BUS, Targets=[{"Id": "q", "Arn": events_arn}]
        )
        for name, value in {
            "ONBOARD_STATE_TABLE": STATE_TABLE,
            "ONBOARD_WORK_QUEUE_URL": cloud.work_url,
            "ONBOARD_WORK_DLQ_URL": cloud.dlq_url,
            "ONBOARD_SOURCES": json.dumps(
                {
                    source_name: {
                        "secret_arn": arn,
                        "target_prefix": target_prefix or f"{source_name}/",
                    }
                }
            ),
            "ONBOARD_BUCKET": BUCKET,
            "ONBOARD_EVENT_BUS_NAME": BUS,
            **settings,
        }.items():
            monkeypatch.setenv(name, value)
        try:
            yield HandlerWorld(cloud, events, arn)
        finally:
            credentials.forget()
    hw_aws.reset()

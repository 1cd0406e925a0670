"""The lookup capability's test support, shared by its tests and bench/.

``lookup_environment`` starts moto's in-process mock_aws with what Terraform would create: the
raw bucket (versioned), the lookup table (pk/sk, TTL on expires_at) and an EventBridge rule
routing the loader's events to an SQS queue, so tests read the events the loader published.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
from moto import mock_aws

from headwater import aws
from headwater.handlers.support import tenancy as request_tenancy
from tests.support import paths
from tests.support.tenancy import create_tenancy_table, put_key, put_subscriber

FIXTURES = paths.FIXTURES / "lookup"
RAW, TABLE, QUEUE = "hw-raw", "hw-lookup", "hw-lookup-events"
TENANCY_TABLE = "hw-tenancy"
# The key id of the fixture event (api_gateway_get.json) and the subscriber it belongs to.
FIXTURE_KEY_ID, FIXTURE_SUBSCRIBER = "k7q2r9s1t3", "acme"
# Granted: the loaded dataset and one that never exists (its requests are 404s, not 403s).
FIXTURE_GRANTS = ("employees", "staff")
REGION = "us-east-1"
UPLOADS_START = dt.datetime(2026, 11, 23, 6, 0, 0, tzinfo=dt.UTC)


@dataclass
class LookupEnv:
    s3: Any
    dynamodb: Any
    sqs: Any
    queue_url: str
    uploads: int = 0  # S3's clock, as the events tell it: one second and one sequencer per upload

    def put_csv(self, body: bytes | str, name: str = "employees.csv", dataset="employees") -> dict:
        """Upload like the data team would; return the EventBridge event S3 would emit."""
        data = body.encode() if isinstance(body, str) else body
        key = f"lookup/{dataset}/{name}"
        response = self.s3.put_object(Bucket=RAW, Key=key, Body=data)
        event = json.loads((FIXTURES / "object_created.json").read_text())
        self.uploads += 1
        # Later uploads get later event times and sequencers, as S3 would give them.
        event["time"] = (UPLOADS_START + dt.timedelta(seconds=self.uploads)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        event["detail"]["object"].update(
            key=key,
            size=len(data),
            etag=response["ETag"].strip('"'),
            sequencer=f"{0x62E99A88DC407460 + self.uploads:018X}",
            **{"version-id": response["VersionId"]},
        )
        return event

    def events(self) -> list[dict]:
        """Loader events delivered to the queue (EventBridge rule -> SQS), oldest first."""
        received = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return received
            for message in batch:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def items(self) -> list[dict]:
        return self.dynamodb.scan(TableName=TABLE)["Items"]


EMPLOYEES_HEADER = "department,employee_id,name,title,location,start_date,salary_band\n"


def create_lookup_table(dynamodb: Any, name: str) -> None:
    """The table as modules/lookup declares it: pk/sk strings, on demand, TTL on expires_at."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )


def department(index: int) -> str:
    return f"D{index:05d}"


def generate_employees_csv(path: Path, rows: int, keys: int) -> int:
    """Write a deterministic employees CSV: row i goes to department i % keys. Returns rows."""
    titles = ("Engineer", "Analyst", "Manager", "", "Director")
    locations = ("London", "Paris", "Berlin", "", "Lisbon", "Oslo")
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(EMPLOYEES_HEADER)
        chunk = []
        for i in range(rows):
            chunk.append(
                f"{department(i % keys)},E{i:07d},Employee {i},{titles[i % 5]},"
                f"{locations[i % 6]},20{10 + i % 15:02d}-{1 + i % 12:02d}-{1 + i % 28:02d},"
                f"{1 + i % 9}\n"
            )
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
    return rows


def lookup_environment(monkeypatch) -> Iterator[LookupEnv]:
    """The body of each test module's ``lookup_env`` fixture (``yield from`` it)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "LOOKUP_TABLE": TABLE,
        "TENANCY_TABLE": TENANCY_TABLE,
        "LOOKUP_PREFIX": "lookup/",
        "EVENT_BUS_NAME": "default",
        "POWERTOOLS_SERVICE_NAME": "lookup",
        "POWERTOOLS_METRICS_NAMESPACE": "headwater-test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("LOOKUPS_DIR", raising=False)
    with mock_aws():
        aws.reset()
        request_tenancy.reset()  # its directory holds a client of the previous mock
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=RAW)
        s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_lookup_table(dynamodb, TABLE)
        # What modules/api_stage writes: the fixture event's key belongs to a subscriber granted
        # FIXTURE_GRANTS.
        create_tenancy_table(dynamodb, TENANCY_TABLE)
        put_subscriber(dynamodb, TENANCY_TABLE, FIXTURE_SUBSCRIBER, datasets=FIXTURE_GRANTS)
        put_key(dynamodb, TENANCY_TABLE, FIXTURE_KEY_ID, FIXTURE_SUBSCRIBER)
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events = boto3.client("events", region_name=REGION)
        events.put_rule(
            Name="lookup-loads",
            EventPattern=json.dumps({"source": ["headwater.lookup"]}),
        )
        events.put_targets(Rule="lookup-loads", Targets=[{"Id": "queue", "Arn": queue_arn}])
        yield LookupEnv(s3, dynamodb, sqs, queue_url)
    aws.reset()
    request_tenancy.reset()


def api_event(
    path_parameters: dict[str, str] | None,
    resource: str,
    query: dict[str, str] | None = None,
) -> dict:
    """An API Gateway REST (v1) proxy event as AWS sends it, for ``resource`` filled in."""
    event = copy.deepcopy(json.loads((FIXTURES / "api_gateway_get.json").read_text()))
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    event.update(
        resource=resource,
        path=path,
        pathParameters=path_parameters,
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
    )
    event["requestContext"].update(resourcePath=resource, path=f"/v1{path}")
    return event

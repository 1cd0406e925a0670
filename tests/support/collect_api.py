"""The collect API's test support: moto's in-process mock with what Terraform creates for it.

``collect_environment`` starts ``mock_aws`` (Lambda without Docker: moto's simple backend
accepts an asynchronous invoke and runs nothing) with the tenancy directory (subscribers
``acme`` with two keys, as after a rotation, and ``globex``), the Scheduler group, the state
table, a KMS key and the handler's environment; ``api_event`` is the records' REST v1 event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from headwater import aws
from headwater.handlers import collect_api
from headwater.handlers.support import tenancy as request_tenancy
from tests.support.lambda_context import LambdaContext
from tests.support.records import api_event
from tests.support.tenancy import create_tenancy_table, put_key, put_subscriber

REGION = "us-east-1"
TENANCY_TABLE, STATE_TABLE, GROUP = "hw-tenancy", "hw-collect-state", "hw-dev-schedules"
COLLECTOR_ARN = "arn:aws:lambda:us-east-1:123456789012:function:hw-collect-collector"
SECRET_PREFIX = "hw-dev/collect/"
# key id -> subscriber: acme has two keys (rotation keeps the subscriber).
KEYS = {"k-acme": "acme", "k-acme-2": "acme", "k-globex": "globex", "k-ab": "ab", "k-a": "a"}


@dataclass
class CollectEnv:
    scheduler: Any
    dynamodb: Any
    secrets: Any
    invokes: list[dict[str, Any]] = field(default_factory=list)

    def scheduler_names(self) -> list[str]:
        pages = self.scheduler.get_paginator("list_schedules").paginate(GroupName=GROUP)
        return sorted(s["Name"] for page in pages for s in page["Schedules"])

    def state_items(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=STATE_TABLE)["Items"]


def collect_environment(monkeypatch, min_interval: int = 60, max_schedules: int = 25):
    """The body of a ``collect_env`` fixture (``yield from`` it)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "TENANCY_TABLE": TENANCY_TABLE,
        "COLLECT_SCHEDULE_GROUP": GROUP,
        "COLLECT_COLLECTOR_ARN": COLLECTOR_ARN,
        "COLLECT_SCHEDULE_ROLE_ARN": "arn:aws:iam::123456789012:role/hw-collect-scheduler",
        "COLLECT_SCHEDULE_DLQ_ARN": "arn:aws:sqs:us-east-1:123456789012:hw-scheduler-dlq",
        "COLLECT_MIN_INTERVAL_MINUTES": str(min_interval),
        "COLLECT_MAX_SCHEDULES": str(max_schedules),
        "COLLECT_SECRET_PREFIX": SECRET_PREFIX,
        "COLLECT_STATE_TABLE": STATE_TABLE,
        "POWERTOOLS_SERVICE_NAME": "collect",
        "AWS_LAMBDA_FUNCTION_NAME": "hw-collect-api",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        aws.reset()
        request_tenancy.reset()
        collect_api.reset()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_tenancy_table(dynamodb, TENANCY_TABLE)
        for subscriber in sorted(set(KEYS.values())):
            put_subscriber(dynamodb, TENANCY_TABLE, subscriber)
        for key_id, subscriber in KEYS.items():
            put_key(dynamodb, TENANCY_TABLE, key_id, subscriber)
        dynamodb.create_table(
            TableName=STATE_TABLE,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name=GROUP)
        kms = boto3.client("kms", region_name=REGION)
        monkeypatch.setenv("COLLECT_KMS_KEY_ARN", kms.create_key()["KeyMetadata"]["Arn"])
        env = CollectEnv(scheduler, dynamodb, boto3.client("secretsmanager", region_name=REGION))
        # What the handler's Lambda client sends to moto's Invoke (moto's simple backend keeps
        # no record of asynchronous invokes): observed on the real request, not stubbed.
        aws.client("lambda").meta.events.register(
            "provide-client-params.lambda.Invoke",
            lambda params, **_: env.invokes.append(dict(params)),
        )
        yield env
    aws.reset()
    request_tenancy.reset()
    collect_api.reset()


def call(event: dict) -> tuple[int, dict | None, dict]:
    """The handler's (status, parsed body or None, headers) for an API Gateway event."""
    response = collect_api.handler(event, LambdaContext(function_name="hw-collect-api"))
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], body, headers


def request(method, resource, params=None, body=None, key="k-acme", query=None, raw_body=None):
    event = api_event(method, resource, params or {}, body=body, key_id=key, raw_body=raw_body)
    if query:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return call(event)

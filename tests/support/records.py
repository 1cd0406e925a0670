"""The records capability's test support, shared by its tests and bench/.

``records_environment`` starts moto's in-process mock_aws with what Terraform creates for the
records API: the records table (``pk``/``id``), Powertools' idempotency table (``id``, TTL on
``expiration``) and the tenancy directory with two subscribers granted ``orders`` and one
internal key. ``api_event`` builds API Gateway REST v1 proxy events as AWS sends them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import boto3
from moto import mock_aws

from headwater import aws
from headwater.handlers import records_api
from headwater.handlers.support import tenancy as request_tenancy
from headwater.tenancy import INTERNAL
from tests.support import paths
from tests.support.tenancy import create_tenancy_table, put_key, put_subscriber

REGION = "us-east-1"
TABLE, IDEMPOTENCY_TABLE, TENANCY_TABLE = "hw-records", "hw-records-idempotency", "hw-tenancy"
# key id -> subscriber: two subscribers granted orders, one granted nothing, one internal.
KEYS = {"k-acme": "acme", "k-globex": "globex", "k-initech": "initech", "k-ops": "ops"}
GRANTS = {"acme": ("orders", "ghost"), "globex": ("orders",), "initech": ()}
# Sent in the x-api-key header and identity.apiKey: must never be logged or stored.
KEY_VALUE = "Kq8sEXAMPLEKEYVALUEdoNotLog0123456789abc"

GOOD = {
    "order_id": "A-1001",
    "customer_id": "C-77",
    "amount": 12.5,
    "currency": "EUR",
    "quantity": 2,
    "placed_at": "2026-12-01T09:30:00Z",
    "gift": False,
    "note": "leave at the door",
}


def create_records_table(dynamodb: Any, name: str = TABLE) -> None:
    """As modules/records declares it: hash ``pk`` (S), range ``id`` (S), on demand."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "id", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_idempotency_table(dynamodb: Any, name: str = IDEMPOTENCY_TABLE) -> None:
    """Powertools' default layout: hash key ``id`` (S), TTL on ``expiration``."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )


@dataclass
class RecordsEnv:
    dynamodb: Any

    def items(self, table: str = TABLE) -> list[dict[str, Any]]:
        found, kwargs = [], {}
        while True:
            page = self.dynamodb.scan(TableName=table, **kwargs)
            found += page["Items"]
            if "LastEvaluatedKey" not in page:
                return found
            kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def records_environment(monkeypatch) -> Iterator[RecordsEnv]:
    """The body of each test module's ``records_env`` fixture (``yield from`` it)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "RECORDS_TABLE": TABLE,
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        "TENANCY_TABLE": TENANCY_TABLE,
        "POWERTOOLS_SERVICE_NAME": "records",
        "AWS_LAMBDA_FUNCTION_NAME": "hw-records-api",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("RECORDS_DIR", raising=False)
    with mock_aws():
        aws.reset()
        request_tenancy.reset()
        records_api.reset()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_records_table(dynamodb)
        create_idempotency_table(dynamodb)
        create_tenancy_table(dynamodb, TENANCY_TABLE)
        for subscriber, grants in GRANTS.items():
            put_subscriber(dynamodb, TENANCY_TABLE, subscriber, datasets=grants)
        put_subscriber(dynamodb, TENANCY_TABLE, "ops", kind=INTERNAL)
        for key_id, subscriber in KEYS.items():
            put_key(dynamodb, TENANCY_TABLE, key_id, subscriber)
        yield RecordsEnv(dynamodb)
    aws.reset()
    request_tenancy.reset()
    records_api.reset()


def api_event(
    method: str,
    resource: str,
    path_parameters: dict[str, str],
    *,
    body: Any = None,
    key_id: str = "k-acme",
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict:
    """An API Gateway REST (v1) proxy event for ``resource`` as AWS sends it."""
    event = copy.deepcopy(
        json.loads((paths.FIXTURES / "lookup" / "api_gateway_get.json").read_text())
    )
    path = resource
    for name, value in path_parameters.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    all_headers = {**event["headers"], "x-api-key": KEY_VALUE, **(headers or {})}
    if body is not None or raw_body is not None:
        all_headers["Content-Type"] = "application/json"
    event.update(
        resource=resource,
        path=path,
        httpMethod=method,
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        pathParameters=path_parameters,
        body=raw_body if raw_body is not None else (None if body is None else json.dumps(body)),
    )
    event["requestContext"].update(resourcePath=resource, path=f"/v1{path}", httpMethod=method)
    event["requestContext"]["identity"].update(apiKeyId=key_id, apiKey=KEY_VALUE)
    return event

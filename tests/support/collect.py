"""The collect capability's test support: its tables as modules/collect creates them."""

from __future__ import annotations

from typing import Any

FACTS_TABLE, STATE_TABLE = "hw-collect-facts", "hw-collect-state"
SECRET_PREFIX = "hw-test/collect/"


def create_facts_table(dynamodb: Any, name: str = FACTS_TABLE) -> None:
    """Hash ``pk``, range ``sk`` (facts.py), stream with both images (the sink reads it)."""
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
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def create_state_table(dynamodb: Any, name: str = STATE_TABLE) -> None:
    """Hash ``pk`` only: one checkpoint item per schedule id."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def all_items(table: Any) -> list[dict[str, Any]]:
    """Every item of a (small) table via the resource API, sorted by key."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"], i.get("sk", "")))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/hw-collect-facts/stream/2026-12-01T00:00:00.000"
)


def stream_record(
    sequence: int,
    *,
    dataset: str = "synthetic",
    day: str = "2026-12-01",
    campaign: str = "campaign-01",
    operation: str = "INSERT",
    account: str = "act-1",
    subscriber: str = "alice",
    clicks: int = 3,
) -> dict[str, Any]:
    """One record of Lambda's DynamoDB stream event for a fact, as AWS delivers it (keys, both
    images as the view type gives them, ``eventSourceARN``)."""
    from decimal import Decimal

    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    keys = {"pk": f"{subscriber}#{dataset}#{account}", "sk": f"{day}#{campaign}"}
    item = {**keys, "day": day, "spend": Decimal("12.34"), "clicks": clicks, "impressions": 900}

    def dynamodb_json(value: dict[str, Any]) -> dict[str, Any]:
        return {k: serializer.serialize(v) for k, v in value.items()}

    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1764547200.0,
        "Keys": dynamodb_json(keys),
        "SequenceNumber": str(sequence),
        "SizeBytes": 120,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if operation in ("INSERT", "MODIFY"):
        change["NewImage"] = dynamodb_json(item)
    if operation in ("MODIFY", "REMOVE"):
        change["OldImage"] = dynamodb_json({**item, "clicks": max(0, clicks - 1)})
    return {
        "eventID": f"ev-{sequence}",
        "eventName": operation,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": change,
    }

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

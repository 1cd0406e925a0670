"""The tenancy directory in tests and bench/: the table as modules/platform declares it, and the
entries modules/api_stage writes, in the one layout of ``headwater.tenancy``."""

from __future__ import annotations

from typing import Any

from headwater import tenancy


def create_tenancy_table(dynamodb: Any, name: str) -> None:
    """One string hash key ``pk``, on demand (as modules/platform creates it)."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def put_subscriber(
    dynamodb: Any,
    table: str,
    name: str,
    kind: str = tenancy.SUBSCRIBER,
    datasets: tuple[str, ...] = (),
    usage_plan_id: str | None = None,
) -> None:
    """The item modules/api_stage writes per subscriber or internal key."""
    item: dict[str, Any] = {
        "pk": {"S": tenancy.SUBSCRIBER_PREFIX + name},
        "kind": {"S": kind},
        "datasets": {"L": [{"S": d} for d in sorted(datasets)]},
    }
    if usage_plan_id is not None:
        item["usage_plan_id"] = {"S": usage_plan_id}
    dynamodb.put_item(TableName=table, Item=item)


def put_key(
    dynamodb: Any,
    table: str,
    key_id: str,
    subscriber: str,
    by: str = "terraform",
    expires: Any = None,
) -> None:
    """The item that makes ``key_id`` a key of ``subscriber`` (until ``expires``, a datetime)."""
    dynamodb.put_item(TableName=table, Item=tenancy.key_item(key_id, subscriber, by, expires))

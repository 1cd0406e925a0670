"""A records table and an export bucket in moto's in-process mock, and items written into it
the way the records API stores them (keys.py, items.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from headwater.records import items, keys
from headwater.records.declarations import RecordDataset, parse_record_dataset

TABLE, BUCKET, PREFIX = "hw-records", "hw-exports", "summaries/"

# Every field type, required and optional.
EVENTS = parse_record_dataset(
    {
        "dataset": "events",
        "shards": 3,
        "fields": [
            {"name": "name", "type": "string", "required": True},
            {"name": "count", "type": "int64"},
            {"name": "ratio", "type": "float64"},
            {"name": "ok", "type": "bool"},
            {"name": "day", "type": "date"},
            {"name": "at", "type": "timestamp"},
        ],
    },
    "test",
)
OTHER = parse_record_dataset(
    {"dataset": "other", "shards": 2, "fields": [{"name": "name", "type": "string"}]}, "test"
)


def create(dynamodb: Any, s3: Any) -> None:
    create_table(dynamodb, TABLE)
    s3.create_bucket(Bucket=BUCKET)


def create_table(dynamodb: Any, name: str) -> None:
    """The records table's key schema (hash ``pk``, range ``id``), on demand."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": keys.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": keys.SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": keys.PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": keys.SORT_KEY, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def dynamo_values(value: Any) -> Any:
    """Floats as Decimal, as the DynamoDB resource layer requires."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def put_records(
    table: Any,
    dataset: RecordDataset,
    rows: Iterable[tuple[datetime, str, Mapping[str, Any]]],
) -> list[dict[str, Any]]:
    """Store ``(received_at, producer, record)`` rows; the items written, in input order."""
    written = []
    with table.batch_writer() as batch:
        for received_at, producer, record in rows:
            item = items.new_item(
                dataset.dataset,
                keys.new_id(now=received_at),
                dataset.shards,
                producer,
                f"sub-{producer}",
                record,
            )
            batch.put_item(Item=dynamo_values(item))
            written.append(item)
    return written

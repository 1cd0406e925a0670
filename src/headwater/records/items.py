"""The layout of one stored record, shared by the API (writes, reads) and the weekly summary.

One DynamoDB item per record::

    pk           "<dataset>#<YYYY-MM-DD>#<shard>"   (keys.partition_key)
    id           the record's UUIDv7                (sort key)
    dataset      the dataset's name
    producer     the id of the API key that posted it (never the key's value)
    subscriber   the subscriber owning that key: who may read the record back
    received_at  RFC 3339 UTC with Z, the id's instant
    record       the record as posted, a map (numbers as DynamoDB numbers, dates and
                 timestamps as the strings posted)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.records import keys

DATASET = "dataset"
PRODUCER = "producer"
SUBSCRIBER = "subscriber"
RECEIVED_AT = "received_at"
RECORD = "record"


def new_item(
    dataset: str,
    record_id: str,
    shards: int,
    producer: str,
    subscriber: str,
    record: Mapping[str, Any],
) -> dict[str, Any]:
    """The item of a record (Python values; the store serialises them for DynamoDB)."""
    return {
        **keys.record_key(dataset, record_id, shards),
        DATASET: dataset,
        PRODUCER: producer,
        SUBSCRIBER: subscriber,
        RECEIVED_AT: keys.rfc3339(keys.id_time(record_id)),
        RECORD: dict(record),
    }

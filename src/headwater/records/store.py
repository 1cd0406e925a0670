"""The records table: batched writes that survive throttling, and single reads.

Items follow ``headwater.records.items``. Values cross the boundary through boto3's own
``TypeSerializer``/``TypeDeserializer`` (DynamoDB JSON), with one adjustment each way:

- in: a float becomes ``Decimal(repr(x))``, the shortest decimal that round-trips to the same
  double, i.e. the number as posted (``0.1`` stays ``0.1``, not 0.1000000000000000055...);
- out: numbers come back as ``Decimal``; a record's numbers are returned as the declared type
  (``int`` for int64, ``float`` for float64), so a read gives back what was posted.

``put_many`` writes with BatchWriteItem, 25 items a call (the API's limit). Items DynamoDB
leaves unprocessed (throttling, a hot partition) are retried with exponential backoff and full
jitter, as AWS recommends for BatchWriteItem, for at most ``max_attempts`` calls per chunk.
When they are still unprocessed, the items of this call already written are deleted again
(best effort) and ``StoreUnavailable`` is raised: the API answers 503, writes nothing the client
has to know about, and the client retries (with the same Idempotency-Key, which a failed
request does not consume).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from headwater.records import items as layout
from headwater.records import keys
from headwater.records.declarations import RecordDataset

BATCH_WRITE_LIMIT = 25
logger = logging.getLogger(__name__)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class StoreUnavailable(Exception):
    """DynamoDB kept refusing part of a write: nothing of the request stays stored; retry."""


def _to_dynamodb(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {k: _to_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamodb(v) for v in value]
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamodb(v)) for k, v in item.items()}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def record_values(dataset: RecordDataset, record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record's values as the declared types (DynamoDB numbers are Decimals)."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, Decimal):
            declared = next((f.type for f in dataset.fields if f.name == name), None)
            if declared == "int64" or (declared is None and value == value.to_integral_value()):
                value = int(value)
            else:
                value = float(value)
        out[name] = value
    return out


class RecordStore:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float], float] = lambda high: random.uniform(0, high),  # noqa: S311
    ) -> None:
        self._client = client
        self._table = table
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep
        self._jitter = jitter

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Write every item, or raise StoreUnavailable having removed what was written."""
        written: list[dict[str, Any]] = []
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            chunk = [serialize(item) for item in items[start : start + BATCH_WRITE_LIMIT]]
            requests = [{"PutRequest": {"Item": item}} for item in chunk]
            left = self._batch_write(requests)
            keys_left = {
                (r["PutRequest"]["Item"]["pk"]["S"], r["PutRequest"]["Item"]["id"]["S"])
                for r in left
            }
            written += [
                {"pk": item["pk"], "id": item["id"]}
                for item in chunk
                if (item["pk"]["S"], item["id"]["S"]) not in keys_left
            ]
            if left:
                self._undo(written)
                raise StoreUnavailable(
                    f"DynamoDB left {len(left)} of {len(items)} records unprocessed after "
                    f"{self._max_attempts} attempts"
                )

    def _batch_write(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send ``requests``, retrying the unprocessed ones; returns those never processed."""
        for attempt in range(self._max_attempts):
            if attempt:
                # Full jitter: a random wait up to the exponential bound, so retrying clients
                # spread out instead of colliding again.
                bound = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
                self._sleep(self._jitter(bound))
            response = self._client.batch_write_item(RequestItems={self._table: requests})
            requests = response.get("UnprocessedItems", {}).get(self._table, [])
            if not requests:
                return []
        return requests

    def _undo(self, written: list[dict[str, Any]]) -> None:
        left = 0
        for start in range(0, len(written), BATCH_WRITE_LIMIT):
            deletes = [
                {"DeleteRequest": {"Key": k}} for k in written[start : start + BATCH_WRITE_LIMIT]
            ]
            try:
                left += len(self._batch_write(deletes))
            except Exception:  # best effort: the write's own failure is what the caller sees
                logger.exception("undoing a failed batch write")
                left += len(deletes)
        if left:
            logger.error("a failed batch write left %d records stored", left)

    def get(self, dataset: RecordDataset, record_id: str) -> dict[str, Any] | None:
        """The stored item of a record (its record's values typed), or None."""
        try:
            key = keys.record_key(dataset.dataset, record_id, dataset.shards)
        except ValueError:  # not an id: no record has it
            return None
        # Consistent: a client that reads back what it just posted finds it.
        response = self._client.get_item(
            TableName=self._table, Key=serialize(key), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        item = deserialize(response["Item"])
        item[layout.RECORD] = record_values(dataset, item.get(layout.RECORD, {}))
        return item

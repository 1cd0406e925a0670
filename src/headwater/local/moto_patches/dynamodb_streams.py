"""DynamoDB Streams patch: write the stream records DynamoDB writes, no more, and mark TTL deletes.

moto 5.2 appends a stream record for every PutItem / UpdateItem, and DynamoDB does not: "If you
perform a PutItem or UpdateItem operation that does not change any data in an item, DynamoDB
Streams does not write a stream record for that operation" (DynamoDB developer guide, "Change
data capture for DynamoDB Streams"). A consumer that relies on it (the collect sink: a rerun of
the collector rewrites the same facts and must add no change file) would see phantom MODIFY
records locally. moto's UpdateItem of an item that does not exist yet also writes two INSERT
records (its internal PutItem of the bare key, then the updated item); DynamoDB writes one.

Items deleted by Time to Live carry ``userIdentity`` {"PrincipalId": "dynamodb.amazonaws.com",
"Type": "Service"} in GetRecords ("Items that are deleted by the Time to Live process after
expiration have the following fields", DynamoDB Streams API reference, Record); moto never
expires items. ``headwater.local.ttl`` deletes them inside :func:`ttl_deletion`, which makes the
REMOVE record carry that identity.

Shard iterators: moto keeps every iterator GetShardIterator and GetRecords hand out, forever (a
poller asking four times a second leaks ~1 KB each time). AWS iterators expire 15 minutes after
they are returned ("A shard iterator expires 15 minutes after it is returned to the requester",
DynamoDB Streams API reference, GetShardIterator); the patch forgets them after that too.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
ITERATOR_LIFETIME_SECONDS = 15 * 60

_state = threading.local()
_applied = False


@contextlib.contextmanager
def ttl_deletion() -> Iterator[None]:
    """Deletes made inside this block are TTL's: their REMOVE records carry TTL_IDENTITY."""
    _state.ttl = True
    try:
        yield
    finally:
        _state.ttl = False


def unchanged(old: Any, new: Any) -> bool:
    """True when a write left the item exactly as it was (no stream record on AWS)."""
    return old is not None and new is not None and old.attrs == new.attrs


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard, Table
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    original_add = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        if getattr(_state, "inner_put", False) or unchanged(old, new):
            return
        original_add(self, old, new)
        if new is None and getattr(_state, "ttl", False) and self.items:
            self.items[-1].record["userIdentity"] = dict(TTL_IDENTITY)

    StreamShard.add = add

    original_update = DynamoDBBackend.update_item
    original_put = Table.put_item

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        _state.in_update = True
        try:
            return original_update(self, *args, **kwargs)
        finally:
            _state.in_update = False

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Inside UpdateItem, PutItem only creates the bare key item the update then fills in:
        # one INSERT (the updated item) is what DynamoDB writes for it.
        if not getattr(_state, "in_update", False):
            return original_put(self, *args, **kwargs)
        _state.inner_put = True
        try:
            return original_put(self, *args, **kwargs)
        finally:
            _state.inner_put = False

    DynamoDBBackend.update_item = update_item
    Table.put_item = put_item

    original_get_iterator = DynamoDBStreamsBackend.get_shard_iterator
    original_get_records = DynamoDBStreamsBackend.get_records

    def _forget_expired(backend: Any) -> None:
        born = backend.__dict__.setdefault("_headwater_iterator_born", {})
        now = time.monotonic()
        # Reads run concurrently (they take no journal lock): iterate over copies.
        for arn, t in list(born.items()):
            if now - t > ITERATOR_LIFETIME_SECONDS:
                born.pop(arn, None)
                backend.shard_iterators.pop(arn, None)
        for arn in list(backend.shard_iterators):
            born.setdefault(arn, now)

    def get_shard_iterator(self: Any, *args: Any, **kwargs: Any) -> Any:
        iterator = original_get_iterator(self, *args, **kwargs)
        _forget_expired(self)
        return iterator

    def get_records(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original_get_records(self, *args, **kwargs)
        _forget_expired(self)
        return result

    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator
    DynamoDBStreamsBackend.get_records = get_records
    _applied = True

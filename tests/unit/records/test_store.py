"""RecordStore on moto's in-process DynamoDB: chunks of 25, unprocessed items retried with
backoff, undo and StoreUnavailable when DynamoDB keeps refusing, typed reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.records import items, keys
from headwater.records.declarations import load_record_datasets
from headwater.records.store import RecordStore, StoreUnavailable
from tests.support.records import GOOD, TABLE, records_environment

ORDERS = load_record_datasets()["orders"]
T = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def records_env(monkeypatch):
    yield from records_environment(monkeypatch)


class Flaky:
    """A DynamoDB client whose BatchWriteItem leaves some items unprocessed: the first
    ``refusals`` calls write only their first ``accept`` requests (the real table underneath)."""

    def __init__(self, client, refusals: int, accept: int = 3):
        self._client = client
        self.refusals = refusals
        self.accept = accept
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems):
        [(table, requests)] = RequestItems.items()
        self.calls.append(len(requests))
        if len(self.calls) <= self.refusals:
            done, left = requests[: self.accept], requests[self.accept :]
            if done:
                self._client.batch_write_item(RequestItems={table: done})
            return {"UnprocessedItems": {table: left} if left else {}}
        return self._client.batch_write_item(RequestItems=RequestItems)

    def __getattr__(self, name):
        return getattr(self._client, name)


def make_items(count: int) -> list[dict]:
    ids = sorted(keys.new_id(T) for _ in range(count))
    return [
        items.new_item("orders", i, ORDERS.shards, "k-acme", "acme", {**GOOD, "order_id": f"A-{n}"})
        for n, i in enumerate(ids)
    ]


def store_of(client, sleeps=None, **kwargs) -> RecordStore:
    return RecordStore(
        client,
        TABLE,
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
        jitter=lambda high: high,  # the bound itself: the schedule is visible
        **kwargs,
    )


def test_writes_in_chunks_of_25_and_reads_back_typed(records_env):
    client = Flaky(records_env.dynamodb, refusals=0)
    written = make_items(60)
    store_of(client).put_many(written)
    assert client.calls == [25, 25, 10]
    assert len(records_env.items()) == 60
    item = store_of(client).get(ORDERS, written[7]["id"])
    assert item["record"] == {**GOOD, "order_id": "A-7"}
    assert type(item["record"]["quantity"]) is int and type(item["record"]["amount"]) is float
    assert item["producer"] == "k-acme" and item["subscriber"] == "acme"


def test_floats_are_stored_as_posted(records_env):
    [item] = make_items(1)
    item["record"]["amount"] = 0.1
    store_of(records_env.dynamodb).put_many([item])
    [raw] = records_env.items()
    assert raw["record"]["M"]["amount"] == {"N": "0.1"}
    assert store_of(records_env.dynamodb).get(ORDERS, item["id"])["record"]["amount"] == 0.1


def test_unprocessed_items_are_retried_with_exponential_backoff(records_env):
    client = Flaky(records_env.dynamodb, refusals=3, accept=5)
    sleeps: list[float] = []
    store_of(client, sleeps).put_many(make_items(25))
    assert client.calls == [25, 20, 15, 10]
    assert sleeps == [0.05, 0.1, 0.2]
    assert len(records_env.items()) == 25


def test_giving_up_removes_what_was_written_and_raises(records_env):
    client = Flaky(records_env.dynamodb, refusals=100, accept=2)
    sleeps: list[float] = []
    store = store_of(client, sleeps, max_attempts=4, max_delay=0.15)
    with pytest.raises(StoreUnavailable, match="unprocessed after 4 attempts"):
        store.put_many(make_items(30))
    assert client.calls[:4] == [25, 23, 21, 19], "one chunk, four attempts"
    assert sleeps[:3] == [0.05, 0.1, 0.15], "capped at max_delay"
    # 8 items were written before giving up; the undo deleted them (its own retries included).
    assert records_env.items() == []


def test_get_misses(records_env):
    store = store_of(records_env.dynamodb)
    assert store.get(ORDERS, keys.new_id(T)) is None
    assert store.get(ORDERS, "not-an-id") is None

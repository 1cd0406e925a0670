"""The records API's operations, without HTTP: who may post and read, ids, items, the store.

Tenancy (``headwater.tenancy``): a subscriber posts to and reads from the datasets it is granted
(403 otherwise, checked first, whether the dataset exists or not); internal keys may use every
dataset, and for them an undeclared dataset is a 404. A record is readable by the subscriber
whose key posted it and by internal keys; for anyone else it is a 404, word for word the answer
of a missing record.

Ids: every record of a request gets a UUIDv7 of the request's received time; the ids are issued
in ascending order to the records in their posted order, so sorting ids sorts the batch as
posted. ``producer`` is the API key's id (never its value), ``subscriber`` the key's owner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from headwater.records import items as layout
from headwater.records import keys
from headwater.records.declarations import RecordDataset
from headwater.records.store import RecordStore
from headwater.tenancy import Caller, Denied, require_grant, require_owner

IdFactory = Callable[[datetime], str]


def dataset_for(datasets: Mapping[str, RecordDataset], name: str, caller: Caller) -> RecordDataset:
    """The declared dataset ``name`` once the caller is granted it (403), else a 404."""
    require_grant(caller, name)
    if name not in datasets:
        raise Denied(404, f"unknown dataset {name!r}")
    return datasets[name]


def new_ids(count: int, now: datetime, new_id: IdFactory = keys.new_id) -> list[str]:
    """``count`` ids of ``now``, ascending: the i-th record posted gets the i-th smallest."""
    return sorted(new_id(now) for _ in range(count))


def post(
    store: RecordStore,
    dataset: RecordDataset,
    records: Sequence[Mapping[str, Any]],
    caller: Caller,
    now: datetime | None = None,
    new_id: IdFactory = keys.new_id,
) -> dict[str, Any]:
    """Store validated ``records``; the answer: their ids (posted order) and the received time."""
    now = now or datetime.now(UTC)
    ids = new_ids(len(records), now, new_id)
    store.put_many(
        [
            layout.new_item(
                dataset.dataset, record_id, dataset.shards, caller.key_id, caller.subscriber, record
            )
            for record_id, record in zip(ids, records, strict=True)
        ]
    )
    return {"ids": ids, "received_at": keys.rfc3339(keys.id_time(ids[0]))}


def get(
    store: RecordStore,
    datasets: Mapping[str, RecordDataset],
    name: str,
    record_id: str,
    caller: Caller,
) -> dict[str, Any]:
    """One record as the API answers it; 403/404 as the tenancy rule says."""
    dataset = dataset_for(datasets, name, caller)
    item = store.get(dataset, record_id)
    require_owner(caller, item.get(layout.SUBSCRIBER) if item else None, f"record {record_id!r}")
    assert item is not None  # require_owner raised otherwise
    return {
        "id": item[keys.SORT_KEY],
        "dataset": item[layout.DATASET],
        "producer": item[layout.PRODUCER],
        "received_at": item[layout.RECEIVED_AT],
        "record": item[layout.RECORD],
    }

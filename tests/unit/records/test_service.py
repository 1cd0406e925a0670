"""The records operations without HTTP: tenancy, ids in posted order, producer = key id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.records import keys, service
from headwater.records.declarations import load_record_datasets
from headwater.records.store import RecordStore
from headwater.tenancy import Caller, Denied
from tests.support.records import GOOD, KEY_VALUE, TABLE, records_environment

DATASETS = load_record_datasets()
ORDERS = DATASETS["orders"]
T = datetime(2026, 12, 1, 9, 30, 0, 123000, tzinfo=UTC)
ACME = Caller("acme", internal=False, grants=frozenset({"orders", "ghost"}), key_id="k-acme")
GLOBEX = Caller("globex", internal=False, grants=frozenset({"orders"}), key_id="k-globex")
INITECH = Caller("initech", internal=False, grants=frozenset(), key_id="k-initech")
OPS = Caller("ops", internal=True, grants=frozenset(), key_id="k-ops")


@pytest.fixture
def store(monkeypatch):
    for env in records_environment(monkeypatch):
        yield RecordStore(env.dynamodb, TABLE)


def test_post_issues_ascending_ids_of_the_received_time(store):
    answer = service.post(store, ORDERS, [GOOD] * 5, ACME, now=T)
    assert answer["ids"] == sorted(answer["ids"]) and len(set(answer["ids"])) == 5
    assert {keys.id_time(i) for i in answer["ids"]} == {T}
    assert answer["received_at"] == "2026-12-01T09:30:00.123Z"


def test_producer_is_the_key_id_never_its_value(store):
    [record_id] = service.post(store, ORDERS, [GOOD], ACME, now=T)["ids"]
    read = service.get(store, DATASETS, "orders", record_id, ACME)
    assert read["producer"] == "k-acme" and KEY_VALUE not in str(read)
    assert read["received_at"] == "2026-12-01T09:30:00.123Z" and read["record"] == GOOD


def test_tenancy(store):
    [record_id] = service.post(store, ORDERS, [GOOD], ACME, now=T)["ids"]
    assert service.get(store, DATASETS, "orders", record_id, OPS)["id"] == record_id

    def denied(name, caller, rid=record_id) -> tuple[int, str]:
        with pytest.raises(Denied) as caught:
            service.get(store, DATASETS, name, rid, caller)
        return caught.value.status, caught.value.message

    assert denied("orders", GLOBEX) == (404, f"unknown record {record_id!r}")
    other = keys.new_id(T)
    assert denied("orders", ACME, other) == (404, f"unknown record {other!r}")
    assert denied("orders", INITECH)[0] == 403
    assert denied("ghost", ACME) == (404, "unknown dataset 'ghost'")
    assert denied("ghost", GLOBEX)[0] == 403, "not granted: 403 whether it exists or not"
    assert denied("ghost", OPS)[0] == 404
    with pytest.raises(Denied) as caught:
        service.dataset_for(DATASETS, "orders", INITECH)
    assert caught.value.status == 403

"""The records API handler with API Gateway REST v1 proxy events in AWS's shape, on moto."""

from __future__ import annotations

import base64
import io
import json
import logging
import re

import pytest

from headwater.handlers import records_api
from headwater.records import keys
from headwater.records.store import RecordStore
from tests.support.lambda_context import LambdaContext
from tests.support.records import GOOD, IDEMPOTENCY_TABLE, KEY_VALUE, api_event, records_environment

POST, GET = "/records/{dataset}", "/records/{dataset}/{id}"


@pytest.fixture
def records_env(monkeypatch):
    yield from records_environment(monkeypatch)


def call(event: dict) -> tuple[int, dict, dict]:
    response = records_api.handler(event, LambdaContext(function_name="hw-records-api"))
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    assert headers["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"]), headers


def post(body, key_id="k-acme", dataset="orders", headers=None, **kwargs):
    return call(
        api_event(
            "POST", POST, {"dataset": dataset}, body=body, key_id=key_id, headers=headers, **kwargs
        )
    )


def get(record_id, key_id="k-acme", dataset="orders"):
    return call(api_event("GET", GET, {"dataset": dataset, "id": record_id}, key_id=key_id))


def test_post_one_record_then_read_it_back_and_no_key_value_anywhere(records_env, monkeypatch):
    stream = io.StringIO()
    call(api_event("GET", GET, {"dataset": "orders", "id": "x"}))  # creates the logger
    for log_handler in logging.getLogger("records").handlers:
        monkeypatch.setattr(log_handler, "stream", stream)
    status, body, headers = post(GOOD)
    assert status == 201, body
    [record_id] = body["ids"]
    assert keys.is_id(record_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["received_at"])
    assert body["received_at"] == keys.rfc3339(keys.id_time(record_id))
    assert headers["Location"] == f"orders/{record_id}"
    status, read, _ = get(record_id)
    assert status == 200
    assert read == {
        "id": record_id,
        "dataset": "orders",
        "producer": "k-acme",
        "received_at": body["received_at"],
        "record": GOOD,
    }
    assert type(read["record"]["quantity"]) is int and read["record"]["amount"] == 12.5
    [item] = records_env.items()
    assert item["producer"] == {"S": "k-acme"} and item["subscriber"] == {"S": "acme"}
    assert item["pk"]["S"].startswith("orders#") and item["id"]["S"] == record_id
    assert KEY_VALUE not in json.dumps(item) and KEY_VALUE not in stream.getvalue()
    assert '"status":201' in stream.getvalue()


def test_batch_gets_ids_in_posted_order_and_one_item_each(records_env):
    batch = [{**GOOD, "order_id": f"A-{i}"} for i in range(60)]
    status, body, headers = post(batch)
    assert status == 201 and len(body["ids"]) == 60 and "Location" not in headers
    assert body["ids"] == sorted(body["ids"]) and len(set(body["ids"])) == 60
    stored = {i["id"]["S"]: i["record"]["M"]["order_id"]["S"] for i in records_env.items()}
    assert [stored[i] for i in body["ids"]] == [r["order_id"] for r in batch]


def test_invalid_records_get_400_with_every_error_and_nothing_is_written(records_env):
    bad = {**GOOD, "amount": -1, "currency": "JPY", "colour": "red"}
    del bad["order_id"]
    status, body, _ = post([GOOD, bad, {**GOOD, "placed_at": "2026-13-01T00:00:00Z"}])
    assert status == 400
    assert sorted((e["path"], e["rule"]) for e in body["errors"]) == [
        ("records[1].amount", "minimum"),
        ("records[1].colour", "additionalProperties"),
        ("records[1].currency", "enum"),
        ("records[1].order_id", "required"),
        ("records[2].placed_at", "timestamp"),
    ]
    assert body["message"]
    assert records_env.items() == []


@pytest.mark.parametrize(
    ("raw", "rule"),
    [("{not json", None), ("NaN", None), ("[]", "minItems"), ("42", "type"), ('"x"', "type")],
)
def test_bodies_that_are_not_records_are_400(records_env, raw, rule):
    status, body, _ = post(None, raw_body=raw)
    assert status == 400 and body["message"]
    assert [e["rule"] for e in body["errors"]] == ([rule] if rule else [])


def test_batch_of_101_is_400(records_env):
    status, body, _ = post([GOOD] * 101)
    assert status == 400 and body["errors"][0]["rule"] == "maxItems"


def test_base64_body_is_decoded(records_env):
    event = api_event("POST", POST, {"dataset": "orders"}, body=GOOD)
    event.update(body=base64.b64encode(event["body"].encode()).decode(), isBase64Encoded=True)
    assert call(event)[0] == 201


def test_oversized_record_and_body_are_413(records_env):
    # orders' largest record (every string at its limit, 2-byte characters) fits its 4096 bytes.
    big = {**GOOD, "note": "é" * 500, "customer_id": "c" * 64, "order_id": "é" * 64}
    assert post(big)[0] == 201
    # A body over the request limit is refused before it is parsed, whatever it holds.
    status, body, _ = post(None, raw_body=json.dumps([GOOD] * 100) + " " * 500_000)
    assert status == 413 and "over the limit" in body["message"]
    assert len(records_env.items()) == 1


def test_record_over_max_record_bytes_is_413_with_its_index(records_env, tmp_path, monkeypatch):
    (tmp_path / "notes.toml").write_text(
        'dataset = "notes"\nmax_record_bytes = 100\n'
        '[[fields]]\nname = "text"\ntype = "string"\nrequired = true\n'
    )
    monkeypatch.setenv("RECORDS_DIR", str(tmp_path))
    records_api.reset()
    status, body, _ = call(
        api_event(
            "POST",
            POST,
            {"dataset": "notes"},
            body=[{"text": "short"}, {"text": "x" * 200}],
            key_id="k-ops",
        )
    )
    assert status == 413
    assert body["errors"] == [
        {
            "path": "records[1]",
            "rule": "max_record_bytes",
            "message": "211 bytes of compact JSON; the limit is 100",
        }
    ]


def test_tenancy_403_for_ungranted_404_for_other_subscribers_records(records_env):
    status, body, _ = post(GOOD, key_id="k-initech")
    assert status == 403 and "not granted" in body["message"]
    _, created, _ = post(GOOD, key_id="k-acme")
    [record_id] = created["ids"]
    assert get(record_id, key_id="k-acme")[0] == 200
    assert get(record_id, key_id="k-ops")[0] == 200, "internal keys read every record"
    other = get(record_id, key_id="k-globex")
    missing = get(keys.new_id(), key_id="k-globex")
    assert other[0] == 404 and missing[0] == 404
    assert other[1]["message"] == f"unknown record {record_id!r}"
    assert get(record_id, key_id="k-initech")[0] == 403
    assert get("not-an-id")[0] == 404
    assert get(record_id, dataset="ghost")[0] == 404, "granted, but not a declared dataset"
    assert post(GOOD, key_id="k-ops", dataset="ghost")[0] == 404
    assert post(GOOD, key_id="k-globex", dataset="ghost")[0] == 403
    unknown = call(api_event("POST", POST, {"dataset": "orders"}, body=GOOD, key_id="k-nobody"))
    assert unknown[0] == 403


# ---- Idempotency-Key ---------------------------------------------------------------------------


def idem(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_retry_with_the_same_key_returns_the_first_answer_and_writes_once(records_env):
    first = post([GOOD, GOOD], headers=idem("retry-1"))
    again = post([GOOD, GOOD], headers=idem("retry-1"))
    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    assert again[2].get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first[2]
    assert len(records_env.items()) == 2
    # Without the header nothing is deduplicated.
    post([GOOD, GOOD])
    post([GOOD, GOOD])
    assert len(records_env.items()) == 6


def test_same_key_other_body_is_422_and_other_subscriber_is_independent(records_env):
    assert post(GOOD, headers=idem("k1"))[0] == 201
    status, body, _ = post({**GOOD, "amount": 13}, headers=idem("k1"))
    assert status == 422 and "different request" in body["message"]
    assert post(GOOD, dataset="orders", headers=idem("k1"), key_id="k-globex")[0] == 201
    assert len(records_env.items()) == 2


def test_failed_requests_are_not_remembered(records_env, monkeypatch):
    assert post({**GOOD, "amount": -1}, headers=idem("k2"))[0] == 400
    calls = []
    original = RecordStore.put_many

    def failing_once(self, items):
        calls.append(len(items))
        if len(calls) == 1:
            raise records_api.StoreUnavailable("throttled")
        original(self, items)

    monkeypatch.setattr(RecordStore, "put_many", failing_once)
    status, body, _ = post(GOOD, headers=idem("k2"))
    assert status == 503 and "retry" in body["message"] and calls == [1]
    status, body, _ = post(GOOD, headers=idem("k2"))
    assert status == 201 and len(records_env.items()) == 1


def test_concurrent_duplicate_is_409(records_env, monkeypatch):
    inner = []
    original = RecordStore.put_many

    def duplicate_arrives_meanwhile(self, items):
        # The same request arrives while the first is between "in progress" and "done".
        inner.append(post(GOOD, headers=idem("k3")))
        original(self, items)

    monkeypatch.setattr(RecordStore, "put_many", duplicate_arrives_meanwhile)
    status, _, _ = post(GOOD, headers=idem("k3"))
    assert status == 201
    assert inner[0][0] == 409 and "in progress" in inner[0][1]["message"]
    assert len(records_env.items()) == 1


def test_idempotency_records_expire_after_a_day(records_env):
    import time

    post(GOOD, headers=idem("k4"))
    [item] = records_env.items(IDEMPOTENCY_TABLE)
    assert item["status"]["S"] == "COMPLETED"
    expires = int(item["expiration"]["N"])
    assert abs(expires - (time.time() + records_api.IDEMPOTENCY_TTL_SECONDS)) < 60


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_malformed_idempotency_key_is_400(records_env, key):
    status, body, _ = post(GOOD, headers=idem(key))
    assert status == 400 and "idempotency" in body["message"].lower()
    assert records_env.items() == []


@pytest.mark.parametrize("name", ["idempotency-key", "IDEMPOTENCY-KEY"])
def test_the_header_name_is_case_insensitive(records_env, name):
    first = post(GOOD, headers={name: "same"})
    again = post(GOOD, headers={"Idempotency-Key": "same"})
    assert first[1] == again[1] and len(records_env.items()) == 1

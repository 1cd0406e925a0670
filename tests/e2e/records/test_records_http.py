"""End to end, on the session's ``./setup.sh run``: records posted over real HTTP through the local
API front (gateway model validation, keys, usage plans) to the records function and DynamoDB,
read back with tenancy, then summarised to Parquet on S3 by the summary function, fired as a
schedule and run on demand.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.support.e2e import (
    HTTP_TIMEOUT,
    api_base,
    client,
    get,
    key_value,
    outputs,
    subscriber_key,
)
from tests.support.paths import ROOT
from tests.support.tenancy import put_subscriber

pytestmark = pytest.mark.e2e

DATASET = "orders"


def _order(**overrides: Any) -> dict[str, Any]:
    order = {
        "order_id": f"o-{uuid.uuid4().hex[:12]}",
        "customer_id": "c-42",
        "amount": 19.99,
        "currency": "EUR",
        "quantity": 2,
        "placed_at": "2026-11-30T09:15:00Z",
    }
    order.update(overrides)
    return order


def post(
    platform, body: Any, key: str | None, *, raw: bytes | None = None, headers: dict | None = None
) -> tuple[int, Any, dict]:
    data = raw if raw is not None else json.dumps(body).encode()
    sent = {"content-type": "application/json", **(headers or {})}
    if key is not None:
        sent["x-api-key"] = key
    request = urllib.request.Request(
        f"{api_base(platform)}/records/{DATASET}", data=data, headers=sent, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            status, payload, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, payload, got = error.code, error.read(), dict(error.headers)
    return status, json.loads(payload) if payload else None, got


def _record_url(platform, record_id: str) -> str:
    return f"{api_base(platform)}/records/{DATASET}/{record_id}"


def _cli(platform, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "headwater", *argv],
        cwd=ROOT, env=platform["local_env"], capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_the_printed_curl_posts_an_order(platform):
    run = platform["run"]
    assert run.returncode == 0, f"stdout:\n{run.stdout[-4000:]}\nstderr:\n{run.stderr[-4000:]}"
    lines = [
        line.strip()
        for line in run.stdout.splitlines()
        if line.strip().startswith("curl ") and f"/records/{DATASET}" in line
    ]
    assert len(lines) == 1, run.stdout[-4000:]
    words = shlex.split(lines[0])
    assert f"x-api-key: {key_value(platform, 'demo')}" in words
    done = subprocess.run(lines[0], shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    (record_id,) = body["ids"]
    status, read, _ = get(_record_url(platform, record_id), key_value(platform, "demo"))
    assert status == 200, read
    assert read["id"] == record_id and read["dataset"] == DATASET


# ---- posting, reading back, tenancy -----------------------------------------------------------


@pytest.fixture(scope="module")
def producer(platform):
    return subscriber_key(platform, "demo")


@pytest.fixture(scope="module")
def posted(platform, producer) -> dict[str, dict]:
    """Records this module posted with its own key: id -> record."""
    return {}


def test_post_one_and_a_batch_then_read_them_back(platform, producer, posted):
    one = _order()
    status, body, headers = post(platform, one, producer["value"])
    assert status == 201, body
    (first,) = body["ids"]
    assert body["received_at"].endswith("Z")
    assert headers.get("Location", "").endswith(f"{DATASET}/{first}")
    batch = [_order(quantity=i + 1) for i in range(100)]
    status, body, _ = post(platform, batch, producer["value"])
    assert status == 201, body
    assert len(body["ids"]) == 100 and body["ids"] == sorted(body["ids"])
    posted.update({first: one, **dict(zip(body["ids"], batch, strict=True))})

    status, read, _ = get(_record_url(platform, first), producer["value"])
    assert status == 200, read
    assert read["record"] == one
    assert read["producer"] == producer["id"]
    assert producer["value"] not in json.dumps(read)  # the key's id, never its value
    # The same subscriber's other key and an internal key read it too.
    assert get(_record_url(platform, first), key_value(platform, "demo"))[0] == 200
    assert get(_record_url(platform, first), key_value(platform, "ops"))[0] == 200


def _subscriber_key(platform, *datasets: str) -> dict:
    name = f"e2e-other-{uuid.uuid4().hex[:6]}"
    put_subscriber(
        client(platform, "dynamodb"), outputs(platform)["tenancy_table"], name, datasets=datasets
    )
    return subscriber_key(platform, name)


def test_a_subscriber_not_granted_the_dataset_can_neither_post_nor_read(platform, posted):
    other = _subscriber_key(platform, "employees")
    record_id = next(iter(posted))
    for status, body, _ in (
        post(platform, _order(), other["value"]),
        get(_record_url(platform, record_id), other["value"]),
    ):
        assert status == 403, body
        assert DATASET in body["message"], body


def test_another_granted_subscriber_cannot_read_what_it_did_not_produce(platform, posted):
    other = _subscriber_key(platform, DATASET)
    record_id = next(iter(posted))
    status, body, _ = get(_record_url(platform, record_id), other["value"])
    assert status == 404, body
    # ... and the answer is the one of a record that does not exist.
    missing_id = "019ad6f2-6c1e-7a3b-9f21-4c8e2d7b5a10"
    status, missing, _ = get(_record_url(platform, missing_id), other["value"])
    assert status == 404
    assert body["message"].replace(record_id, "ID") == missing["message"].replace(missing_id, "ID")
    # It posts to the dataset it is granted, and reads its own record back.
    status, created, _ = post(platform, _order(), other["value"])
    assert status == 201, created
    assert get(_record_url(platform, created["ids"][0]), other["value"])[0] == 200


def test_bad_requests_are_refused_with_a_reason(platform, producer):
    key = producer["value"]
    # The gateway's model refuses an unknown field and a missing required one: its own message.
    status, body, _ = post(platform, _order(colour="red"), key)
    assert (status, body) == (400, {"message": "Invalid request body"})
    status, body, _ = post(platform, [_order()] * 101, key)
    assert (status, body) == (400, {"message": "Invalid request body"})
    # Shaped like a timestamp, passes the model, names no instant: the function's 400 says where.
    status, body, _ = post(platform, [_order(), _order(placed_at="2026-13-45T09:00:00Z")], key)
    assert status == 400, body
    assert any(e["path"] == "records[1].placed_at" for e in body["errors"]), body
    # A note within the model's limit makes a record larger than the dataset allows: 413.
    status, body, _ = post(platform, _order(note="n" * 6000), key)
    assert status == 413, body
    # No key, or an unknown one: the gateway's 403.
    for bad in (None, "not-a-key-" + uuid.uuid4().hex):
        status, body, _ = post(platform, _order(), bad)
        assert (status, body) == (403, {"message": "Forbidden"}), bad


def test_a_retry_with_the_same_idempotency_key_writes_once(platform, producer, posted):
    key = producer["value"]
    idem = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    order = _order()
    first = post(platform, order, key, headers=idem)
    again = post(platform, order, key, headers=idem)
    assert first[0] == again[0] == 201, (first, again)
    assert first[1] == again[1]
    assert again[2].get("Idempotent-Replayed") == "true"
    (record_id,) = first[1]["ids"]
    posted[record_id] = order
    status, body, _ = post(platform, _order(), key, headers=idem)
    assert status == 422, body


def test_over_quota_is_429(platform):
    key = subscriber_key(platform, "demo", quota=2)
    statuses = [post(platform, _order(), key["value"])[0] for _ in range(2)]
    assert statuses == [201, 201]
    status, body, _ = post(platform, _order(), key["value"])
    assert (status, body) == (429, {"message": "Limit Exceeded"})


# ---- the weekly summary -----------------------------------------------------------------------


def _week_objects(platform, week: str) -> dict[str, bytes]:
    found = outputs(platform)
    s3 = client(platform, "s3")
    bucket = found["records_export_bucket"]
    prefix = f"{found['records_export_prefix']}{DATASET}/week={week}/"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {
        o["Key"][len(prefix) :]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for o in listed
    }


def test_the_summary_counts_and_exports_what_was_posted(platform, producer, posted):
    assert posted, "the posting tests run first"
    week = datetime.now(UTC).strftime("%G-W%V")
    done = _cli(platform, "records", "summary", "--week", week, "--dataset", DATASET)
    assert done.returncode == 0, done.stdout + done.stderr
    objects = _week_objects(platform, week)
    summary = json.loads(objects["summary.json"])
    assert summary["per_producer"][producer["id"]] == len(posted)
    assert summary["total"] == sum(summary["per_day"].values()) >= len(posted)
    parts = sorted(name for name in objects if name.endswith(".parquet"))
    assert parts and parts[0] == "part-00000.parquet"
    rows = {}
    for name in parts:
        for row in pq.read_table(io.BytesIO(objects[name])).to_pylist():
            rows[row["id"]] = row
    assert len(rows) == summary["total"]
    for record_id, record in posted.items():
        row = rows[record_id]
        assert row["producer"] == producer["id"]
        assert row["order_id"] == record["order_id"] and row["amount"] == record["amount"]
        assert row["quantity"] == record["quantity"]
        assert row["placed_at"] == datetime.fromisoformat(record["placed_at"])

    # A rerun of the week leaves exactly the same objects.
    again = _cli(platform, "records", "summary", "--week", week, "--dataset", DATASET)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(_week_objects(platform, week)) == sorted(objects)


def test_firing_the_schedule_writes_the_previous_weeks_summary(platform):
    found = outputs(platform)
    done = _cli(
        platform, "schedules", "fire", found["records_summary_schedule_name"],
        "--group", found["records_summary_schedule_group"],
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    last_week = datetime.now(UTC) - timedelta(days=7)  # the schedule's zone is UTC locally
    label = last_week.strftime("%G-W%V")
    summary = json.loads(_week_objects(platform, label)["summary.json"])
    assert summary["week"] == label and summary["dataset"] == DATASET
